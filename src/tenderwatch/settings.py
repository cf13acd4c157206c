"""The one settings object of tenderwatch.

Each setting is read, highest priority first, from: a command-line option where one exists (such as
``--db``), an environment variable ``TENDERWATCH_<NAME>``, the settings file, then the default. The settings
file is TOML: ``--settings FILE``, else ``TENDERWATCH_SETTINGS``, else ``./tenderwatch.toml`` when it exists.
An unknown key in the settings file is an error, so a typo never passes as a default.

Every field has a description; ``docs/settings.md`` is generated from them (``python manage.py docs``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tenderwatch.exceptions import SettingsError

DEFAULT_SETTINGS_FILE = Path("tenderwatch.toml")


class Settings(BaseSettings):
    """Settings of tenderwatch. Environment variables are ``TENDERWATCH_`` followed by the name in capitals."""

    model_config = SettingsConfigDict(env_prefix="TENDERWATCH_", extra="forbid", validate_default=True)

    db: Path = Field(
        default=Path("tenderwatch.duckdb"),
        description="Path of the DuckDB store. Every command takes `--db PATH`, which wins over this setting.",
    )
    memory_limit: str = Field(
        default="256MB",
        description="Most memory DuckDB may use before it spills to disk (DuckDB's `memory_limit`, e.g. `512MB`).",
    )
    analysis_memory_limit: str = Field(
        default="768MB",
        description="Memory DuckDB may use for the analysis after a load (organisations, lifecycle, services, red "
        "flags, alerts, the web app's snapshot), which runs when the loading workers have finished, and for the "
        "whole of `tenderwatch flags --from`. A step that needs more is run again with twice the limit, up to "
        "half the machine's memory, with a warning.",
    )
    threads: int = Field(default=0, ge=0, description="Threads DuckDB may use; 0 means one per CPU core.")
    workers: int = Field(
        default=0,
        ge=0,
        description="Processes that read and compile releases in parallel; 0 means one per CPU core, 1 means no "
        "extra processes.",
    )
    batch_size: int = Field(
        default=20_000,
        ge=1,
        description="Releases stored per transaction. A killed load loses at most the transaction in flight, which "
        "the next load stores again.",
    )
    release_schema: Path | None = Field(
        default=None,
        description="Path of an OCDS release schema (for example one patched with extensions) whose merge rules "
        "compile releases. Empty means the OCDS 1.1.5 rules shipped with tenderwatch.",
    )
    document_in_memory_limit: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Largest single JSON document (in bytes) parsed in one go; larger release or record packages "
        "are streamed release by release so memory stays flat.",
    )
    max_amount: float = Field(
        default=1e15,
        gt=0,
        description="Largest believable monetary amount in any currency; a larger amount is set aside as a "
        "problem value, with its reason, in the rejects table.",
    )
    min_year: int = Field(default=1900, description="Dates before this year are impossible and set aside.")
    max_year: int = Field(default=2200, description="Dates after this year are impossible and set aside.")
    naive_timezone: str = Field(
        default="Europe/London",
        description="Time zone of the calendar dates are read, counted and shown in: a date that carries no offset "
        "(such as `2021-04-01T09:00:00`) is read as a time in it, and a date with one (such as Find a Tender's "
        "`2026-10-06T00:00:00+01:00`) is shown as the day it falls on there. UK publishers give local times, so "
        "the default is UK time; for another country's data, give that country's zone (or `UTC`).",
    )
    analyse_after_load: bool = Field(
        default=True,
        description="After a load or rebuild that changed anything, rebuild the contract lifecycle table and run "
        "every red-flag indicator (with the [flags] settings), so the results are never stale.",
    )
    publish_after_load: bool = Field(
        default=True,
        description="After a load, sync or rebuild that changed anything, publish a read snapshot for the web app, "
        "so it shows the new data while later loads write.",
    )
    starter_register: bool = Field(
        default=True,
        description="Fill the track-record register of a new store with the events tenderwatch ships (fines, "
        "terminations, exits and failures of large public-service suppliers, each with its public source).",
    )
    web_host: str = Field(default="127.0.0.1", description="Address the web app listens on (`serve --host`).")
    web_port: int = Field(default=8000, ge=1, le=65535, description="Port the web app listens on (`serve --port`).")
    web_workers: int = Field(
        default=0,
        ge=0,
        description="Processes that answer web requests; 0 means one per CPU core. Each reads the same snapshot.",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Send the sign-in cookie only over HTTPS (browsers treat 127.0.0.1 and localhost as secure). "
        "Turn off only to test over plain HTTP on another address.",
    )
    progress: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Progress bars: `auto` shows them only on a terminal; `always` and `never` force the choice.",
    )
    reject_keep_bytes: int = Field(
        default=65_536,
        ge=0,
        description="Bytes of a rejected input kept verbatim in the rejects table, so it can be inspected and fixed.",
    )

    @field_validator("memory_limit", "analysis_memory_limit")
    @classmethod
    def _memory_limit_has_unit(cls, value: str) -> str:
        text = value.strip().upper().replace(" ", "")
        if not text or not any(text.endswith(unit) for unit in ("KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB")):
            raise ValueError("give a size with a unit, such as 512MB or 2GB")
        return text

    @field_validator("naive_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use a name such as UTC or Europe/London") from error
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    def worker_count(self) -> int:
        """Return the number of worker processes to use."""
        return self.workers or (os.cpu_count() or 1)


class _FileSource(PydanticBaseSettingsSource):
    """Reads the TOML settings file named by ``TENDERWATCH_SETTINGS`` or ``./tenderwatch.toml``."""

    path: Path | None = None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        # Tables (such as [flags], the indicator settings) are read by their own modules.
        return {key: value for key, value in read_settings_file(self.path).items() if not isinstance(value, dict)}


def read_settings_file(path: Path | None = None) -> dict[str, Any]:
    """Return the whole settings file (``path``, else ``TENDERWATCH_SETTINGS``, else ./tenderwatch.toml), or {}.

    :raises SettingsError: if the file named does not exist or is not valid TOML
    """
    if path is None:
        env = os.environ.get("TENDERWATCH_SETTINGS")
        path = Path(env) if env else (DEFAULT_SETTINGS_FILE if DEFAULT_SETTINGS_FILE.is_file() else None)
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SettingsError(
            f"settings file {path} does not exist", "create it or unset TENDERWATCH_SETTINGS"
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"settings file {path} is not valid TOML ({error})") from error


def load_settings(settings_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment, the settings file and ``overrides`` (command-line options).

    :raises SettingsError: if a value is invalid or the file has an unknown key
    """
    _FileSource.path = settings_file
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting {name!r}", "see docs/settings.md for the settings that exist"
            ) from error
        raise SettingsError(f"setting {name!r} is invalid: {first['msg']}") from error
    finally:
        _FileSource.path = None
