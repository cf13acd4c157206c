"""Excessive unsuccessful bids.

A **tenderer** is flagged when it bids often but rarely wins: it took part in at least as many processes as the
**percentile** (75th by default) of all tenderers, and its win ratio (processes won ÷ processes bid in) is at or
below the lower fence Q1 − 1.5 × IQR of the win ratios of all tenderers (quartiles and percentile by the R-8
method), or at or below a fixed **threshold** when one is set.

A process counts when its awards are all final (none pending), exactly one award is active and it went to exactly
one supplier. Each tenderer of a ``valid`` bid made alone (one tenderer) counts once in that process, and wins it
if it is the award's supplier. Amounts and currencies are not read. Nothing is flagged when the first quartile or
the fence is zero or below: when a quarter of the tenderers never won, the indicator stays silent, as in
Cardinal.

Example: 2,000 tenderers bid in 1 to 40 processes each; the 75th percentile is 6 processes, and the win ratios
have Q1 = 0.25 and Q3 = 0.5, so the lower fence is 0.25 − 1.5 × 0.25 = −0.125 and nothing is flagged. With Q1 =
0.3 and Q3 = 0.4 the fence is 0.15: a facilities firm that bid in 30 processes and won 3 (0.1) is flagged, as a
possible cover bidder for others.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import number
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal
from tenderwatch.indicators.r024 import bid_tenderers, common_names, meta_rows, party_keys, sole_winners


class Settings(IndicatorSettings):
    """Settings of R025."""

    percentile: int = Field(
        default=75,
        ge=0,
        le=100,
        description="Percentile of the number of processes tenderers bid in that a tenderer must reach to be "
        "flagged (the most active tenderers).",
    )
    threshold: float | None = Field(
        default=None,
        description="A fixed win ratio (0 to 1) at or below which a tenderer is flagged, instead of the lower fence "
        "Q1 − 1.5 × IQR.",
    )


def _ctes(settings: Settings) -> str:
    return f"""
        {party_keys()},
        {sole_winners()},
        {bid_tenderers()},
        taking_part AS (
            SELECT t.ocid, t.tenderer_key, bool_or(t.tenderer_id = w.winner_id) AS won
            FROM tw_bid_tenderers AS t JOIN tw_sole_winners AS w USING (ocid)
            WHERE t.status = 'valid' AND t.tenderers = 1
            GROUP BY t.ocid, t.tenderer_key
        ),
        tenderers AS (
            SELECT t.tenderer_key, count(*) AS processes,
                   count(*) FILTER (WHERE t.won) AS wins, count(*) FILTER (WHERE t.won) / count(*) AS ratio
            FROM taking_part AS t
            GROUP BY t.tenderer_key
        ),
        {_fence(settings, "tenderers")}
    """


def _fence(settings: Settings, tenderers: str) -> str:
    """Return the CTE ``fence`` over ``tenderers``, a relation of (processes, ratio), one row per tenderer."""
    threshold = literal(settings.threshold)
    return f"""fence AS (
            SELECT count(*) AS n,
                   tw_r8(list(ratio ORDER BY ratio), 0.25) AS q1, tw_r8(list(ratio ORDER BY ratio), 0.75) AS q3,
                   tw_r8(list(processes::DOUBLE ORDER BY processes), {int(settings.percentile)} / 100) AS top,
                   coalesce({threshold}, q1 - 1.5 * (q3 - q1)) AS cut,
                   CASE WHEN {threshold} IS NOT NULL THEN {threshold} > 0 ELSE q1 > 0 AND cut > 0 END AS active
            FROM {tenderers}
        )"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R025."""
    source = "the fixed threshold" if settings.threshold is not None else "the lower fence (Q1 − 1.5 × IQR)"
    flagged = "coalesce(f.active AND t.processes >= f.top AND t.ratio <= f.cut, FALSE)"
    return f"""
        WITH {_ctes(settings)},
        flagged AS (SELECT t.tenderer_key FROM tenderers AS t CROSS JOIN fence AS f WHERE {flagged}),
        named AS (  -- each flagged tenderer's name in each process it took part in (only a flag's sentence names it)
            SELECT t.ocid, t.tenderer_key, min(t.tenderer_name) AS tenderer_name
            FROM tw_bid_tenderers AS t JOIN tw_sole_winners AS w USING (ocid)
            WHERE t.status = 'valid' AND t.tenderers = 1 AND t.tenderer_key IN (SELECT tenderer_key FROM flagged)
            GROUP BY t.ocid, t.tenderer_key
        ),
        {common_names("names", "named", "tenderer_key", "tenderer_name")}
        SELECT 'tenderer' AS subject, t.tenderer_key AS subject_id, NULL AS ocid,
               {flagged} AS flagged,
               t.ratio AS value,
               json_object('processes', t.processes, 'wins', t.wins, 'ratio', t.ratio, 'threshold', f.cut,
                           'most_active_from', f.top, 'percentile', {int(settings.percentile)}, 'q1', f.q1,
                           'q3', f.q3, 'tenderers_compared', f.n) AS evidence,
               n.tenderer_name || ' bid in ' || t.processes || ' processes and won ' || t.wins
               || ' (a win ratio of ' || format('{{:.2f}}', t.ratio) || '), at or below '
               || format('{{:.2f}}', f.cut) || ', {source} among ' || {number("f.n")}
               || ' tenderers, while bidding as often as the top ' || {100 - int(settings.percentile)}
               || '% of them.' AS sentence
        FROM tenderers AS t LEFT JOIN names AS n USING (tenderer_key) CROSS JOIN fence AS f
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles, the percentile and the fence, named as Cardinal names them."""
    columns = {} if settings.threshold is not None else {"q1": "q1", "q3": "q3"}
    columns |= {"upper_fence": "top", "lower_fence": "cut"}
    # the tenderers this run evaluated, each with its number of processes (from its evidence) and its ratio
    evaluated = "(SELECT (evidence->>'processes')::BIGINT AS processes, value AS ratio FROM tw_evaluated)"
    return f"WITH {_fence(settings, evaluated)} {meta_rows(columns, 'fence')}"


INDICATOR = Indicator(
    code="R025",
    title="Excessive unsuccessful bids",
    subjects=("tenderer",),
    description="A tenderer bids often but wins unusually rarely.",
    why="In a cartel some firms bid only to lose, so that the agreed winner faces apparent competition; a frequent "
    "bidder that almost never wins may be one of them.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    meta_reads_evidence=True,
    needs=("bids.status", "bids.tenderer_ids", "awards.status", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R025",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/025.html",
    ),
    cardinal=True,
    differences=(
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
    ),
)
