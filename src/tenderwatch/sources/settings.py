"""Settings of the live sources: the ``[sources]`` table of the settings file, one sub-table per source.

.. code-block:: toml

    [sources]
    enabled = ["uk-find-a-tender", "uk-contracts-finder"]   # what `tenderwatch sync --all` syncs
    contact = "newsdesk@example.org"                         # added to the User-Agent

    [sources.uk-find-a-tender]
    base_url = "https://fts-mirror.example.org/api/1.0/"
    min_interval = 12

    [sources.ocds-url]
    urls = ["https://data.example.org/ocds/releases.jsonl.gz"]

Every setting can also come from an environment variable: ``TENDERWATCH_SOURCES_<NAME>`` for the settings
shared by every source, ``TENDERWATCH_SOURCES_<SOURCE>_<NAME>`` for one source's (the source name in capitals
with ``_`` for ``-``, such as ``TENDERWATCH_SOURCES_UK_FIND_A_TENDER_BASE_URL``). Lists are comma-separated
there. The environment wins over the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenderwatch.exceptions import SettingsError

ENV_PREFIX = "TENDERWATCH_SOURCES_"


class CommonSettings(BaseModel):
    """Settings shared by every source: politeness, retries and what is kept."""

    model_config = ConfigDict(extra="forbid")

    enabled: list[str] = Field(
        default_factory=list,
        description="The sources `tenderwatch sync --all` syncs, by name (see `tenderwatch sources`).",
    )
    contact: str = Field(
        default="",
        description="An e-mail address or web page added to the User-Agent of every request, so that a "
        "publisher whose API you use can reach you instead of blocking you.",
    )
    first_sync_days: int = Field(
        default=7,
        ge=1,
        description="Days back a dated source starts from when it has never been synced and no `--since` is "
        "given. Later syncs start where the last one ended.",
    )
    timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for a connection, and then for each part of a response, before the request "
        "counts as failed and is tried again.",
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        description="Attempts at one request before the sync gives up on its window with an error (the next "
        "sync tries that window again). A host name that cannot be looked up gets two attempts at most.",
    )
    retry_after_default: float = Field(
        default=30.0,
        ge=0,
        description="Seconds to wait after HTTP 429 or 503 when the response has no Retry-After header.",
    )
    max_retry_wait: float = Field(
        default=900.0,
        ge=0,
        description="Longest wait, in seconds, that a Retry-After header is obeyed for; a server asking for "
        "longer fails the window at once, with the wait asked for in the message.",
    )
    backoff_base: float = Field(
        default=2.0,
        ge=0,
        description="Seconds to wait before the first retry after a server error (5xx), a timeout or a broken "
        "connection; each further retry waits twice as long, with random jitter of up to half the wait.",
    )
    backoff_max: float = Field(
        default=300.0,
        ge=0,
        description="Longest wait, in seconds, between two attempts after server errors.",
    )
    invalid_json_refetches: int = Field(
        default=1,
        ge=0,
        description="Times a page that is not valid JSON (even after the known repairs) is fetched again before "
        "it is quarantined; a second copy is often whole when the first was cut short.",
    )
    keep_pages: Literal["all", "problems"] = Field(
        default="all",
        description="Which fetched pages are kept byte for byte (gzip-compressed) in `sync_pages.raw`: `all`, "
        "or only `problems` (pages that needed a repair, whose text was changed for a quirk of the source, or "
        "that were quarantined).",
    )


class SourceSettings(BaseModel):
    """Settings every source has."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        default="",
        description="Where the source's API lives; point it at a mirror or a caching proxy if you use one.",
    )
    min_interval: float = Field(
        default=1.0,
        ge=0,
        description="Fewest seconds between the starts of two requests to the same host.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("give an http:// or https:// URL")
        return value


@dataclass
class SourcesSettings:
    """The settings shared by every source and those of each source, by source name."""

    common: CommonSettings
    per_source: dict[str, SourceSettings]

    def of(self, name: str) -> SourceSettings:
        """Return the settings of one source."""
        return self.per_source[name]


def _env_table(source_names: list[str]) -> dict[str, Any]:
    """Return the ``[sources]`` settings given by environment variables, shaped like the file's table."""
    table: dict[str, Any] = {}
    prefixes = sorted(
        ((name, name.upper().replace("-", "_") + "_") for name in source_names), key=lambda x: -len(x[1])
    )
    for key, value in os.environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX) :]
        for name, prefix in prefixes:
            if rest.startswith(prefix):
                table.setdefault(name, {})[rest[len(prefix) :].lower()] = value
                break
        else:
            table[rest.lower()] = value
    return table


def _split_lists(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Turn comma-separated environment values into lists for the fields that are lists."""
    result = dict(values)
    for name, value in values.items():
        field = model.model_fields.get(name)
        if field is not None and isinstance(value, str) and "list" in str(field.annotation):
            result[name] = [part.strip() for part in value.split(",") if part.strip()]
    return result


def load_source_settings(document: dict[str, Any] | None = None) -> SourcesSettings:
    """Return the settings of the sources from the ``[sources]`` table of the settings file (or of
    ``document``), with environment variables applied over it.

    :raises SettingsError: if a value is invalid, a key is unknown, or ``enabled`` names an unknown source
    """
    from tenderwatch.sources import SOURCES  # noqa: PLC0415

    if document is None:
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        document = read_settings_file()
    table = document.get("sources", {})
    if not isinstance(table, dict):
        raise SettingsError("the 'sources' entry of the settings file must be a table ([sources])")
    env = _env_table(list(SOURCES))
    merged: dict[str, Any] = {key: value for key, value in table.items() if not isinstance(value, dict)}
    merged.update({key: value for key, value in env.items() if not isinstance(value, dict)})
    for key, value in table.items():
        if isinstance(value, dict) and key not in SOURCES:
            raise SettingsError(
                f"unknown source 'sources.{key}' in the settings file",
                f"the sources are {', '.join(SOURCES)} (see `tenderwatch sources`)",
            )
    common = _validate(CommonSettings, _split_lists(CommonSettings, merged), "sources")
    for name in common.enabled:
        if name not in SOURCES:
            raise SettingsError(
                f"setting 'sources.enabled' names an unknown source {name!r}",
                f"the sources are {', '.join(SOURCES)} (see `tenderwatch sources`)",
            )
    per_source = {}
    for name, source in SOURCES.items():
        values = dict(table.get(name, {}))
        values.update(env.get(name, {}))
        per_source[name] = _validate(
            source.settings_model, _split_lists(source.settings_model, values), f"sources.{name}"
        )
    return SourcesSettings(common, per_source)


def _validate(model: type[BaseModel], values: dict[str, Any], where: str) -> Any:
    try:
        return model(**values)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or where
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting '{where}.{name}'", "see docs/sources/index.md for the settings that exist"
            ) from error
        raise SettingsError(f"setting '{where}.{name}' is invalid: {first['msg']}") from error
