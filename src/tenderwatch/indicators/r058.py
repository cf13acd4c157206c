"""Heavily discounted bid.

A **process** is flagged when the winning bid is unusually far below the second-lowest bid: the gap between them,
as a share of the winning bid, is at or above the upper fence Q3 + 1.5 × IQR of the gaps of all processes
(quartiles by the R-8 method), or at or above a fixed **threshold** when one is set. The winner is flagged as a
tenderer too.

The processes and the gap are those of R024 (price close to winning bid): bid prices may be compared in the
procedure, the awards are all final, exactly one award is active and it went to exactly one supplier; the bids
are the ``valid`` ones with an amount in the main currency and exactly one tenderer; the winning bid is the
winner's lowest, the second-lowest is the lowest by anybody else, and the gap is (second-lowest − winning) ÷
winning. A process whose winning bid is zero, or whose other bid is lower than the winning one, is left out.
Nothing is flagged when the fence is zero or below.

Example: across 400 processes the gaps have Q1 = 6% and Q3 = 14%, so the upper fence is 14% + 1.5 × 8% = 26%. A
road-resurfacing contract won at £100,000 when the next bid was £160,000 (a gap of 60%) is flagged, with the
winning contractor.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import money, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal
from tenderwatch.indicators.r024 import gap_evidence, meta_rows, price_gaps, quartiles


class Settings(IndicatorSettings):
    """Settings of R058."""

    threshold: float | None = Field(
        default=None,
        description="A fixed gap (a ratio: 0.5 is 50%) at or above which a process is flagged, instead of the upper "
        "fence Q3 + 1.5 × IQR.",
    )


def _ctes(settings: Settings) -> str:
    threshold = literal(settings.threshold)
    return f"""
        {price_gaps()},
        quartiles AS ({quartiles("ratio", "tw_price_gaps")}),
        fence AS (
            SELECT n, q1, q3, coalesce({threshold}, q3 + 1.5 * (q3 - q1)) AS cut
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R058."""
    source = "the fixed threshold" if settings.threshold is not None else "the upper fence (Q3 + 1.5 × IQR)"
    gap = percent("g.ratio", 1)
    evidence = gap_evidence()
    return f"""
        WITH {_ctes(settings)},
        rated AS (
            SELECT g.*, coalesce(f.cut > 0 AND g.ratio >= f.cut, FALSE) AS flagged, f.cut, f.q1, f.q3, f.n
            FROM tw_price_gaps AS g CROSS JOIN fence AS f
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, flagged, ratio AS value, {evidence} AS evidence,
               'The winning bid (' || {money("winning_amount", "currency")} || ' by ' || winner_name
               || ') was ' || {gap} || ' below the second-lowest (' || {money("rival_amount", "currency")}
               || ' by ' || rival_name || '), a gap at or above ' || {percent("cut", 1)}
               || ', {source} among ' || n || ' processes.' AS sentence
        FROM rated AS g
        UNION ALL
        SELECT 'tenderer', winner_key, ocid, flagged, 0.0, {evidence},
               winner_name || ' won with a bid ' || {gap} || ' below the next lowest, by ' || rival_name || '.'
        FROM rated AS g
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence, named as Cardinal names them."""
    columns = (
        {"upper_fence": "cut"} if settings.threshold is not None else {"q1": "q1", "q3": "q3", "upper_fence": "cut"}
    )
    return f"WITH {_ctes(settings)} {meta_rows(columns, 'fence')}"


INDICATOR = Indicator(
    code="R058",
    title="Heavily discounted bid",
    subjects=("process", "tenderer"),
    description="The winning bid is unusually far below the second-lowest bid.",
    why="A winning price far below every other may be bought in below cost and recovered later through contract "
    "changes, or may come from a bidder who knew the others' prices.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("bids.value_amount", "bids.status", "bids.tenderer_ids", "awards.status", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R058",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/058.html",
    ),
    cardinal=True,
    differences=(
        "Without a currency setting the main currency is the one most bids use, for the whole store; Cardinal takes "
        "the first one each of its threads meets, so its results can change from run to run.",
        "Amounts are exact decimals, so the gaps do not depend on the order of the data.",
        "A process whose winning bid is zero is left out; Cardinal divides by zero.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
        "Bid amounts below zero are not read.",
    ),
)
