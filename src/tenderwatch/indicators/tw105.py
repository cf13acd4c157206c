"""Procedure cancelled and relaunched.

A **process** is flagged when it relaunches an earlier procedure that was cancelled or failed: a tender whose
status is ``cancelled``, ``withdrawn`` or ``unsuccessful`` (or whose every award is cancelled or unsuccessful)
was followed, within **months** months (12 by default) of its cancellation, by this new tender, either

- **linked** to it: one of the two processes names the other in ``relatedProcesses`` (any relationship, such as
  ``prior`` or ``replacementProcess``), or
- from the **same buyer** for the **same kind of work**: a tender item of each shares the CPV division (the first
  **cpv_digits** digits, 2 by default) and the new tender was published after the cancelled one.

For the second kind of match, only the first new tender of the buyer in that division after the cancellation is
taken as its relaunch, so a large buyer's every later tender is not flagged. The cancellation date is the date of
the first notice that shows the tender cancelled, failed or withdrawn (else the process's last notice); the new
tender's date is its submission period's start, else its first notice. Buyers are matched as in TW104 (party id,
else identifier, else name). Every process with a tender that has a date is evaluated; the cancelled ones are
not (they are left out of every indicator).

A tender marked ``unsuccessful`` by a notice dated before its own deadline for bids (or, in Contracts Finder's
own notices, with no deadline given, as in those of 2014 to 2016) has not failed (no bid can have been judged yet)
and is treated as any other tender: Contracts Finder gives most of its tender notices that status on the day they
are published (385 of 500 notices of early 2020 in the real data).

Example: a council cancels its home-care tender in March 2024 ("no compliant bids received") and in May
publishes a new home-care tender (CPV 85 health and social work): the May tender is flagged, and its evidence
names the cancelled process.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal
from tenderwatch.indicators.tw104 import BUYER_KEY


class Settings(IndicatorSettings):
    """Settings of TW105."""

    months: int = Field(
        default=12, ge=0, description="Months after a cancellation within which a new tender counts as a relaunch."
    )
    failed_statuses: list[str] = Field(
        default_factory=lambda: ["cancelled", "withdrawn", "unsuccessful"],
        description="Tender and award statuses that mean the procedure failed (a tender marked unsuccessful before "
        "its deadline for bids never counts); drop 'unsuccessful' for a publisher that uses it for tenders that "
        "merely closed.",
    )
    cpv_digits: int = Field(
        default=2,
        ge=2,
        le=8,
        description="Leading CPV digits two tenders must share to be the same kind of work (2: division, 3: group, "
        "4: class).",
    )


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW105."""
    digits = int(settings.cpv_digits)
    months = int(settings.months)
    statuses = literal([status.lower() for status in settings.failed_statuses] or [""])
    return f"""
        WITH buyer_parties AS (
            SELECT ocid, party_id, min(identifier_scheme) AS identifier_scheme, min(identifier_id) AS identifier_id
            FROM parties GROUP BY ocid, party_id
        ),
        buyers AS (
            SELECT p.ocid, {BUYER_KEY} AS buyer_key
            FROM processes AS p
            LEFT JOIN buyer_parties AS b ON b.ocid = p.ocid AND b.party_id = p.buyer_id
        ),
        divisions AS (
            SELECT DISTINCT ocid, left(cpv_code, {digits}) AS division
            FROM items WHERE scope = 'tender' AND cpv_code IS NOT NULL
        ),
        failed AS (  -- tenders cancelled, withdrawn or unsuccessful, or whose awards all failed
            SELECT t.ocid, t.status AS tender_status, t.tender_period_start, p.first_release_date, p.last_release_date
            FROM tenders AS t JOIN processes AS p USING (ocid)
            WHERE (list_contains({statuses}, lower(t.status))
                   AND NOT tw_unsuccessful_before_deadline(t.ocid, t.status, p.last_release_date,
                                                           t.tender_period_end))
               OR t.ocid IN (SELECT ocid FROM awards GROUP BY ocid
                             HAVING bool_and(list_contains({statuses}, lower(status))))
        ),
        failed_on AS (  -- when the failure was first published
            SELECT f.ocid, f.tender_status,
                   coalesce(f.tender_period_start, f.first_release_date) AS published,
                   coalesce(min(tw_ts(r.release_date)) FILTER (
                       WHERE list_has_any(r.tags, ['tenderCancellation', 'awardCancellation'])
                          OR list_contains({statuses}, lower(json_extract_string(r.data, '$.tender.status')))),
                            f.last_release_date) AS cancelled
            FROM failed AS f LEFT JOIN raw_releases AS r ON r.ocid = f.ocid
            GROUP BY f.ocid, f.tender_status, f.tender_period_start, f.first_release_date, f.last_release_date
        ),
        candidates AS (  -- processes evaluated: tenders with a date
            SELECT p.ocid, coalesce(p.tender_period_start, q.first_release_date) AS published
            FROM ind_processes AS p JOIN processes AS q USING (ocid)
            WHERE p.tender_status IS NOT NULL AND coalesce(p.tender_period_start, q.first_release_date) IS NOT NULL
              AND p.ocid NOT IN (SELECT ocid FROM failed)
        ),
        links AS (
            SELECT ocid, identifier AS other FROM related_processes WHERE identifier IS NOT NULL
        ),
        linked AS (
            SELECT c.ocid, f.ocid AS cancelled_ocid, 'link' AS matched_by, NULL AS division
            FROM links AS l JOIN candidates AS c ON c.ocid = l.ocid JOIN failed_on AS f ON f.ocid = l.other
            WHERE c.published <= f.cancelled + to_months({months})
            UNION ALL
            SELECT c.ocid, f.ocid, 'link', NULL
            FROM links AS l JOIN failed_on AS f ON f.ocid = l.ocid JOIN candidates AS c ON c.ocid = l.other
            WHERE c.published <= f.cancelled + to_months({months})
        ),
        firsts AS (  -- per buyer, CPV division and moment of publication, the first tender then (by ocid)
            SELECT b.buyer_key, d.division, c.published, min(c.ocid) AS ocid
            FROM candidates AS c JOIN buyers AS b USING (ocid) JOIN divisions AS d USING (ocid)
            WHERE b.buyer_key IS NOT NULL
            GROUP BY ALL
        ),
        relaunches AS (  -- per cancelled tender and division, the buyer's first new tender after it
            -- (as a failed tender is never a candidate, the new one is always another process); found by an ASOF
            -- join: pairing each cancelled tender with every later tender of its buyer and division, then keeping
            -- the first, made 7 million pairs at a million processes and ran out of 768MB
            SELECT x.ocid, f.ocid AS cancelled_ocid, 'buyer and CPV' AS matched_by, fd.division
            FROM failed_on AS f
            JOIN buyers AS fb ON fb.ocid = f.ocid
            JOIN divisions AS fd ON fd.ocid = f.ocid
            ASOF JOIN firsts AS x ON x.buyer_key = fb.buyer_key AND x.division = fd.division
                AND x.published >= f.cancelled::DATE::TIMESTAMPTZ
            WHERE fb.buyer_key IS NOT NULL AND x.published <= f.cancelled + to_months({months})
        ),
        matches AS (
            SELECT m.ocid, m.cancelled_ocid, string_agg(DISTINCT m.matched_by, ' and ' ORDER BY m.matched_by)
                       AS matched_by, min(m.division) AS division
            FROM (SELECT * FROM linked UNION ALL SELECT * FROM relaunches) AS m
            GROUP BY m.ocid, m.cancelled_ocid
        ),
        best AS (  -- per new tender, the latest cancellation it follows
            SELECT m.*, f.tender_status, f.published AS cancelled_published,
                   f.cancelled AS cancelled_on, q.title AS cancelled_title, (SELECT count(*) FROM matches AS x
                   WHERE x.ocid = m.ocid) AS cancelled_count
            FROM matches AS m JOIN failed_on AS f ON f.ocid = m.cancelled_ocid
            JOIN processes AS q ON q.ocid = m.cancelled_ocid
            QUALIFY row_number() OVER (PARTITION BY m.ocid ORDER BY f.cancelled DESC, m.cancelled_ocid) = 1
        )
        SELECT 'process' AS subject, c.ocid AS subject_id, c.ocid, b.ocid IS NOT NULL AS flagged,
               coalesce(round(datediff('day', b.cancelled_on, c.published) / (365.25 / 12), 1), 1.0) AS value,
               json_object('cancelled_ocid', b.cancelled_ocid, 'cancelled_status', b.tender_status,
                           'cancelled_title', b.cancelled_title, 'cancelled_on', b.cancelled_on::DATE,
                           'relaunched_on', c.published::DATE, 'matched_by', b.matched_by,
                           'cpv_prefix', b.division, 'cancelled_processes', b.cancelled_count,
                           'months', {months}, 'cpv_digits', {digits}) AS evidence,
               'This tender, published on ' || {_day("c.published")} || ', follows '
               || CASE WHEN b.matched_by LIKE '%link%' THEN 'a procedure it is linked to'
                       ELSE 'a tender by the same buyer for the same kind of work (CPV ' || b.division || '…)' END
               || coalesce(', "' || b.cancelled_title || '"', '') || ' (' || b.cancelled_ocid || '), marked '
               || CASE lower(b.tender_status) WHEN 'withdrawn' THEN 'withdrawn' WHEN 'unsuccessful' THEN 'unsuccessful'
                       ELSE 'cancelled' END
               || coalesce(' in its notice of ' || {_day("b.cancelled_on")}, '') || '.' AS sentence
        FROM candidates AS c LEFT JOIN best AS b USING (ocid)
    """


INDICATOR = Indicator(
    code="TW105",
    title="Procedure cancelled and relaunched",
    subjects=("process",),
    description="A new tender followed soon after the same buyer's cancelled or failed tender for the same kind of "
    "work, or is linked to it.",
    why="Cancelling and relaunching can be used to get rid of unwanted bids or to reshape a tender around a "
    "favoured supplier; at best it shows a procurement that went wrong and cost bidders and the buyer time.",
    sql=sql,
    settings=Settings,
    needs=("tenders.status", "items.cpv_code|related_processes.identifier"),
    references=(
        "Corruption Risk Index (Fazekas, Government Transparency Institute): 'procedure annulled and relaunched'",
        "Procurement Act 2023: procurement termination notices (UK12), "
        "https://www.legislation.gov.uk/ukpga/2023/54/section/55",
    ),
    differences=(
        "The index relies on the publisher saying a procedure was relaunched; here a relaunch is also inferred from "
        "the same buyer tendering the same CPV division soon after.",
    ),
)
