"""Direct awards adding up past threshold.

A **supplier** is flagged, for a given buyer, when the **non-competitive** awards (direct awards and limited
procedures without a call for competition) that buyer made to it within **window_days** days (365) number at
least **minimum_awards** (2) and add up to the procurement threshold or more: together they are worth what would
have had to be competed as one contract.

Evaluated: each buyer-supplier pair with at least one non-competitive award whose value is in pounds (the total
of the process's awards that are not cancelled or unsuccessful; GBP only, since the thresholds are in pounds) and
whose date is known. For each award, the window is the pair's non-competitive awards in the **window_days** days
up to and including its date; the pair's row reports the window with the largest total (ties: the latest), and
``ocid`` is the process that closes it. The threshold is that of the process closing the window.

The threshold of a process is that of light-touch services (a ``specialRegime`` of lightTouch, or a main CPV code
starting 85), else works (``mainProcurementCategory`` works or CPV 45), else goods and services, lower for
central government buyers; each amount applies from a date (the process's tender start, else its first award,
else its first notice).

Example: an NHS trust directly awards a supplier £120,000 in March and £110,000 in September 2024. Together
£230,000, above the £214,904 threshold for goods and services: the supplier is flagged for that trust.

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
    long_date,
    money,
)
from tenderwatch.indicators.base import Indicator


class Settings(ThresholdSettings, ProcedureSettings):
    """Settings of R055."""

    window_days: int = Field(default=365, ge=0, description="Days over which a pair's direct awards are added up.")
    minimum_awards: int = Field(default=2, ge=2, description="Fewest direct awards in the window for a flag.")


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R055."""
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
            WHERE r.procedure_class = 'non_competitive' AND w.award_currency = 'GBP' AND w.award_value IS NOT NULL
              AND w.award_date IS NOT NULL AND b.buyer_key IS NOT NULL
        ),
        windows AS (
            SELECT *, count(*) OVER recent AS awards,
                   CAST(sum(CAST(amount AS DECIMAL(38, 6))) OVER recent AS DOUBLE) AS total,
                   min(day) OVER recent AS first_day, list(ocid) OVER recent AS ocids
            FROM candidates
            WINDOW recent AS (PARTITION BY buyer_key, supplier_key ORDER BY day
                              RANGE BETWEEN INTERVAL '{days}' DAY PRECEDING AND CURRENT ROW)
        ),
        pairs AS (
            SELECT * FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY buyer_key, supplier_key
                    ORDER BY awards >= {int(settings.minimum_awards)} AND total >= threshold DESC, total DESC,
                             day DESC, ocid DESC
                ) AS n
                FROM windows
            ) WHERE n = 1
        )
        SELECT 'supplier' AS subject, p.supplier_key AS subject_id, p.ocid,
               p.awards >= {int(settings.minimum_awards)} AND p.total >= p.threshold AS flagged, p.total AS value,
               json_object('buyer', p.buyer_key, 'buyer_name', p.buyer_name, 'awards_in_window', p.awards,
                           'window_total', p.total, 'threshold', p.threshold, 'threshold_kind', p.threshold_kind,
                           'first_award_in_window', {iso_date("p.first_day")}, 'last_award_in_window',
                           {iso_date("p.day")}, 'window_days', {days}, 'ocids', list_sort(p.ocids)[1:50],
                           'minimum_awards', {int(settings.minimum_awards)}) AS evidence,
               p.buyer_name || ' made ' || p.awards || ' awards without competition to '
               || coalesce(n.supplier_name, p.supplier_key) || ' between ' || {long_date("p.first_day")} || ' and '
               || {long_date("p.day")} || ', worth ' || {money("p.total", "'GBP'")} || ' together: at or above the '
               || {money("p.threshold", "'GBP'")} || ' threshold for ' || p.threshold_kind
               || ' above which one contract would have had to be competed.' AS sentence
        FROM pairs AS p LEFT JOIN tw_supplier_names AS n USING (supplier_key)
    """


INDICATOR = Indicator(
    code="R055",
    title="Direct awards exceeding threshold",
    subjects=("supplier",),
    description="Several direct awards from one buyer to one supplier within a year add up to more than the "
    "procurement threshold.",
    why="Awards that together pass the threshold would have needed an advertised competition as one contract; "
    "making them one by one, without competition, keeps the supplier's business away from rivals.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "awards.date",
        "tenders.procurement_method|tenders.procurement_method_details",
        "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R055",
        "Cardinal issue #87 (R055, planned): https://github.com/open-contracting/cardinal-rs/issues/87",
        *THRESHOLD_REFERENCES,
    ),
    differences=(
        "Awards are added up per buyer and supplier within a trailing window; the catalogue leaves the period open.",
        "Only award values in pounds are compared, as published (usually without VAT).",
    ),
)
