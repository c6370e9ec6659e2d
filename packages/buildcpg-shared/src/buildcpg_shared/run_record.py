"""The one typed record of a run, shared by every layer (ARCHITECTURE.md, "Layers").

What a lab run is, in one place: the statuses (``Status``), the step names (``StepName``), one step
(``StepRecord``), one finished lab run (``LabRunRecord``) and the one rule that turns steps into a
lab's status and error (``lab_status``, ``run_error``); the options of a run (``RunOptions``, turned
into the lab command's argv in one place); and the event lines a lab process prints for the process
that started it (``encode`` / ``decode``: ``StartEvent``, ``StepEvent``, ``NodeEvent``, ``AlertEvent``,
``RecordedEvent``, ``EndEvent``). The history, the alerts, the report and the CLI read these types,
never nested dicts or bare strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from buildcpg_shared.errors import BuildCPGError


class Status(StrEnum):
    """The status of a step or of a lab run (a ``str``: ``Status.OK == "ok"``)."""

    QUEUED = "queued"  # a lab waiting for a job slot or its upstreams (live only)
    RUNNING = "running"  # live only
    OK = "ok"
    WARN = "warn"
    FAILED = "failed"
    SKIPPED = "skipped"  # a step not run; a lab not started because an upstream lab did not pass
    BUSY = "busy"  # a lab run refused: the lab (or an upstream it waits on) was running elsewhere

    @property
    def passed(self) -> bool:
        """ok or warn: the run did its job (its data is published)."""
        return self in (Status.OK, Status.WARN)

    @classmethod
    def settled(cls, value: str) -> Status:
        """The status a finished lab run is recorded with: anything not ok/warn/busy/skipped is failed."""
        return cls(value) if value in (cls.OK, cls.WARN, cls.BUSY, cls.SKIPPED) else cls.FAILED


class StepName(StrEnum):
    """The steps of a lab run, in their order."""

    CHECK = "check"
    LOAD = "load"
    TRANSFORM = "transform"
    TEST = "test"
    INSPECT = "inspect"
    PUBLISH = "publish"


STEP_NAMES: tuple[str, ...] = tuple(s.value for s in StepName)


@dataclass
class StepRecord:
    """One step of one lab run: what happened, how many rows, how long, and why (``detail``)."""

    name: str
    status: Status = Status.OK
    duration_s: float = 0.0
    rows: int | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": str(self.status)}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> StepRecord:
        rows = value.get("rows")
        return cls(
            name=str(value.get("name", "")),
            status=Status(str(value.get("status", Status.OK))),
            duration_s=float(value.get("duration_s") or 0.0),
            rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
            detail=str(value.get("detail") or ""),
            data=dict(value.get("data") or {}),
        )

    def line(self, lab: str) -> str:
        """One human line for a finished step (the runner and the platform CLI print the same)."""
        rows = f"  {self.rows:,} rows" if self.rows is not None else ""
        return f"[{lab}] {self.name:<9} {self.status:<7} {self.duration_s:6.2f}s{rows}  {self.detail}".rstrip()


def lab_status(steps: Iterable[StepRecord]) -> Status:
    """The one rule from steps to a lab's status: any failed step fails it, any warning warns it."""
    statuses = {s.status for s in steps}
    if Status.FAILED in statuses:
        return Status.FAILED
    return Status.WARN if Status.WARN in statuses else Status.OK


def run_error(steps: Iterable[StepRecord], limit: int = 300) -> str:
    """Why a run failed, from its failed steps: ``load failed: data/raw/x.csv: header …`` (one line)."""
    parts = []
    for step in steps:
        if step.status == Status.FAILED:
            why = (step.detail.splitlines() or [""])[0].strip()
            parts.append(f"{step.name} failed: {why}" if why else f"{step.name} failed")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quality_of(steps: Iterable[StepRecord]) -> float | None:
    """The quality score a run's inspect step reports (``data.quality.score``), or None."""
    inspect = next((s for s in steps if s.name == StepName.INSPECT), None)
    score = (inspect.data if inspect else {}).get("quality")
    value = score.get("score") if isinstance(score, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _steps(steps: Iterable[StepRecord | Mapping[str, Any]]) -> tuple[StepRecord, ...]:
    return tuple(s if isinstance(s, StepRecord) else StepRecord.from_dict(s) for s in steps)


@dataclass(frozen=True)
class LabRunRecord:
    """One finished lab run, as the platform records it (history, alerts, report, CLI)."""

    lab: str
    status: Status
    started_at: str
    finished_at: str
    duration_s: float
    error: str = ""
    lab_run_id: str = ""
    rows: int | None = None
    quality: float | None = None
    log: str = ""
    steps: tuple[StepRecord, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)  # input → "upstream-lab vN" this run read
    run_id: str = ""  # the platform run (`buildcpg run`, a schedule, an Airflow task) it was part of, once recorded

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "steps", _steps(self.steps))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``buildcpg runs --json`` prints, one per lab run."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "steps"}
        return {**out, "status": str(self.status), "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_steps(
        cls,
        lab: str,
        status: str,
        *,
        started_at: str,
        finished_at: str,
        duration_s: float,
        error: str = "",
        lab_run_id: str = "",
        log: str = "",
        steps: Iterable[StepRecord | Mapping[str, Any]] = (),
    ) -> LabRunRecord:
        """A record whose status is settled (``Status.settled``), rows (the load step's) and quality
        (the inspect step's score) come from its steps."""
        typed = _steps(steps)
        load = next((s for s in typed if s.name == StepName.LOAD), None)
        inputs = (load.data if load else {}).get("inputs") or {}
        return cls(
            lab=lab,
            status=Status.settled(status),
            started_at=started_at,
            finished_at=finished_at,
            duration_s=round(duration_s, 3),
            error=error,
            lab_run_id=lab_run_id,
            rows=load.rows if load else None,
            quality=quality_of(typed),
            log=log,
            steps=typed,
            inputs={str(k): str(v) for k, v in inputs.items()},
        )

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def names_with(self, status: Status) -> list[str]:
        return [s.name for s in self.steps if s.status == status]


@dataclass(frozen=True)
class RunOptions:
    """How to run a lab: the one object behind ``buildcpg run``, ``watch``, Airflow and ``buildcpg-lab run``."""

    steps: tuple[str, ...] = STEP_NAMES
    full_refresh: bool = False
    rebuild: bool = False  # move a damaged database aside and rebuild from data/raw
    wait: float = 0.0
    threads: int | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.steps if s not in STEP_NAMES]
        if unknown:
            raise BuildCPGError(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEP_NAMES)}")
        object.__setattr__(self, "steps", tuple(s for s in STEP_NAMES if s in set(self.steps)))

    @classmethod
    def parse_steps(cls, value: str) -> tuple[str, ...]:
        """``"check,load"`` as step names (order and spaces do not matter; an unknown name is refused)."""
        steps = tuple(s.strip() for s in value.split(",") if s.strip())
        cls(steps=steps)  # validates
        return steps

    def to_argv(self) -> list[str]:
        """The ``buildcpg-lab run`` arguments that give these options."""
        argv = ["--steps", ",".join(self.steps), "--wait", f"{self.wait:g}"]
        argv += ["--threads", str(self.threads)] if self.threads is not None else []
        argv += ["--full-refresh"] if self.full_refresh else []
        argv += ["--rebuild"] if self.rebuild else []
        return argv


# -- events: the lines a lab process prints for the process that started it ---------------------
EVENT_PREFIX = "@@buildcpg "


@dataclass(frozen=True)
class StartEvent:
    lab: str
    run_id: str
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepEvent:
    lab: str
    step: StepRecord


@dataclass(frozen=True)
class NodeEvent:
    """A dbt model or seed finished (``pipeline.dbt_progress.NodeLine``, as plain fields)."""

    lab: str
    node: dict[str, Any]


@dataclass(frozen=True)
class FileEvent:
    """Load committed one raw file (``ingest.load.LoadedFile``, as plain fields)."""

    lab: str
    file: dict[str, Any]


@dataclass(frozen=True)
class AlertEvent:
    lab: str
    subject: str
    route: str
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class RecordedEvent:
    """The lab process recorded its run in the history itself (its parent must not record it again)."""

    lab: str
    lab_run_id: str = ""


@dataclass(frozen=True)
class EndEvent:
    """The run ended: its settled status, error and its own times."""

    lab: str
    run_id: str
    status: Status
    started_at: str
    finished_at: str
    duration_s: float
    error: str = ""

    @property
    def busy(self) -> bool:
        return self.status == Status.BUSY


Event = StartEvent | StepEvent | NodeEvent | FileEvent | AlertEvent | RecordedEvent | EndEvent
_KINDS: dict[str, type[Any]] = {
    "start": StartEvent,
    "step": StepEvent,
    "node": NodeEvent,
    "file": FileEvent,
    "alert": AlertEvent,
    "recorded": RecordedEvent,
    "end": EndEvent,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def encode(event: Event) -> str:
    """The event as one line: ``@@buildcpg {"event": "step", ...}``."""
    fields: dict[str, Any]
    if isinstance(event, StepEvent):
        fields = {"lab": event.lab, **event.step.to_dict()}
    elif isinstance(event, NodeEvent):
        fields = {**event.node, "lab": event.lab}
    elif isinstance(event, FileEvent):
        fields = {**event.file, "lab": event.lab}
    else:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(event).items()}
    return EVENT_PREFIX + json.dumps({"event": _KIND_OF[type(event)], **fields}, default=str)


def decode(line: str) -> Event | None:
    """The event in a line of a lab process's output, or None for an ordinary line (or a damaged event)."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        value = json.loads(line[len(EVENT_PREFIX) :])
        kind = _KINDS[value.pop("event")]
        lab = str(value.pop("lab", ""))
        if kind is StepEvent:
            return StepEvent(lab, StepRecord.from_dict(value))
        if kind is NodeEvent:
            return NodeEvent(lab, value)
        if kind is FileEvent:
            return FileEvent(lab, value)
        if kind is StartEvent:
            return StartEvent(lab, str(value.get("run_id", "")), tuple(value.get("steps") or ()))
        if kind is AlertEvent:
            return AlertEvent(lab, str(value["subject"]), str(value["route"]), bool(value["ok"]), str(value["error"]))
        if kind is RecordedEvent:
            return RecordedEvent(lab, str(value.get("lab_run_id", "")))
        return EndEvent(
            lab,
            run_id=str(value.get("run_id", "")),
            status=Status(value["status"]),
            started_at=str(value.get("started_at") or ""),
            finished_at=str(value.get("finished_at") or ""),
            duration_s=float(value.get("duration_s") or 0.0),
            error=str(value.get("error") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
