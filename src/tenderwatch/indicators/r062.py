"""Decision period extremely long.

A **process** awarded in a **competitive** procedure is flagged when its award came unusually long after the
deadline for bids: at least as many whole days as the upper fence Q3 + 1.5 × IQR of the decision periods of all
evaluated processes (quartiles by the R-8 method, as Cardinal computes them), and never fewer than
**minimum_days** (90); or at least **threshold** days when that is set.

The decision period runs from the end of the tender period (``tender.tenderPeriod.endDate``) to the earliest award
date of the process (awards not cancelled or unsuccessful), counted in whole days, rounded down. Periods below zero
are left out as data errors. Non-competitive procedures and call-offs under a framework agreement or dynamic
purchasing system are not evaluated. Procedures are sorted by their name (``procurementMethodDetails``, in the
lists of the settings), else by their OCDS method: open and selective are competitive.

Example: decision periods have quartiles of 30 and 80 days, so the fence is 80 + 1.5 × 50 = 155 days. Bids closed
on 10 January and the award is dated 30 September, 263 days later: flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, iso_date, long_date, number
from tenderwatch.indicators.base import Indicator, literal
from tenderwatch.indicators.r061 import decision_periods


class Settings(ProcedureSettings):
    """Settings of R062."""

    threshold: int | None = Field(
        default=None,
        ge=1,
        description="A fixed number of days at or above which a decision period is flagged, instead of the fence.",
    )
    minimum_days: int = Field(
        default=90, ge=0, description="Fewest days a decision period must last to be flagged when the fence is used."
    )


def _ctes(settings: Settings) -> str:
    return f"""
        {decision_periods(settings)},
        quartiles AS (
            SELECT count(*) AS processes, tw_r8(list(days ORDER BY days), 0.25) AS q1,
                   tw_r8(list(days ORDER BY days), 0.75) AS q3
            FROM periods
        ),
        fence AS (
            SELECT processes, q1, q3, q3 + 1.5 * (q3 - q1) AS upper_fence,
                   coalesce({literal(settings.threshold)},
                            greatest(q3 + 1.5 * (q3 - q1), {int(settings.minimum_days)})) AS cut
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R062."""
    source = "the fixed threshold" if settings.threshold is not None else "the limit for an unusual decision period"
    return f"""
        WITH {_ctes(settings)}
        SELECT 'process' AS subject, p.ocid AS subject_id, p.ocid, p.days >= f.cut AS flagged, p.days AS value,
               json_object('days', p.days, 'bid_deadline', {iso_date("p.deadline")},
                           'award_date', {iso_date("p.awarded")}, 'threshold_days', f.cut, 'q1', f.q1, 'q3', f.q3,
                           'processes_compared', f.processes, 'procedure', p.procedure) AS evidence,
               'The award is dated ' || {long_date("p.awarded")} || ', ' || p.days || ' days after bids closed on '
               || {long_date("p.deadline")} || ': at or above ' || format('{{:.0f}}', ceil(f.cut))
               || ' days, {source} among ' || {number("f.processes")} || ' processes.' AS sentence
        FROM periods AS p CROSS JOIN fence AS f
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
    code="R062",
    title="Decision period extremely long",
    subjects=("process",),
    description="A competitive contract was awarded unusually long after the deadline for bids.",
    why="A very long evaluation can hide negotiations with a favoured bidder, or a contest for the award that the "
    "published record does not explain.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=(
        "tenders.tender_period_end",
        "awards.date",
        "tenders.procurement_method|tenders.procurement_method_details",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R062",
        "Fazekas, Tóth and King, An objective corruption risk index using public procurement data (2016): "
        "decision period",
        "Cardinal's fences and R-8 quartiles: https://cardinal.readthedocs.io/en/latest/cli/indicators/",
    ),
    differences=(
        "The upper fence of all decision periods (never under 90 days) replaces the catalogue's statistically "
        "chosen bands.",
        "Only competitive procedures are evaluated.",
    ),
)
