"""Repeated direct awards below threshold.

A **process** is flagged when it is a **non-competitive** award (a direct award or a limited procedure without a
call for competition) below the procurement threshold, and the same buyer made at least **minimum_awards** such
awards (3, this one included) to the same supplier in the **window_days** days up to and including its date (365).

Evaluated: each non-competitive process with an award value in pounds (the total of its awards that are not
cancelled or unsuccessful; GBP only, since the thresholds are in pounds) below the UK threshold that applies to it,
an award date, a buyer and a supplier. Awards on the same day all count with each other. When a process has
several suppliers, the one with most such awards decides.

The threshold of a process is that of light-touch services (a ``specialRegime`` of lightTouch, or a main CPV code
starting 85), else works (``mainProcurementCategory`` works or CPV 45), else goods and services, lower for
central government buyers; each amount applies from a date (the process's tender start, else its first award,
else its first notice). Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the
settings), else by their OCDS method: direct and limited are non-competitive.

Example: a council awards a consultancy £40,000 by single tender action in February, £55,000 in June and £38,000
in November, each below the £214,904 threshold. The November award is the third in 365 days: flagged (the first
two are not, as the pattern was not there yet).

Buyers and suppliers are matched across processes by their party id (unless it is a bare number of up to four
digits, which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import (
    THRESHOLD_REFERENCES,
    ProcedureSettings,
    ThresholdSettings,
    facts,
    iso_date,
    money,
)
from tenderwatch.indicators.base import Indicator


class Settings(ThresholdSettings, ProcedureSettings):
    """Settings of R049."""

    window_days: int = Field(
        default=365, ge=0, description="Days up to an award within which earlier awards to the same supplier count."
    )
    minimum_awards: int = Field(
        default=3,
        ge=2,
        description="Fewest below-threshold direct awards to one supplier in the window, this one included.",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R049."""
    days = int(settings.window_days)
    return f"""
        WITH {facts(settings)},
        candidates AS (
            SELECT s.ocid, b.buyer_key, b.buyer_name, s.supplier_key, w.award_value AS amount, w.award_date AS day,
                   h.threshold, h.threshold_kind
            FROM (SELECT DISTINCT ocid, supplier_key FROM tw_supplied) AS s
            JOIN tw_awarded AS w USING (ocid)
            JOIN tw_buyers AS b USING (ocid)
            JOIN tw_thresholds AS h USING (ocid)
            JOIN tw_procedures AS r USING (ocid)
            WHERE r.procedure_class = 'non_competitive' AND w.award_currency = 'GBP' AND w.award_value < h.threshold
              AND w.award_date IS NOT NULL AND b.buyer_key IS NOT NULL
        ),
        windows AS (
            SELECT *, count(*) OVER recent AS awards,
                   CAST(sum(CAST(amount AS DECIMAL(38, 6))) OVER recent AS DOUBLE) AS total,
                   min(day) OVER recent AS first_day
            FROM candidates
            WINDOW recent AS (PARTITION BY buyer_key, supplier_key ORDER BY day
                              RANGE BETWEEN INTERVAL '{days}' DAY PRECEDING AND CURRENT ROW)
        ),
        chosen AS (
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY ocid ORDER BY awards DESC, supplier_key) AS n FROM windows
            ) WHERE n = 1
        )
        SELECT 'process' AS subject, c.ocid AS subject_id, c.ocid,
               c.awards >= {int(settings.minimum_awards)} AS flagged, c.awards AS value,
               json_object('award_value', c.amount, 'supplier', c.supplier_key, 'buyer', c.buyer_key,
                           'awards_in_window', c.awards, 'window_total', c.total,
                           'first_award_in_window', {iso_date("c.first_day")}, 'window_days', {days},
                           'threshold', c.threshold, 'threshold_kind', c.threshold_kind,
                           'minimum_awards', {int(settings.minimum_awards)}) AS evidence,
               'This ' || {money("c.amount", "'GBP'")} || ' award is one of ' || c.awards || ' that '
               || c.buyer_name || ' made without competition to ' || coalesce(n.supplier_name, c.supplier_key)
               || ' in the {days} days up to and including it, each below the '
               || {money("c.threshold", "'GBP'")} || ' threshold for ' || c.threshold_kind || ': '
               || {money("c.total", "'GBP'")} || ' in all.' AS sentence
        FROM chosen AS c LEFT JOIN tw_supplier_names AS n USING (supplier_key)
    """


INDICATOR = Indicator(
    code="R049",
    title="Repeated direct awards below threshold",
    subjects=("process",),
    description="A below-threshold direct award to a supplier that the same buyer has directly awarded several "
    "times within a year.",
    why="One small direct award can be sensible; a run of them to the same supplier is a standing relationship "
    "that was never put to competition, and may be one need cut into pieces.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "awards.date",
        "tenders.procurement_method|tenders.procurement_method_details",
        "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name",
    ),
    references=("Open Contracting Partnership, Red Flags for Integrity (2024), R049", *THRESHOLD_REFERENCES),
    differences=(
        "The catalogue does not fix a count or a period; tenderwatch counts awards in a trailing window.",
        "Only award values in pounds are compared, as published (usually without VAT).",
    ),
)
