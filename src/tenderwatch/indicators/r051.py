"""Concentrated market.

A **process** is flagged when it was awarded in a highly concentrated market: one where the suppliers' shares of
the awarded value give a Herfindahl-Hirschman Index (HHI) of at least **threshold** (2,500 by default).

A market is a kind of purchase, the processes whose main CPV code starts with the same **cpv_digits** digits (2: the
CPV division), in one currency; with **market_scope** ``buyer_region`` it is also limited to buyers whose address
is in the same region (as published). Each market with at least **minimum_market_processes** awarded processes
(20) is evaluated. The HHI is the sum of the squares of every supplier's share of the market's awarded value, in
percent: from near 0 (many small suppliers) to 10,000 (one supplier). Awarded value counts the awards that are
not cancelled or unsuccessful; an award to several suppliers is shared equally among them. Every awarded process
of the market gets a row, with the market's HHI as its value.

The 2,500 default is the level above which the US Department of Justice and Federal Trade Commission's Horizontal
Merger Guidelines (2010) call a market highly concentrated.

Example: £40,000,000 was awarded for social care (CPV 85) by buyers in one region, in 60 processes: one provider
won 40%, another 30% and ten others 3% each. The HHI is 40² + 30² + 10 × 3² = 2,590, so each of the 60 processes
is flagged.

Suppliers are matched across processes by their party id (unless it is a bare number of up to four digits, which
Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tenderwatch.indicators._catalogue import cpv_label, facts, market_ctes, market_words, money, number, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R051."""

    threshold: float = Field(
        default=2500.0, gt=0, le=10000, description="HHI (0 to 10,000) at or above which a market is flagged."
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


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R051."""
    threshold = float(settings.threshold)
    return f"""
        WITH {facts(settings)},
        {market_ctes(settings.cpv_digits, settings.market_scope, settings.minimum_market_processes)},
        concentration AS (
            SELECT currency, cpv, region, list_sum(list(share * share ORDER BY supplier_key)) * 10000 AS hhi
            FROM shares GROUP BY currency, cpv, region
        ),
        leaders AS (
            SELECT * FROM (
                SELECT currency, cpv, region, supplier_key, share,
                       row_number() OVER (PARTITION BY currency, cpv, region ORDER BY value DESC, supplier_key) AS n
                FROM shares
            ) WHERE n = 1
        ),
        processes AS (
            SELECT * FROM (
                SELECT ocid, currency, cpv, region,
                       row_number() OVER (PARTITION BY ocid ORDER BY currency, region) AS n
                FROM (SELECT DISTINCT s.ocid, s.currency, s.cpv, s.region
                      FROM supplied AS s JOIN markets USING (currency, cpv, region))
            ) WHERE n = 1
        )
        SELECT 'process' AS subject, p.ocid AS subject_id, p.ocid, h.hhi >= {threshold!r} AS flagged,
               h.hhi AS value,
               json_object('hhi', h.hhi, 'threshold', {threshold!r}, 'cpv', p.cpv, 'region', nullif(p.region, ''),
                           'currency', p.currency, 'market_total', m.total, 'market_processes', m.processes,
                           'market_suppliers', m.suppliers, 'largest_supplier', l.supplier_key,
                           'largest_supplier_name', n.supplier_name, 'largest_share', l.share) AS evidence,
               'This contract is in a highly concentrated market: ' || {number("m.suppliers")}
               || ' suppliers shared the '
               || {money("m.total", "p.currency")} || ' awarded for ' || {cpv_label("p.cpv")}
               || {market_words("p.region")} || ' in ' || {number("m.processes")} || ' processes, an HHI of '
               || {number("h.hhi")} || ' (' || {number(repr(threshold))} || ' or more is highly concentrated); the '
               || 'largest supplier, ' || coalesce(n.supplier_name, l.supplier_key) || ', won '
               || {percent("l.share")} || '.' AS sentence
        FROM processes AS p
        JOIN markets AS m USING (currency, cpv, region)
        JOIN concentration AS h USING (currency, cpv, region)
        JOIN leaders AS l USING (currency, cpv, region)
        LEFT JOIN tw_supplier_names AS n ON n.supplier_key = l.supplier_key
    """


INDICATOR = Indicator(
    code="R051",
    title="High market concentration",
    subjects=("process",),
    description="A contract was awarded in a market (CPV category and currency) where a few suppliers hold most of "
    "the value.",
    why="In a concentrated market buyers have little choice: prices and terms are set by a few suppliers, and when "
    "one fails there may be nobody to take over.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "items.cpv_code",
        "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R051",
        "US Department of Justice and Federal Trade Commission, Horizontal Merger Guidelines (2010), section 5.3: "
        "an HHI above 2,500 is highly concentrated",
    ),
    differences=(
        "A market is a CPV division in one currency (optionally per buyer region), as published: no demand-side "
        "market definition is attempted.",
        "The flag is raised on every process of a concentrated market, so that it shows where the money went.",
    ),
)
