"""Settings of the red-flag indicators: tenderwatch's TOML sections, or a Cardinal INI file.

tenderwatch's own form lives in the settings file (or a file given with ``tenderwatch flags --settings``):

.. code-block:: toml

    [flags]
    currency = "GBP"                      # main currency of price comparisons
    indicators = ["R003", "R018"]         # optional: run only these (default: all)

    [flags.exclusions]
    procurement_method_details = ["Call off from a Framework Agreement"]

    [flags.R003]
    threshold = 15

    [flags.R003.procurement_method_details]
    "Open procedure" = 30

    [flags.weights]                       # weights in the composite score (default 1 each)
    R018 = 2.0

A Cardinal settings file (INI, as ``ocdscardinal init`` writes it) is read too: the same keys, with lists
separated by ``|``. As in Cardinal, only the indicators whose sections it names are run, and its
``prepare``-only sections (``[defaults]``, ``[redactions]`` and the like) are accepted and ignored.
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from tenderwatch.exceptions import SettingsError
from tenderwatch.indicators.base import IndicatorSettings

# Cardinal sections that only its `prepare` command reads: accepted, ignored.
CARDINAL_PREPARE_SECTIONS = ("defaults", "redactions", "corrections", "modifications", "output")


def _pipe_list(value: Any) -> Any:
    """Split a Cardinal pipe-separated list (no trimming, as Cardinal does; an empty last part is dropped)."""
    if isinstance(value, str):
        parts = value.split("|")
        return [part for index, part in enumerate(parts) if part or index < len(parts) - 1]
    return value


class CommonSettings(IndicatorSettings):
    """Settings shared by every indicator."""

    currency: str | None = Field(
        default=None,
        description="Main currency of price comparisons (R024, R036, R058); amounts in other currencies are "
        "left out. Empty: the currency of most bids in the store (Cardinal instead takes the first one each of "
        "its threads happens to see).",
    )
    no_price_comparison_procurement_methods: list[str] = Field(
        default_factory=list,
        description="Procedures (exact procurementMethodDetails) where bid prices are not compared (R024, R028, "
        "R036, R058).",
    )
    price_comparison_procurement_methods: list[str] = Field(
        default_factory=list,
        description="If set, only these procedures (exact procurementMethodDetails) have bid prices compared; "
        "it overrides the list above.",
    )
    excluded_procurement_method_details: list[str] = Field(
        default_factory=list,
        description="Procedures (exact procurementMethodDetails) left out of every indicator ([exclusions] "
        "procurement_method_details in Cardinal's file).",
    )

    _lists = field_validator(
        "no_price_comparison_procurement_methods",
        "price_comparison_procurement_methods",
        "excluded_procurement_method_details",
        mode="before",
    )(_pipe_list)


@dataclass
class FlagSettings:
    """Everything a run of the indicators needs."""

    common: CommonSettings = field(default_factory=CommonSettings)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw settings per indicator code, validated against each indicator's model by :meth:`for_indicator`."""
    selected: list[str] | None = None
    """The codes to run, or None for all."""
    weights: dict[str, float] = field(default_factory=dict)
    source: str = "defaults"

    def for_indicator(self, code: str, model: type[IndicatorSettings]) -> IndicatorSettings:
        """Return the validated settings of one indicator.

        :raises SettingsError: if a key is unknown or a value has the wrong type
        """
        raw = dict(self.indicators.get(code, {}))
        for key, value in raw.items():
            annotation = model.model_fields.get(key)
            if annotation is not None and "list" in str(annotation.annotation):
                raw[key] = _pipe_list(value)
        try:
            return model(**raw)
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            if first["type"] == "extra_forbidden":
                known = ", ".join(model.model_fields) or "none"
                raise SettingsError(
                    f"{self.source}: unknown setting {key!r} in [{code}]", f"the settings of {code} are: {known}"
                ) from error
            raise SettingsError(f"{self.source}: setting {key!r} in [{code}] is invalid: {first['msg']}") from error


def _common(values: dict[str, Any], source: str) -> CommonSettings:
    try:
        return CommonSettings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise SettingsError(f"{source}: unknown setting {key!r}", "see docs/indicators/index.md") from error
        raise SettingsError(f"{source}: setting {key!r} is invalid: {first['msg']}") from error


def from_toml(data: dict[str, Any], source: str) -> FlagSettings:
    """Read the ``[flags]`` table of a tenderwatch settings file (already parsed)."""
    flags = dict(data.get("flags", {}))
    selected = flags.pop("indicators", None)
    weights = flags.pop("weights", {})
    exclusions = flags.pop("exclusions", {})
    indicators = {key: value for key, value in flags.items() if isinstance(value, dict)}
    common = {key: value for key, value in flags.items() if not isinstance(value, dict)}
    unknown = set(exclusions) - {"procurement_method_details"}
    if unknown:
        raise SettingsError(f"{source}: unknown setting {sorted(unknown)[0]!r} in [flags.exclusions]")
    if "procurement_method_details" in exclusions:
        common["excluded_procurement_method_details"] = exclusions["procurement_method_details"]
    try:
        weights = {str(code): float(weight) for code, weight in weights.items()}
    except (TypeError, ValueError) as error:
        raise SettingsError(f"{source}: every weight in [flags.weights] must be a number") from error
    return FlagSettings(_common(common, source), indicators, selected, weights, source)


def _known_codes() -> set[str]:
    from tenderwatch.indicators import INDICATORS  # noqa: PLC0415 - the registry imports this module's neighbours

    return set(INDICATORS)


def from_cardinal_ini(text: str, source: str) -> FlagSettings:
    """Read a Cardinal settings file: only the indicators it names will run, as in Cardinal."""
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    parser.optionxform = str  # keys are case-sensitive, as in Cardinal
    try:
        parser.read_string("[__top__]\n" + text, source=source)
    except configparser.Error as error:
        raise SettingsError(f"{source}: not a readable INI file ({str(error).splitlines()[0]})") from error
    common: dict[str, Any] = dict(parser["__top__"])
    indicators: dict[str, dict[str, Any]] = {}
    selected: list[str] = []
    for name in parser.sections():
        if name == "__top__":
            continue
        values = dict(parser[name])
        base, _, sub = name.partition(".")
        if name == "exclusions":
            unknown = set(values) - {"procurement_method_details"}
            if unknown:
                raise SettingsError(f"{source}: unknown setting {sorted(unknown)[0]!r} in [exclusions]")
            if "procurement_method_details" in values:
                common["excluded_procurement_method_details"] = values["procurement_method_details"]
        elif name in CARDINAL_PREPARE_SECTIONS or base == "codelists":
            continue
        elif base in _known_codes():
            if sub:
                indicators.setdefault(base, {})[sub] = values
            else:
                indicators.setdefault(base, {}).update(values)
            if base not in selected:
                selected.append(base)
        else:
            raise SettingsError(f"{source}: unknown section [{name}]", "see docs/indicators/index.md")
    return FlagSettings(_common(common, source), indicators, selected, {}, source)


def load_flag_settings(path: Path | None, base: dict[str, Any] | None = None) -> FlagSettings:
    """Read indicator settings from ``path`` (TOML or Cardinal INI) or else from the main settings file's data."""
    if path is None:
        return from_toml(base or {}, "settings file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"{path}: cannot be read ({error.strerror})", "check the path") from error
    if path.suffix.lower() == ".toml":
        try:
            return from_toml(tomllib.loads(text), str(path))
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{path}: not valid TOML ({error})") from error
    return from_cardinal_ini(text, str(path))
