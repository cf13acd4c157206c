"""``tenderwatch serve`` and ``tenderwatch user``: the web app, and the accounts that may write through it."""

from __future__ import annotations

import errno
import getpass
import os
import socket
import sys
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console, error_console
from tenderwatch.exceptions import InputError
from tenderwatch.settings import Settings


def check_port(host: str, port: int, other_port: str = "give another port with --port") -> None:
    """Raise a one-line error if the web app could not listen on ``host`` and ``port`` (checked before any work,
    so that a demo does not build its store only to find the port taken); ``other_port`` says how to choose
    another."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise InputError(f"--host {host}: not an address of this machine", "give one, such as 127.0.0.1") from error
    family, kind, protocol, _, address = infos[0]
    with socket.socket(family, kind, protocol) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            sock.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port {port} is in use already (by another server: an earlier `tenderwatch serve` or "
                    "`tenderwatch demo`, say)",
                    f"stop that one, or {other_port}",
                ) from error
            if error.errno == errno.EACCES:
                raise InputError(f"port {port} needs more privileges", f"{other_port}, above 1023") from error
            raise InputError(
                f"cannot listen on {host} port {port} ({error.strerror})", f"check the address, or {other_port}"
            ) from error


def run_server(settings: Settings, host: str, port: int, other_port: str = "give another port with --port") -> None:
    """Publish a snapshot if there is none, then serve the web app until interrupted (``other_port`` says how to
    choose another port if that one is taken)."""
    import uvicorn  # noqa: PLC0415

    from tenderwatch.store.snapshot import current_snapshot  # noqa: PLC0415
    from tenderwatch.web.accounts import Accounts, accounts_path  # noqa: PLC0415
    from tenderwatch.web.app import create_app  # noqa: PLC0415

    check_port(host, port, other_port)
    # Make the accounts file (and its session secret) before any worker starts, so all workers share one secret.
    Accounts(accounts_path(settings.db)).secret()
    if current_snapshot(settings.db) is None:
        with open_workspace(settings) as workspace:
            workspace.publish()
    console.print(
        f"tenderwatch is serving {settings.db} at http://{host}:{port}/ (press Ctrl+C to stop)", markup=False
    )
    workers = settings.web_workers or (os.cpu_count() or 1)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # Each worker process builds the app from the environment, so these settings go through it.
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            os.environ[f"TENDERWATCH_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    uvicorn.run(
        "tenderwatch.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def command(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on. Default: 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on. Default: 8000.")] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Serve the web app and JSON API (OpenAPI at /api/openapi.json) for the store, read-only to the public.

    It reads the newest snapshot the loads publish, so it keeps answering while a load or sync writes. A port
    already in use is reported before anything else is done.

    Example: tenderwatch serve --port 8080
    """
    settings = settings_for(db, settings_file, web_host=host, web_port=port)
    run_server(settings, settings.web_host, settings.web_port)


user_app = typer.Typer(help="Accounts that may write through the web app (watchlists, register edits).")


@user_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The new user's name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input instead of asking.")
    ] = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Create a user who can sign in to the web app. The password is asked for (at least 12 characters).

    Example: tenderwatch user add alex
    """
    from tenderwatch.web.accounts import Accounts, accounts_path  # noqa: PLC0415

    settings = settings_for(db, settings_file)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            error_console.print("error: the two passwords differ: run the command again", markup=False)
            raise typer.Exit(1)
    Accounts(accounts_path(settings.db)).add_user(name, password)
    console.print(f"user {name} created", markup=False)
