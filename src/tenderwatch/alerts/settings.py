"""Settings of change detection and alert delivery: the ``[alerts]`` table of the settings file.

.. code-block:: toml

    [alerts]
    base_url = "https://tenderwatch.example.org"
    value_change_percent = 10
    smtp_host = "smtp.example.org"
    smtp_user = "alerts@example.org"
    email_from = "alerts@example.org"

Each setting can also be given in the environment as ``TENDERWATCH_ALERTS_<NAME>`` (which wins over the file).
Give the SMTP password only there: ``TENDERWATCH_ALERTS_SMTP_PASSWORD``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tenderwatch.exceptions import SettingsError


class AlertSettings(BaseSettings):
    """How changes are found and alerts delivered."""

    model_config = SettingsConfigDict(env_prefix="TENDERWATCH_ALERTS_", extra="forbid")

    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Address of the web app as readers reach it, for the links in e-mails, webhooks and `watch "
        "list` (feed addresses). The Atom feed itself links to the address it was fetched from.",
    )
    value_change_percent: float = Field(
        default=10.0,
        ge=0,
        description="A value change is a change only when the new value differs from the one before by more than "
        "this percentage (in the same currency); smaller corrections are not alerted.",
    )
    notice_age_days: int = Field(
        default=60,
        ge=0,
        description="A change found in a notice dated more than this many days before it was found (old history "
        "loaded for the first time) is kept but not sent to watchlists, unless a watchlist asks for a backfill. "
        "0: no limit.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server that sends the e-mail digests. Empty: e-mail alerts wait in the outbox until it "
        "is set.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="`starttls` (plain connection upgraded with STARTTLS, usually port 587), `tls` (TLS from the "
        "start, usually port 465) or `none` (a relay on this machine or a trusted network only).",
    )
    smtp_user: str | None = Field(default=None, description="User name on the SMTP server; empty for none.")
    smtp_password: SecretStr | None = Field(
        default=None,
        description="Password on the SMTP server. Set it in the environment (TENDERWATCH_ALERTS_SMTP_PASSWORD), "
        "not in the settings file.",
    )
    smtp_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the SMTP server.")
    email_from: str = Field(
        default="tenderwatch@localhost", description="Sender address of the e-mail digests (the From header)."
    )
    digest_limit: int = Field(
        default=200, ge=1, description="Most alerts in one e-mail; more are sent in further e-mails of the same run."
    )
    webhook_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a webhook to answer.")
    webhook_attempts: int = Field(
        default=4,
        ge=1,
        description="Tries of one webhook delivery within a run (an error, a timeout or a 408, 429 or 5xx answer is "
        "tried again); after the last, it is recorded as failed and tried again at the next run.",
    )
    webhook_backoff_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Wait before the first retry of a webhook; each later retry waits twice as long. A "
        "Retry-After header of up to a minute is honoured instead.",
    )
    feed_entries: int = Field(default=50, ge=1, le=1000, description="Entries in a watchlist's Atom feed.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the settings file (which arrives as keyword arguments).
        return (env_settings, init_settings)


def load_alert_settings(document: dict[str, Any] | None = None) -> AlertSettings:
    """Return the settings from the environment and the ``[alerts]`` table of the settings file (or of
    ``document``).

    :raises SettingsError: if a value is invalid or the table has an unknown key
    """
    if document is None:
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        document = read_settings_file()
    table = document.get("alerts", {})
    if not isinstance(table, dict):
        raise SettingsError("the 'alerts' entry of the settings file must be a table ([alerts])")
    try:
        return AlertSettings(**table)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "alerts"
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting 'alerts.{name}'", "see docs/alerts.md for the settings that exist"
            ) from error
        raise SettingsError(f"setting 'alerts.{name}' is invalid: {first['msg']}") from error
