"""Finding real changes between consecutive notices of a process: the rows of ``changes``.

The releases of each process are put in order (release date, then release id, then order of arrival, as the
lifecycle table orders them) and read as a history: for the tender, each award and each contract, the facts each
notice gives (status, value, end date, amendments). A notice that leaves a fact out leaves it as it was (as the
OCDS merge does), so only a value that is given and differs from the last one given counts. What counts:

- ``new_tender``: the first notice of a process's tender, while it is planned or open for bids;
- ``new_award`` / ``new_direct_award``: the first notice of an award (active or pending); direct when the
  procedure of its process is non-competitive (a direct award, or no call for competition, as the red flags
  classify procedures);
- ``value_changed``: the value of the tender, an award or a contract differs, in the same currency, from the last
  one published by more than the ``value_change_percent`` setting;
- ``end_date_moved``: the end date of an award's or a contract's period is another day than the last one
  published (not counted again when the same notice terminates the contract);
- ``new_amendment``: an amendment (by id, else by its date and text) seen for the first time;
- ``termination``: a contract marked terminated or cancelled, or named in a notice tagged contractTermination, or
  an award marked cancelled (once per contract or award);
- ``tender_cancelled``: the tender marked cancelled, withdrawn or unsuccessful (once per process); a tender marked
  unsuccessful by a notice dated before its own deadline for bids is not (Contracts Finder marks most tender
  notices so on publication): that notice gives a ``new_tender``;
- ``provider_exit``: a provider exit found by :mod:`tenderwatch.records.derived` (once per ended contract and
  replacement process);
- ``poor_performance``: a performance failure or key performance indicators below standard published for a
  contract (a Find a Tender UK9 notice), as :mod:`tenderwatch.records.derived` finds them (once per event);
- ``ending_soon``: a contract coming within the months of a watchlist's "ending within" rule of its end, made by
  :func:`ending_changes` for the watchlists that ask.

A re-publication of the same facts (a new notice id, another date format, the same amounts) gives nothing. The id
of a change is a hash of the process, the kind and what changed (the object and the values before and after),
never of the notice, so a change found again, in a notice loaded late or by a later run, is never a copy.

Every query here is set-based SQL over the releases of the processes that have new releases since the last run
(``alert_runs.seq``), and runs inside the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from tenderwatch.indicators._catalogue import ProcedureSettings, money, procedure_class, procedure_words
from tenderwatch.util import ocid_slices

KINDS = {
    "new_tender": "a tender (or planned procurement) published for the first time",
    "new_award": "an award published for the first time",
    "new_direct_award": "an award made without a call for competition, published for the first time",
    "value_changed": "the value of a tender, award or contract changed by more than the threshold",
    "end_date_moved": "the end date of an award or contract moved",
    "new_amendment": "an amendment (a published change to a tender, award or contract)",
    "termination": "a contract terminated or cancelled, or an award cancelled",
    "tender_cancelled": "a procurement stopped: the tender cancelled, withdrawn or unsuccessful",
    "provider_exit": "a provider left: a terminated or ended contract replaced by an award to another supplier",
    "poor_performance": "a performance failure or key performance indicators below standard published for a "
    "contract (UK9)",
    "ending_soon": "a contract comes within a watchlist's months of its end",
}
EXIT_KINDS = ("termination", "provider_exit")

_AMENDMENT = {"id": "VARCHAR", "date": "VARCHAR", "rationale": "VARCHAR", "description": "VARCHAR"}
_VALUE = {"amount": "JSON", "amountGross": "JSON", "currency": "VARCHAR"}
_HISTORY = json.dumps(
    {
        "tender": {
            "id": "VARCHAR",
            "title": "VARCHAR",
            "status": "VARCHAR",
            "value": _VALUE,
            "tenderPeriod": {"endDate": "VARCHAR"},
            "amendments": [_AMENDMENT],
        },
        "awards": [
            {
                "id": "VARCHAR",
                "title": "VARCHAR",
                "status": "VARCHAR",
                "value": _VALUE,
                "contractPeriod": {"endDate": "VARCHAR"},
                "amendments": [_AMENDMENT],
            }
        ],
        "contracts": [
            {
                "id": "VARCHAR",
                "title": "VARCHAR",
                "status": "VARCHAR",
                "value": _VALUE,
                "period": {"endDate": "VARCHAR"},
                "amendments": [_AMENDMENT],
            }
        ],
    },
    separators=(",", ":"),
)

# Processes whose notices are read in one go when looking for changes (at a million processes of 3.5 KB notices,
# all at once needed more than the analysis memory limit of 768MB).
CHANGES_SLICE = 100_000

_TEMP_TABLES = (
    "tmp_al_pending",
    "tmp_al_ocids",
    "tmp_al_releases",
    "tmp_al_facts",
    "tmp_al_steps",
    "tmp_al_amendments",
    "tmp_al_context",
    "tmp_al_suppliers",
    "tmp_al_found",
)


def change_id(*parts: str) -> str:
    """SQL: the id of a change, a hash of the SQL expressions ``parts`` (NULL written as ``~``)."""
    joined = ", ".join(f"coalesce(CAST({part} AS VARCHAR), '~')" for part in parts)
    return f"substr(sha256(concat_ws('|', {joined})), 1, 32)"


def day(timestamp: str) -> str:
    """SQL: a date for people, such as 3 March 2024."""
    return f"strftime({timestamp}, '%-d %B %Y')"


def _quoted(title: str) -> str:
    return f"""('"' || {title} || '"')"""


def _named(title: str, steps: str = "s", context: str = "x") -> str:
    """SQL: an award's or contract's title, quoted, with its id when its process has several of them (the awards
    of a framework, often untitled or titled alike, otherwise read as the same sentence many times)."""
    several = (
        f"({steps}.object_type = 'award' AND {context}.awards > 1) "
        f"OR ({steps}.object_type = 'contract' AND {context}.contracts > 1)"
    )
    return (
        f"({_quoted(title)} || CASE WHEN ({several}) AND {steps}.key <> '' "
        f"THEN ' (' || {steps}.object_type || ' ' || {steps}.key || ')' ELSE '' END)"
    )


def _noticed(released: str) -> str:
    return f"coalesce('in the notice of ' || {day(released)}, 'in an undated notice')"


def _suppliers(names: str) -> str:
    return (
        f"CASE WHEN len(coalesce({names}, [])) > 0 THEN array_to_string({names}, ', ') ELSE 'a supplier not named' END"
    )


def _with_tax(text: str, gross: str) -> str:
    """SQL: an amount's text, followed by "including taxes" where the notice gave only that amount."""
    return f"({text} || CASE WHEN {gross} THEN ' including taxes' ELSE '' END)"


@dataclass
class ReadChanges:
    """Changes :func:`read_changes` found in the notices stored after ``since_seq`` (in the temporary table
    ``tmp_al_read``), not yet added to ``changes``."""

    since_seq: int
    processes: int


def read_changes(con: duckdb.DuckDBPyConnection, since_seq: int, value_change_percent: float) -> ReadChanges:
    """Find the changes in the notices of every process with a release stored after ``since_seq``, a slice of the
    processes at a time, into ``tmp_al_read``. Run outside a transaction, each slice's work tables are freed when
    the next slice's replace them; inside one, they are kept to its end (the first run after a load of a million
    processes reads every notice: all at once, or in slices inside the transaction, that needed more than the
    analysis memory limit of 768MB)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_al_pending AS
        SELECT DISTINCT r.ocid FROM raw_releases AS r SEMI JOIN processes AS p ON p.ocid = r.ocid WHERE r.seq > ?
          -- a process that copies another (an aggregator's copy of a notice) changes as its original does
          AND r.ocid NOT IN (SELECT ocid FROM process_copies)
        """,
        [since_seq],
    )
    processes = con.execute("SELECT count(*) FROM tmp_al_pending").fetchall()[0][0]
    for number, (low, high) in enumerate(ocid_slices(con, "tmp_al_pending", CHANGES_SLICE)):
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tmp_al_ocids AS
            SELECT ocid FROM tmp_al_pending WHERE ocid >= $low AND ($high IS NULL OR ocid < $high)
            """,
            {"low": low, "high": high},
        )
        _history(con)
        _context(con)
        found = _found(con, value_change_percent)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE tmp_al_read AS {found}"
            if number == 0
            else f"INSERT INTO tmp_al_read {found}"
        )
    _drop(con)
    return ReadChanges(since_seq, processes)


def find_changes(
    con: duckdb.DuckDBPyConnection,
    since_seq: int,
    run_id: int,
    value_change_percent: float,
    read: ReadChanges | None = None,
) -> tuple[int, int]:
    """Add the changes in the notices of every process with a release stored after ``since_seq`` (those ``read``
    found, when it read from the same point); return how many processes were read and how many changes were new.
    Runs inside the caller's transaction."""
    if read is None or read.since_seq != since_seq:
        read = read_changes(con, since_seq, value_change_percent)
    added = _insert(con, run_id, "tmp_al_read") if read.processes else 0
    con.execute("DROP TABLE IF EXISTS tmp_al_read")
    return read.processes, added


def _derived_changes(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    kind: str,
    event_types: tuple[str, ...],
    id_parts: tuple[str, ...],
    before: str,
    after: str,
    related: tuple[str, str] = ("NULL", "NULL"),
) -> int:
    """Add a ``kind`` change for each event of ``event_types`` in ``derived_events`` not known yet (its id made of
    the SQL ``id_parts``; ``before``, ``after`` and ``related`` the values, process and release it shows); return
    how many were added."""
    names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if "derived_events" not in names:
        return 0
    types = ", ".join(f"'{event_type}'" for event_type in event_types)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_al_found AS
        SELECT {change_id(*id_parts)} AS change_id,
               '{kind}' AS kind, d.ocid, d.release_id, d.event_date::TIMESTAMPTZ AS release_date,
               CASE WHEN d.contract_id IS NOT NULL THEN 'contract' ELSE 'award' END AS object_type,
               coalesce(d.contract_id, d.award_id) AS object_id, {before} AS before_value, {after} AS after_value,
               NULL::DECIMAL(38, 6) AS amount, NULL AS currency,
               coalesce(p.title, d.ocid) AS title, coalesce(d.buyer_name, p.buyer_name) AS buyer_name,
               CASE WHEN d.organisation_name IS NULL THEN [] ELSE [d.organisation_name] END AS supplier_names,
               d.summary AS sentence, {related[0]} AS related_ocid, {related[1]} AS related_release_id,
               d.event_date::TIMESTAMPTZ AS sort_released, 0 AS sort_step
        FROM derived_events AS d LEFT JOIN processes AS p ON p.ocid = d.ocid
        WHERE d.event_type IN ({types}) AND d.ocid NOT IN (SELECT ocid FROM process_copies)
        """
    )
    added = _insert(con, run_id)
    con.execute("DROP TABLE IF EXISTS tmp_al_found")
    return added


def provider_exit_changes(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """Add a change for each provider exit in ``derived_events`` not known yet; return how many were added."""
    # One exit per supplier of the contract: a framework with several suppliers can lose each of them.
    return _derived_changes(
        con,
        run_id,
        "provider_exit",
        ("provider_exit",),
        (
            "d.ocid",
            "'provider_exit'",
            "coalesce(d.contract_id, d.award_id)",
            "d.related_ocid",
            "coalesce(d.organisation_identifier, d.organisation_name)",
        ),
        "d.organisation_name",
        "d.related_supplier",
        ("d.related_ocid", "d.related_release_id"),
    )


def performance_changes(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """Add a change for each performance failure or KPIs-below-standard event in ``derived_events`` not known yet;
    return how many were added."""
    return _derived_changes(
        con,
        run_id,
        "poor_performance",
        ("performance_failure", "kpi_below"),
        ("d.ocid", "'poor_performance'", "coalesce(d.contract_id, d.award_id)", "d.event_id"),
        "NULL",
        "replace(d.event_type, '_', ' ')",
    )


def ending_changes(con: duckdb.DuckDBPyConnection, months: int, run_id: int | None) -> int:
    """Add an ``ending_soon`` change for each contract (or award with no contract yet) in force that ends within
    ``months`` from today, once per end date; return how many were added."""
    names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if "contract_lifecycle" not in names:
        return 0
    title = "coalesce(l.title, l.ocid)"
    left = "round(l.months_left)::INTEGER"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_al_found AS
        SELECT {
            change_id(
                "l.ocid",
                "'ending_soon'",
                "l.row_type",
                "coalesce(l.contract_id, l.award_id)",
                "l.current_end_date::DATE",
            )
        } AS change_id,
               'ending_soon' AS kind, l.ocid, l.current_release_id AS release_id, NULL::TIMESTAMPTZ AS release_date,
               l.row_type AS object_type, coalesce(l.contract_id, l.award_id) AS object_id, NULL AS before_value,
               strftime(l.current_end_date, '%Y-%m-%d') AS after_value, l.current_value_amount AS amount,
               l.current_value_currency AS currency, {title} AS title, l.buyer_name,
               coalesce(l.supplier_names, []) AS supplier_names,
               'The ' || l.row_type || ' ' || {_quoted(title)} || coalesce(' with ' || nullif(array_to_string(
                   l.supplier_names, ', '), ''), '') || coalesce(' for ' || l.buyer_name, '') || ' ends on '
                   || {day("l.current_end_date")} || CASE WHEN {left} < 1 THEN ', within a month'
                   WHEN {left} = 1 THEN ', in about a month' ELSE ', in about ' || {left} || ' months' END
                   || CASE WHEN l.extension_months_available > 0 THEN '; its options allow extending it by up to '
                       || l.extension_months_available || ' more months' ELSE '' END || '.' AS sentence,
               NULL AS related_ocid, NULL AS related_release_id, NULL::TIMESTAMPTZ AS sort_released, 0 AS sort_step
        FROM contract_lifecycle AS l
        WHERE l.row_type IN ('contract', 'award') AND l.status IN ('active', 'awarded')
          AND l.current_end_date IS NOT NULL AND l.months_left BETWEEN 0 AND ?
          AND l.ocid NOT IN (SELECT ocid FROM process_copies)
        """,
        [months],
    )
    added = _insert(con, run_id)
    con.execute("DROP TABLE IF EXISTS tmp_al_found")
    return added


def _insert(con: duckdb.DuckDBPyConnection, run_id: int | None, found: str = "tmp_al_found") -> int:
    before = con.execute("SELECT count(*) FROM changes").fetchall()[0][0]
    con.execute(
        f"""
        INSERT INTO changes BY NAME
        SELECT * EXCLUDE (sort_released, sort_step), ?::BIGINT AS run_id, now() AS added_at
        FROM {found} AS f
        WHERE NOT EXISTS (SELECT 1 FROM changes AS c WHERE c.change_id = f.change_id)
        QUALIFY row_number() OVER (PARTITION BY f.change_id ORDER BY f.sort_released NULLS LAST, f.sort_step,
                                   f.release_id) = 1
        """,
        [run_id],
    )
    return con.execute("SELECT count(*) FROM changes").fetchall()[0][0] - before


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _history(con: duckdb.DuckDBPyConnection) -> None:
    """The facts each notice gives about the tender, each award and each contract, step by step."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_al_releases AS
        SELECT r.ocid, r.release_id, tw_ts(r.release_date) AS released, coalesce(r.tags, []) AS tags,
               row_number() OVER (PARTITION BY r.ocid ORDER BY tw_ts(r.release_date) NULLS LAST, r.release_id, r.seq)
                   AS step,
               json_transform(r.data, '{_HISTORY}') AS x
        FROM raw_releases AS r JOIN processes AS p ON p.ocid = r.ocid
        WHERE r.ocid IN (SELECT ocid FROM tmp_al_ocids)
          AND (r.kind IS DISTINCT FROM 'compiled' OR p.compile_method = 'publisher')
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_al_facts AS
        WITH awards AS (SELECT *, unnest(x.awards) AS a FROM tmp_al_releases),
        contracts AS (SELECT *, unnest(x.contracts) AS c FROM tmp_al_releases),
        raw AS (
            SELECT ocid, step, release_id, released, tags, 'tender' AS object_type, '' AS key,
                   x.tender.id AS object_id, x.tender.title AS title,
                   -- a tender marked unsuccessful before its deadline for bids has not ended (see the macro)
                   CASE WHEN NOT tw_unsuccessful_before_deadline(ocid, x.tender.status, released,
                                                                 tw_ts(x.tender.tenderPeriod.endDate))
                        THEN lower(trim(x.tender.status)) END AS status,
                   -- a value given only including taxes is read as such, and marked (see tw_or_gross)
                   tw_or_gross(tw_value(x.tender.value.amount), x.tender.value.amountGross) AS amount,
                   tw_only_gross(tw_value(x.tender.value.amount), x.tender.value.amountGross) AS gross,
                   upper(trim(x.tender.value.currency)) AS currency, NULL::DATE AS end_date
            FROM tmp_al_releases WHERE x.tender IS NOT NULL
            UNION ALL
            SELECT ocid, step, release_id, released, tags, 'award', a.id, a.id, a.title, lower(trim(a.status)),
                   tw_or_gross(tw_value(a.value.amount), a.value.amountGross),
                   tw_only_gross(tw_value(a.value.amount), a.value.amountGross),
                   upper(trim(a.value.currency)), tw_ts(a.contractPeriod.endDate)::DATE
            FROM awards WHERE a.id IS NOT NULL
            UNION ALL
            SELECT ocid, step, release_id, released, tags, 'contract', c.id, c.id, c.title, lower(trim(c.status)),
                   tw_or_gross(tw_value(c.value.amount), c.value.amountGross),
                   tw_only_gross(tw_value(c.value.amount), c.value.amountGross),
                   upper(trim(c.value.currency)), tw_ts(c.period.endDate)::DATE
            FROM contracts WHERE c.id IS NOT NULL
        )
        SELECT ocid, step, any_value(release_id) AS release_id, any_value(released) AS released,
               any_value(tags) AS tags, object_type, key, max(object_id) AS object_id, max(title) AS title,
               max(status) AS status, max(amount) AS amount, bool_or(gross) AS gross, max(currency) AS currency,
               max(end_date) AS end_date
        FROM raw
        GROUP BY ocid, step, object_type, key
        """
    )
    before = "PARTITION BY ocid, object_type, key ORDER BY step ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    upto = "PARTITION BY ocid, object_type, key ORDER BY step ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_al_steps AS
        WITH s AS (
            SELECT f.*,
                   row_number() OVER (PARTITION BY ocid, object_type, key ORDER BY step) AS nth,
                   last_value(status IGNORE NULLS) OVER ({before}) AS prev_status,
                   -- the last value given on the same footing, with or without taxes, to compare a value with
                   CASE WHEN gross
                        THEN last_value(CASE WHEN gross THEN amount END IGNORE NULLS) OVER ({before})
                        ELSE last_value(CASE WHEN NOT gross THEN amount END IGNORE NULLS) OVER ({before})
                   END AS like_amount,
                   CASE WHEN gross
                        THEN last_value(CASE WHEN gross AND amount IS NOT NULL THEN currency END IGNORE NULLS)
                             OVER ({before})
                        ELSE last_value(CASE WHEN NOT gross AND amount IS NOT NULL THEN currency END IGNORE NULLS)
                             OVER ({before})
                   END AS like_currency,
                   last_value(CASE WHEN amount IS NOT NULL THEN gross END IGNORE NULLS) OVER ({upto}) AS now_gross,
                   last_value(end_date IGNORE NULLS) OVER ({before}) AS prev_end,
                   last_value(amount IGNORE NULLS) OVER ({upto}) AS now_amount,
                   last_value(currency IGNORE NULLS) OVER ({upto}) AS now_currency,
                   last_value(end_date IGNORE NULLS) OVER ({upto}) AS now_end,
                   last_value(title IGNORE NULLS) OVER ({upto}) AS now_title,
                   last_value(object_id IGNORE NULLS) OVER ({upto}) AS now_object_id
            FROM tmp_al_facts AS f
        )
        SELECT *,
               CASE object_type
                   WHEN 'contract' THEN (status IN ('terminated', 'cancelled') AND prev_status IS DISTINCT FROM status)
                       OR list_contains(tags, 'contractTermination')
                   WHEN 'award' THEN status = 'cancelled' AND prev_status IS DISTINCT FROM status
                   ELSE (status IN ('cancelled', 'withdrawn', 'unsuccessful') AND prev_status IS DISTINCT FROM status)
                       OR list_contains(tags, 'tenderCancellation')
               END AS ends
        FROM s
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_al_amendments AS
        WITH awards AS (SELECT *, unnest(x.awards) AS a FROM tmp_al_releases),
        contracts AS (SELECT *, unnest(x.contracts) AS c FROM tmp_al_releases),
        u AS (
            SELECT ocid, step, release_id, released, 'tender' AS object_type, '' AS key,
                   unnest(x.tender.amendments) AS m
            FROM tmp_al_releases
            UNION ALL
            SELECT ocid, step, release_id, released, 'award', a.id, unnest(a.amendments)
            FROM awards WHERE a.id IS NOT NULL
            UNION ALL
            SELECT ocid, step, release_id, released, 'contract', c.id, unnest(c.amendments)
            FROM contracts WHERE c.id IS NOT NULL
        )
        SELECT ocid, step, release_id, released, object_type, key, m.id AS amendment_id, m.date AS amendment_date,
               coalesce(m.id, md5(concat_ws('|', m.date, m.rationale, m.description))) AS amendment_key,
               nullif(trim(coalesce(m.rationale, m.description)), '') AS what
        FROM u
        WHERE m IS NOT NULL AND (m.id IS NOT NULL OR m.date IS NOT NULL OR m.rationale IS NOT NULL
                                 OR m.description IS NOT NULL)
        QUALIFY row_number() OVER (PARTITION BY ocid, object_type, key, amendment_key ORDER BY step) = 1
        """
    )


def _context(con: duckdb.DuckDBPyConnection) -> None:
    """Names and procedures of the processes read, and the suppliers of their awards and contracts."""
    settings = ProcedureSettings()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_al_context AS
        SELECT p.ocid, coalesce(p.buyer_name, 'The buyer') AS buyer, p.buyer_name, p.title AS process_title,
               {procedure_class(settings, "t.procurement_method", "t.procurement_method_details")} AS procedure,
               {procedure_words("t.procurement_method", "t.procurement_method_details")} AS procedure_words,
               coalesce(a.n, 0) AS awards, coalesce(c.n, 0) AS contracts
        FROM processes AS p LEFT JOIN tenders AS t ON t.ocid = p.ocid
        LEFT JOIN (SELECT ocid, count(*) AS n FROM awards WHERE ocid IN (SELECT ocid FROM tmp_al_ocids)
                   GROUP BY ocid) AS a ON a.ocid = p.ocid
        LEFT JOIN (SELECT ocid, count(*) AS n FROM contracts WHERE ocid IN (SELECT ocid FROM tmp_al_ocids)
                   GROUP BY ocid) AS c ON c.ocid = p.ocid
        WHERE p.ocid IN (SELECT ocid FROM tmp_al_ocids)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_al_suppliers AS
        WITH s AS (
            SELECT ocid, award_id, list(name ORDER BY position) FILTER (WHERE name IS NOT NULL) AS names
            FROM award_suppliers WHERE ocid IN (SELECT ocid FROM tmp_al_ocids) GROUP BY ocid, award_id
        ),
        single AS (
            SELECT ocid, min(award_id) AS award_id FROM awards WHERE ocid IN (SELECT ocid FROM tmp_al_ocids)
            GROUP BY ocid HAVING count(*) = 1
        )
        SELECT ocid, 'award' AS object_type, award_id AS key, names FROM s
        UNION ALL
        SELECT c.ocid, 'contract', c.contract_id, s.names
        FROM contracts AS c LEFT JOIN single AS o ON o.ocid = c.ocid
        JOIN s ON s.ocid = c.ocid AND s.award_id = coalesce(c.award_id, o.award_id)
        WHERE c.ocid IN (SELECT ocid FROM tmp_al_ocids)
        """
    )


def _found(con: duckdb.DuckDBPyConnection, value_change_percent: float) -> str:
    """SQL: every change in the histories, before removing those already known."""
    threshold = float(value_change_percent) / 100.0
    # a title given as an empty text is none
    title = "coalesce(nullif(trim(s.now_title), ''), nullif(trim(x.process_title), ''), s.ocid)"
    named = _named(title)
    amended = _named("coalesce(nullif(trim(s.now_title), ''), nullif(trim(x.process_title), ''), m.ocid)", steps="m")
    suppliers = _suppliers("n.names")
    noticed = _noticed("s.released")
    names = "coalesce(n.names, [])"
    joins = """
        FROM tmp_al_steps AS s
        JOIN tmp_al_context AS x ON x.ocid = s.ocid
        LEFT JOIN tmp_al_suppliers AS n ON n.ocid = s.ocid AND n.object_type = s.object_type AND n.key = s.key
    """
    common = f"""s.ocid, s.release_id, s.released AS release_date, s.object_type, s.now_object_id AS object_id,
        {title} AS title, x.buyer_name, {names} AS supplier_names, NULL::VARCHAR AS related_ocid,
        NULL::VARCHAR AS related_release_id, s.released AS sort_released, s.step AS sort_step"""
    old_money = _with_tax(money("s.like_amount", "s.like_currency"), "s.gross")
    new_money = _with_tax(money("s.amount", "coalesce(s.currency, s.like_currency)"), "s.gross")
    now_money = _with_tax(money("s.now_amount", "s.now_currency"), "s.now_gross")
    moved_days = "datediff('day', s.prev_end, s.end_date)"
    planned = "coalesce(s.prev_end, s.now_end)"
    stopped = "coalesce(CASE WHEN s.end_date < s.prev_end THEN s.end_date END, s.released::DATE)"
    early = f"datediff('day', {stopped}, {planned})"
    status_words = """CASE WHEN s.status = 'terminated' THEN 'was marked terminated'
        WHEN s.status = 'cancelled' THEN 'was cancelled'
        ELSE 'was named in a contract termination notice' END"""
    return f"""
    -- A tender published for the first time (not when the first notice is already an award).
    SELECT {change_id("s.ocid", "'new_tender'")} AS change_id, 'new_tender' AS kind, {common},
           NULL::VARCHAR AS before_value, coalesce(s.status, 'published') AS after_value, s.now_amount AS amount,
           s.now_currency AS currency,
           x.buyer || CASE WHEN s.status IN ('planning', 'planned') THEN ' announced a planned procurement: '
                           ELSE ' invited bids for ' END || {named}
               || coalesce(' (estimated value ' || {now_money} || ')', '')
               || ', ' || {noticed} || '.' AS sentence
    {joins}
    WHERE s.object_type = 'tender' AND s.nth = 1
      AND (s.status IN ('planning', 'planned', 'active')
           OR (s.status IS NULL AND list_has_any(s.tags, ['planning', 'tender'])))
      AND NOT EXISTS (SELECT 1 FROM tmp_al_steps AS a WHERE a.ocid = s.ocid AND a.step = s.step
                      AND a.object_type = 'award')

    UNION ALL
    -- An award published for the first time.
    SELECT {change_id("s.ocid", "'new_award'", "s.key")},
           CASE WHEN x.procedure = 'non_competitive' THEN 'new_direct_award' ELSE 'new_award' END, {common},
           NULL, coalesce(s.status, 'active'), s.now_amount, s.now_currency,
           x.buyer || CASE WHEN s.status = 'pending' THEN ' decided to award ' ELSE ' awarded ' END
               || {named} || ' to ' || {suppliers}
               || coalesce(' for ' || {now_money}, ' (value not published)')
               || CASE WHEN x.procedure = 'non_competitive'
                       THEN ' without a call for competition (' || x.procedure_words || ')' ELSE '' END
               || CASE WHEN s.status = 'pending' THEN ' (pending: the award is not final yet)' ELSE '' END
               || ', ' || {noticed} || '.'
    {joins}
    WHERE s.object_type = 'award' AND s.nth = 1 AND coalesce(s.status, 'active') IN ('active', 'pending')

    UNION ALL
    -- A value that differs from the last one published by more than the threshold, in the same currency and on the
    -- same footing (an amount including taxes is compared only with the last amount that included them).
    SELECT {
        change_id(
            "s.ocid",
            "'value_changed'",
            "s.object_type",
            "s.key",
            "s.like_amount",
            "s.amount",
            "coalesce(s.currency, s.like_currency)",
        )
    },
           'value_changed', {common},
           {old_money}, {new_money}, s.amount, coalesce(s.currency, s.like_currency),
           'The ' || CASE WHEN s.object_type = 'tender' THEN 'estimated value' ELSE 'value' END || ' of the '
               || s.object_type || ' ' || {named} || ' went from ' || {old_money} || ' to ' || {new_money}
               || CASE WHEN s.like_amount > 0
                       THEN ' (' || format('{{:+.0f}}', 100.0 * CAST(s.amount - s.like_amount AS DOUBLE)
                                           / CAST(s.like_amount AS DOUBLE)) || '%)' ELSE '' END
               || ', ' || {noticed} || '.'
    {joins}
    WHERE s.nth > 1 AND s.amount IS NOT NULL AND s.like_amount IS NOT NULL
      AND coalesce(s.currency, s.like_currency) IS NOT DISTINCT FROM s.like_currency
      AND CASE WHEN s.like_amount = 0 THEN s.amount <> 0
               ELSE abs(CAST(s.amount - s.like_amount AS DOUBLE)) > {threshold} * CAST(s.like_amount AS DOUBLE) END

    UNION ALL
    -- An end date moved to another day (unless the same notice ends the contract: that is a termination).
    SELECT {change_id("s.ocid", "'end_date_moved'", "s.object_type", "s.key", "s.prev_end", "s.end_date")},
           'end_date_moved', {common},
           strftime(s.prev_end, '%Y-%m-%d'), strftime(s.end_date, '%Y-%m-%d'), s.now_amount, s.now_currency,
           'The end date of the ' || s.object_type || ' ' || {named}
               || coalesce(' with ' || nullif(array_to_string({names}, ', '), ''), '') || ' moved from '
               || {day("s.prev_end")} || ' to ' || {day("s.end_date")} || ' ('
               || CASE WHEN abs({moved_days}) < 61 THEN abs({moved_days}) || ' days'
                       ELSE format('{{:.0f}}', abs({moved_days}) / 30.44) || ' months' END
               || CASE WHEN {moved_days} > 0 THEN ' later' ELSE ' earlier' END || '), ' || {noticed} || '.'
    {joins}
    WHERE s.object_type IN ('award', 'contract') AND s.end_date IS NOT NULL AND s.prev_end IS NOT NULL
      AND s.end_date <> s.prev_end AND NOT s.ends

    UNION ALL
    -- A contract terminated or cancelled, or an award cancelled: once per contract or award.
    SELECT * FROM (
        SELECT {change_id("s.ocid", "'termination'", "s.object_type", "s.key")}, 'termination', {common},
               s.prev_status, coalesce(s.status, 'contractTermination'), s.now_amount, s.now_currency,
               CASE WHEN s.object_type = 'award'
                    THEN 'The award of ' || {named} || ' to ' || {suppliers} || ' was cancelled, '
                         || {noticed} || '.'
                    ELSE 'The contract ' || {named} || ' with ' || {suppliers} || ' ' || {status_words}
                         || ' ' || {noticed} || CASE
                             WHEN {planned} IS NULL THEN '; no end date had been published'
                             WHEN s.end_date < s.prev_end
                                 THEN ': it now ends on ' || {day("s.end_date")} || ', ' || {early}
                                      || ' days before its planned end of ' || {day(planned)}
                             WHEN s.released IS NOT NULL AND {early} > 1
                                 THEN ', ' || {early} || ' days before its planned end of ' || {day(planned)}
                             ELSE '; its planned end was ' || {day(planned)}
                                  || ' (OCDS also marks a contract that ran its course as terminated)'
                         END || '.'
               END
        {joins}
        WHERE s.object_type IN ('award', 'contract') AND s.ends
        QUALIFY row_number() OVER (PARTITION BY s.ocid, s.object_type, s.key ORDER BY s.step) = 1
    )

    UNION ALL
    -- A procurement stopped: once per process.
    SELECT * FROM (
        SELECT {change_id("s.ocid", "'tender_cancelled'")}, 'tender_cancelled', {common},
               s.prev_status, coalesce(s.status, 'cancelled'), s.now_amount, s.now_currency,
               x.buyer || ' stopped the procurement ' || {named} || ' (tender '
                   || coalesce(s.status, 'cancelled') || '), ' || {noticed} || '.'
        {joins}
        WHERE s.object_type = 'tender' AND s.ends
        QUALIFY row_number() OVER (PARTITION BY s.ocid ORDER BY s.step) = 1
    )

    UNION ALL
    -- An amendment seen for the first time.
    SELECT {change_id("m.ocid", "'new_amendment'", "m.object_type", "m.key", "m.amendment_key")}, 'new_amendment',
           m.ocid, m.release_id, m.released, m.object_type, coalesce(s.now_object_id, nullif(m.key, '')),
           coalesce(nullif(trim(s.now_title), ''), nullif(trim(x.process_title), ''), m.ocid), x.buyer_name,
           coalesce(n.names, []), NULL, NULL,
           m.released, m.step,
           NULL, coalesce(m.amendment_id, m.amendment_date), s.now_amount, s.now_currency,
           'A change to the ' || m.object_type || ' ' || {amended}
               || ' was published ' || {_noticed("m.released")}
               || coalesce(': ' || rtrim(CASE WHEN length(m.what) > 300 THEN left(m.what, 297) || '...'
                                              ELSE m.what END, '. '), '')
               || '.'
    FROM tmp_al_amendments AS m
    JOIN tmp_al_context AS x ON x.ocid = m.ocid
    LEFT JOIN tmp_al_steps AS s ON s.ocid = m.ocid AND s.object_type = m.object_type AND s.key = m.key
                               AND s.step = m.step
    LEFT JOIN tmp_al_suppliers AS n ON n.ocid = m.ocid AND n.object_type = m.object_type AND n.key = m.key
    """
