"""Alerts through real routes: a JSON-lines file, a webhook on a real HTTP server, e-mail through a real
SMTP server (aiosmtpd, STARTTLS with a self-signed certificate, then AUTH LOGIN/PLAIN), all on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

import pytest
from alert_servers import free_port, smtp_server, webhook_server
from buildcpg_shared.alerts import Alert, AlertDispatcher
from buildcpg_shared.alerts.routes import deliver
from buildcpg_shared.config.alerts import EmailRoute, LogRoute, WebhookRoute, load_workspace_config
from buildcpg_shared.errors import AlertDeliveryError, ConfigError
from buildcpg_shared.history import History, LabRunRecord, now_iso
from buildcpg_shared.registry import Workspace

ALERT = Alert("lab9_tiny", "failed", "open", "transform failed: gold.x (models/marts/x.sql): Binder Error")


def test_log_route_appends_json_lines(tmp_path: Path) -> None:
    route = LogRoute(type="log", path="alerts/out.jsonl")
    deliver(route, ALERT, tmp_path)
    deliver(route, Alert("lab9_tiny", "failed", "recovered", "run passed"), tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "alerts" / "out.jsonl").read_text().splitlines()]
    assert [(x["lab"], x["kind"], x["state"]) for x in lines] == [
        ("lab9_tiny", "failed", "open"),
        ("lab9_tiny", "failed", "recovered"),
    ]
    assert lines[0]["subject"].startswith("[buildcpg] ALERT lab9_tiny")


def test_webhook_posts_slack_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with webhook_server() as (url, received):
        monkeypatch.setenv("HOOK_URL", url)
        deliver(WebhookRoute(type="webhook", url_env="HOOK_URL"), ALERT, tmp_path)
    assert len(received) == 1
    assert received[0]["text"].startswith("[buildcpg] ALERT lab9_tiny: run failed")
    assert received[0]["buildcpg"]["kind"] == "failed"


def test_webhook_down_is_an_error_without_the_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/SECRET-TOKEN"  # nothing listens there
    monkeypatch.setenv("HOOK_URL", url)
    with pytest.raises(AlertDeliveryError) as info:
        deliver(WebhookRoute(type="webhook", url_env="HOOK_URL", timeout_s=2), ALERT, tmp_path)
    assert "webhook $HOOK_URL" in str(info.value)
    assert "SECRET-TOKEN" not in str(info.value) and url not in str(info.value)


def test_webhook_env_missing_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOT_SET_HOOK", raising=False)
    with pytest.raises(AlertDeliveryError, match="env var NOT_SET_HOOK is not set"):
        deliver(WebhookRoute(type="webhook", url_env="NOT_SET_HOOK"), ALERT, tmp_path)


def test_email_over_starttls_with_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    with smtp_server(tmp_path, "alerts", "s3cret-pw") as (port, ca, received):
        route = EmailRoute(
            type="email",
            host="127.0.0.1",
            port=port,
            ca_file=str(ca),
            username="alerts",
            password_env="SMTP_PASSWORD",
            sender="buildcpg@example.test",
            to=["oncall@example.test"],
        )
        deliver(route, ALERT, tmp_path)
        assert len(received) == 1
        mail = message_from_bytes(received[0].content)
        assert mail["Subject"] == ALERT.subject
        assert received[0].rcpt_tos == ["oncall@example.test"]

        monkeypatch.setenv("SMTP_PASSWORD", "wrong-pw")
        with pytest.raises(AlertDeliveryError) as info:  # refused (smtplib then tries LOGIN, which times out)
            deliver(route.model_copy(update={"timeout_s": 2.0}), ALERT, tmp_path)
        assert str(info.value).startswith(f"email 127.0.0.1:{port} to oncall@example.test: ")
        assert "wrong-pw" not in str(info.value)

        plain = route.model_copy(update={"starttls": False})
        with pytest.raises(AlertDeliveryError, match=rf"^email 127.0.0.1:{port} to oncall@example.test: SMTP"):
            # the server insists on TLS before AUTH
            deliver(plain, ALERT, tmp_path)
        assert len(received) == 1


def test_route_config_is_a_discriminated_union(tmp_path: Path) -> None:
    (tmp_path / "buildcpg.yaml").write_text("alerts:\n  routes:\n    - {type: pager, url_env: X}\n")
    with pytest.raises(ConfigError, match=r"buildcpg.yaml: alerts.routes.0: .*tag 'pager'.*'log', 'webhook', 'email'"):
        load_workspace_config(tmp_path)
    (tmp_path / "buildcpg.yaml").write_text("alerts:\n  routes:\n    - {type: email, host: h, sender: s}\n")
    with pytest.raises(ConfigError, match=r"alerts.routes.0.email.to: Field required"):
        load_workspace_config(tmp_path)


def _workspace(tiny_lab: Path, routes: str) -> Workspace:
    root = tiny_lab.parents[1]
    (root / "buildcpg.yaml").write_text(f"alerts:\n  stale_after_hours: 24\n  routes:\n{routes}")
    return Workspace(root)


def _record(status: str, quality: float | None = None, finished: str | None = None) -> LabRunRecord:
    at = finished or now_iso()
    return LabRunRecord("lab9_tiny", status, at, at, 1.0, error="boom" if status == "failed" else "", quality=quality)


def test_one_alert_per_incident_then_one_recovery(tiny_lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = _workspace(tiny_lab, "    - {type: log}\n    - {type: webhook, url_env: HOOK_URL, timeout_s: 2}\n")
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{free_port()}/down")
    history = History.for_state_dir(workspace.state_dir)
    dispatcher = AlertDispatcher(workspace, history)
    lab = workspace.lab("lab9_tiny")
    sent = []
    for status in ("failed", "failed", "failed", "ok", "ok", "failed"):
        sent.append(dispatcher.on_lab_result(lab, _record(status)))
    # open, nothing, nothing, recovered, nothing, open again: each through both routes
    assert [len(s) for s in sent] == [2, 0, 0, 2, 0, 2]
    assert [s[0].alert.state for s in sent if s] == ["open", "recovered", "open"]
    log_ok, webhook = sent[0]
    assert log_ok.ok and not webhook.ok and "webhook $HOOK_URL" in webhook.error  # reported, not raised
    lines = (workspace.state_dir / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(x)["state"] for x in lines] == ["open", "recovered", "open"]


def test_quality_under_threshold_and_stale(tiny_lab: Path) -> None:
    workspace = _workspace(tiny_lab, "    - {type: log, kinds: [quality, stale]}\n")
    history = History.for_state_dir(workspace.state_dir)
    dispatcher = AlertDispatcher(workspace, history)
    lab = workspace.lab("lab9_tiny")  # min_score defaults to 80
    assert [d.alert.kind for d in dispatcher.on_lab_result(lab, _record("ok", quality=61.5))] == ["quality"]
    assert dispatcher.on_lab_result(lab, _record("failed")) == []  # this route takes no 'failed' alerts
    assert [d.alert.state for d in dispatcher.on_lab_result(lab, _record("ok", quality=92))] == ["recovered"]
    gated = {"name": "inspect", "data": {"quality": {"score": 0, "gate": "transform failed"}}}
    failed = LabRunRecord("lab9_tiny", "failed", now_iso(), now_iso(), 1.0, error="boom", quality=0, steps=(gated,))
    assert dispatcher.on_lab_result(lab, failed) == []  # 0 because transform failed: no second, 'quality' incident
    assert [d.alert.kind for d in dispatcher.on_lab_result(lab, _record("ok", quality=61.5))] == ["quality"]
    assert [d.alert.state for d in dispatcher.on_lab_result(lab, _record("ok", quality=92))] == ["recovered"]
    assert dispatcher.check_stale(lab) == []  # never run: nothing to call stale yet
    history.record_lab(history.start_run("test", 1), _record("ok", finished="2020-01-01T00:00:00+00:00"))
    stale = dispatcher.check_stale(lab)
    assert [(d.alert.kind, d.alert.state) for d in stale] == [("stale", "open")]
    assert dispatcher.check_stale(lab) == []  # still stale: no second alert
    assert history.health("lab9_tiny").open_incidents == ("stale",)
    assert [d.alert.state for d in dispatcher.on_lab_result(lab, _record("ok"))] == ["recovered"]


@pytest.mark.parametrize("path", ["../../outside.jsonl", "logs/../../outside.jsonl", "/tmp/buildcpg-outside.jsonl"])
def test_log_route_outside_the_workspace_is_refused_at_load(tmp_path: Path, path: str) -> None:
    (tmp_path / "buildcpg.yaml").write_text(f"alerts:\n  routes:\n    - {{type: log, path: '{path}'}}\n")
    with pytest.raises(ConfigError) as info:
        load_workspace_config(tmp_path)
    message = str(info.value)
    assert "\n" not in message and "alerts.routes.0.log.path" in message and "inside the workspace" in message
    assert "allow_outside_workspace" in message


def test_log_route_outside_the_workspace_only_with_the_opt_in(tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "var" / "alerts.jsonl"
    root.mkdir()
    (root / "buildcpg.yaml").write_text(
        f"alerts:\n  routes:\n    - {{type: log, path: '{outside}', allow_outside_workspace: true}}\n"
    )
    route = load_workspace_config(root).alerts.routes[0]
    deliver(route, ALERT, root)
    assert json.loads(outside.read_text())["lab"] == "lab9_tiny"


def test_log_route_through_a_symlink_out_of_the_workspace_is_not_written(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    (root / ".buildcpg").mkdir(parents=True)
    elsewhere.mkdir()
    (root / ".buildcpg" / "out").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(AlertDeliveryError, match="outside the workspace"):
        deliver(LogRoute(type="log", path=".buildcpg/out/alerts.jsonl"), ALERT, root)
    assert not list(elsewhere.iterdir())


DIES = """
import sys
from pathlib import Path
from buildcpg_shared.history import History
History.for_state_dir(Path(sys.argv[1])).start_run("buildcpg run lab9_tiny", 1, lab_names=["lab9_tiny"])
"""  # then exits: a run whose process is gone and whose lab recorded nothing


def test_a_run_that_died_unrecorded_opens_a_failed_incident_once(tiny_lab: Path) -> None:
    workspace = _workspace(tiny_lab, "    - {type: log, kinds: [failed]}\n")
    history = History.for_state_dir(workspace.state_dir)
    dispatcher = AlertDispatcher(workspace, history)
    lab = workspace.lab("lab9_tiny")
    assert dispatcher.check_died(lab) == []  # never run
    subprocess.run([sys.executable, "-c", DIES, str(workspace.state_dir)], check=True, timeout=120)
    died = dispatcher.check_died(lab)
    assert [(d.alert.kind, d.alert.state) for d in died] == [("failed", "open")]
    assert "the lab run died: its run (`buildcpg run lab9_tiny`" in died[0].alert.message
    assert dispatcher.check_died(lab) == []  # still the same dead run: no second alert
    assert [d.alert.state for d in dispatcher.on_lab_result(lab, _record("ok"))] == ["recovered"]
