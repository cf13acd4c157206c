"""Tender changed after publication.

A **process** is flagged when its tender notice was changed after it was first published, and the change came
**late** or **widened the scope**:

- a *change* is a later tender notice tagged ``tenderAmendment``, an amendment recorded in ``tender.amendments``,
  or a later tender notice (tagged ``tender``, ``tenderAmendment`` or ``tenderUpdate``) that gives another
  estimated value or adds items or lots. The notices are read as published (``raw_releases``), in order of
  release date; the first tender notice is the publication. Changes in award and contract notices do not count:
  by then the competition is over;
- a change is **late** when it came no more than **late_days** days (14 by default) before the deadline for bids
  in force after it, counted in calendar days; a change that also moved the deadline is measured against the new
  one, so a buyer who gave bidders more time is not flagged for lateness;
- a change **widened the scope** when the estimated value went up by more than **value_increase** (10% by
  default) from the first notice to the last tender notice (in the same currency), or when items or lots were
  added ("extended to other services").

Set **flag_any_change** to flag every change, as the Corruption Risk Index's "call for tenders modified" does.
Every process with a tender notice in the store is evaluated. The evidence gives the values before and after,
the items and lots before and after, the date of the change reported (the latest late one, else the latest one)
and the days it left before the deadline; ``value`` is those days (1 when there is no deadline).

Example: a county council tenders health visiting and school nursing in June, estimated at £45,000,000, with
bids due on 17 September. On 6 September it adds five early-help services the council runs itself and raises the
estimate to £68,000,000. The change came 11 days before the deadline (late) and both raised the value by 51% and
added items (wider scope): flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW101."""

    late_days: int = Field(
        default=14,
        ge=0,
        description="A change that left bidders this many days or fewer before the deadline for bids is late.",
    )
    value_increase: float = Field(
        default=0.10,
        ge=0,
        description="A rise of the estimated value by more than this share (0.10 is 10%) widens the scope.",
    )
    flag_any_change: bool = Field(
        default=False,
        description="Flag every change to a published tender notice, not only late or widening ones.",
    )


def _money(amount: str, currency: str) -> str:
    number = f"format('{{:,.0f}}', {amount})"
    return f"(CASE WHEN {currency} = 'GBP' THEN '£' || {number} ELSE {number} || coalesce(' ' || {currency}, '') END)"


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


ORDER = "released NULLS LAST, release_id, seq"
# The tender notices read: releases of the processes evaluated that carry a tender and a tender tag.
TENDER_NOTICES = """r.ocid IN (SELECT ocid FROM ind_processes)
              AND list_has_any(r.tags, ['tender', 'tenderAmendment', 'tenderUpdate'])
              AND r.kind IS DISTINCT FROM 'compiled'
              AND json_extract(r.data, '$.tender') IS NOT NULL"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW101."""
    late = int(settings.late_days)
    share = literal(float(settings.value_increase))
    return f"""
        WITH notices AS (  -- every tender notice as published
            SELECT r.ocid, r.release_id, r.seq, tw_ts(r.release_date) AS released,
                   list_contains(r.tags, 'tenderAmendment') AS amendment_tag,
                   tw_value(json_extract(r.data, '$.tender.value.amount')) AS value_amount,
                   json_extract_string(r.data, '$.tender.value.currency') AS value_currency,
                   tw_ts(json_extract_string(r.data, '$.tender.tenderPeriod.endDate')) AS deadline
            FROM raw_releases AS r
            WHERE {TENDER_NOTICES}
        ),
        parts AS (  -- the items, lots and amendments each notice lists
            SELECT r.ocid, r.release_id, 'item' AS kind,
                   unnest(json_extract_string(r.data, '$.tender.items[*].id')) AS id, NULL AS date
            FROM raw_releases AS r WHERE {TENDER_NOTICES}
            UNION ALL
            SELECT r.ocid, r.release_id, 'lot', unnest(json_extract_string(r.data, '$.tender.lots[*].id')), NULL
            FROM raw_releases AS r WHERE {TENDER_NOTICES}
            UNION ALL
            SELECT ocid, release_id, 'amendment', coalesce(a ->> '$.id', a ->> '$.date'), a ->> '$.date'
            FROM (SELECT r.ocid, r.release_id, unnest(json_extract(r.data, '$.tender.amendments[*]')) AS a
                  FROM raw_releases AS r WHERE {TENDER_NOTICES})
        ),
        steps AS (  -- the notices in order, with the deadline and value in force
            SELECT *,
                   row_number() OVER (PARTITION BY ocid ORDER BY {ORDER}) AS step,
                   last_value(deadline IGNORE NULLS) OVER (
                       PARTITION BY ocid ORDER BY {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                   ) AS deadline_then,
                   last_value(deadline IGNORE NULLS) OVER (
                       PARTITION BY ocid ORDER BY {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS deadline_before_step,
                   last_value(value_amount IGNORE NULLS) OVER (
                       PARTITION BY ocid ORDER BY {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS value_before_step
            FROM notices
        ),
        firsts AS (  -- the step at which each item, lot and amendment first appeared
            SELECT p.ocid, p.kind, p.id, min(s.step) AS step,
                   min(coalesce(tw_ts(p.date), CASE WHEN s.step > 1 THEN s.released END)) AS changed
            FROM parts AS p JOIN steps AS s ON s.ocid = p.ocid AND s.release_id = p.release_id
            WHERE p.id IS NOT NULL
            GROUP BY p.ocid, p.kind, p.id
        ),
        added AS (
            SELECT ocid, step,
                   count(*) FILTER (WHERE kind = 'item') AS items_added,
                   count(*) FILTER (WHERE kind = 'lot') AS lots_added
            FROM firsts WHERE step > 1 GROUP BY ocid, step
        ),
        changes AS (
            SELECT s.ocid, s.release_id, s.released AS changed, s.deadline_then, s.deadline_before_step,
                   coalesce(d.items_added, 0) > 0 OR coalesce(d.lots_added, 0) > 0
                   OR coalesce(s.value_amount > s.value_before_step, FALSE) AS widening
            FROM steps AS s
            LEFT JOIN added AS d ON d.ocid = s.ocid AND d.step = s.step
            WHERE s.step > 1 AND (
                s.amendment_tag OR coalesce(d.items_added, 0) > 0 OR coalesce(d.lots_added, 0) > 0
                OR coalesce(s.value_amount <> s.value_before_step, FALSE)
            )
            UNION ALL
            SELECT a.ocid, s.release_id, a.changed, s.deadline_then, s.deadline_before_step, FALSE
            FROM firsts AS a JOIN steps AS s ON s.ocid = a.ocid AND s.step = a.step
            WHERE a.kind = 'amendment' AND a.changed IS NOT NULL
        ),
        timed AS (
            SELECT *, datediff('day', changed::DATE, deadline_then::DATE) AS days_left,
                   datediff('day', changed::DATE, deadline_then::DATE) BETWEEN 0 AND {late} AS late
            FROM changes
        ),
        reported AS (  -- the change the sentence is about: the latest late one, else the latest one
            SELECT * FROM timed
            QUALIFY row_number() OVER (
                PARTITION BY ocid
                ORDER BY late DESC NULLS LAST, widening DESC, changed DESC NULLS LAST, release_id DESC
            ) = 1
        ),
        summary AS (
            SELECT s.ocid,
                   first(s.value_amount ORDER BY s.step) FILTER (WHERE s.value_amount IS NOT NULL) AS value_before,
                   first(s.value_currency ORDER BY s.step) FILTER (WHERE s.value_amount IS NOT NULL)
                       AS currency_before,
                   first(s.value_amount ORDER BY s.step DESC) FILTER (WHERE s.value_amount IS NOT NULL) AS value_after,
                   first(s.value_currency ORDER BY s.step DESC) FILTER (WHERE s.value_amount IS NOT NULL)
                       AS currency_after,
                   first(s.release_id ORDER BY s.step) AS published_release_id,
                   first(s.released ORDER BY s.step) AS published,
                   (SELECT count(*) FROM firsts AS f WHERE f.ocid = s.ocid AND f.kind = 'item' AND f.step = 1)
                       AS items_before,
                   (SELECT count(*) FROM firsts AS f WHERE f.ocid = s.ocid AND f.kind = 'item') AS items_after,
                   (SELECT count(*) FROM firsts AS f WHERE f.ocid = s.ocid AND f.kind = 'lot' AND f.step = 1)
                       AS lots_before,
                   (SELECT count(*) FROM firsts AS f WHERE f.ocid = s.ocid AND f.kind = 'lot') AS lots_after,
                   (SELECT count(DISTINCT t.release_id) FROM timed AS t WHERE t.ocid = s.ocid) AS changes,
                   coalesce((SELECT bool_or(t.late) FROM timed AS t WHERE t.ocid = s.ocid), FALSE) AS any_late
            FROM steps AS s
            GROUP BY s.ocid
        ),
        judged AS (
            SELECT m.*, r.changed, r.release_id AS changed_release_id, r.deadline_then AS deadline, r.days_left,
                   CASE WHEN r.deadline_before_step::DATE <> r.deadline_then::DATE THEN r.deadline_before_step END
                       AS deadline_before,
                   CASE WHEN m.value_before > 0 AND m.currency_before IS NOT DISTINCT FROM m.currency_after
                        THEN m.value_after::DOUBLE / m.value_before::DOUBLE - 1 END AS value_change,
                   -- compared exactly, in decimals: a rise of exactly the share does not count
                   CASE WHEN m.value_before > 0 AND m.currency_before IS NOT DISTINCT FROM m.currency_after
                        THEN m.value_after > m.value_before * (1 + {share}) END AS value_rose,
                   m.items_after > m.items_before AS items_added, m.lots_after > m.lots_before AS lots_added
            FROM summary AS m LEFT JOIN reported AS r USING (ocid)
        ),
        decided AS (
            SELECT *,
                   coalesce(value_rose, FALSE) OR items_added OR lots_added AS widened,
                   changes > 0 AND (any_late OR coalesce(value_rose, FALSE) OR items_added OR lots_added
                                    OR {literal(settings.flag_any_change)}) AS flagged
            FROM judged
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, flagged,
               coalesce(days_left, 1.0) AS value,
               json_object(
                   'changes', changes, 'published_release_id', published_release_id,
                   'changed_release_id', changed_release_id, 'change_date', changed::DATE,
                   'deadline', deadline::DATE, 'deadline_before_change', deadline_before::DATE,
                   'days_before_deadline', days_left, 'late', any_late,
                   'value_before', value_before, 'value_after', value_after, 'currency', currency_after,
                   'value_change', round(value_change, 4), 'items_before', items_before, 'items_after', items_after,
                   'lots_before', lots_before, 'lots_after', lots_after, 'widened', widened,
                   'late_days', {late}, 'value_increase', {share}
               ) AS evidence,
               'The tender notice was changed after it was published'
               || coalesce(', on ' || {_day("changed")}, '')
               || CASE WHEN days_left >= 0 THEN ', ' || days_left || ' days before the deadline for bids ('
                        || {_day("deadline")} || coalesce(', moved from ' || {_day("deadline_before")}, '') || ')'
                   ELSE '' END
               || coalesce(': ' || nullif(concat_ws(' and ',
                      CASE WHEN value_change > 0
                           THEN 'the estimated value went from ' || {_money("value_before", "currency_before")}
                                || ' to ' || {_money("value_after", "currency_after")} || ' (+'
                                || round(100 * value_change)::BIGINT || '%)' END,
                      CASE WHEN items_added THEN (items_after - items_before) || ' item'
                           || CASE WHEN items_after - items_before > 1 THEN 's were' ELSE ' was' END || ' added' END,
                      CASE WHEN lots_added THEN (lots_after - lots_before) || ' lot'
                           || CASE WHEN lots_after - lots_before > 1 THEN 's were' ELSE ' was' END || ' added' END
                  ), ''), '')
               || CASE WHEN changes > 1 THEN ' (' || changes || ' changes in all)' ELSE '' END
               || '.' AS sentence
        FROM decided
    """


INDICATOR = Indicator(
    code="TW101",
    title="Tender changed after publication",
    subjects=("process",),
    description="A published tender notice was changed late, close to the deadline for bids, or its scope was "
    "widened (a higher estimated value, items or lots added).",
    why="A late or widening change favours bidders who knew it was coming and gives others no time to respond; "
    "services can be swept into a contract without the scrutiny the original notice invited.",
    sql=sql,
    settings=Settings,
    needs=("raw_releases.data", "tenders.tender_period_end"),
    references=(
        "Corruption Risk Index (Fazekas, Government Transparency Institute): 'call for tenders modified'",
        "Public Contracts Regulations 2015, regulation 47(3): time limits extended when procurement documents "
        "change significantly: https://www.legislation.gov.uk/uksi/2015/102/regulation/47",
        "Public Contracts Regulations 2015, regulation 72(2): modifications under 10% of the value as the de "
        "minimis yardstick for a change of value: https://www.legislation.gov.uk/uksi/2015/102/regulation/72",
    ),
    differences=(
        "The Corruption Risk Index counts any modification; by default only late or scope-widening changes are "
        "flagged (flag_any_change restores the index's rule).",
    ),
)
