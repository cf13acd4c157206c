"""Purchases split below a threshold.

A **process** is flagged when its award is one of several below-threshold awards that one buyer made for the same
kind of thing close together in time, and that together reach the threshold: the pattern of a purchase split to
stay under it.

Evaluated: each process with an award value in pounds (the total of its awards that are not cancelled or
unsuccessful; GBP only, since the thresholds are in pounds) below the UK threshold that applies to it (see
the threshold settings), with an award date, a buyer and a main CPV code. Call-offs under a framework agreement
or dynamic purchasing system are left out: their framework was competed. Its **window** is every such award of
the same buyer whose main CPV code starts with the same **cpv_digits** digits (2: the CPV division) and whose date
is at most **window_days** days before or after its own (30). The process is flagged when its window holds at
least **minimum_awards** awards (3, itself included: "several", as the catalogue has it) whose values add up to
its threshold or more. The value is that total.

A buyer that buys the same kind of thing every week will often reach the threshold within two months; for such
dense data, a longer CPV prefix (3 or 4 digits) or a shorter window keeps the flag for real clusters.

The threshold of a process is that of light-touch services (a ``specialRegime`` of lightTouch, or a main CPV code
starting 85), else works (``mainProcurementCategory`` works or CPV 45), else goods and services, lower for
central government buyers; each amount applies from a date (the process's tender start, else its
first award, else its first notice).

Example: a county council awards three grounds-maintenance contracts (CPV 77) on 2, 10 and 25 May 2024, for
£90,000, £80,000 and £70,000, each below the £214,904 threshold. Each window holds all three, worth £240,000:
each of the three processes is flagged.

Buyers are matched across processes by their party id (unless it is a bare number of up to four digits, which
Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import (
    THRESHOLD_REFERENCES,
    ProcedureSettings,
    ThresholdSettings,
    cpv_label,
    facts,
    money,
)
from tenderwatch.indicators.base import Indicator


class Settings(ThresholdSettings, ProcedureSettings):
    """Settings of R011."""

    window_days: int = Field(
        default=30, ge=0, description="Days before and after an award within which other awards count with it."
    )
    cpv_digits: int = Field(
        default=2, ge=2, le=8, description="Leading digits of the main CPV code that must match (2: the division)."
    )
    minimum_awards: int = Field(
        default=3,
        ge=2,
        description="Fewest below-threshold awards in a window, the process's own included (2 also catches a purchase "
        "cut in two).",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R011."""
    days = int(settings.window_days)
    return f"""
        WITH {facts(settings)},
        candidates AS (
            SELECT p.ocid, b.buyer_key, b.buyer_name, left(c.cpv_code, {int(settings.cpv_digits)}) AS cpv,
                   w.award_value AS amount, w.award_date AS day, h.threshold, h.threshold_kind
            FROM ind_processes AS p
            JOIN tw_buyers AS b USING (ocid)
            JOIN tw_cpv AS c USING (ocid)
            JOIN tw_awarded AS w USING (ocid)
            JOIN tw_thresholds AS h USING (ocid)
            JOIN tw_procedures AS r USING (ocid)
            WHERE w.award_currency = 'GBP' AND w.award_value < h.threshold AND w.award_date IS NOT NULL
              AND b.buyer_key IS NOT NULL AND r.procedure_class IS DISTINCT FROM 'call_off'
        ),
        windows AS (
            SELECT *, count(*) OVER near AS awards,
                   CAST(sum(CAST(amount AS DECIMAL(38, 6))) OVER near AS DOUBLE) AS total,
                   -- the first 50 ocids in order, kept as the window moves: a list of every ocid in each window,
                   -- sorted and cut for the evidence, took four fifths of the time at a million processes
                   min(ocid, 50) OVER near AS ocids
            FROM candidates
            WINDOW near AS (PARTITION BY buyer_key, cpv ORDER BY day
                            RANGE BETWEEN INTERVAL '{days}' DAY PRECEDING AND INTERVAL '{days}' DAY FOLLOWING)
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               awards >= {int(settings.minimum_awards)} AND total >= threshold AS flagged, total AS value,
               json_object('award_value', amount, 'awards_in_window', awards, 'window_total', total,
                           'threshold', threshold, 'threshold_kind', threshold_kind, 'cpv', cpv,
                           'window_days', {days}, 'minimum_awards', {int(settings.minimum_awards)},
                           'ocids', ocids) AS evidence,
               'Within {days} days either side of this ' || {money("amount", "'GBP'")} || ' award, ' || buyer_name
               || ' made ' || awards || ' awards for ' || {cpv_label("cpv")} || ', each below the procurement '
               || 'threshold, worth ' || {money("total", "'GBP'")} || ' together: at or above the '
               || {money("threshold", "'GBP'")} || ' threshold for ' || threshold_kind || '.' AS sentence
        FROM windows
    """


INDICATOR = Indicator(
    code="R011",
    title="Purchases split below threshold",
    subjects=("process",),
    description="One of several below-threshold awards by the same buyer, for the same kind of thing, close in "
    "time, that together reach the threshold.",
    why="Splitting one purchase into smaller contracts keeps each under the threshold, so the buyer avoids the "
    "advertising and competition the whole purchase would have needed.",
    sql=sql,
    settings=Settings,
    needs=("awards.value_amount", "awards.date", "items.cpv_code"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R011",
        "Public Contracts Regulations 2015, regulation 6 (no splitting to avoid the rules): "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/6",
        *THRESHOLD_REFERENCES,
    ),
    differences=(
        "Awards of one buyer in the same CPV division within a window are grouped whoever won them; the catalogue "
        "leaves the grouping open.",
        "Only award values in pounds are compared, as published (usually without VAT), against thresholds that "
        "include VAT from 2022.",
        "Framework and dynamic purchasing system call-offs are left out.",
    ),
)
