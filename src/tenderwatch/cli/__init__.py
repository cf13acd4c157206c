"""The ``tenderwatch`` command-line interface: one module per command, each a thin layer over the library.

Errors a user can cause are printed as one line (``error: what went wrong: what to do``) with exit code 1;
no stack trace.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tenderwatch.cli import (
    alerts,
    brief,
    demo,
    export,
    flags,
    load,
    org,
    rebuild,
    register,
    serve,
    services,
    status,
    sync,
    watch,
)
from tenderwatch.cli.output import error_console
from tenderwatch.exceptions import TenderwatchError

app = typer.Typer(
    name="tenderwatch",
    help="Follow public money into outsourced public services: load open contracting (OCDS) data into a local "
    "store, compiled and normalised, and see what it holds.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

# Alphabetical; each module holds one command.
COMMANDS = {
    "brief": brief.command,
    "coverage": flags.coverage_command,
    "demo": demo.command,
    "flags": flags.command,
    "load": load.command,
    "rebuild": rebuild.command,
    "serve": serve.command,
    "sources": sync.sources_command,
    "status": status.command,
    "sync": sync.command,
}
for name, function in COMMANDS.items():
    app.command(name)(function)


def _version(value: bool) -> None:
    if value:
        from tenderwatch import __version__  # noqa: PLC0415

        print(f"tenderwatch {__version__}")  # noqa: T201
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Follow public money into outsourced public services."""


export.app.command("organisations")(org.export_organisations_command)
app.add_typer(export.app, name="export")
app.add_typer(org.app, name="org")
app.add_typer(register.app, name="register")
app.add_typer(serve.user_app, name="user")
app.add_typer(services.app, name="services")
app.add_typer(watch.app, name="watch")
app.add_typer(alerts.app, name="alerts")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and turn expected errors into one line and an exit code."""
    try:
        app(args=argv)
    except TenderwatchError as error:
        error_console.print(f"error: {error}", markup=False)
        sys.exit(1)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`); that is not an error of ours.
        sys.stderr.close()
        sys.exit(0)
