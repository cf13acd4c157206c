"""Settings of the statutory-services analysis: the ``[services]`` table of the settings file.

.. code-block:: toml

    [services]
    overrides_file = "tenderwatch-services.yaml"
    lookback_years = 3

    [services.weights]
    dominant_provider = 2
    provider_warnings = 0.5
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenderwatch.exceptions import SettingsError

# The parts of the continuity score, in the order they are shown.
PARTS = (
    "dominant_provider",
    "no_public_provider",
    "provider_exits",
    "market_concentration",
    "time_left",
    "urgency_awards",
    "provider_warnings",
)


class ContinuityWeights(BaseModel):
    """Weight of each part of the continuity score (docs/statutory-services.md explains each part)."""

    model_config = ConfigDict(extra="forbid")

    dominant_provider: float = Field(
        default=1.0,
        ge=0,
        description="One provider holds most of the service: the largest provider's share of the service's value "
        "(of its contracts when no value is published).",
    )
    no_public_provider: float = Field(
        default=1.0,
        ge=0,
        description="No in-house or public provider: the share of the service held by providers that are not public "
        "bodies, halved when none of it is public but a public body provides the same service to a buyer in the same "
        "region.",
    )
    provider_exits: float = Field(
        default=1.0,
        ge=0,
        description="The providers' track record of exits: early ends, terminations, provider exits and hand-backs "
        "found in the notices or recorded in the register, for the service's providers.",
    )
    market_concentration: float = Field(
        default=1.0,
        ge=0,
        description="Market concentration of the service area across all buyers (HHI of the suppliers' shares): 0 "
        "at or below hhi_low, 1 at or above hhi_high, in proportion between.",
    )
    time_left: float = Field(
        default=1.0,
        ge=0,
        description="Time left on the service's contracts, extension options included: 1 when none is in force, 0 "
        "when the latest possible end is time_left_months or more away.",
    )
    urgency_awards: float = Field(
        default=1.0,
        ge=0,
        description="A contract of the service was awarded without competition on grounds of urgency (the TW106 red "
        "flag).",
    )
    provider_warnings: float = Field(
        default=1.0,
        ge=0,
        description="Financial or regulatory warnings about a provider in the track-record register (insolvency, "
        "regulator ratings, exclusion, performance failure notices, fines).",
    )


class ServicesSettings(BaseModel):
    """How processes are assigned to statutory service areas and how continuity risk is scored."""

    model_config = ConfigDict(extra="forbid")

    overrides_file: Path = Field(
        default=Path("tenderwatch-services.yaml"),
        description="The YAML file of corrections to the service-area assignments (assign this process to that area, "
        "take it out of another), applied at every analysis; `tenderwatch services assign` and `unassign` edit it. "
        "A relative path is read from the folder tenderwatch runs in. It is not in the store, so a rebuild never "
        "loses it.",
    )
    subcontracting_file: Path = Field(
        default=Path("tenderwatch-subcontracts.yaml"),
        description="The YAML or CSV file of subcontracting links that people have found (who subcontracts what to "
        "whom under which contract), each with its public source; read at every analysis. A missing file means none.",
    )
    taxonomy_file: Path | None = Field(
        default=None,
        description="A service-areas file to use instead of the one shipped with tenderwatch "
        "(src/tenderwatch/data/service_areas.yaml), in the same format.",
    )
    lookback_years: float = Field(
        default=3.0,
        gt=0,
        description="A buyer's service is made of its contracts in force at any time in the years before its latest "
        "contract began, and every one since: this many years.",
    )
    record_years: float = Field(
        default=10.0,
        gt=0,
        description="Events in a provider's record (exits, warnings) count when they happened at most this many years "
        "before the service's latest contract began, or at any time since.",
    )
    market_years: float = Field(
        default=5.0,
        gt=0,
        description="The market of a service area is made of its contracts in force at any time in the years before "
        "the latest contract of the area began: this many years.",
    )
    hhi_low: float = Field(
        default=1500,
        ge=0,
        le=10_000,
        description="HHI (0 to 10,000) at or below which a market counts as unconcentrated (the market part is 0).",
    )
    hhi_high: float = Field(
        default=2500,
        ge=0,
        le=10_000,
        description="HHI at or above which a market counts as highly concentrated (the market part is 1).",
    )
    time_left_months: float = Field(
        default=24,
        gt=0,
        description="Months before the latest possible end of a service's contracts from which time starts to count "
        "as short (the time-left part rises from 0 to 1 over these months).",
    )
    exit_events: list[str] = Field(
        default_factory=lambda: [
            "terminated_early",
            "ended_early",
            "provider_exit",
            "termination_notice",
            "termination_by_buyer",
            "termination_or_exit_by_supplier",
            "service_handed_back",
        ],
        description="Event types (of derived_events and the track-record register) that count as exits and early "
        "ends in a provider's record.",
    )
    warning_events: list[str] = Field(
        default_factory=lambda: [
            "insolvency",
            "regulator_rating",
            "exclusion_or_debarment",
            "performance_failure_notice",
            "fine_or_settlement",
            "court_judgment",
            "performance_failure",
            "kpi_below",
            "payment_to_buyer",
        ],
        description="Event types (of the track-record register and of derived_events) that count as financial, "
        "regulatory or performance warnings.",
    )
    public_provider_schemes: list[str] = Field(
        default_factory=lambda: ["GB-NHS", "GB-LAE", "GB-GOR"],
        description="Identifier schemes (org-id lists) of public bodies: a provider carrying one is a public "
        "provider.",
    )
    public_provider_pattern: str = Field(
        default=r"(?i)\b(nhs|council|county council|borough council|city council|district council|combined "
        r"authority|health board|integrated care board|clinical commissioning group|police|fire and rescue)\b",
        description="Regular expression on a provider's name marking a public body (also when it carries no "
        "identifier).",
    )
    high_score: float = Field(
        default=60,
        ge=0,
        le=100,
        description="A continuity score (0 to 100) at or above this is shown as high.",
    )
    medium_score: float = Field(
        default=35,
        ge=0,
        le=100,
        description="A continuity score at or above this (and below high_score) is shown as medium.",
    )
    weights: ContinuityWeights = Field(
        default_factory=ContinuityWeights, description="Weight of each part of the continuity score."
    )

    @model_validator(mode="after")
    def _bands_in_order(self) -> ServicesSettings:
        if self.hhi_low > self.hhi_high:
            raise ValueError("hhi_low must not be above hhi_high")
        if self.medium_score > self.high_score:
            raise ValueError("medium_score must not be above high_score")
        if not any(getattr(self.weights, part) for part in PARTS):
            raise ValueError("at least one weight must be above 0")
        return self


def load_services_settings(document: dict[str, Any] | None = None) -> ServicesSettings:
    """Return the settings from the ``[services]`` table of the settings file (or of ``document``).

    :raises SettingsError: if a value is invalid or the table has an unknown key
    """
    if document is None:
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        document = read_settings_file()
    table = document.get("services", {})
    if not isinstance(table, dict):
        raise SettingsError("the 'services' entry of the settings file must be a table ([services])")
    try:
        return ServicesSettings(**table)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(["services", *(str(part) for part in first["loc"])])
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting '{name}'", "see docs/statutory-services.md for the settings that exist"
            ) from error
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"setting '{name}' is invalid: {message}", "see docs/statutory-services.md") from error
