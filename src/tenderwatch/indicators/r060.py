"""Long time from award to signature.

A **process** is flagged when one of its contracts was signed unusually long after its award: at least as many
whole days as the upper fence Q3 + 1.5 × IQR of that delay across all evaluated processes (quartiles by the R-8
method, as Cardinal computes them), and never fewer than **minimum_days** (30); or at least **threshold** days
when that is set.

Each contract that is not cancelled and has a signature date (``contracts.dateSigned``) is matched with its award
(``contracts.awardID``, else the process's earliest award date). The delay is counted in whole days, rounded down;
the process keeps its longest delay. Negative delays (signed before the award) are left out as data errors.

Example: across 5,000 processes the delays have quartiles of 9 and 29 days, so the fence is 29 + 1.5 × 20 = 59
days. A contract awarded on 1 March and signed on 15 June (106 days) is flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import facts, iso_date, long_date, number
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of R060."""

    threshold: int | None = Field(
        default=None,
        ge=0,
        description="A fixed number of days at or above which a delay is flagged, instead of the fence.",
    )
    minimum_days: int = Field(
        default=30, ge=0, description="Fewest days a delay must last to be flagged when the fence is used."
    )


def _ctes(settings: Settings) -> str:
    return f"""
        {facts(settings)},
        signed AS (
            SELECT c.ocid, c.date_signed, coalesce(a.date, w.award_date) AS awarded,
                   trunc((epoch(c.date_signed) - epoch(coalesce(a.date, w.award_date))) / 86400)::BIGINT AS days
            FROM contracts AS c
            LEFT JOIN ind_awards AS a ON a.ocid = c.ocid AND a.award_id = c.award_id
            LEFT JOIN tw_awarded AS w ON w.ocid = c.ocid
            WHERE c.ocid NOT IN (SELECT ocid FROM ind_excluded)
              AND coalesce(c.status, '') <> 'cancelled' AND c.date_signed IS NOT NULL
        ),
        delays AS (
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY ocid ORDER BY days DESC, date_signed, awarded) AS n
                FROM signed WHERE days >= 0
            ) WHERE n = 1
        ),
        quartiles AS (
            SELECT count(*) AS processes, tw_r8(list(days ORDER BY days), 0.25) AS q1,
                   tw_r8(list(days ORDER BY days), 0.75) AS q3
            FROM delays
        ),
        fence AS (
            SELECT processes, q1, q3, q3 + 1.5 * (q3 - q1) AS upper_fence,
                   coalesce({literal(settings.threshold)},
                            greatest(q3 + 1.5 * (q3 - q1), {int(settings.minimum_days)})) AS cut
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R060."""
    source = "the fixed threshold" if settings.threshold is not None else "the limit for an unusual delay"
    return f"""
        WITH {_ctes(settings)}
        SELECT 'process' AS subject, d.ocid AS subject_id, d.ocid, d.days >= f.cut AS flagged, d.days AS value,
               json_object('days', d.days, 'award_date', {iso_date("d.awarded")},
                           'date_signed', {iso_date("d.date_signed")}, 'threshold_days', f.cut, 'q1', f.q1,
                           'q3', f.q3, 'processes_compared', f.processes) AS evidence,
               'The contract was signed on ' || {long_date("d.date_signed")} || ', ' || d.days
               || ' days after the award on ' || {long_date("d.awarded")} || ': at or above '
               || format('{{:.0f}}', ceil(f.cut)) || ' days, {source} among ' || {number("f.processes")}
               || ' processes.'
                   AS sentence
        FROM delays AS d CROSS JOIN fence AS f
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence."""
    return f"""
        WITH {_ctes(settings)}
        SELECT 'q1' AS name, q1 AS value FROM fence UNION ALL
        SELECT 'q3', q3 FROM fence UNION ALL
        SELECT 'upper_fence', upper_fence FROM fence UNION ALL
        SELECT 'threshold_days', cut FROM fence
    """


INDICATOR = Indicator(
    code="R060",
    title="Long award to signature",
    subjects=("process",),
    description="A contract was signed unusually long after it was awarded.",
    why="A long gap between choosing a supplier and signing the contract can mean the terms were renegotiated after "
    "the competition, out of sight of the bidders who lost.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("awards.date", "contracts.date_signed"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R060",
        "Cardinal's fences and R-8 quartiles: https://cardinal.readthedocs.io/en/latest/cli/indicators/",
    ),
    differences=(
        "The catalogue does not fix a limit; tenderwatch uses the upper fence of all delays, never under 30 days.",
    ),
)
