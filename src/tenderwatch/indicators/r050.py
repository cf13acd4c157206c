"""Supplier with a high market share.

A **supplier** is flagged, for a given market, when it won at least **threshold** (40% by default) of the value
awarded in that market, in at least **minimum_supplier_processes** processes (2).

A market is a kind of purchase, the processes whose main CPV code starts with the same **cpv_digits** digits (2: the
CPV division), in one currency; with **market_scope** ``buyer_region`` it is also limited to buyers whose address
is in the same region (as published: a region name, or an ITL/NUTS code such as UKG31). Each market with at
least **minimum_market_processes** awarded processes (20) is evaluated, with one row for each of its suppliers.
Awarded value counts the awards that are not cancelled or unsuccessful; an award to several suppliers is shared
equally among them.

The 40% default follows the UK competition authorities' guidance that a firm is unlikely to be dominant with a
market share below 40%.

Example: buyers across the country awarded £60,000,000 for waste collection and cleaning (CPV 90) in 150
processes; one company won 48 of them, worth £27,000,000: 45% of that market, flagged.

Suppliers are matched across processes by their party id (unless it is a bare number of up to four digits, which
Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tenderwatch.indicators._catalogue import cpv_label, facts, market_ctes, market_words, money, number, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R050."""

    threshold: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="Share of a market's awarded value at or above which a supplier is flagged.",
    )
    cpv_digits: int = Field(
        default=2, ge=2, le=8, description="Leading digits of the main CPV code that make a market (2: the division)."
    )
    market_scope: Literal["national", "buyer_region"] = Field(
        default="national",
        description="national: one market per CPV prefix and currency; buyer_region: also one per buyer region.",
    )
    minimum_market_processes: int = Field(
        default=20, ge=1, description="Fewest awarded processes a market must have to be evaluated."
    )
    minimum_supplier_processes: int = Field(
        default=2, ge=1, description="Fewest processes of the market a supplier must have won to be flagged."
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R050."""
    return f"""
        WITH {facts(settings)},
        {market_ctes(settings.cpv_digits, settings.market_scope, settings.minimum_market_processes)}
        SELECT 'supplier' AS subject, s.supplier_key AS subject_id, NULL AS ocid,
               s.share >= {float(settings.threshold)!r}
                   AND s.processes >= {int(settings.minimum_supplier_processes)} AS flagged,
               s.share AS value,
               json_object('cpv', s.cpv, 'region', nullif(s.region, ''), 'currency', s.currency,
                           'supplier_value', s.value, 'market_total', m.total, 'share', s.share,
                           'supplier_processes', s.processes, 'market_processes', m.processes,
                           'market_suppliers', m.suppliers, 'threshold', {float(settings.threshold)!r}) AS evidence,
               coalesce(n.supplier_name, s.supplier_key) || ' won ' || {percent("s.share")} || ' of the '
               || {money("m.total", "s.currency")} || ' awarded for ' || {cpv_label("s.cpv")}
               || {market_words("s.region")} || ' (' || {number("s.processes")} || ' of ' || {number("m.processes")}
               || ' processes, ' || {number("m.suppliers")} || ' suppliers): at or above the '
               || {percent(repr(float(settings.threshold)))}
               || ' that is flagged.' AS sentence
        FROM shares AS s JOIN markets AS m USING (currency, cpv, region)
        LEFT JOIN tw_supplier_names AS n USING (supplier_key)
    """


INDICATOR = Indicator(
    code="R050",
    title="High market share",
    subjects=("supplier",),
    description="A supplier won a high share of the value awarded in one market (CPV category and currency).",
    why="A supplier that holds much of a public market can set prices and terms, and buyers may have nowhere else "
    "to go when it fails; a share that high also deserves a look at how it was won.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "items.cpv_code",
        "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R050",
        "Office of Fair Trading, Abuse of a dominant position (OFT402, 2004): dominance is unlikely below a 40% "
        "market share",
    ),
    differences=(
        "A market is a CPV division in one currency (optionally per buyer region), as published: no demand-side "
        "market definition is attempted.",
    ),
)
