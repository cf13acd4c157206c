"""Where every contract stands: the table ``contract_lifecycle``, rebuilt by :func:`build_lifecycle`.

One row per contract; one per award that has no contract published yet; and one per process that has no award
at all (still planned or at tender, or stopped before any award), so every process has a status. Each row holds:

- its **status** today: ``planned``, ``tendering``, ``awarded``, ``active``, ``ended``, ``terminated_early`` or
  ``cancelled``, from the tender, award and contract statuses, the contract termination tag and the dates;
- its value and end date **when first published** and **now**. "First published" is read from the notices
  themselves (``raw_releases``): the earliest release, by release date, that gave the contract a value (or an
  end date, or a latest possible end); when the contract itself never had one, its award's first one; for a
  process row, the tender's. "Now" is the compiled release (``contracts``, ``awards``, ``tenders``);
- how many months were added to the end date, how many months of extension are still available, how many
  months are left, and whether (and when) the contract was terminated;
- the notices the facts come from (``original_release_id``, ``current_release_id``).

Releases are put in order by release date, then release id, so the result does not depend on the order in which
they were loaded. Only processes with more than one release have a history to read; for the others the first
facts are the current ones. "Today" is the current date in the store's time zone (``naive_timezone``), so the
statuses and months left hold for the whole day; tests may pass another day.

A contract counts as **terminated** when its status is ``terminated``, when a notice tagged
``contractTermination`` names it, or when a later notice brought its end date forward (by more than a day). It
is **terminated early** when the day it stopped (the new end date, else the earlier of the termination notice's
date and the end date) is more than a day before the end planned until then: OCDS also calls a contract that ran
its course "terminated", and a UK11 notice is also published on normal completion.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

# What is read of each release: the parts of the tender, awards and contracts whose history matters.
_PERIOD = {"startDate": "VARCHAR", "endDate": "VARCHAR", "maxExtentDate": "VARCHAR"}
_VALUE = {"amount": "JSON", "amountGross": "JSON", "currency": "VARCHAR"}
_HISTORY = json.dumps(
    {
        "tender": {"status": "VARCHAR", "value": _VALUE, "contractPeriod": _PERIOD},
        "awards": [{"id": "VARCHAR", "status": "VARCHAR", "value": _VALUE, "contractPeriod": _PERIOD}],
        "contracts": [{"id": "VARCHAR", "status": "VARCHAR", "value": _VALUE, "period": _PERIOD}],
    },
    separators=(",", ":"),
)

# Notices in order: by release date (undated last), then release id, then order of arrival.
_ORDER = "released NULLS LAST, release_id, seq"
# Days in an average month, for months to one decimal.
_MONTH_DAYS = 365.25 / 12

# Processes per slice, and the tables read a slice at a time.
SLICE = 50_000
_SLICED = ("award_suppliers", "awards", "amendments", "contracts", "tenders", "processes", "raw_releases")

_TEMP_TABLES = (
    "tmp_lc_today",
    "tmp_lc_releases",
    "tmp_lc_contract_history",
    "tmp_lc_award_history",
    "tmp_lc_tender_history",
)


def months(start: str, end: str) -> str:
    """SQL: the months from ``start`` to ``end`` (timestamps), to one decimal."""
    return f"round((epoch({end}) - epoch({start})) / 86400.0 / {_MONTH_DAYS}, 1)"


def _first(column: str, present: str | None = None) -> str:
    """SQL: the value of ``column`` in the first notice (where ``present`` holds, by default where it is set)."""
    return f"first({column} ORDER BY {_ORDER}) FILTER (WHERE {present or column + ' IS NOT NULL'})"


def build_lifecycle(con: duckdb.DuckDBPyConnection, *, today: dt.date | None = None) -> int:
    """Replace every row of ``contract_lifecycle``; return the number of rows.

    Runs inside the caller's transaction (it neither begins nor commits one); its temporary tables are dropped
    before it returns. ``today`` sets the day statuses and months left are computed for (default: today).
    """
    if today is None:
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_lc_today AS SELECT current_date::TIMESTAMPTZ AS today")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_lc_today AS SELECT ?::DATE::TIMESTAMPTZ AS today", [today])
    con.execute("DELETE FROM contract_lifecycle")
    # Processes are done a slice at a time, so memory stays bounded however large the store is: every table is
    # read through a temporary view that holds only the slice's processes.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_lc_slices AS
        SELECT ocid, (row_number() OVER (ORDER BY ocid) - 1) // ? AS slice FROM processes
        """,
        [SLICE],
    )
    slices = con.execute("SELECT coalesce(max(slice), -1) + 1 FROM tmp_lc_slices").fetchall()[0][0]
    for number in range(slices):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tmp_lc_slice AS SELECT ocid FROM tmp_lc_slices WHERE slice = ?", [number]
        )
        for table in _SLICED:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW lc_{table} AS "
                f"SELECT * FROM {table} WHERE ocid IN (SELECT ocid FROM tmp_lc_slice)"
            )
        _history(con)
        con.execute(f"INSERT INTO contract_lifecycle BY NAME ({_ROWS})")
    count = con.execute("SELECT count(*) FROM contract_lifecycle").fetchall()[0][0]
    for table in _SLICED:
        con.execute(f"DROP VIEW IF EXISTS lc_{table}")
    for table in (*_TEMP_TABLES, "tmp_lc_slices", "tmp_lc_slice"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return count


def _history(con: duckdb.DuckDBPyConnection) -> None:
    """The first and last facts about each contract, award and tender, from the notices of processes that have
    more than one (a publisher's compiled releases are read only when the process has nothing else)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_lc_releases AS
        SELECT r.ocid, r.release_id, r.seq, tw_ts(r.release_date) AS released, coalesce(r.tags, []) AS tags,
               json_transform(r.data, '{_HISTORY}') AS x
        FROM lc_raw_releases AS r
        JOIN lc_processes AS p ON p.ocid = r.ocid
        WHERE p.release_count > 1 AND (r.kind IS DISTINCT FROM 'compiled' OR p.compile_method = 'publisher')
        """
    )
    terminating = "status = 'terminated' OR list_contains(tags, 'contractTermination')"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_lc_contract_history AS
        WITH u AS (SELECT ocid, release_id, seq, released, tags, unnest(x.contracts) AS c FROM tmp_lc_releases),
        steps AS (
            SELECT ocid, release_id, seq, released, tags, c.id AS contract_id, lower(c.status) AS status,
                   tw_or_gross(tw_value(c.value.amount), c.value.amountGross) AS value_amount,
                   tw_only_gross(tw_value(c.value.amount), c.value.amountGross) AS value_gross,
                   c.value.currency AS value_currency,
                   tw_ts(c.period.endDate) AS period_end, tw_ts(c.period.maxExtentDate) AS max_extent
            FROM u WHERE c.id IS NOT NULL
        )
        SELECT ocid, contract_id,
               {_first("value_amount")} AS value_amount, {_first("value_currency", "value_amount IS NOT NULL")}
               AS value_currency, {_first("release_id", "value_amount IS NOT NULL")} AS value_release_id,
               {_first("value_gross", "value_amount IS NOT NULL")} AS value_gross,
               {_first("period_end")} AS period_end,
               {_first("release_id", "period_end IS NOT NULL")} AS end_release_id,
               {_first("max_extent")} AS max_extent,
               max(period_end) AS latest_planned_end,
               first(release_id ORDER BY {_ORDER}) AS first_release_id,
               first(release_id ORDER BY released DESC NULLS FIRST, release_id DESC, seq DESC) AS last_release_id,
               {_first("released", terminating)} AS termination_notice_date,
               bool_or({terminating}) AS termination_notice,
               count(DISTINCT release_id) FILTER (WHERE list_contains(tags, 'contractAmendment')) AS amending_notices
        FROM steps
        GROUP BY ocid, contract_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_lc_award_history AS
        WITH u AS (SELECT ocid, release_id, seq, released, tags, unnest(x.awards) AS a FROM tmp_lc_releases),
        steps AS (
            SELECT ocid, release_id, seq, released, tags, a.id AS award_id,
                   tw_or_gross(tw_value(a.value.amount), a.value.amountGross) AS value_amount,
                   tw_only_gross(tw_value(a.value.amount), a.value.amountGross) AS value_gross,
                   a.value.currency AS value_currency,
                   tw_ts(a.contractPeriod.endDate) AS period_end, tw_ts(a.contractPeriod.maxExtentDate) AS max_extent
            FROM u WHERE a.id IS NOT NULL
        )
        SELECT ocid, award_id,
               {_first("value_amount")} AS value_amount, {_first("value_currency", "value_amount IS NOT NULL")}
               AS value_currency, {_first("release_id", "value_amount IS NOT NULL")} AS value_release_id,
               {_first("value_gross", "value_amount IS NOT NULL")} AS value_gross,
               {_first("period_end")} AS period_end,
               {_first("release_id", "period_end IS NOT NULL")} AS end_release_id,
               {_first("max_extent")} AS max_extent,
               first(release_id ORDER BY {_ORDER}) AS first_release_id,
               first(release_id ORDER BY released DESC NULLS FIRST, release_id DESC, seq DESC) AS last_release_id,
               count(DISTINCT release_id) FILTER (WHERE list_contains(tags, 'awardUpdate')) AS amending_notices
        FROM steps
        GROUP BY ocid, award_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_lc_tender_history AS
        WITH steps AS (
            SELECT ocid, release_id, seq, released, tags,
                   -- an estimate of 0 is none: the tender's first estimate is then the one in the tenders table
                   -- (a minValue in Contracts Finder's OCDS 1.0 notices: see tw_tender_amount)
                   nullif(tw_or_gross(tw_value(x.tender.value.amount), x.tender.value.amountGross), 0) AS value_amount,
                   tw_only_gross(tw_value(x.tender.value.amount), x.tender.value.amountGross) AS value_gross,
                   x.tender.value.currency AS value_currency,
                   tw_ts(x.tender.contractPeriod.endDate) AS period_end,
                   tw_ts(x.tender.contractPeriod.maxExtentDate) AS max_extent
            FROM tmp_lc_releases WHERE x.tender IS NOT NULL
        )
        SELECT ocid,
               {_first("value_amount")} AS value_amount, {_first("value_currency", "value_amount IS NOT NULL")}
               AS value_currency, {_first("release_id", "value_amount IS NOT NULL")} AS value_release_id,
               {_first("value_gross", "value_amount IS NOT NULL")} AS value_gross,
               {_first("period_end")} AS period_end,
               {_first("release_id", "period_end IS NOT NULL")} AS end_release_id,
               {_first("max_extent")} AS max_extent,
               first(release_id ORDER BY {_ORDER}) AS first_release_id,
               first(release_id ORDER BY released DESC NULLS FIRST, release_id DESC, seq DESC) AS last_release_id,
               count(DISTINCT release_id) FILTER (WHERE list_contains(tags, 'tenderAmendment')) AS amending_notices
        FROM steps
        GROUP BY ocid
        """
    )


# The rows, from the compiled tables and the histories above.
_ROWS = f"""
WITH today AS (SELECT today FROM tmp_lc_today),
suppliers AS (
    -- in the order of the award's suppliers: sorting each list took a third of the time of an ordered aggregate,
    -- which was three fifths of the time of all the rows
    SELECT ocid, award_id,
           list_transform(list_sort(list((position, party_id)) FILTER (WHERE party_id IS NOT NULL)), x -> x[2]) AS ids,
           list_transform(list_sort(list((position, name)) FILTER (WHERE name IS NOT NULL)), x -> x[2]) AS names
    FROM lc_award_suppliers
    GROUP BY ocid, award_id
),
award_counts AS (SELECT ocid, count(*) AS awards, min(award_id) AS only_award FROM lc_awards GROUP BY ocid),
amendment_counts AS (
    SELECT ocid, scope, parent_id, count(*) AS amendments FROM lc_amendments GROUP BY ocid, scope, parent_id
),
-- Each contract with the award it follows (the only award of its process when it names none).
contract_awards AS (
    SELECT c.*, CASE WHEN c.award_id IS NULL AND n.awards = 1 THEN n.only_award ELSE c.award_id END AS matched_award
    FROM lc_contracts AS c LEFT JOIN award_counts AS n ON n.ocid = c.ocid
),
contract_rows AS (
    SELECT
        'contract' AS row_type, c.ocid, c.contract_id, c.matched_award AS award_id,
        coalesce(c.title, a.title) AS title,
        lower(c.status) AS contract_status, lower(a.status) AS award_status, NULL AS tender_status,
        coalesce(c.period_start, a.contract_period_start, t.contract_period_start) AS start_date,
        a.date AS award_date, c.date_signed,
        -- the contract's own value, else its award's
        (c.value_amount IS NOT NULL OR hc.value_amount IS NOT NULL) AS own_value,
        coalesce(hc.value_amount, c.value_amount) AS contract_original_value,
        CASE WHEN hc.value_amount IS NOT NULL THEN hc.value_currency ELSE c.value_currency END
            AS contract_original_currency,
        coalesce(ha.value_amount, a.value_amount) AS award_original_value,
        CASE WHEN ha.value_amount IS NOT NULL THEN ha.value_currency ELSE a.value_currency END
            AS award_original_currency,
        hc.value_release_id AS contract_value_release, ha.value_release_id AS award_value_release,
        c.value_amount AS contract_value, c.value_currency AS contract_currency,
        a.value_amount AS award_value, a.value_currency AS award_currency,
        -- whether each of those values is the amount including taxes (given without the amount without them)
        CASE WHEN hc.value_amount IS NOT NULL THEN hc.value_gross ELSE c.value_includes_tax END
            AS contract_original_tax,
        CASE WHEN ha.value_amount IS NOT NULL THEN ha.value_gross ELSE a.value_includes_tax END AS award_original_tax,
        c.value_includes_tax AS contract_tax, a.value_includes_tax AS award_tax,
        (c.period_end IS NOT NULL OR hc.period_end IS NOT NULL) AS own_end,
        coalesce(hc.period_end, c.period_end) AS contract_original_end,
        coalesce(ha.period_end, a.contract_period_end) AS award_original_end,
        hc.end_release_id AS contract_end_release, ha.end_release_id AS award_end_release,
        c.period_end AS contract_end, a.contract_period_end AS award_end,
        coalesce(hc.max_extent, c.period_max_extent, ha.max_extent, a.contract_period_max_extent,
                 th.max_extent, t.contract_period_max_extent) AS original_max_extent_date,
        coalesce(c.period_max_extent, a.contract_period_max_extent, t.contract_period_max_extent) AS max_extent_date,
        hc.latest_planned_end,
        coalesce(hc.termination_notice, FALSE) AS termination_notice, hc.termination_notice_date,
        greatest(coalesce(c.amendment_count, 0), coalesce(hc.amending_notices, 0)) AS amendment_count,
        coalesce(hc.first_release_id, ha.first_release_id) AS first_release_id,
        coalesce(hc.last_release_id, ha.last_release_id) AS last_release_id
    FROM contract_awards AS c
    LEFT JOIN lc_awards AS a ON a.ocid = c.ocid AND a.award_id = c.matched_award
    LEFT JOIN lc_tenders AS t ON t.ocid = c.ocid
    LEFT JOIN tmp_lc_contract_history AS hc ON hc.ocid = c.ocid AND hc.contract_id = c.contract_id
    LEFT JOIN tmp_lc_award_history AS ha ON ha.ocid = c.ocid AND ha.award_id = c.matched_award
    LEFT JOIN tmp_lc_tender_history AS th ON th.ocid = c.ocid
),
-- Awards no contract follows (when a process has contracts that name no award, its awards count as contracted).
award_rows AS (
    SELECT
        'award' AS row_type, a.ocid, NULL AS contract_id, a.award_id,
        a.title, NULL AS contract_status, lower(a.status) AS award_status, NULL AS tender_status,
        coalesce(a.contract_period_start, t.contract_period_start) AS start_date,
        a.date AS award_date, NULL::TIMESTAMPTZ AS date_signed,
        FALSE AS own_value, NULL::DECIMAL(38, 6) AS contract_original_value, NULL AS contract_original_currency,
        coalesce(ha.value_amount, a.value_amount) AS award_original_value,
        CASE WHEN ha.value_amount IS NOT NULL THEN ha.value_currency ELSE a.value_currency END
            AS award_original_currency,
        NULL AS contract_value_release, ha.value_release_id AS award_value_release,
        NULL::DECIMAL(38, 6) AS contract_value, NULL AS contract_currency,
        a.value_amount AS award_value, a.value_currency AS award_currency,
        NULL::BOOLEAN AS contract_original_tax,
        CASE WHEN ha.value_amount IS NOT NULL THEN ha.value_gross ELSE a.value_includes_tax END AS award_original_tax,
        NULL::BOOLEAN AS contract_tax, a.value_includes_tax AS award_tax,
        FALSE AS own_end, NULL::TIMESTAMPTZ AS contract_original_end,
        coalesce(ha.period_end, a.contract_period_end) AS award_original_end,
        NULL AS contract_end_release, ha.end_release_id AS award_end_release,
        NULL::TIMESTAMPTZ AS contract_end, a.contract_period_end AS award_end,
        coalesce(ha.max_extent, a.contract_period_max_extent, th.max_extent, t.contract_period_max_extent)
            AS original_max_extent_date,
        coalesce(a.contract_period_max_extent, t.contract_period_max_extent) AS max_extent_date,
        NULL::TIMESTAMPTZ AS latest_planned_end,
        FALSE AS termination_notice, NULL::TIMESTAMPTZ AS termination_notice_date,
        greatest(coalesce(m.amendments, 0), coalesce(ha.amending_notices, 0)) AS amendment_count,
        ha.first_release_id, ha.last_release_id
    FROM lc_awards AS a
    LEFT JOIN lc_tenders AS t ON t.ocid = a.ocid
    LEFT JOIN tmp_lc_award_history AS ha ON ha.ocid = a.ocid AND ha.award_id = a.award_id
    LEFT JOIN tmp_lc_tender_history AS th ON th.ocid = a.ocid
    LEFT JOIN amendment_counts AS m ON m.ocid = a.ocid AND m.scope = 'award' AND m.parent_id = a.award_id
    WHERE NOT EXISTS (
        SELECT 1 FROM contract_awards AS c
        WHERE c.ocid = a.ocid AND (c.matched_award = a.award_id OR c.matched_award IS NULL)
    )
),
-- Processes with no award and no contract: the tender's facts.
process_rows AS (
    SELECT
        'process' AS row_type, p.ocid, NULL AS contract_id, NULL AS award_id,
        p.title, NULL AS contract_status, NULL AS award_status,
        CASE
            WHEN t.ocid IS NULL THEN 'planned'
            -- marked unsuccessful before its deadline for bids: still tendering (see the macro)
            WHEN tw_unsuccessful_before_deadline(p.ocid, t.status, p.last_release_date, t.tender_period_end)
                THEN 'active'
            ELSE coalesce(lower(t.status), 'active')
        END AS tender_status,
        t.contract_period_start AS start_date, NULL::TIMESTAMPTZ AS award_date, NULL::TIMESTAMPTZ AS date_signed,
        FALSE AS own_value, NULL::DECIMAL(38, 6) AS contract_original_value, NULL AS contract_original_currency,
        coalesce(th.value_amount, t.value_amount) AS award_original_value,
        CASE WHEN th.value_amount IS NOT NULL THEN th.value_currency ELSE t.value_currency END
            AS award_original_currency,
        NULL AS contract_value_release, th.value_release_id AS award_value_release,
        NULL::DECIMAL(38, 6) AS contract_value, NULL AS contract_currency,
        t.value_amount AS award_value, t.value_currency AS award_currency,
        NULL::BOOLEAN AS contract_original_tax,
        CASE WHEN th.value_amount IS NOT NULL THEN th.value_gross ELSE t.value_includes_tax END AS award_original_tax,
        NULL::BOOLEAN AS contract_tax, t.value_includes_tax AS award_tax,
        FALSE AS own_end, NULL::TIMESTAMPTZ AS contract_original_end,
        coalesce(th.period_end, t.contract_period_end) AS award_original_end,
        NULL AS contract_end_release, th.end_release_id AS award_end_release,
        NULL::TIMESTAMPTZ AS contract_end, t.contract_period_end AS award_end,
        coalesce(th.max_extent, t.contract_period_max_extent) AS original_max_extent_date,
        t.contract_period_max_extent AS max_extent_date,
        NULL::TIMESTAMPTZ AS latest_planned_end,
        FALSE AS termination_notice, NULL::TIMESTAMPTZ AS termination_notice_date,
        greatest(coalesce(m.amendments, 0), coalesce(th.amending_notices, 0)) AS amendment_count,
        th.first_release_id, th.last_release_id
    FROM lc_processes AS p
    LEFT JOIN lc_tenders AS t ON t.ocid = p.ocid
    LEFT JOIN tmp_lc_tender_history AS th ON th.ocid = p.ocid
    LEFT JOIN amendment_counts AS m ON m.ocid = p.ocid AND m.scope = 'tender'
    WHERE NOT EXISTS (SELECT 1 FROM lc_contracts AS c WHERE c.ocid = p.ocid)
      AND NOT EXISTS (SELECT 1 FROM lc_awards AS a WHERE a.ocid = p.ocid)
),
every_row AS (
    SELECT * FROM contract_rows UNION ALL SELECT * FROM award_rows UNION ALL SELECT * FROM process_rows
),
facts AS (
    SELECT
        r.*,
        p.buyer_id, p.buyer_name, p.latest_release_id,
        coalesce(s.ids, []::VARCHAR[]) AS supplier_ids, coalesce(s.names, []::VARCHAR[]) AS supplier_names,
        CASE WHEN own_value THEN contract_original_value ELSE award_original_value END AS original_value_amount,
        CASE WHEN own_value THEN contract_original_currency ELSE award_original_currency END
            AS original_value_currency,
        CASE WHEN own_value THEN contract_value ELSE award_value END AS current_value_amount,
        CASE WHEN own_value THEN contract_currency ELSE award_currency END AS current_value_currency,
        coalesce(CASE WHEN own_value THEN contract_original_tax ELSE award_original_tax END, FALSE)
            AS original_value_includes_tax,
        coalesce(CASE WHEN own_value THEN contract_tax ELSE award_tax END, FALSE) AS current_value_includes_tax,
        CASE WHEN own_end THEN contract_original_end ELSE award_original_end END AS original_end_date,
        CASE WHEN own_end THEN contract_end ELSE award_end END AS current_end_date,
        CASE WHEN own_value THEN contract_value_release ELSE award_value_release END AS value_release,
        CASE WHEN own_end THEN contract_end_release ELSE award_end_release END AS end_release
    FROM every_row AS r
    JOIN lc_processes AS p ON p.ocid = r.ocid
    LEFT JOIN suppliers AS s ON s.ocid = r.ocid AND s.award_id = r.award_id
),
ending AS (
    SELECT
        f.*,
        coalesce(f.current_end_date < f.latest_planned_end - INTERVAL 1 DAY, FALSE) AS brought_forward,
        coalesce(f.contract_status = 'terminated', FALSE) OR f.termination_notice
            OR coalesce(f.current_end_date < f.latest_planned_end - INTERVAL 1 DAY, FALSE) AS terminated
    FROM facts AS f
),
stopped AS (
    SELECT
        e.*,
        CASE
            WHEN NOT e.terminated THEN NULL
            WHEN e.brought_forward THEN e.current_end_date
            ELSE least(e.termination_notice_date, e.current_end_date)
        END AS termination_date
    FROM ending AS e
),
placed AS (
    SELECT
        s.*,
        CASE
            WHEN s.contract_status = 'cancelled' THEN 'cancelled'
            WHEN s.row_type = 'award' AND s.award_status IN ('cancelled', 'unsuccessful') THEN 'cancelled'
            WHEN s.row_type = 'process' AND s.tender_status IN ('cancelled', 'withdrawn', 'unsuccessful')
                THEN 'cancelled'
            WHEN s.row_type = 'process' AND s.tender_status IN ('planning', 'planned') THEN 'planned'
            WHEN s.row_type = 'process' THEN 'tendering'
            WHEN s.terminated AND s.termination_date
                < coalesce(greatest(s.latest_planned_end, s.current_end_date), s.current_end_date) - INTERVAL 1 DAY
                THEN 'terminated_early'
            WHEN s.current_end_date < today.today THEN 'ended'
            WHEN s.contract_status = 'terminated' THEN 'ended'
            WHEN s.contract_status = 'pending' OR s.award_status = 'pending' THEN 'awarded'
            WHEN s.start_date > today.today THEN 'awarded'
            WHEN s.start_date IS NULL AND s.row_type = 'award' THEN 'awarded'
            ELSE 'active'
        END AS status
    FROM stopped AS s, today
)
SELECT
    p.ocid, p.row_type, p.contract_id, p.award_id, p.buyer_id, p.buyer_name, p.supplier_ids, p.supplier_names,
    p.title, p.status, p.start_date, p.award_date, p.date_signed,
    p.original_value_amount, p.original_value_currency, p.original_value_includes_tax,
    p.current_value_amount, p.current_value_currency, p.current_value_includes_tax,
    -- a value including taxes is not compared with one without them
    CASE WHEN p.original_value_amount > 0 AND p.original_value_currency IS NOT DISTINCT FROM p.current_value_currency
              AND p.original_value_includes_tax = p.current_value_includes_tax
         THEN p.current_value_amount::DOUBLE / p.original_value_amount::DOUBLE - 1 END AS value_growth,
    p.original_end_date, p.current_end_date, p.original_max_extent_date, p.max_extent_date,
    {months("p.original_end_date", "p.current_end_date")} AS months_added,
    CASE
        WHEN p.max_extent_date IS NULL OR p.current_end_date IS NULL THEN NULL
        WHEN p.terminated THEN 0.0
        ELSE greatest({months("p.current_end_date", "p.max_extent_date")}, 0.0)
    END AS extension_months_available,
    p.amendment_count::INTEGER AS amendment_count,
    coalesce(p.terminated, FALSE) AS terminated, p.termination_date,
    CASE WHEN p.status NOT IN ('ended', 'cancelled') AND p.current_end_date >= today.today
         THEN {months("today.today", "p.current_end_date")} END AS months_left,
    coalesce(p.value_release, p.end_release, p.first_release_id, p.latest_release_id) AS original_release_id,
    coalesce(p.last_release_id, p.latest_release_id) AS current_release_id,
    now() AS computed_at
FROM placed AS p, today
"""
