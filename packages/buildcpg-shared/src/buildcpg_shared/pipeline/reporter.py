"""What a lab run tells the world while it runs: human lines on stdout and, when on, machine events."""

from __future__ import annotations

from typing import Any

from buildcpg_shared.pipeline.run_report import RunReport
from buildcpg_shared.pipeline.steps import StepResult, emit, format_step


class RunReporter:
    """Prints a run's lines (``echo``) and emits its events (``events``); collects finished steps in the report."""

    def __init__(self, report: RunReport, *, echo: bool = True, events: bool = False) -> None:
        self.report = report
        self.echo = echo
        self.events = events

    def say(self, text: str) -> None:
        """One human line, prefixed with the lab's name."""
        if self.echo:
            print(f"[{self.report.lab}] {text}", flush=True)

    def event(self, kind: str, /, **fields: Any) -> None:
        """One machine-readable event of this lab (read live by the platform CLI)."""
        emit(kind, self.events, lab=self.report.lab, **fields)

    def finish_step(self, result: StepResult) -> StepResult:
        """A step is done: keep it in the report, print its line, emit its event."""
        self.report.steps.append(result)
        if self.echo:
            print(format_step(self.report.lab, result.to_dict()), flush=True)
        self.event("step", **result.to_dict())
        return result

    def skipped(self, name: str, why: str) -> None:
        self.finish_step(StepResult(name, status="skipped", detail=why))

    def started(self, steps: list[str]) -> None:
        self.event("start", run_id=self.report.run_id, steps=steps)

    def ended(self, *, busy: bool) -> None:
        fields = {k: v for k, v in self.report.to_dict().items() if k != "steps"}
        emit("end", self.events, busy=busy, **fields)
