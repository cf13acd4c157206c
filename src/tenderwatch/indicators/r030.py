"""Late bid won.

A **process** is flagged when a winner's bid was received after the deadline for bids
(``tender.tenderPeriod.endDate``). The winner is flagged as a tenderer too.

The winners are the suppliers of the process's ``active`` awards (other awards, even pending ones, do not stop the
check). A process is looked at when it has a deadline and a ``valid`` bid by a winner with a date. Dates are
compared as moments in time, whatever their time-zone offsets; a date without an offset is read in the
``naive_timezone`` setting, and a date without a time as midnight.

Example: a housing association's deadline is 12:00 on 3 May 2024; the contract goes to a builder whose bid is dated
14:30 that day. The process and the builder are flagged: a late bid should have been refused, and accepting one
may mean the winner saw its rivals' prices first.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from tenderwatch.indicators.base import Indicator
from tenderwatch.indicators.r024 import bid_tenderers, party_keys


def _moment(timestamp: str) -> str:
    """Return SQL text writing a timestamp for people, in UTC: 3 May 2024 14:30 UTC."""
    return f"(strftime(timezone('UTC', {timestamp}), '%-d %B %Y %H:%M') || ' UTC')"


def sql(settings: object, common: object) -> str:
    """Return the SELECT that evaluates R030."""
    return f"""
        WITH {party_keys()},
        {bid_tenderers()},
        winners AS (
            SELECT DISTINCT ocid, unnest(supplier_ids) AS winner_id FROM ind_bid_awards WHERE status = 'active'
        ),
        winning_bids AS (  -- valid, dated bids by a winner, with the deadline
            SELECT t.ocid, t.tenderer_key, t.tenderer_name, t.date, p.tender_period_end AS deadline
            FROM tw_bid_tenderers AS t
            JOIN winners AS w ON w.ocid = t.ocid AND w.winner_id = t.tenderer_id
            JOIN ind_processes AS p ON p.ocid = t.ocid
            WHERE t.status = 'valid' AND t.date IS NOT NULL AND p.tender_period_end IS NOT NULL
        ),
        tenderers AS (
            SELECT ocid, tenderer_key, max(date) AS date, any_value(deadline) AS deadline,
                   max(date) > any_value(deadline) AS late
            FROM winning_bids
            GROUP BY ocid, tenderer_key
        ),
        processes AS (  -- a tenderer has one row per process here: its key alone picks the last bid's tenderer
            SELECT ocid, bool_or(late) AS late, arg_max(tenderer_key, (date, tenderer_key)) AS last_key,
                   max(date) AS date, any_value(deadline) AS deadline,
                   list_sort(list(tenderer_key) FILTER (WHERE late)) AS late_winners
            FROM tenderers
            GROUP BY ocid
        ),
        names AS (  -- the winners' names in the processes flagged (only a flag's sentence names them)
            SELECT ocid, tenderer_key, min(tenderer_name) AS tenderer_name
            FROM winning_bids
            WHERE ocid IN (SELECT ocid FROM processes WHERE late)
            GROUP BY ocid, tenderer_key
        )
        SELECT 'process' AS subject, p.ocid AS subject_id, p.ocid, p.late AS flagged, 1.0 AS value,
               json_object('bid_received', p.date, 'deadline', p.deadline, 'late_winners', p.late_winners,
                           'hours_late', round((epoch(p.date) - epoch(p.deadline)) / 3600, 1)) AS evidence,
               'The winning bid by ' || n.tenderer_name || ' was received ' || {_moment("p.date")} || ', after the '
               || 'deadline of ' || {_moment("p.deadline")} || '.' AS sentence
        FROM processes AS p
        LEFT JOIN names AS n ON n.ocid = p.ocid AND n.tenderer_key IS NOT DISTINCT FROM p.last_key
        UNION ALL
        SELECT 'tenderer', t.tenderer_key, t.ocid, t.late, 1.0,
               json_object('bid_received', t.date, 'deadline', t.deadline,
                           'hours_late', round((epoch(t.date) - epoch(t.deadline)) / 3600, 1)),
               n.tenderer_name || ' won although its bid was received ' || {_moment("t.date")}
               || ', after the deadline of ' || {_moment("t.deadline")} || '.'
        FROM tenderers AS t
        LEFT JOIN names AS n ON n.ocid = t.ocid AND n.tenderer_key IS NOT DISTINCT FROM t.tenderer_key
    """


INDICATOR = Indicator(
    code="R030",
    title="Late bid won",
    subjects=("process", "tenderer"),
    description="A winning bid was received after the deadline for bids.",
    why="A bid accepted after the deadline breaks the rules every other bidder kept, and a late bidder may have "
    "known its rivals' prices.",
    sql=sql,
    needs=("bids.date", "bids.status", "bids.tenderer_ids", "tenders.tender_period_end", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R030",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/030.html",
    ),
    cardinal=True,
    differences=(
        "Dates are compared as moments in time; Cardinal compares them as text, so a bid at 09:00+02:00 (07:00 UTC) "
        "counts as later than a deadline of 08:00Z.",
        "A date without a time-zone offset is read in the naive_timezone setting.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
    ),
)
