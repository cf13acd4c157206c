"""High share of non-competitive awards.

A **buyer** is flagged when the share of its awarded processes that were **non-competitive** (direct awards and
limited procedures without a call for competition) is an outlier among buyers.

Each buyer with at least **minimum_processes** awarded processes (10) whose procedure is known to be competitive
or non-competitive is evaluated; call-offs under a framework agreement or dynamic purchasing system, and
processes whose procedure is unknown, are left out of both counts. A process is awarded when it has an award that
is not cancelled or unsuccessful. The share of non-competitive ones is flagged when it is at or above the upper
fence Q3 + 1.5 × IQR of the shares of all evaluated buyers (quartiles by the R-8 method, as Cardinal computes
them), or at or above a fixed **threshold** when one is set. Nothing is flagged when the fence is zero.

Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the settings), else by their
OCDS method: direct and limited are non-competitive, open and selective competitive.

Example: across 200 buyers the shares run from 10% to 40% for the middle half (Q1 = 10%, Q3 = 40%), so the fence
is 40% + 1.5 × 30% = 85%. A council that awarded 18 of its 20 contracts without competition (90%) is flagged.

Buyers are matched across processes by their party id (unless it is a bare number of up to four digits, which
Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, facts, number, percent
from tenderwatch.indicators.base import Indicator, literal


class Settings(ProcedureSettings):
    """Settings of R013."""

    minimum_processes: int = Field(
        default=10,
        ge=1,
        description="Fewest awarded processes of known procedure a buyer must have to be evaluated.",
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A fixed share (0 to 1) at or above which a buyer is flagged, instead of the upper fence.",
    )


def _ctes(settings: Settings) -> str:
    return f"""
        {facts(settings)},
        classed AS (
            SELECT b.buyer_key, b.buyer_name, r.procedure_class = 'non_competitive' AS non_competitive
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            JOIN tw_buyers AS b USING (ocid)
            JOIN tw_awarded AS w USING (ocid)
            WHERE r.procedure_class IN ('competitive', 'non_competitive') AND b.buyer_key IS NOT NULL
        ),
        buyers AS (
            SELECT buyer_key, min(buyer_name) AS buyer_name, count(*) AS processes,
                   count(*) FILTER (WHERE non_competitive) AS non_competitive,
                   CAST(count(*) FILTER (WHERE non_competitive) AS DOUBLE) / count(*) AS share
            FROM classed
            GROUP BY buyer_key
            HAVING count(*) >= {int(settings.minimum_processes)}
        ),
        quartiles AS (
            SELECT count(*) AS buyers, tw_r8(list(share ORDER BY share), 0.25) AS q1,
                   tw_r8(list(share ORDER BY share), 0.75) AS q3
            FROM buyers
        ),
        fence AS (
            SELECT buyers, q1, q3, q3 + 1.5 * (q3 - q1) AS upper_fence,
                   coalesce({literal(settings.threshold)}, q3 + 1.5 * (q3 - q1)) AS cut
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R013."""
    source = "the fixed threshold" if settings.threshold is not None else "the upper fence (Q3 + 1.5 × IQR)"
    return f"""
        WITH {_ctes(settings)}
        SELECT 'buyer' AS subject, b.buyer_key AS subject_id, NULL AS ocid,
               coalesce(f.cut > 0 AND b.share >= f.cut, FALSE) AS flagged, b.share AS value,
               json_object('processes', b.processes, 'non_competitive', b.non_competitive, 'share', b.share,
                           'threshold', f.cut, 'q1', f.q1, 'q3', f.q3, 'buyers_compared', f.buyers) AS evidence,
               b.buyer_name || ' awarded ' || b.non_competitive || ' of its ' || b.processes
               || ' contracts without competition (' || {percent("b.share")} || '), at or above '
               || {percent("f.cut")} || ', {source} among ' || {number("f.buyers")} || ' buyers.' AS sentence
        FROM buyers AS b CROSS JOIN fence AS f
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence."""
    return f"""
        WITH {_ctes(settings)}
        SELECT 'q1' AS name, q1 AS value FROM fence UNION ALL
        SELECT 'q3', q3 FROM fence UNION ALL
        SELECT 'upper_fence', upper_fence FROM fence UNION ALL
        SELECT 'buyers', buyers FROM fence
    """


INDICATOR = Indicator(
    code="R013",
    title="High use of non-competitive methods",
    subjects=("buyer",),
    description="A buyer awards an unusually high share of its contracts without competition.",
    why="Each direct award may have its reasons, but a buyer that competes far less than its peers is avoiding the "
    "test of competition as a habit, which is where favouritism and poor value hide.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("tenders.procurement_method|tenders.procurement_method_details", "awards.award_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R013",
        "Cardinal's fences and R-8 quartiles: https://cardinal.readthedocs.io/en/latest/cli/indicators/",
    ),
    differences=(
        "Framework and dynamic purchasing system call-offs are left out of the shares.",
        "Shares count processes, not their value.",
    ),
)
