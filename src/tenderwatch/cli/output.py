"""Console output for the CLI: Rich progress bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tenderwatch.settings import Settings
from tenderwatch.workspace import FileSummary, Task

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)


def show_progress(settings: Settings) -> bool:
    """Return whether progress bars should be drawn: on a terminal unless the `progress` setting says otherwise."""
    if settings.progress == "always":
        return True
    if settings.progress == "never":
        return False
    return sys.stderr.isatty()


class _QuietTask:
    def advance(self, amount: int = 1) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass

    def done(self) -> None:
        pass


class _BarTask:
    """A progress bar showing rows done, the rate in its own unit and the time left."""

    def __init__(self, progress: Progress, description: str, total: int | None, unit: str) -> None:
        self.progress = progress
        self.unit = unit
        self.id = progress.add_task(description, total=total, rate="")

    def advance(self, amount: int = 1) -> None:
        self.progress.advance(self.id, amount)
        task = next((task for task in self.progress.tasks if task.id == self.id), None)
        if task is not None and task.speed:
            self.progress.update(self.id, rate=f"{task.speed:,.0f} {self.unit}/s")

    def set_total(self, total: int | None) -> None:
        self.progress.update(self.id, total=total)

    def done(self) -> None:
        self.progress.remove_task(self.id)


class ConsoleReporter:
    """Draws progress bars on a terminal, and prints one summary line per input everywhere."""

    def __init__(self, settings: Settings) -> None:
        self.progress: Progress | None = None
        if show_progress(settings):
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True, force_terminal=True) if settings.progress == "always" else error_console,
                transient=True,
            )

    def __enter__(self) -> ConsoleReporter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        """Start a progress bar (or nothing, when bars are off)."""
        if self.progress is None:
            return _QuietTask()
        return _BarTask(self.progress, description, total, unit)

    def file_done(self, summary: FileSummary) -> None:
        """Print the summary line of one input (errors go to standard error)."""
        (error_console if summary.error else console).print(summary.line(), markup=False)

    def note(self, message: str) -> None:
        """Print a notable event on standard error."""
        error_console.print(message, markup=False)
