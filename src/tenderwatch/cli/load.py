"""``tenderwatch load``: read OCDS files into the store."""

from __future__ import annotations

from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import ConsoleReporter, console
from tenderwatch.exceptions import NothingLoadedError, TenderwatchError


def command(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders of OCDS data (release or record packages, releases, JSON lines; gzip or zip "
            "allowed), or - for standard input.",
            show_default=False,
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with an error if anything at all was rejected or set aside.")
    ] = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Load OCDS data: store every release verbatim, then compile and normalise the processes it touches.

    Bad input never stops a load: each bad file, line, release or value is recorded in the rejects table with
    where it was and why (see `tenderwatch status --rejects`). Loading the same data again changes nothing.
    A UTF-8 byte order mark at the start of a file, as some Windows programs write, is skipped. Text that is not
    UTF-8 (UTF-16, or Windows-1252, say) is rejected with a reason that says so.

    Example: tenderwatch load downloads/*.jsonl.gz
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings) as workspace, ConsoleReporter(settings) as reporter:
        result = workspace.load(paths, reporter=reporter)
    if result.processes:
        console.print(f"compiled and normalised {result.processes:,} processes", markup=False)
    if result.compile_errors:
        console.print(
            f"{result.compile_errors:,} processes could not be compiled (see tenderwatch status --rejects)",
            markup=False,
        )
    if result.input_errors:
        raise TenderwatchError(
            f"{len(result.input_errors)} of the inputs could not be read", "check the paths named above"
        )
    if result.loaded + result.already_stored == 0:
        raise NothingLoadedError(f"nothing could be loaded ({result.rejected:,} rejected)")
    problems = result.rejected + result.set_aside + result.compile_errors
    if strict and problems:
        raise TenderwatchError(
            f"--strict: {result.rejected:,} rejected, {result.set_aside:,} values set aside, "
            f"{result.compile_errors:,} processes not compiled",
            "see `tenderwatch status --rejects`",
        )
