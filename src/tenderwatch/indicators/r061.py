"""Decision period extremely short.

A **process** awarded in a **competitive** procedure is flagged when its award came fewer than **threshold** whole
days (7 by default) after the deadline for bids: too little time to evaluate the bids properly.

The decision period runs from the end of the tender period (``tender.tenderPeriod.endDate``) to the earliest award
date of the process (awards not cancelled or unsuccessful), counted in whole days, rounded down. Periods below zero
(an award dated before the deadline) are left out as data errors. Non-competitive procedures and call-offs under
a framework agreement or dynamic purchasing system are not evaluated: their tender period, where given, is not a
competition's deadline. Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the
settings), else by their OCDS method: open and selective are competitive.

Example: bids for an open procedure closed on 10 June at noon and the award is dated 12 June: 1 whole day, flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, facts, iso_date, long_date
from tenderwatch.indicators.base import Indicator


class Settings(ProcedureSettings):
    """Settings of R061."""

    threshold: int = Field(
        default=7, ge=1, description="Fewest whole days between the bid deadline and the award without a flag."
    )


def decision_periods(settings: ProcedureSettings) -> str:
    """Return CTEs ending in ``periods`` (ocid, procedure, deadline, awarded, days) of competitive processes."""
    return f"""
        {facts(settings)},
        periods AS (
            SELECT p.ocid, r.procedure, p.tender_period_end AS deadline, w.award_date AS awarded,
                   trunc((epoch(w.award_date) - epoch(p.tender_period_end)) / 86400)::BIGINT AS days
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            JOIN tw_awarded AS w USING (ocid)
            WHERE r.procedure_class = 'competitive' AND p.tender_period_end IS NOT NULL AND w.award_date IS NOT NULL
              AND trunc((epoch(w.award_date) - epoch(p.tender_period_end)) / 86400) >= 0
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R061."""
    threshold = int(settings.threshold)
    return f"""
        WITH {decision_periods(settings)}
        SELECT 'process' AS subject, ocid AS subject_id, ocid, days < {threshold} AS flagged, days AS value,
               json_object('days', days, 'bid_deadline', {iso_date("deadline")}, 'award_date', {iso_date("awarded")},
                           'threshold_days', {threshold}, 'procedure', procedure) AS evidence,
               'The award is dated ' || {long_date("awarded")} || ', '
               || CASE days WHEN 0 THEN 'less than a day' WHEN 1 THEN '1 day' ELSE days || ' days' END
               || ' after bids closed on ' || {long_date("deadline")} || ': fewer than the {threshold} days expected '
               || 'for evaluating them.' AS sentence
        FROM periods
    """


INDICATOR = Indicator(
    code="R061",
    title="Decision period extremely short",
    subjects=("process",),
    description="A competitive contract was awarded very soon after the deadline for bids.",
    why="Evaluating bids properly takes time; a decision within days of the deadline suggests the winner was "
    "chosen beforehand and the evaluation was a formality.",
    sql=sql,
    settings=Settings,
    needs=(
        "tenders.tender_period_end",
        "awards.date",
        "tenders.procurement_method|tenders.procurement_method_details",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R061",
        "Fazekas, Tóth and King, An objective corruption risk index using public procurement data (2016): "
        "decision period",
    ),
    differences=(
        "A fixed number of days replaces the catalogue's statistically chosen bands.",
        "Only competitive procedures are evaluated.",
    ),
)
