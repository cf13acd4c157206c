"""Contract lengthened by modification.

A **process** is flagged when, after the award, one of its contracts had months added to its end date that
amount to more than **threshold** (20% by default) of its original term, and to at least **min_months** (one
month by default, so a correction of a few days is not a lengthening).

The facts come from the contract lifecycle table (``contract_lifecycle``, rebuilt from the notices before the
indicators run): the original end date is the one first published for the contract (else for its award), the
current end date the one in force now, and the original term runs from the start of the contract period to the
original end date. The share compared is the Corruption Risk Index's "contract lengthening":

    lengthening = (current end - original end) / (original end - start)

Contracts and awards with a start date and an original end date after it are evaluated, whatever their status
(a contract extended and later terminated still counts its extension); cancelled ones are not. Per process, the
contract lengthened the most is reported. The evidence says whether the new end date lies within the latest
possible end first announced (an extension option foreseen in the original notice, which the law allows); set
**ignore_planned_extensions** to leave those unflagged.

Example: a four-year contract from 1 September 2018 to 31 August 2022 is extended twice, to 31 August 2024. The
two years added are 50% of the original four: flagged (over 20%). Had the notice announced a possible extension
to 2024, the sentence says so.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW102."""

    threshold: float = Field(
        default=0.2,
        ge=0,
        description="Months added over the original term (0.2 is 20%) above which a contract counts as lengthened.",
    )
    min_months: float = Field(
        default=1.0, ge=0, description="Fewest months that must be added for a flag, whatever the share."
    )
    ignore_planned_extensions: bool = Field(
        default=False,
        description="Do not flag a lengthening that stays within the latest possible end first announced for the "
        "contract (an extension option foreseen from the start).",
    )


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW102."""
    threshold = literal(float(settings.threshold))
    min_months = literal(float(settings.min_months))
    planned = "NOT within_options" if settings.ignore_planned_extensions else "TRUE"
    return f"""
        WITH measured AS (
            SELECT l.ocid, l.contract_id, l.award_id, l.row_type, l.start_date, l.original_end_date,
                   l.current_end_date, l.original_max_extent_date, l.months_added, l.terminated,
                   round((epoch(l.original_end_date) - epoch(l.start_date)) / 86400.0 / (365.25 / 12), 1)
                       AS original_months,
                   (epoch(l.current_end_date) - epoch(l.original_end_date))
                       / (epoch(l.original_end_date) - epoch(l.start_date)) AS lengthening,
                   coalesce(l.current_end_date <= l.original_max_extent_date + INTERVAL 1 DAY, FALSE)
                       AS within_options
            FROM contract_lifecycle AS l
            WHERE l.ocid IN (SELECT ocid FROM ind_processes)
              AND l.row_type IN ('contract', 'award') AND l.status <> 'cancelled'
              AND l.start_date IS NOT NULL AND l.current_end_date IS NOT NULL
              AND l.original_end_date > l.start_date
        ),
        worst AS (  -- a window, not DISTINCT ON: at a million contracts DISTINCT ON ran out of 768MB
            SELECT * FROM measured
            QUALIFY row_number() OVER (
                PARTITION BY ocid ORDER BY lengthening DESC, contract_id NULLS LAST, award_id NULLS LAST
            ) = 1
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               lengthening > {threshold} AND months_added >= {min_months} AND {planned} AS flagged,
               round(lengthening, 4) AS value,
               json_object('contract_id', contract_id, 'award_id', award_id, 'start_date', start_date::DATE,
                           'original_end_date', original_end_date::DATE, 'current_end_date', current_end_date::DATE,
                           'original_months', original_months, 'months_added', months_added,
                           'lengthening', round(lengthening, 4), 'threshold', {threshold},
                           'min_months', {min_months}, 'original_max_extent_date', original_max_extent_date::DATE,
                           'within_announced_extensions', within_options, 'terminated', terminated) AS evidence,
               'The contract''s end date was moved from ' || {_day("original_end_date")} || ' to '
               || {_day("current_end_date")} || ', adding ' || months_added || ' months to an original term of '
               || original_months || ' months (' || round(100 * lengthening)::BIGINT || '%, over the '
               || round(100 * {threshold})::BIGINT || '% threshold)'
               || CASE WHEN within_options THEN ', within the extension options announced at the start'
                       WHEN original_max_extent_date IS NOT NULL
                       THEN ', beyond the latest end first announced (' || {_day("original_max_extent_date")} || ')'
                       ELSE '' END
               || '.' AS sentence
        FROM worst
    """


INDICATOR = Indicator(
    code="TW102",
    title="Contract lengthened by modification",
    subjects=("process",),
    description="A contract's end date was pushed back after the award by more than a set share of its original term.",
    why="Extending a contract keeps the incumbent without a new competition; a large extension can amount to a new "
    "contract awarded without one.",
    sql=sql,
    settings=Settings,
    needs=(
        "contract_lifecycle.original_end_date",
        "contract_lifecycle.current_end_date",
        "contract_lifecycle.start_date",
    ),
    references=(
        "Corruption Risk Index (Fazekas, Government Transparency Institute): 'contract lengthening', extension "
        "days over original contract days",
        "Public Contracts Regulations 2015, regulation 72 (modification of contracts during their term): "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/72",
        "Procurement Act 2023, section 74 and Schedule 8 (permitted contract modifications): "
        "https://www.legislation.gov.uk/ukpga/2023/54/section/74",
    ),
    differences=(
        "The index gives a continuous score; here a contract is flagged over a threshold share and a minimum "
        "number of months.",
        "Per process, only the contract lengthened the most is reported.",
    ),
)
