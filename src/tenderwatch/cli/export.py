"""``tenderwatch export``: write what the store holds in open formats."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.org import export_organisations_command
from tenderwatch.cli.output import ConsoleReporter, error_console
from tenderwatch.exceptions import unwritable

app = typer.Typer(help="Export data from the store.", no_args_is_help=True)


@app.command("compiled-releases")
def compiled_releases(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (JSON lines). Default: standard output.", dir_okay=False),
    ] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Write one compiled release per line (JSON lines), ordered by ocid, to feed any other OCDS tool.

    Memory stays flat however large the store: the releases are sorted 10,000 at a time through temporary files
    next to it (else in the system's temporary folder), which need about as much free space as the output, and
    are removed at the end.

    Example: tenderwatch export compiled-releases --out compiled.jsonl
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace, ConsoleReporter(settings) as reporter:
        if out is None:
            count = workspace.export_compiled_releases(sys.stdout.buffer, reporter=reporter)
            sys.stdout.flush()
        else:
            try:
                handle = out.open("wb")
            except OSError as error:
                raise unwritable(out, error) from error
            with handle:
                count = workspace.export_compiled_releases(handle, reporter=reporter)
    error_console.print(f"exported {count:,} compiled releases", markup=False)


app.command("organisations")(export_organisations_command)
