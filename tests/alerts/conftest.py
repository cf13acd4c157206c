"""Stores for the alert tests: real DuckDB files loaded through the library, and a real SMTP server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import tenderwatch.store
from tenderwatch import Workspace, load_settings
from tenderwatch.alerts import AlertRun, AlertSettings, Rules, add_watchlist
from tests.alerts import ALERTS_GROUP, QUICK, free_port, history, load, news, republication


@pytest.fixture(autouse=True)
def _alert_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store create the alert tables, when their table group is not registered yet."""
    if not any(group == "alerts" for group, _, _ in tenderwatch.store.TABLE_GROUPS):
        monkeypatch.setattr(tenderwatch.store, "TABLE_GROUPS", (*tenderwatch.store.TABLE_GROUPS, ALERTS_GROUP))


@pytest.fixture(scope="session")
def hook_port() -> int:
    """The port the scenario's webhooks post to (each test that needs it starts its own receiver there)."""
    return free_port()


@pytest.fixture(scope="session")
def scenario_store(tmp_path_factory: pytest.TempPathFactory, hook_port: int) -> tuple[Path, dict[str, AlertRun]]:
    """A store built once: a watchlist saved on the empty store, the history loaded, four more watchlists saved,
    then the news and a re-publication loaded, each analysed for alerts. Copy it before writing to it."""
    folder = tmp_path_factory.mktemp("scenario")
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        if not any(group == "alerts" for group, _, _ in tenderwatch.store.TABLE_GROUPS):
            patch.setattr(tenderwatch.store, "TABLE_GROUPS", (*tenderwatch.store.TABLE_GROUPS, ALERTS_GROUP))
        with Workspace.open(load_settings(db=folder / "scenario.duckdb", **QUICK)) as workspace:
            con = workspace.store.con
            settings = AlertSettings()
            hook = f"http://127.0.0.1:{hook_port}/hook"
            add_watchlist(con, "Ravensholt", Rules(buyers=["ravensholt borough council"]), settings,
                          email="rep@example.org", webhook_url=hook, owner="rep")  # fmt: skip
            runs["history"] = load(workspace, folder, "history", history())
            add_watchlist(con, "Therapy exits", Rules(cpv_prefixes=["853"], kinds=["termination", "provider_exit"]),
                          settings, webhook_url=hook, owner="rep")  # fmt: skip
            add_watchlist(con, "School nursing", Rules(keywords=["school nurs*"]), settings,
                          email="nurses@example.org", backfill_days=500)  # fmt: skip
            add_watchlist(con, "Ending soon", Rules(buyers=["GB-DEMO-RBC"], ending_within_months=14), settings)
            add_watchlist(con, "Big money", Rules(regions=["ukj"], min_value=Decimal(10_000_000)), settings)
            runs["news"] = load(workspace, folder, "news", news())
            runs["republication"] = load(workspace, folder, "republication", republication())
    return folder / "scenario.duckdb", runs


@pytest.fixture
def scenario(scenario_store: tuple[Path, dict[str, AlertRun]], tmp_path: Path) -> Path:
    """A copy of the scenario's store, to write to."""
    path = tmp_path / "store.duckdb"
    shutil.copyfile(scenario_store[0], path)
    return path


@pytest.fixture
def workspace(db: Path) -> Iterator[Workspace]:
    """An empty store (the red flags are not run after loads, to keep the tests quick)."""
    with Workspace.open(load_settings(db=db, **QUICK)) as opened:
        yield opened


@pytest.fixture
def with_history(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A store holding the notices of a year and more ago, analysed for alerts."""
    load(workspace, tmp_path, "history", history())
    return workspace


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 with a login, named to tenderwatch through the environment."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"s3cret-word")
        return AuthResult(success=ok)

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_USER": "alerts",
        "SMTP_PASSWORD": "s3cret-word",
        "EMAIL_FROM": "alerts@tenderwatch.example",
        "WEBHOOK_BACKOFF_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(f"TENDERWATCH_ALERTS_{name}", value)
    yield mailbox
    controller.stop()
