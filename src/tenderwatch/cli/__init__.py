"""The ``tenderwatch`` command-line interface: one module per command, each a thin layer over the library.

Errors a user can cause are printed as one line (``error: what went wrong: what to do``) with exit code 1;
no stack trace. A fault of tenderwatch's own is also one line, with exit code 70, and its stack trace goes to a
report file the line names.
"""

from __future__ import annotations

import errno
import importlib
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

from tenderwatch.cli.output import error_console
from tenderwatch.exceptions import TenderwatchError

# Exit code of a fault of tenderwatch's own (EX_SOFTWARE of sysexits.h): a user's mistake exits with 1.
FAULT = 70

# Alphabetical: name -> (module of this package, attribute): a command's function, or the Typer app of a command
# with subcommands.
COMMANDS = {
    "alerts": ("alerts", "app"),
    "brief": ("brief", "command"),
    "coverage": ("flags", "coverage_command"),
    "demo": ("demo", "command"),
    "export": ("export", "app"),
    "flags": ("flags", "command"),
    "load": ("load", "command"),
    "org": ("org", "app"),
    "rebuild": ("rebuild", "command"),
    "register": ("register", "app"),
    "serve": ("serve", "command"),
    "services": ("services", "app"),
    "sources": ("sync", "sources_command"),
    "status": ("status", "command"),
    "sync": ("sync", "command"),
    "user": ("serve", "user_app"),
    "watch": ("watch", "app"),
}


# The exit code of a run stopped with Ctrl-C.
INTERRUPTED = 130


def _version(value: bool) -> None:
    if value:
        from tenderwatch import __version__  # noqa: PLC0415

        print(f"tenderwatch {__version__}")  # noqa: T201
        raise typer.Exit


def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Follow public money into outsourced public services."""


def _attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"tenderwatch.cli.{module}"), name)


def build_app(names: list[str] | None = None) -> typer.Typer:
    """Return the command line with the commands and groups named (all of them when ``names`` is None).

    Each command's module, and the library it imports, is imported only when the command is added, so a run
    of one command does not pay for importing every other.
    """
    app = typer.Typer(
        name="tenderwatch",
        help="Follow public money into outsourced public services: load open contracting (OCDS) data into a "
        "local store, compiled and normalised, and see what it holds.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in names if names is not None else COMMANDS:
        target = _attribute(*COMMANDS[name])
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app


def __getattr__(name: str) -> Any:
    """``app``, the whole command line, is built when first asked for."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()["app"] = build_app()
    return value


def _app_for(args: list[str]) -> typer.Typer:
    """The command line for these arguments: only the command they run when the first names one, else all."""
    if args and args[0] in COMMANDS:
        return build_app([args[0]])
    return build_app()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and turn expected errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        _app_for(args)(args=args, prog_name="tenderwatch")
    except TenderwatchError as error:
        error_console.print(f"error: {error}", markup=False)
        sys.exit(1)
    except SystemExit as done:
        # Typer ends a run stopped with Ctrl-C (SIGINT) with exit code 130 and says nothing
        if done.code == INTERRUPTED:
            error_console.print(
                "stopped: nothing already stored is lost; run the same command again to go on", markup=False
            )
        raise
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`); that is not an error of ours.
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:
        line = _resource_error(error)
        if line is not None:
            error_console.print(f"error: {line}", markup=False)
            sys.exit(1)
        error_console.print(f"error: {_fault_line(error, args)}", markup=False)
        sys.exit(FAULT)


def _fault_line(error: BaseException, args: list[str]) -> str:
    """Write the stack trace of a fault of ours to a report file; return the line that tells the user of it."""
    summary = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else 'no message'}"
    if len(summary) > 200:
        summary = summary[:199] + "\u2026"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    report = Path(tempfile.gettempdir()) / f"tenderwatch-fault-{stamp}-{os.getpid()}.txt"
    try:
        report.write_text(
            f"command: tenderwatch {' '.join(args)}\n\n{''.join(traceback.format_exception(error))}", encoding="utf-8"
        )
        where = f"the details are in {report}: please report them with the command you ran"
    except OSError:
        where = "please report it with the command you ran"
    return f"tenderwatch stopped on a fault of its own ({summary}); nothing already stored is lost; {where}"


def _resource_error(error: BaseException) -> str | None:
    """Return one line for a failure no command foresees but a user can mend: DuckDB needing more memory than its
    limit, or a full disk. Anything else is None (a fault of ours, shown whole)."""
    text = str(error)
    duckdb = sys.modules.get("duckdb")
    # DuckDB says so with its own exception, or, when a commit could not get memory, in a transaction error
    if (
        duckdb is not None
        and isinstance(error, duckdb.Error)
        and (isinstance(error, duckdb.OutOfMemoryException) or "failed to pin block" in text)
    ):
        used = re.search(r"\(([0-9.]+ \w+)/([0-9.]+ \w+) used\)", text)
        detail = f" ({used.group(1)} of {used.group(2)} in use)" if used else ""
        return (
            f"DuckDB needed more memory than its limit allows{detail}: raise TENDERWATCH_MEMORY_LIMIT (loading, "
            "rebuilding) or TENDERWATCH_ANALYSIS_MEMORY_LIMIT (red flags and the analysis after a load), e.g. "
            "to 1GB, and run the command again; nothing already stored is lost"
        )
    if "No space left on device" in text or (isinstance(error, OSError) and error.errno == errno.ENOSPC):
        return (
            "the disk is full: free some space where the store is (DuckDB also writes its temporary files beside "
            "it, in STORE.tmp) or where the output goes, and run the command again; nothing already stored is lost"
        )
    return None
