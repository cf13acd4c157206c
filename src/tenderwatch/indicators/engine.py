"""Run indicators over a store, keep their results, and score processes, buyers and suppliers.

Each indicator's SELECT runs once, set-based, over the normalised tables; its rows (every subject it
evaluated, flagged or not) go to a temporary table, from which the flags, the per-indicator counts and the
composite scores are derived. Results replace the previous ones in one transaction, so a reader never sees
half a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb

from tenderwatch import __version__, sqltree
from tenderwatch.exceptions import SettingsError
from tenderwatch.indicators import INDICATORS
from tenderwatch.indicators.settings import FlagSettings
from tenderwatch.indicators.views import R8_MACRO, create_views, read_by, shared_by, view_statements
from tenderwatch.queries import (
    AWARDED_VALUE,
    buyer_organisation,
    evidence_of,
    flags_about,
    matched_parties,
    not_a_copy,
    supplier_organisation,
)
from tenderwatch.store import DATA_VERSION, NORMALISED_TABLES, tables


@dataclass
class Flag:
    """One red flag with its evidence."""

    code: str
    subject: str
    subject_id: str
    ocid: str | None
    value: float | None
    evidence: dict[str, Any]
    sentence: str | None


@dataclass
class IndicatorRun:
    """How one indicator fared in a run (``reused``: its stored results still held, so it was not run again)."""

    code: str
    title: str
    evaluated: int
    flagged: int
    settings: dict[str, Any]
    reused: bool = False


# Meta keys holding, per indicator, the fingerprint of the run whose results the store keeps, and the hash and text
# of the statement that run ran (see _rewritten).
FINGERPRINT_KEY = "flags_fingerprint:"
STATEMENT_KEY = "flags_statement:"


@dataclass
class FlagRun:
    """The outcome of running indicators."""

    runs: list[IndicatorRun] = field(default_factory=list)
    meta: dict[str, dict[str, float | None]] = field(default_factory=dict)


def selected_codes(settings: FlagSettings, codes: list[str] | None) -> list[str]:
    """Return the indicator codes to run: those asked for, else those the settings name, else all.

    :raises SettingsError: if a code is unknown
    """
    chosen = codes or settings.selected or list(INDICATORS)
    unknown = [code for code in chosen if code.upper() not in INDICATORS]
    if unknown:
        raise SettingsError(
            f"unknown indicator {unknown[0]!r}", "see `tenderwatch coverage` or docs/indicators/ for the codes"
        )
    return [code.upper() for code in chosen]


# Columns of processes that count or date a process's notices, which a compiled release alone cannot tell. (Its
# first notice's date is only the last fallback for the day a threshold is taken for: from a file, that is the
# compiled release's date.)
HISTORY_COLUMNS = ("release_count", "last_release_date", "release_tags")
# The tables a file of compiled releases cannot fill, with what each holds in a user's words.
STORE_ONLY = {
    "raw_releases": "each process's history of releases",
    "compiled_releases": "each process's history of releases",
    "contract_lifecycle": "the contract lifecycle (built from each process's history of releases)",
    "ownership_statements": "beneficial ownership statements (`tenderwatch org load-ownership`)",
    "subcontract_chains": "the subcontracting chains of the statutory services",
}
# The normalised tables the shared views and the filters by buyer or supplier read.
SHARED_TABLES = ("processes", "parties", "tenders", "bids", "awards", "award_suppliers")


@dataclass
class FilePlan:
    """Which indicators can run on a file of compiled releases, and which normalised tables they read."""

    codes: list[str]
    left_out: dict[str, str]
    """Each indicator left out, with what it needs that only a store holds."""
    tables: tuple[str, ...]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The columns of each table that a statement to run names: the only ones worth filling (the others can stay
    empty, as nothing reads them)."""
    item_scopes: tuple[str, ...] | None = None
    """The scopes of the items worth filling, when every statement to run that reads ``items`` is an indicator
    that reads only some (see :attr:`Indicator.item_scopes`); None: every scope."""


def plan_for_file(settings: FlagSettings, codes: list[str] | None) -> FilePlan:
    """Return the indicators to run straight from a file of compiled releases (those asked for, else those the
    settings name, else all), leaving out each one that reads more than the normalised tables, with the reason.

    :raises SettingsError: if a code is unknown, or an indicator asked for by name (or named by the settings)
        cannot run on a file
    """
    chosen = selected_codes(settings, codes)
    named = bool(codes or settings.selected)
    kept: list[str] = []
    left_out: dict[str, str] = {}
    read: set[str] = set(SHARED_TABLES)
    statements: list[str] = []
    scopes: set[str] | None = set()  # the scopes of items read, None once a statement reads every scope
    for code in chosen:
        plan = _Planned.of(code, settings)
        statement = plan.sql + " " + (plan.meta_sql or "")
        needed = {name.split(".")[0] for need in INDICATORS[code].needs for name in need.split("|")}
        outside = sorted(
            (needed - set(NORMALISED_TABLES))
            | {table for table in STORE_ONLY if re.search(rf"\b{table}\b", statement)}
            | {"raw_releases" for column in HISTORY_COLUMNS if re.search(rf"\b{column}\b", statement)}
        )
        if outside:
            what = [STORE_ONLY.get(table, f"the store's table {table}") for table in outside]
            left_out[code] = " and ".join(dict.fromkeys(what))
            if named:
                raise SettingsError(
                    f"{code} cannot run straight from a file: it needs {left_out[code]}, which only a store holds",
                    "load the file with `tenderwatch load`, then run `tenderwatch flags`; or leave it out",
                )
        else:
            kept.append(code)
            statements.append(statement)
            tables_read = _tables_read(statement)
            read |= needed | tables_read
            if "items" in tables_read:
                declared = INDICATORS[code].item_scopes
                scopes = None if declared is None or scopes is None else scopes | set(declared)
    views = view_statements(settings.common)
    texts = [*statements, *(flags_about(role, "")[0] for role in ("buyer", "supplier"))]  # and the filters
    if any("items" in _tables_read(text) for text in texts[len(statements) :]):
        scopes = None
    for view in set().union(*(read_by(statement) for statement in statements)):
        tables_read = _tables_read(views[view])
        read |= tables_read
        texts.append(views[view])
        if "items" in tables_read:
            scopes = None
    # a column is only ever read by its name (no statement reads a normalised table with *), and never inside a
    # text literal or a comment ('bids.details' in R018, "bid details" in a comment, need no column "details")
    words = {word for word in re.findall(_WORD_OR_NOT, "\n".join(texts)) if word}
    described = tables()
    chosen = tuple(table for table in NORMALISED_TABLES if table in read)
    if scopes:
        words.add("scope")  # the items are chosen by it
    columns = {table: tuple(c.name for c in described[table].columns if c.name in words) for table in chosen}
    return FilePlan(kept, left_out, chosen, columns, tuple(sorted(scopes)) if scopes else None)


# a text literal or a comment (matched whole, and so left out), else a word
_WORD_OR_NOT = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|(\w+)", re.DOTALL)


def _tables_read(statement: str) -> set[str]:
    """Return the normalised tables a statement reads: named after FROM or JOIN, and not a name it gives a common
    table expression of its own."""
    own = {name.lower() for name in re.findall(r"\b(\w+)\s+AS\s*\(", statement, flags=re.IGNORECASE)}
    return {
        table
        for table in NORMALISED_TABLES
        if table not in own and re.search(rf"\b(?:FROM|JOIN)\s+{table}\b", statement, flags=re.IGNORECASE)
    }


def run_indicators(
    con: duckdb.DuckDBPyConnection,
    settings: FlagSettings,
    codes: list[str] | None = None,
    *,
    store: bool = True,
    reuse: bool = False,
    before: Callable[[list[str]], None] | None = None,
) -> FlagRun:
    """Run the indicators; with ``store``, replace their results in the analysis tables.

    With ``reuse``, an indicator whose stored results came from the same data, settings, day and version of
    tenderwatch is not run again: its stored flags stand (see :func:`fingerprints`). A run of every indicator
    reuses nothing unless it can reuse everything, as the composite scores need every indicator's evaluations.
    ``before`` is called with the statements about to run, before they run (not at all when none is to run).
    """
    chosen = selected_codes(settings, codes)
    planned = [_Planned.of(code, settings) for code in chosen]
    prints = fingerprints(con, settings, planned)
    kept = _stored_runs(con, planned, prints) if reuse else {}
    complete = set(chosen) == set(INDICATORS)
    if complete and len(kept) < len(planned):
        kept = {}
    todo = [plan for plan in planned if plan.code not in kept]
    outcome = FlagRun()
    if todo:
        statements = [text for plan in todo for text in (plan.sql, plan.meta_sql) if text is not None]
        if before is not None:
            before(statements)
        create_views(con, settings.common, materialise=shared_by(statements), reading=statements)
        try:
            outcome = _run(con, settings, todo, prints, store=store, complete=complete)
        except BaseException:
            # the tables go, the views come back; a failure doing so must not hide the one that got here
            with contextlib.suppress(duckdb.Error):
                create_views(con, settings.common)
                _drop_work_tables(con)
            raise
        create_views(con, settings.common)
        _drop_work_tables(con)
    runs = {run.code: run for run in outcome.runs}
    for code, (run, meta) in kept.items():
        runs[code] = run
        if meta:
            outcome.meta[code] = meta
    outcome.runs = [runs[code] for code in chosen]
    outcome.meta = {code: outcome.meta[code] for code in sorted(outcome.meta)}
    return outcome


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a run's work tables once its results are stored or handed back: every evaluation of every indicator
    (16.9 million rows for all forty at a million processes) would otherwise hold memory and disk for as long as
    the connection lives, through the steps of an analysis that come after the red flags."""
    for table in ("tmp_evaluations", "tmp_meta", "tmp_weights"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def fingerprints(con: duckdb.DuckDBPyConnection, settings: FlagSettings, planned: list[_Planned]) -> dict[str, str]:
    """Return, per indicator, a fingerprint of everything its results depend on: the store's data version;
    today's date (some indicators count to today); the time zone and the store's limits on amounts and years
    (dates without an offset and the checks of the store's macros depend on them); the version of tenderwatch;
    the statements of the shared views and of the indicator itself, with their settings; and the composite
    score's weights."""
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [DATA_VERSION]).fetchall()
    except duckdb.CatalogException:  # not a tenderwatch store: nothing is ever reused
        rows = [[None]]
    # the day, and the connection's settings that dates and the store's macros depend on
    context = con.execute(
        """
        SELECT [current_date::VARCHAR, current_setting('TimeZone'), getvariable('tw_max_amount')::VARCHAR,
                getvariable('tw_min_year')::VARCHAR, getvariable('tw_max_year')::VARCHAR]
        """
    ).fetchall()[0][0]
    common = [
        __version__,
        rows[0][0] if rows else None,
        context,
        R8_MACRO,
        view_statements(settings.common),
        settings.common.model_dump(mode="json"),
        sorted(settings.weights.items()),
    ]
    base = hashlib.sha256(json.dumps(common, sort_keys=True, default=str).encode())
    result = {}
    for plan in planned:
        digest = base.copy()
        digest.update(json.dumps([plan.code, plan.sql, plan.meta_sql, plan.settings], default=str).encode())
        result[plan.code] = digest.hexdigest()
    return result


def _stored_runs(
    con: duckdb.DuckDBPyConnection, planned: list[_Planned], prints: dict[str, str]
) -> dict[str, tuple[IndicatorRun, dict[str, float | None]]]:
    """Return the stored run and meta values of each planned indicator whose stored fingerprint matches."""
    try:
        stored = dict(
            con.execute(
                "SELECT substr(key, ?), value FROM meta WHERE starts_with(key, ?)",
                [len(FINGERPRINT_KEY) + 1, FINGERPRINT_KEY],
            ).fetchall()
        )
    except duckdb.CatalogException:
        return {}
    matching = [plan for plan in planned if stored.get(plan.code) == prints[plan.code]]
    if not matching:
        return {}
    codes = [plan.code for plan in matching]
    counts = {
        code: (evaluated, flagged)
        for code, evaluated, flagged in con.execute(
            "SELECT code, evaluated, flagged FROM flag_runs WHERE list_contains(?, code)", [codes]
        ).fetchall()
    }
    meta: dict[str, dict[str, float | None]] = {}
    for code, name, value in con.execute(
        "SELECT code, name, value FROM flag_meta WHERE list_contains(?, code) ORDER BY code, name", [codes]
    ).fetchall():
        meta.setdefault(code, {})[name] = value
    return {
        plan.code: (
            IndicatorRun(plan.code, plan.title, *counts[plan.code], plan.settings, reused=True),
            meta.get(plan.code, {}),
        )
        for plan in matching
        if plan.code in counts  # a rebuild empties flag_runs: nothing of that run is left to reuse
    }


@dataclass
class _Planned:
    """One indicator of a run, with its settings and its statements."""

    code: str
    title: str
    settings: dict[str, Any]
    sql: str
    meta_sql: str | None
    explain_all: bool = False  # every row keeps its evidence (the meta statement reads it)

    @classmethod
    def of(cls, code: str, settings: FlagSettings) -> _Planned:
        indicator = INDICATORS[code]
        chosen = settings.for_indicator(code, indicator.settings)
        meta_sql = indicator.meta_sql(chosen, settings.common) if indicator.meta_sql is not None else None
        return cls(
            code,
            indicator.title,
            chosen.model_dump(mode="json"),
            indicator.sql(chosen, settings.common),
            meta_sql,
            explain_all=meta_sql is not None and indicator.meta_reads_evidence,
        )


@lru_cache(maxsize=256)
def _flags_only_explained(statement: str) -> str:
    """Return an indicator's statement with its evidence and sentence (the sixth and seventh columns) worked out
    only for the rows it flags, as only a flag keeps them: each is made ``CASE WHEN flagged THEN ... END`` in the
    select list of every branch of the final query. At a million processes, working them out for every row
    evaluated was about 8 per cent of the time of Cardinal's indicators. A statement of another shape (a final
    query with ORDER BY, LIMIT, DISTINCT, GROUP BY ALL, HAVING or QUALIFY, or one DuckDB's parser cannot give) is
    run as it is."""
    node = sqltree.parse(statement)
    parts = sqltree.branches(node) if node is not None and not node.get("modifiers") else None
    if not parts or any(
        len(part["select_list"]) != 7
        or part.get("modifiers")
        or part.get("aggregate_handling") != "STANDARD_HANDLING"
        or part.get("having") is not None
        or part.get("qualify") is not None
        for part in parts
    ):
        return statement
    for part in parts:
        entries = part["select_list"]
        for position in (5, 6):
            entries[position] = sqltree.case_when(
                entries[3], entries[position], sqltree.output_name(entries[position])
            )
    return sqltree.render(node) or statement


def _rewritten(con: duckdb.DuckDBPyConnection, planned: list[_Planned]) -> dict[str, tuple[str, str]]:
    """Return, for each indicator, the hash of its statement and the statement :func:`_flags_only_explained` makes
    of it: as the last run of the indicator kept it in ``meta`` if that run's statement was the same, else rewritten
    now (11 statements through DuckDB's parser take about 0.08 s, a fiftieth of a run of Cardinal's eleven at a
    million processes). The hash covers the version of DuckDB, whose parser and writer make the rewrite."""
    hashes = {plan.code: hashlib.sha256(f"{duckdb.__version__}\n{plan.sql}".encode()).hexdigest() for plan in planned}
    try:
        rows = con.execute(
            "SELECT substr(key, ?), value FROM meta WHERE starts_with(key, ?)",
            [len(STATEMENT_KEY) + 1, STATEMENT_KEY],
        ).fetchall()
    except duckdb.CatalogException:  # not a tenderwatch store
        rows = []
    kept = {code: value.partition("\n") for code, value in rows}
    result = {}
    for plan in planned:
        key, _, text = kept.get(plan.code, ("", "", ""))
        if plan.explain_all:  # run as it is: every row's evidence is read
            result[plan.code] = (hashes[plan.code], plan.sql)
        else:
            result[plan.code] = (
                hashes[plan.code],
                text if key == hashes[plan.code] else _flags_only_explained(plan.sql),
            )
    return result


def _run(
    con: duckdb.DuckDBPyConnection,
    settings: FlagSettings,
    planned: list[_Planned],
    prints: dict[str, str],
    *,
    store: bool,
    complete: bool,
) -> FlagRun:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_evaluations (
            code VARCHAR, subject VARCHAR, subject_id VARCHAR, ocid VARCHAR, flagged BOOLEAN, value DOUBLE,
            evidence JSON, sentence VARCHAR
        )
        """
    )
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_meta (code VARCHAR, name VARCHAR, value DOUBLE)")
    rewritten = _rewritten(con, planned)
    outcome = FlagRun()
    for plan in planned:
        code = plan.code
        # A row not flagged is only counted, unless the composite scores (a run of every indicator) or the
        # indicator's own meta statement read it: then it keeps its subject and process. Without them, a run of
        # Cardinal's eleven at a million processes writes 2.7 million short rows instead of 2.7 million with two ids.
        ids = (
            "subject_id, ocid"
            if complete or plan.meta_sql is not None
            else "CASE WHEN flagged THEN subject_id END, CASE WHEN flagged THEN ocid END"
        )
        # only a flag keeps its evidence (at a million processes, every evaluation's would not fit), unless the
        # indicator's meta statement reads every row's
        evidence = "evidence::JSON" if plan.explain_all else "CASE WHEN flagged THEN evidence::JSON END"
        con.execute(
            f"""
            INSERT INTO tmp_evaluations
            SELECT '{code}', subject, {ids}, flagged, value::DOUBLE, {evidence}, CASE WHEN flagged THEN sentence END
            FROM ({rewritten[code][1]})
            """
        )
        if plan.meta_sql is not None:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP VIEW tw_evaluated AS
                SELECT subject, subject_id, ocid, flagged, value, evidence FROM tmp_evaluations WHERE code = '{code}'
                """
            )
            con.execute(f"INSERT INTO tmp_meta SELECT '{code}', name, value::DOUBLE FROM ({plan.meta_sql})")
    # every indicator's counts in one statement, not one each
    counts = {
        code: (evaluated, flagged)
        for code, evaluated, flagged in con.execute(
            "SELECT code, count(*), count(*) FILTER (WHERE flagged) FROM tmp_evaluations GROUP BY code"
        ).fetchall()
    }
    for plan in planned:
        evaluated, flagged = counts.get(plan.code, (0, 0))
        outcome.runs.append(IndicatorRun(plan.code, plan.title, evaluated, flagged, plan.settings))
    for code, name, value in con.execute("SELECT code, name, value FROM tmp_meta ORDER BY code, name").fetchall():
        outcome.meta.setdefault(code, {})[name] = value
    if store:
        _store(con, outcome, settings, prints, complete=complete, rewritten=rewritten)
    return outcome


def _store(
    con: duckdb.DuckDBPyConnection,
    outcome: FlagRun,
    settings: FlagSettings,
    prints: dict[str, str],
    *,
    complete: bool,
    rewritten: Mapping[str, tuple[str, str]],
) -> None:
    codes = [run.code for run in outcome.runs]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM flags WHERE list_contains(?, code)", [codes])
        con.execute(
            """
            INSERT INTO flags
            SELECT code, subject, subject_id, ocid, value, evidence, sentence FROM tmp_evaluations WHERE flagged
            """
        )
        con.execute("DELETE FROM flag_meta WHERE list_contains(?, code)", [codes])
        con.execute("INSERT INTO flag_meta SELECT code, name, value FROM tmp_meta")
        con.execute("DELETE FROM flag_runs WHERE list_contains(?, code)", [codes])
        # one statement for all the runs, and one for their keys in meta (one each per indicator cost 0.06 s)
        con.execute(
            "INSERT INTO flag_runs SELECT unnest(?), unnest(?), unnest(?), unnest(?::JSON[]), now()",
            [
                codes,
                [run.evaluated for run in outcome.runs],
                [run.flagged for run in outcome.runs],
                [json.dumps(run.settings) for run in outcome.runs],
            ],
        )
        keys = [FINGERPRINT_KEY + code for code in codes] + [STATEMENT_KEY + code for code in codes]
        # the fingerprint of each, and the statement as it ran, for the indicator's next run
        values = [prints[code] for code in codes] + [f"{rewritten[code][0]}\n{rewritten[code][1]}" for code in codes]
        con.execute("INSERT OR REPLACE INTO meta SELECT unnest(?), unnest(?)", [keys, values])
        if complete:
            _score(con, settings)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _score(con: duckdb.DuckDBPyConnection, settings: FlagSettings) -> None:
    """Composite score per process: the weighted share of applicable process-level indicators that fired."""
    weights = [{"code": code, "weight": weight} for code, weight in settings.weights.items()]
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_weights (code VARCHAR, weight DOUBLE)")
    if weights:
        con.executemany("INSERT INTO tmp_weights VALUES (?, ?)", [[w["code"], w["weight"]] for w in weights])
    con.execute("DELETE FROM process_scores")
    con.execute(
        f"""
        INSERT INTO process_scores
        WITH per_process AS (
            SELECT e.ocid,
                   count(*) FILTER (WHERE e.flagged) AS flags_raised,
                   count(*) AS flags_applicable,
                   sum(coalesce(w.weight, 1.0)) FILTER (WHERE e.flagged) AS raised_weight,
                   sum(coalesce(w.weight, 1.0)) AS applicable_weight,
                   list_sort(list(e.code) FILTER (WHERE e.flagged)) AS codes
            -- one row per indicator and process, so nothing below counts distinct values: at a million processes,
            -- counting distinct codes per process took three times as long as all the rest
            FROM (SELECT code, ocid, bool_or(flagged) AS flagged FROM tmp_evaluations
                  WHERE subject = 'process' GROUP BY code, ocid) AS e
            LEFT JOIN tmp_weights AS w USING (code)
            GROUP BY e.ocid
        ),
        stake AS (
            SELECT p.ocid, p.buyer_id,
                   coalesce(a.value_amount, c.value_amount, t.value_amount) AS value_amount,
                   CASE WHEN a.value_amount IS NOT NULL THEN a.value_currency
                        WHEN c.value_amount IS NOT NULL THEN c.value_currency
                        ELSE t.value_currency END AS value_currency
            FROM processes AS p
            LEFT JOIN ({AWARDED_VALUE}) AS a USING (ocid)
            LEFT JOIN (SELECT ocid, sum(value_amount) AS value_amount, any_value(value_currency) AS value_currency
                       FROM contracts GROUP BY ocid) AS c USING (ocid)
            LEFT JOIN tenders AS t USING (ocid)
        )
        SELECT q.ocid, q.flags_raised, q.flags_applicable,
               coalesce(q.raised_weight, 0) / nullif(q.applicable_weight, 0) AS score,
               coalesce(q.codes, []::VARCHAR[]), s.buyer_id, s.value_amount, s.value_currency
        FROM per_process AS q LEFT JOIN stake AS s USING (ocid)
        """
    )
    con.execute("DELETE FROM organisation_scores")
    parties = matched_parties(con)  # the organisation each party was matched to, as the pages join it
    con.execute(
        f"""
        INSERT INTO organisation_scores
        -- an organisation across processes: the one its party was matched to (docs/organisations.md), else by the
        -- store's key (tw_party_key): its id, unless the id is a number a notice gives each of its parties
        -- (Contracts Finder's 0, 1, 2...), else its identifier, else its name
        WITH members AS (
            SELECT 'buyer' AS subject,
                   coalesce(ob.organisation_id,
                            tw_party_key(p.buyer_id, p.buyer_identifier_scheme, p.buyer_identifier_id, p.buyer_name))
                       AS subject_id,
                   p.buyer_name AS name, q.*
            FROM process_scores AS q JOIN processes AS p USING (ocid) {buyer_organisation(parties)}
            UNION ALL
            SELECT 'supplier', a.subject_id, a.name, q.*
            FROM process_scores AS q
            -- each supplier once per process, by the first of its names there
            JOIN (SELECT s.ocid,
                         coalesce(os.organisation_id,
                                  tw_party_key(s.party_id, s.identifier_scheme, s.identifier_id, s.name))
                             AS subject_id,
                         min(s.name) AS name
                  FROM award_suppliers AS s {supplier_organisation(parties)}
                  GROUP BY ALL) AS a USING (ocid)
        )
        , names AS (  -- the most common spelling, ties broken alphabetically
            SELECT subject, subject_id, arg_min(name, (-n, name)) AS name
            FROM (SELECT subject, subject_id, name, count(*) AS n FROM members WHERE name IS NOT NULL
                  GROUP BY ALL)
            GROUP BY subject, subject_id
        )
        SELECT m.subject, m.subject_id, any_value(n.name), count(*), count(*) FILTER (WHERE m.flags_raised > 0),
               avg(m.score::DECIMAL(38, 15))::DOUBLE, sum(m.value_amount) FILTER (WHERE m.flags_raised > 0),
               m.value_currency
        FROM members AS m LEFT JOIN names AS n USING (subject, subject_id)
        WHERE m.subject_id IS NOT NULL AND {not_a_copy(con, "m.ocid")}
        GROUP BY m.subject, m.subject_id, m.value_currency
        """
    )


def read_flags(
    con: duckdb.DuckDBPyConnection,
    *,
    codes: list[str] | None = None,
    buyer: str | None = None,
    supplier: str | None = None,
    ocid: str | None = None,
    limit: int | None = None,
) -> list[Flag]:
    """Return stored flags, filtered by indicator, buyer or supplier (party id or organisation id) or process
    (for Cardinal's output shape, :func:`read_cardinal` reads less of each)."""
    filters = {"codes": codes, "buyer": buyer, "supplier": supplier, "ocid": ocid}
    return [flag for batch in flag_batches(query_flags(con, filters, limit)) for flag in batch]


def query_flags(
    con: duckdb.DuckDBPyConnection, filters: dict[str, Any], limit: int | None = None
) -> duckdb.DuckDBPyConnection:
    """Run the query of :func:`read_flags`, with its filters (``codes``, ``buyer``, ``supplier``, ``ocid``) in a
    dict, and return its cursor, the flags sorted and ready to fetch (give it to :func:`flag_batches`): sorting
    them is the part that needs memory."""
    where, params = _flag_filter(**filters)
    sql = f"""
        SELECT code, subject, subject_id, ocid, value, evidence, sentence FROM flags AS f
        WHERE {where}
        ORDER BY code, subject, subject_id, ocid, sentence
        {"LIMIT " + str(int(limit)) if limit else ""}
    """
    return con.execute(sql, params)


def flag_batches(cursor: duckdb.DuckDBPyConnection, size: int = 10_000) -> Iterator[list[Flag]]:
    """Yield the flags of a cursor :func:`query_flags` gave, ``size`` at a time: a caller that writes them as they
    come holds one batch, however many there are (1.6 million of every indicator at a million processes)."""
    while rows := cursor.fetchmany(size):
        yield [
            Flag(code, subject, subject_id, flag_ocid, value, evidence_of(text), sentence)
            for code, subject, subject_id, flag_ocid, value, text, sentence in rows
        ]


def read_cardinal(
    con: duckdb.DuckDBPyConnection,
    meta: dict[str, dict[str, float | None]],
    *,
    codes: list[str] | None = None,
    buyer: str | None = None,
    supplier: str | None = None,
    ocid: str | None = None,
) -> dict[str, Any]:
    """Return stored flags, filtered as :func:`read_flags` filters them, in the shape of Cardinal's output.

    Only what that shape holds is read (indicator, subject and value: no evidence, no sentence), which at a
    million processes is a quarter of the time of reading whole flags."""
    where, params = _flag_filter(codes, buyer, supplier, ocid)
    rows = con.execute(
        f"SELECT code, subject, subject_id, value FROM flags AS f WHERE {where} "
        "ORDER BY code, subject, subject_id, ocid",
        params,
    ).fetchall()
    return _cardinal_shape(rows, meta)


def _flag_filter(
    codes: list[str] | None, buyer: str | None, supplier: str | None, ocid: str | None
) -> tuple[str, list[Any]]:
    """Return the condition on ``flags AS f`` that keeps the flags asked for, with its parameters."""
    where = ["TRUE"]
    params: list[Any] = []
    if codes:
        where.append("list_contains(?, f.code)")
        params.append([code.upper() for code in codes])
    if ocid:
        where.append("(f.ocid = ? OR (f.subject = 'process' AND f.subject_id = ?))")
        params += [ocid, ocid]
    # a buyer or supplier by its party id as published or its organisation id (as the web app's addresses have it)
    for role, value in (("buyer", buyer), ("supplier", supplier)):
        if value:
            condition, values = flags_about(role, value)
            where.append(condition)
            params += values
    return " AND ".join(where), params


CARDINAL_GROUPS = {
    "process": "OCID",
    "buyer": "Buyer",
    "procuring_entity": "ProcuringEntity",
    "tenderer": "Tenderer",
    "supplier": "Tenderer",
}


def cardinal_output(flags: list[Flag], meta: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """Return flags in the shape of Cardinal's ``indicators`` output (groups, then ids, then code: value)."""
    return _cardinal_shape([(flag.code, flag.subject, flag.subject_id, flag.value) for flag in flags], meta)


def _cardinal_shape(rows: list[tuple[Any, ...]], meta: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    output: dict[str, Any] = {}
    for code, subject, subject_id, value in rows:
        group = output.setdefault(CARDINAL_GROUPS[subject], {})
        group.setdefault(subject_id, {})[code] = float(value) if value is not None else 1.0
    output["Meta"] = {
        code: {name: (round(value, 4) if value is not None else None) for name, value in values.items()}
        for code, values in meta.items()
    }
    return output
