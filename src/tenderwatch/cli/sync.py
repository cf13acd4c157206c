"""``tenderwatch sync`` and ``tenderwatch sources``: fetch notices from live sources into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import ConsoleReporter, console, error_console
from tenderwatch.exceptions import InputError, StoreError, TenderwatchError
from tenderwatch.settings import Settings, read_settings_file
from tenderwatch.sources import SOURCES, load_source_settings, source_infos, source_page, sync
from tenderwatch.sources.runner import SourceSummary, WindowProgress
from tenderwatch.util import plural
from tenderwatch.workspace import FileSummary


class SyncConsole(ConsoleReporter):
    """Draws one progress bar per source on a terminal (window, pages, releases, rate, retries, time left);
    elsewhere prints one line per window and per retry. The summary of each source goes to standard output."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._bar: int | None = None

    def file_done(self, summary: FileSummary) -> None:
        """Say nothing per stored page."""

    def source_started(self, source: str, windows: int) -> None:
        """Start the bar of a source."""
        if self.progress is not None:
            self._bar = self.progress.add_task(source, total=windows or None, rate="")

    def window_started(self, progress: WindowProgress) -> None:
        """Name the window being read."""
        if self.progress is not None and self._bar is not None:
            self.progress.update(self._bar, description=f"{progress.source} {progress.label}", rate="")

    def window_progress(self, progress: WindowProgress) -> None:
        """Show the window's pages, releases, rate and retries."""
        if self.progress is not None and self._bar is not None:
            self.progress.update(self._bar, rate=_details(progress))

    def window_done(self, progress: WindowProgress) -> None:
        """Move the bar on, or print the window's line."""
        if self.progress is not None and self._bar is not None:
            self.progress.update(self._bar, completed=progress.index)
        else:
            error_console.print(f"{progress.source} {progress.label}: {_details(progress)}", markup=False)

    def retry(self, progress: WindowProgress | None, message: str) -> None:
        """Show a retry on the bar, or print it."""
        where = f"{progress.source} {progress.label}" if progress else "sync"
        if self.progress is not None and self._bar is not None and progress is not None:
            self.progress.update(self._bar, rate=_details(progress) + f" ({message})")
        else:
            error_console.print(f"{where}: {message}", markup=False)

    def source_done(self, summary: SourceSummary) -> None:
        """Remove the bar and print the source's summary line (and its notes)."""
        if self.progress is not None and self._bar is not None:
            self.progress.remove_task(self._bar)
            self._bar = None
        for note in summary.notes:
            error_console.print(f"note: {note}", markup=False)
        console.print(summary.line(), markup=False)


def _details(progress: WindowProgress) -> str:
    text = f"{plural(progress.pages, 'page')}, {plural(progress.releases, 'release')}, {progress.rate:,.0f}/s"
    return text + (f", {plural(progress.retries, 'retry', 'retries')}" if progress.retries else "")


def command(
    source: Annotated[
        str | None,
        typer.Argument(
            help="The source to sync: uk-find-a-tender, uk-contracts-finder or ocds-url.", show_default=False
        ),
    ] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Sync every source that the `enabled` setting of [sources] lists.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Start of the dates to sync (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UK time for the UK sources). Default: "
            "where the last sync ended.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="End of the dates to sync. Default: now.", show_default=False),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="N",
            help="Stop each source after N releases and record no checkpoint: a quick look at a source.",
            show_default=False,
        ),
    ] = None,
    refetch: Annotated[
        bool,
        typer.Option("--refetch", help="Read the windows from --since again even where an earlier sync read them."),
    ] = False,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url", metavar="URL", help="A URL for ocds-url to read (repeat it for more); replaces its urls setting."
        ),
    ] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Fetch new notices from a live source into the store, then compile, normalise and analyse them.

    A sync goes on from where the last one ended, one window of dates at a time, and commits each page with a
    checkpoint: stop it at any moment and the next sync resumes where it stopped. Requests are paced and
    retried politely; a window that keeps failing ends the sync of its source with an error naming it, and the
    next sync retries it. See docs/sources/index.md.

    Example: tenderwatch sync uk-find-a-tender --since 2026-09-03 --until 2026-09-04
    """
    settings = settings_for(db, settings_file)
    source_settings = load_source_settings(read_settings_file(settings_file))
    try:
        with open_workspace(settings) as workspace, SyncConsole(settings) as reporter:
            result = sync(
                workspace,
                [source] if source else [],
                all_sources=all_sources,
                since=since,
                until=until,
                sample=sample,
                urls=url or None,
                refetch=refetch,
                settings=source_settings,
                reporter=reporter,
            )
    except KeyboardInterrupt:
        raise TenderwatchError(
            "the sync was interrupted; every page stored so far is kept with its checkpoint",
            "run the same sync again to resume where it stopped",
        ) from None
    if result.processes:
        console.print(f"compiled and normalised {result.processes:,} processes", markup=False)
    if result.compile_errors:
        console.print(
            f"{result.compile_errors:,} processes could not be compiled (see tenderwatch status --rejects)",
            markup=False,
        )
    errors = result.errors
    for error in errors[:-1]:
        error_console.print(f"error: {error}", markup=False)
    if errors:
        raise TenderwatchError(errors[-1], "")


def sources_command(
    name: Annotated[
        str | None,
        typer.Argument(help="A source whose documentation to print in full.", show_default=False),
    ] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the live sources that `tenderwatch sync` reads, where each reads from, and how far the store is
    synced; with a NAME, print that source's documentation (what it covers, its limits and quirks).

    Example: tenderwatch sources uk-find-a-tender
    """
    if name is not None:
        if name not in SOURCES:
            raise InputError(f"unknown source {name!r}", f"the sources are {', '.join(SOURCES)}")
        console.print(source_page(name), markup=False)
        return
    settings = settings_for(db, settings_file)
    source_settings = load_source_settings(read_settings_file(settings_file))
    infos = None
    if Path(settings.db).is_file():
        try:
            with open_workspace(settings, read_only=True) as workspace:
                infos = source_infos(source_settings, workspace.store.con)
        except StoreError:
            infos = None
    if infos is None:
        infos = source_infos(source_settings)
    for info in infos:
        enabled = "  [synced by --all]" if info.enabled else ""
        console.print(f"{info.name}: {info.title}{enabled}", markup=False)
        console.print(f"  {info.summary}", markup=False)
        console.print(f"  reads: {info.where}", markup=False)
        if info.synced_until is not None:
            state = f"  synced until {info.synced_until:%Y-%m-%d %H:%M} UTC"
            if info.unfinished:
                state += f"; {info.unfinished} window(s) unfinished, resumed by the next sync"
            console.print(state, markup=False)
        console.print(f"  docs: docs/sources/{info.name}.md, or `tenderwatch sources {info.name}`", markup=False)
