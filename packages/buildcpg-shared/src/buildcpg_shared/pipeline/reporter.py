"""What a lab run tells the world while it runs: human lines on stdout and, when on, machine events."""

from __future__ import annotations

from buildcpg_shared.pipeline.dbt_progress import NodeLine
from buildcpg_shared.pipeline.run_report import RunReport
from buildcpg_shared.pipeline.steps import emit, write_line
from buildcpg_shared.run_record import Event, NodeEvent, StartEvent, Status, StepEvent, StepRecord


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

    def event(self, event: Event) -> None:
        """One machine-readable event of this lab (read live by the platform CLI)."""
        emit(event, self.events)

    def node(self, line: NodeLine) -> None:
        """A model finished: its ``[i/n] relation ... ok 0.4s`` line. Under the platform CLI (``events``)
        it goes out as an event and the CLI prints it; run alone, it is printed here, the same line."""
        if self.events:
            self.event(NodeEvent(self.report.lab, line.to_dict()))
        else:
            self.say("  " + line.text())

    def finish_step(self, result: StepRecord) -> StepRecord:
        """A step is done: keep it in the report, print its line, emit its event."""
        self.report.steps.append(result)
        if self.echo:
            write_line(result.line(self.report.lab))
        self.event(StepEvent(self.report.lab, result))
        return result

    def skipped(self, name: str, why: str) -> None:
        self.finish_step(StepRecord(name, status=Status.SKIPPED, detail=why))

    def started(self, steps: list[str]) -> None:
        self.event(StartEvent(self.report.lab, self.report.run_id, tuple(steps)))

    def ended(self) -> None:
        self.event(self.report.end_event())
