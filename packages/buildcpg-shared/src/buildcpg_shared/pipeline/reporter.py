"""What a lab run tells the world while it runs: human lines on stdout and, when on, machine events."""

from __future__ import annotations

from typing import Any

from buildcpg_shared.pipeline.dbt_progress import NodeLine
from buildcpg_shared.pipeline.run_report import RunReport
from buildcpg_shared.pipeline.steps import StepResult, emit, format_step, write_line


class RunReporter:
    """Prints a run's lines (``echo``) and emits its events (``events``); collects finished steps in the report."""

    def __init__(self, report: RunReport, *, echo: bool = True, events: bool = False) -> None:
        self.report = report
        self.echo = echo
        self.events = events

    def say(self, text: str) -> None:
        """One human line, prefixed with the lab's name."""
        if self.echo:
            write_line(f"[{self.report.lab}] {text}")

    def event(self, kind: str, /, **fields: Any) -> None:
        """One machine-readable event of this lab (read live by the platform CLI)."""
        emit(kind, self.events, lab=self.report.lab, **fields)

    def node(self, line: NodeLine) -> None:
        """A model finished: its ``[i/n] relation ... ok 0.4s`` line. Under the platform CLI (``events``)
        it goes out as an event and the CLI prints it; run alone, it is printed here, the same line."""
        if self.events:
            self.event("node", **line.to_dict())
        else:
            self.say("  " + line.text())

    def finish_step(self, result: StepResult) -> StepResult:
        """A step is done: keep it in the report, print its line, emit its event."""
        self.report.steps.append(result)
        if self.echo:
            write_line(format_step(self.report.lab, result.to_dict()))
        self.event("step", **result.to_dict())
        return result

    def skipped(self, name: str, why: str) -> None:
        self.finish_step(StepResult(name, status="skipped", detail=why))

    def started(self, steps: list[str]) -> None:
        self.event("start", run_id=self.report.run_id, steps=steps)

    def ended(self, *, busy: bool) -> None:
        fields = {k: v for k, v in self.report.to_dict().items() if k != "steps"}
        emit("end", self.events, busy=busy, **fields)
