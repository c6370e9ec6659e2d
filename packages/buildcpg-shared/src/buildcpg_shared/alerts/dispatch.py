"""Turn lab outcomes into incidents and alerts: one alert when an incident opens, one when it recovers.

Incident state lives in the history database, so a lab that keeps failing alerts once (no storm),
whichever process (CLI run, schedule, Airflow callback) saw the failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from buildcpg_shared.alerts.message import Alert
from buildcpg_shared.alerts.routes import deliver, describe
from buildcpg_shared.config import LabConfig
from buildcpg_shared.config.alerts import Route, load_workspace_config
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.history import LabHealth, LabRunRecord
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import Status, StepName

if TYPE_CHECKING:
    from buildcpg_shared.history.store import History


def _gated(record: LabRunRecord) -> bool:
    """The run's score is 0 only because Transform or Test failed: the 'failed' incident covers it."""
    inspect = record.step(StepName.INSPECT)
    quality = inspect.data.get("quality") if inspect else None
    return isinstance(quality, dict) and bool(quality.get("gate"))


@dataclass(frozen=True)
class Delivery:
    """One alert through one route: delivered, or why not (secrets masked)."""

    alert: Alert
    route: str
    ok: bool
    error: str = ""


class AlertDispatcher:
    """Routes of the workspace (buildcpg.yaml) plus those of each lab (lab.yaml ``alerts:``)."""

    def __init__(self, workspace: Workspace, history: History) -> None:
        self.workspace = workspace
        self.history = history
        self.config = load_workspace_config(workspace.root).alerts

    @staticmethod
    def _lab_config(lab: Lab) -> LabConfig | None:
        """The lab's config, or None when its lab.yaml is broken (then only global routes apply)."""
        try:
            return lab.config
        except BuildCPGError:
            return None

    def routes(self, lab: Lab) -> list[Route]:
        config = self._lab_config(lab)
        return [*self.config.routes, *(config.alerts.routes if config else [])]

    def stale_after_hours(self, lab: Lab) -> float | None:
        config = self._lab_config(lab)
        return (config.alerts.stale_after_hours if config else None) or self.config.stale_after_hours

    def send(self, lab: Lab, alert: Alert) -> list[Delivery]:
        """Deliver through every route of the lab that takes this kind; never raises."""
        out = []
        for route in self.routes(lab):
            if alert.kind not in route.kinds:
                continue
            try:
                deliver(route, alert, self.workspace.root)
                out.append(Delivery(alert, describe(route), True))
            except BuildCPGError as err:
                out.append(Delivery(alert, describe(route), False, str(err)))
            except Exception as err:  # a route must never fail the run it reports on
                out.append(Delivery(alert, describe(route), False, f"{type(err).__name__}"))
        return out

    def _open(self, lab: Lab, kind: str, message: str) -> list[Delivery]:
        if not self.history.open_incident(lab.name, kind, message):
            return []
        return self.send(lab, Alert(lab.name, kind, "open", message))

    def _close(self, lab: Lab, kind: str, message: str) -> list[Delivery]:
        opened = self.history.close_incident(lab.name, kind)
        if opened is None:
            return []
        return self.send(lab, Alert(lab.name, kind, "recovered", f"{message} (incident opened {opened})"))

    def on_lab_result(self, lab: Lab, record: LabRunRecord) -> list[Delivery]:
        """Open or close the lab's 'failed', 'quality' and 'stale' incidents after a run."""
        if record.status in (Status.BUSY, Status.SKIPPED):  # not run: nothing about this lab's health changed
            return []
        out: list[Delivery] = []
        if record.status == Status.FAILED:
            out += self._open(lab, "failed", record.error or "the lab run failed")
        else:
            out += self._close(lab, "failed", f"run passed ({record.status})")
            out += self._close(lab, "stale", "a run passed, data is fresh again")
        config = self._lab_config(lab)
        if record.quality is not None and config is not None and not _gated(record):
            threshold = config.quality.min_score
            if record.quality < threshold:
                out += self._open(lab, "quality", f"quality score {record.quality:g} is under {threshold:g}")
            else:
                out += self._close(lab, "quality", f"quality score {record.quality:g} is back at or over {threshold:g}")
        return out

    def check_stale(self, lab: Lab, health: LabHealth | None = None) -> list[Delivery]:
        """Open a 'stale' incident if the lab has had no successful run within its limit (``health``:
        the lab's, when the caller has it already)."""
        limit = self.stale_after_hours(lab)
        if limit is None:
            return []
        health = health or self.history.health(lab.name)
        hours = health.hours_since_success()
        if health.last_run is None and hours is None:
            return []  # never run: nothing to call stale yet
        if hours is None or hours > limit:
            since = f"last success {health.last_success}" if health.last_success else "no successful run yet"
            return self._open(lab, "stale", f"no successful run for over {limit:g} h ({since})")
        return []

    def check_died(self, lab: Lab, health: LabHealth | None = None) -> list[Delivery]:
        """Open a 'failed' incident if the lab's latest run died before it recorded an end (its run's
        process is gone: killed with the lab, so nothing sent the alert). The next passing run closes it."""
        unfinished = (health or self.history.health(lab.name)).unfinished
        if unfinished is None or unfinished.state != "died":
            return []
        return self._open(lab, "failed", f"the lab run died: {unfinished.describe()}")
