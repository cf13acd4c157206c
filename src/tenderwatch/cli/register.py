"""``tenderwatch register``: the track-record register of fines, terminations, hand-backs and other events,
each with its public source (see docs/track-record.md)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console, error_console
from tenderwatch.exceptions import InputError
from tenderwatch.records import (
    RegisterError,
    dump_register,
    export_register,
    import_register,
    register_events,
    starter_register_path,
    track_record_for,
    validate_register,
)

app = typer.Typer(
    help="The track-record register: fines, terminations, hand-backs and other events, each with its source.",
    no_args_is_help=True,
)


class Format(StrEnum):
    """Formats of a register file."""

    yaml = "yaml"
    csv = "csv"


def _refuse(error: RegisterError, what: str) -> None:
    for problem in error.problems:
        error_console.print(f"error: {problem}", markup=False)
    error_console.print(f"{what}: fix the rows above and try again (docs/track-record.md)", markup=False)
    raise typer.Exit(1)


@app.command("import")
def import_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="A register file, .csv or .yaml, to import.", dir_okay=False, show_default=False),
    ] = None,
    starter: Annotated[
        bool,
        typer.Option("--starter", help="Import the starter register shipped with tenderwatch (real, public events)."),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Remove the events that are not in the file, so the register matches it."),
    ] = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Check a register file and import its events into the store.

    Nothing is imported if any row has a problem; each problem is shown in one line naming the row and the field.
    An event whose event_id is in the store already is updated.

    Example: tenderwatch register import my-events.yaml
    """
    if (file is None) == (not starter):
        raise InputError("give a register FILE or --starter (one of the two)", "see `register import --help`")
    path = starter_register_path() if starter else file
    settings = settings_for(db, settings_file)
    with open_workspace(settings) as workspace:
        try:
            result = import_register(workspace.store.con, path, replace=replace)
        except RegisterError as error:
            _refuse(error, f"nothing was imported from {path.name}")
    error_console.print(f"{path.name}: {result.line()}", markup=False)


@app.command("export")
def export_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File to write, .csv or .yaml (its suffix sets the format). Default: standard output."
        ),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="Format on standard output (a file's suffix sets its own).")
    ] = Format.yaml,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Write every event of the register, oldest first, as a file you can edit, share and import again.

    Example: tenderwatch register export --out register.csv
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        if out is None:
            events = register_events(workspace.store.con)
            sys.stdout.write(dump_register(events, output_format.value))
            sys.stdout.flush()
            count = len(events)
        else:
            try:
                count = export_register(workspace.store.con, out)
            except RegisterError as error:
                raise InputError(error.problems[0], "name the file .csv, .yaml or .yml") from error
    error_console.print(f"exported {count:,} events", markup=False)


@app.command("validate")
def validate_command(
    file: Annotated[Path, typer.Argument(help="A register file, .csv or .yaml, to check.", dir_okay=False)],
) -> None:
    """Check a register file without importing it: every row needs a known event type, a real date, the
    organisation, a source URL and title, and a summary; amounts must be numbers with a currency.

    Example: tenderwatch register validate my-events.csv
    """
    try:
        events = validate_register(file)
    except RegisterError as error:
        _refuse(error, f"{file.name} is not valid")
    console.print(f"{file.name}: {len(events):,} events, all valid", markup=False)


@app.command("list")
def list_command(
    organisation: Annotated[
        str | None,
        typer.Option(
            "--organisation",
            "-o",
            help="Show only events of organisations or groups whose name (or identifier) contains this text.",
        ),
    ] = None,
    notices: Annotated[
        bool,
        typer.Option(
            "--notices/--no-notices",
            help="With --organisation, also show events found in the notices (early ends, cancellations, exits) "
            "of organisations with exactly that name, spelled any way.",
        ),
    ] = True,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the events of the register, oldest first, with their sources.

    Each event is a fact reported by its source, to be checked there; it is not a verdict on the organisation.

    Example: tenderwatch register list --organisation serco
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        con = workspace.store.con
        events = [
            {**event.__dict__, "origin": "register", "release_id": None}
            for event in register_events(con, organisation)
        ]
        if organisation and notices:
            found = track_record_for(con, names=[organisation])
            events += [event for event in found if event["origin"] == "notices"]
    events.sort(key=lambda event: (event["event_date"], event["event_id"]))
    if not events:
        console.print("no events" + (f" for {organisation!r}" if organisation else ""), markup=False)
        return
    for event in events:
        amount = ""
        if event.get("amount") is not None:
            amount = f" {event['currency'] or ''} {event['amount']:,.2f}".rstrip("0").rstrip(".")
        console.print(
            f"{event['event_date']}  {event['event_type']}  {event['organisation_name'] or '(no supplier named)'}"
            f"{amount}",
            markup=False,
            style="bold",
        )
        console.print(f"    {event['summary']}", markup=False)
        if event["origin"] == "register":
            console.print(f"    source: {event['source_title']} <{event['source_url']}>", markup=False)
        else:
            console.print(f"    notice: {event['ocid']} release {event['release_id']}", markup=False)
    console.print(f"{len(events):,} events; each is a fact to check at its source, not a verdict.", markup=False)
