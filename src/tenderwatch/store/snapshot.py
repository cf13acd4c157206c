"""Read snapshots: what the web app reads while loads and syncs write to the store.

DuckDB lets one process write a database file and no other process open it meanwhile, not even to read. So
after each load, sync or rebuild the writer *publishes* a snapshot: a separate DuckDB file beside the store
(``<store>.web/snapshot-<n>.duckdb``) holding every table the web app reads (every table but the verbatim
release texts, of which it keeps the positions and sources), plus the full-text search index. The file is
written under a temporary name and switched in with an atomic rename of the ``current`` pointer, so readers
always see a whole snapshot; the web app opens the newest one for each request and never blocks a writer.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from tenderwatch.queries import (
    AWARDED_VALUE,
    BUYER_KEY,
    BUYER_ORGANISATION,
    SUBJECT_KEYS,
    SUPPLIER_KEY,
    SUPPLIER_ORGANISATION,
)

# Raw-store tables copied without their bulky verbatim columns.
SLIM = {
    "raw_releases": "* EXCLUDE (data)",
    "compiled_releases": "* EXCLUDE (data)",
    "rejects": "* EXCLUDE (data)",
    "packages": "*",
    "watchlists": "* EXCLUDE (webhook_secret)",
}
# Not needed by the web app: work queues, sync checkpoints and the fetched pages' raw bytes.
SKIPPED = {"pending", "meta", "sync_pages", "sync_windows"}
# The snapshot's storage format: DuckDB's default, the oldest it writes, not the store's (see publish_snapshot).
SNAPSHOT_STORAGE_VERSION = "v0.10.2"
# Indexes for the lookups the pages make (by process, buyer and supplier).
INDEXES = (
    ("process_pages", "ocid"),
    ("organisation_pages", "party_id"),
    ("processes", "ocid"),
    ("processes", "buyer_id"),
    ("tenders", "ocid"),
    ("awards", "ocid"),
    ("award_suppliers", "ocid"),
    ("award_suppliers", "party_id"),
    ("contracts", "ocid"),
    ("raw_releases", "ocid"),
    ("flags", "ocid"),
    ("parties", "ocid"),
    ("party_identifiers", "party_id"),
    ("organisations", "organisation_id"),
    ("organisation_parties", "organisation_id"),
    # VARCHAR statistics keep only a prefix, which every ocid of a publisher shares: without an index a lookup by
    # ocid reads the whole table
    ("contract_lifecycle", "ocid"),
    ("derived_events", "ocid"),
    ("service_assignments", "ocid"),
    ("organisation_summaries", "organisation_id"),
    # a search reads its page's documents by number
    ("search_documents", "doc_id"),
)
KEEP = 2


def snapshot_folder(store_path: Path) -> Path:
    """Return the folder holding a store's snapshots."""
    return store_path.with_name(store_path.name + ".web")


def current_snapshot(store_path: Path) -> Path | None:
    """Return the newest published snapshot of a store, or None."""
    pointer = snapshot_folder(store_path) / "current"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = snapshot_folder(store_path) / name
    return path if path.is_file() else None


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB's full-text search extension from its Python package (no download)."""
    import duckdb_extension_fts  # noqa: PLC0415

    extension = next(Path(duckdb_extension_fts.__path__[0]).rglob("fts.duckdb_extension"))
    con.execute(f"LOAD '{extension.as_posix()}'")


SEARCH_DOCUMENTS = """
CREATE TABLE snap.search_documents AS
-- a process that copies another (an aggregator's copy of a notice) is found as its original; a buyer's or a
-- supplier's count of processes counts the two once
WITH originals AS (SELECT * FROM processes WHERE ocid NOT IN (SELECT ocid FROM process_copies))
SELECT row_number() OVER (ORDER BY kind, key) AS doc_id, * FROM (
    SELECT 'process' AS kind, p.ocid AS key, coalesce(p.title, p.ocid) AS title,
           concat_ws(' ', p.title, p.description, p.buyer_name, t.procurement_method_details,
                     (SELECT string_agg(DISTINCT s.name, ' ') FROM award_suppliers AS s
                      WHERE s.ocid = p.ocid)) AS body,
           p.buyer_name AS detail, p.is_demo,
           -- what a search result shows besides: the latest notice's day, the value awarded, the red flags
           p.last_release_date::DATE::VARCHAR AS date, v.value_amount, v.value_currency, {flag_codes} AS flag_codes
    FROM originals AS p LEFT JOIN tenders AS t USING (ocid)
    LEFT JOIN ({awarded_value}) AS v USING (ocid)
    UNION ALL
    SELECT 'buyer', {buyer_key}, mode(p.buyer_name), string_agg(DISTINCT p.buyer_name, ' '),
           count(DISTINCT coalesce(c.original_ocid, p.ocid)) || ' processes', bool_and(p.is_demo), NULL, NULL,
           NULL, NULL
    FROM processes AS p LEFT JOIN process_copies AS c USING (ocid) {buyer_organisation}
    WHERE {buyer_key} IS NOT NULL GROUP BY {buyer_key}
    UNION ALL
    SELECT 'supplier', {supplier_key}, mode(s.name), string_agg(DISTINCT s.name, ' '),
           count(DISTINCT coalesce(c.original_ocid, s.ocid)) || ' contracts won', bool_and(p.is_demo), NULL, NULL,
           NULL, NULL
    FROM award_suppliers AS s JOIN processes AS p ON p.ocid = s.ocid LEFT JOIN process_copies AS c ON c.ocid = s.ocid
    {supplier_organisation}
    WHERE {supplier_key} IS NOT NULL GROUP BY {supplier_key}
    {groups}
)
"""


# Each word's BM25 weight in each document, as the full-text index's match_bm25 computes it (k1 1.2, b 0.75), kept
# in word order: a search adds up the weights of its words' postings, reading only those (queries.search).
SEARCH_POSTINGS = """
CREATE TABLE search_postings AS
SELECT t.termid, d.name AS doc_id, any_value(sd.kind) AS kind,
       log(((any_value(s.num_docs) - any_value(w.df)) + 0.5) / (any_value(w.df) + 0.5) + 1)
       * ((count(*) * (1.2 + 1)) / (count(*) + 1.2 * ((1 - 0.75) + 0.75 * (any_value(d.len) / any_value(s.avgdl)))))
           AS weight
FROM fts_main_search_documents.terms AS t
JOIN fts_main_search_documents.dict AS w USING (termid)
JOIN fts_main_search_documents.docs AS d USING (docid)
JOIN search_documents AS sd ON sd.doc_id = d.name
CROSS JOIN fts_main_search_documents.stats AS s
GROUP BY t.termid, d.name
ORDER BY t.termid, weight DESC, d.name
"""

# Corporate groups, found by the group's name and the names of its companies.
GROUP_DOCUMENTS = """
    UNION ALL
    SELECT 'group', g.group_id, any_value(g.name),
           concat_ws(' ', any_value(g.name), any_value(g.ultimate_parent_name), string_agg(DISTINCT o.name, ' ')),
           any_value(g.organisations) || ' organisations in the data', FALSE, NULL, NULL, NULL, NULL
    FROM corporate_groups AS g LEFT JOIN organisations AS o USING (group_id)
    GROUP BY g.group_id
"""

PAGE_SLICE = 20_000
# A profile lists at most 100 processes, 200 contracts and 25 flags, so its size grows with its processes up to a
# few hundred: profiles are built a slice of parties at a time, whose processes, each party's counted up to
# PROFILE_COUNTED (plus ten for the rest of its page), add up to about PROFILE_SLICE_WEIGHT.
PROFILE_COUNTED = 250
PROFILE_SLICE_WEIGHT = 50_000
# Contract pages are wide (every notice, document and award of a process): fewer at a time.
PROCESS_PAGE_SLICE = 2_000
# Processes whose page parts are made at a time (a multiple of PROCESS_PAGE_SLICE).
PART_SLICE = 50_000


def _pages(con: duckdb.DuckDBPyConnection) -> None:
    """Build every contract page (``process_pages``) and every profile (``organisation_pages``) into the snapshot."""
    _process_pages(con)
    _profile_pages(con)


def _process_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Build every contract page. Each part of the pages is made for PART_SLICE processes at a time, in one
    statement a part (a single query joining them all would hold every part in memory at once), and joined into
    pages PROCESS_PAGE_SLICE processes at a time."""
    from tenderwatch.queries.process import PARTS, page_sql, part_sql  # noqa: PLC0415 - queries use this module

    stored = {part: f"snap.page_{part}" for part in PARTS}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_keys AS SELECT ocid AS key, (row_number() OVER (ORDER BY ocid) - 1) // "
        f"{PROCESS_PAGE_SLICE} AS slice FROM processes"
    )
    slices = con.execute("SELECT coalesce(max(slice) + 1, 0) FROM tmp_keys").fetchall()[0][0]
    # each slice of pages reads the parts, and the processes, tenders, scores and organisations of the parts' processes
    # (copied once for them all: 0.33 s a slice of 2,000 pages at a million processes, against 0.52 s reading the
    # whole tables)
    sources = {name: f"tmp_page_{name}" for name in ("processes", "tenders", "process_scores", "organisation_parties")}
    joined = page_sql("ocid IN (SELECT key FROM tmp_slice)", parts=stored, sources=sources)
    per_part = max(PART_SLICE // PROCESS_PAGE_SLICE, 1)
    for number in range(max(slices, 1)):
        if number % per_part == 0:
            # The parts of the next PART_SLICE processes: a part's lists are ordered aggregates, which cannot
            # spill to disk, so a part of every process at once (every flag with its evidence, at a million
            # processes) needs more memory than the analysis has.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE tmp_part_keys AS SELECT key FROM tmp_keys WHERE slice // ? = ?",
                [per_part, number // per_part],
            )
            for name in PARTS:
                part = part_sql(name, "ocid IN (SELECT key FROM tmp_part_keys)", stored)
                con.execute(f"CREATE OR REPLACE TABLE snap.page_{name} AS {part} ORDER BY ocid")
            for name, table in sources.items():
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT * FROM {name} WHERE ocid IN (SELECT key FROM tmp_part_keys)"
                )
        # The parts joined into one row per process, a slice of processes at a time.
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_slice AS SELECT key FROM tmp_keys WHERE slice = ?", [number])
        verb = "CREATE TABLE snap.process_pages AS" if number == 0 else "INSERT INTO snap.process_pages"
        # each page as one JSON text: reading one row of many nested columns costs more than parsing the text
        con.execute(f"{verb} SELECT ocid, to_json(page)::VARCHAR AS page FROM ({joined}) AS page")
    for name in ("tmp_slice", "tmp_part_keys", *sources.values()):
        con.execute(f"DROP TABLE {name}")
    for name in PARTS:
        con.execute(f"DROP TABLE snap.page_{name}")


def _profile_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Build every profile: every buyer's and supplier's processes first; then slices of at most PAGE_SLICE parties
    weighing about PROFILE_SLICE_WEIGHT, each built from its parties' processes alone. A page's lists are ordered
    aggregates, held in memory: a slice of every profile at a million processes needs several times 768MB."""
    from tenderwatch.queries.organisation import page_sql  # noqa: PLC0415 - queries use this module

    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_party_links AS "
        f"SELECT {BUYER_KEY} AS party_id, p.ocid FROM processes AS p {BUYER_ORGANISATION} "
        f"WHERE {BUYER_KEY} IS NOT NULL "
        f"UNION SELECT {SUPPLIER_KEY}, s.ocid FROM award_suppliers AS s {SUPPLIER_ORGANISATION} "
        f"WHERE {SUPPLIER_KEY} IS NOT NULL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_keys AS SELECT key, dense_rank() OVER (ORDER BY start) - 1 AS slice FROM ("
        f"SELECT party_id AS key, greatest((sum(weight) OVER (ORDER BY party_id) - weight) // {PROFILE_SLICE_WEIGHT}, "
        f"(row_number() OVER (ORDER BY party_id) - 1) // {PAGE_SLICE}) AS start "
        f"FROM (SELECT party_id, least(count(*), {PROFILE_COUNTED}) + 10 AS weight FROM tmp_party_links "
        "GROUP BY party_id))"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_subject_keys AS {SUBJECT_KEYS}")
    slices = con.execute("SELECT coalesce(max(slice) + 1, 0) FROM tmp_keys").fetchall()[0][0]
    query = page_sql("tmp_slice_parties", ocids="tmp_slice_ocids", subject_keys="tmp_subject_keys")
    for number in range(max(slices, 1)):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tmp_slice_parties AS SELECT key AS party_id FROM tmp_keys WHERE slice = ?",
            [number],
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tmp_slice_ocids AS SELECT DISTINCT ocid FROM tmp_party_links "
            "WHERE party_id IN (SELECT party_id FROM tmp_slice_parties)"
        )
        verb = "CREATE TABLE snap.organisation_pages AS" if number == 0 else "INSERT INTO snap.organisation_pages"
        # each profile as one JSON text, as contract pages are
        con.execute(f"{verb} SELECT kind, party_id, to_json(page)::VARCHAR AS page FROM ({query}) AS page")
    for name in ("tmp_slice_parties", "tmp_slice_ocids", "tmp_subject_keys", "tmp_keys", "tmp_party_links"):
        con.execute(f"DROP TABLE {name}")


def publish_snapshot(con: duckdb.DuckDBPyConnection, store_path: Path) -> Path:
    """Write a new snapshot of the store open on ``con`` and make it current; return its path."""
    folder = snapshot_folder(store_path)
    folder.mkdir(exist_ok=True)
    existing = sorted(folder.glob("snapshot-*.duckdb"), key=lambda path: int(path.stem.split("-")[1]))
    number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
    target = folder / f"snapshot-{number}.duckdb"
    partial = folder / f"snapshot-{number}.partial"
    partial.unlink(missing_ok=True)
    tables = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary"
        ).fetchall()
        if name not in SKIPPED
    ]
    with_ocid = {
        table
        for (table,) in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE column_name = 'ocid' AND database_name = current_database()"
        ).fetchall()
    }
    # In DuckDB's oldest storage format rather than the store's: there a page's few rows of long JSON text are read
    # without decompressing a whole zstd block; in the store's format every page was two to three times slower under
    # 16 clients at a million processes (see docs/performance.md)
    con.execute(f"ATTACH '{partial.as_posix()}' AS snap (STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}')")
    try:
        for name in tables:
            # Rows of one process sit together, so a page's lookups by ocid skip the rest of the table.
            order = " ORDER BY ocid" if name in with_ocid else ""
            con.execute(f"CREATE TABLE snap.{name} AS SELECT {SLIM.get(name, '*')} FROM {name}{order}")
        groups = ""
        if {"corporate_groups", "organisations"} <= set(tables):
            groups = GROUP_DOCUMENTS
        if {"flags", "processes"} <= set(tables):
            from tenderwatch.queries.lists import FLAG_ROWS_SQL, FLAG_TOTALS_SQL  # noqa: PLC0415

            con.execute(f"CREATE TABLE snap.flag_rows AS {FLAG_ROWS_SQL}")
            con.execute(f"CREATE TABLE snap.flag_totals AS {FLAG_TOTALS_SQL}")
        if {"organisation_parties", "organisations"} <= set(tables):
            # each organisation with how its parties were matched, as its profile shows it: one lookup instead of a
            # scan of all its parties on every page view
            from tenderwatch.queries.organisation import SUMMARIES_SQL  # noqa: PLC0415 - queries use this module

            con.execute(f"CREATE TABLE snap.organisation_summaries AS {SUMMARIES_SQL} ORDER BY o.organisation_id")
        if {"track_record", "derived_events"} <= set(tables):
            from tenderwatch.records import track_record_keys_sql  # noqa: PLC0415

            con.execute(f"CREATE TABLE snap.track_record_keys AS {track_record_keys_sql()} ORDER BY key")
        con.execute(
            SEARCH_DOCUMENTS.format(
                groups=groups,
                flag_codes="(SELECT list(DISTINCT code ORDER BY code) FROM flags AS g WHERE g.ocid = p.ocid)"
                if "flags" in tables
                else "NULL::VARCHAR[]",
                awarded_value=AWARDED_VALUE,
                buyer_key=BUYER_KEY,
                supplier_key=SUPPLIER_KEY,
                buyer_organisation=BUYER_ORGANISATION,
                supplier_organisation=SUPPLIER_ORGANISATION,
            )
        )
        _pages(con)
    finally:
        con.execute("DETACH snap")
    # the search index and the indexes are made within the store's memory limit too (by default DuckDB would take
    # up to 80% of the machine's memory: 2.6 GB for the search index at a million processes, against 1.1 GB held
    # to 768MB, in the same time)
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with contextlib.closing(duckdb.connect(str(partial), config={"memory_limit": limit})) as snapshot:
        made = {name for (name,) in snapshot.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table, column in INDEXES:
            if table in made:
                snapshot.execute(f"CREATE INDEX {table}_{column} ON {table} ({column})")
        load_fts(snapshot)
        snapshot.execute("PRAGMA create_fts_index('search_documents', 'doc_id', 'title', 'body', overwrite=1)")
        snapshot.execute(SEARCH_POSTINGS)
        snapshot.execute("CHECKPOINT")
    partial.rename(target)
    pointer = folder / "current.tmp"
    pointer.write_text(target.name, encoding="utf-8")
    pointer.replace(folder / "current")
    for old in existing[: max(len(existing) + 1 - KEEP, 0)]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target
