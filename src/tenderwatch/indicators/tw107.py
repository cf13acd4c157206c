"""Award notice missing.

A **process** is flagged when the deadline for bids (``tender.tenderPeriod.endDate``) passed more than **days**
days ago (180 by default, counted to today) and nothing about its outcome was published: no award, no contract,
no notice tagged ``awardCancellation`` or ``tenderCancellation``, and a tender status that is not ``cancelled``,
``withdrawn`` or ``unsuccessful``. A status of ``unsuccessful`` given by a notice dated before the deadline for bids
is no outcome: Contracts Finder gives most of its tender notices that status on the day they are published (its
notices of 2014 to 2016 give no deadline for bids, and are not evaluated).

Every process whose deadline for bids has passed is evaluated. Six months is long enough for evaluation,
standstill and signature in all but the largest procedures, and the law expects the outcome to be published
within weeks: a contract award notice within 30 days of the award under PCR 2015 (regulation 50), and under the
Procurement Act 2023 a contract award notice before the contract is entered into (section 50) and a contract
details notice within 30 days of it (section 53). A missing notice may mean the contract was awarded out of sight,
that the procedure quietly failed, or only that the publisher's data (or the store) is incomplete: the flag says
which facts are missing, not why.

Example: a council's tender for school transport closed on 1 March 2024; by today no award, contract or
cancellation is among the notices held for it, more than 180 days on: flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of TW107."""

    days: int = Field(
        default=180,
        ge=0,
        description="Days after the deadline for bids beyond which a missing outcome (award, contract or "
        "cancellation) is flagged.",
    )


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW107."""
    days = int(settings.days)
    return f"""
        WITH evaluated AS (
            SELECT p.ocid, p.tender_status, p.tender_period_end AS deadline, q.last_release_date, q.release_count,
                   datediff('day', p.tender_period_end::DATE, current_date) AS days_since,
                   EXISTS (SELECT 1 FROM awards AS a WHERE a.ocid = p.ocid) AS has_award,
                   EXISTS (SELECT 1 FROM contracts AS c WHERE c.ocid = p.ocid) AS has_contract,
                   coalesce(list_has_any(q.release_tags, ['awardCancellation', 'tenderCancellation']), FALSE)
                   OR (coalesce(lower(p.tender_status) IN ('cancelled', 'withdrawn', 'unsuccessful'), FALSE)
                       AND NOT tw_unsuccessful_before_deadline(p.ocid, p.tender_status, q.last_release_date,
                                                               p.tender_period_end)) AS has_cancellation
            FROM ind_processes AS p JOIN processes AS q USING (ocid)
            WHERE p.tender_period_end < current_date::TIMESTAMPTZ
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               days_since > {days} AND NOT has_award AND NOT has_contract AND NOT has_cancellation AS flagged,
               days_since AS value,
               json_object('deadline', deadline::DATE, 'days_since_deadline', days_since, 'threshold_days', {days},
                           'has_award', has_award, 'has_contract', has_contract, 'has_cancellation', has_cancellation,
                           'tender_status', tender_status, 'last_notice', last_release_date::DATE,
                           'notices', release_count) AS evidence,
               'Bids were due on ' || {_day("deadline")} || ', ' || format('{{:,}}', days_since)
               || ' days ago (more than ' || {days} || '), and no award, contract or cancellation is in the '
               || CASE WHEN release_count = 1 THEN '1 notice held for it, of '
                       ELSE format('{{:,}}', release_count) || ' notices held for it, the latest of ' END
               || {_day("last_release_date")} || '.' AS sentence
        FROM evaluated
    """


INDICATOR = Indicator(
    code="TW107",
    title="Award notice missing",
    subjects=("process",),
    description="The deadline for bids passed long ago and no award, contract or cancellation was published.",
    why="Without an award notice the public cannot see who won, for how much, or whether the procedure failed; "
    "an outcome left unpublished can hide a contract awarded out of sight.",
    sql=sql,
    settings=Settings,
    needs=("tenders.tender_period_end",),
    references=(
        "redflags.eu (K-Monitor): outcome anomalies, 'successful procedure with no contract'",
        "Public Contracts Regulations 2015, regulation 50 (contract award notices within 30 days): "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/50",
        "Procurement Act 2023, sections 50 and 53 (contract award and contract details notices): "
        "https://www.legislation.gov.uk/ukpga/2023/54/section/50",
    ),
    differences=(
        "Counted against today, so a process is flagged only once the wait has run out; the result changes as time "
        "passes even when no notice arrives.",
    ),
)
