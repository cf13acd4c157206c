"""Options shared by every command, and how a command opens the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenderwatch.settings import Settings, load_settings
from tenderwatch.workspace import Workspace

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="The store (a DuckDB file). Default: TENDERWATCH_DB, else ./tenderwatch.duckdb.",
        dir_okay=False,
        show_default=False,
    ),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="A TOML settings file. Default: TENDERWATCH_SETTINGS, else ./tenderwatch.toml if it exists.",
        dir_okay=False,
        show_default=False,
    ),
]


def settings_for(db: Path | None, settings_file: Path | None, **overrides: Any) -> Settings:
    """Build the settings for one command run."""
    return load_settings(settings_file, db=db, **overrides)


def open_workspace(settings: Settings, *, read_only: bool = False) -> Workspace:
    """Open the store named by the settings."""
    return Workspace.open(settings, read_only=read_only)
