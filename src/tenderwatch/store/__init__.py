"""The DuckDB store: opening it, its schema, and the documented columns of every table.

Tables in two groups:

- the raw store (``raw_releases``, ``rejects``, ``packages``, ``pending``, ``loads``, ``compiled_releases``),
  created by the numbered migrations in ``store/migrations`` and never rewritten by a load;
- the normalised tables (``processes``, ``tenders``, ``awards``, …), whose columns are defined, with a
  description each, in ``normalise/columns/<table>.csv`` and built by ``normalise/sql/<table>.sql``.
  They can always be rebuilt from the raw store (``tenderwatch rebuild``);
- the analysis tables (``flags``, ``process_scores``, …), documented in ``analysis/columns`` and written by
  the indicators (:mod:`tenderwatch.indicators`).
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import duckdb

from tenderwatch.exceptions import StoreError
from tenderwatch.settings import Settings
from tenderwatch.util import skip_missing_pandas

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

NORMALISED_TABLES = (
    "processes",
    "parties",
    "party_identifiers",
    "party_roles",
    "tenders",
    "lots",
    "tenderers",
    "bids",
    "bid_statistics",
    "awards",
    "award_suppliers",
    "contracts",
    "amendments",
    "items",
    "item_classifications",
    "documents",
    "milestones",
    "transactions",
    "related_processes",
)
# The key in the meta table that says the analysis after a load must run at the next load, sync or rebuild even when
# no process changed (a load stopped before its analysis, or tables of the analysis new in this version).
ANALYSIS_DUE = "analysis_due"
RAW_TABLES = ("loads", "packages", "raw_releases", "rejects", "pending", "compiled_releases")
ANALYSIS_TABLES = (
    "flags",
    "flag_meta",
    "flag_runs",
    "process_scores",
    "organisation_scores",
    "contract_lifecycle",
    "process_copies",
)


@dataclass(frozen=True)
class Column:
    """A documented column of a table."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    """A documented table."""

    name: str
    description: str
    columns: tuple[Column, ...]
    group: str


def _read_csv(folder: Traversable, name: str) -> list[dict[str, str]]:
    text = folder.joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# The meta key that changes whenever a table the red-flag indicators read changes (see data_changed).
DATA_VERSION = "data_version"


def data_changed(con: duckdb.DuckDBPyConnection) -> None:
    """Record, in the caller's transaction, that tables the red-flag indicators read changed (the normalised
    tables, or another they read such as ``subcontract_chains``): results worked out before, such as stored red
    flags, can no longer be reused."""
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [DATA_VERSION, uuid.uuid4().hex])


def rows_of(con: duckdb.DuckDBPyConnection, table: str, ocids: str, alias: str) -> str:
    """Return a condition that picks the rows of ``table`` (named ``alias`` in the query) whose ocid is one of
    ``ocids`` (a subquery): the range of row ids they occupy, then the ocids themselves.

    Picked by ocid alone, DuckDB reads and decompresses every row group of the table to find them; a constant
    range of row ids lets it skip the row groups outside it, which is what makes reading a slice of processes
    whose rows lie together cheap (0.56 s a slice of 10,000 compiled releases at a million, 0.06 s so).
    """
    first, last = con.execute(f"SELECT min(rowid), max(rowid) FROM {table} WHERE ocid IN {ocids}").fetchall()[0]
    if first is None:
        return "FALSE"
    return f"{alias}.rowid BETWEEN {int(first)} AND {int(last)} AND {alias}.ocid IN {ocids}"


def pending_positions(table: str) -> str:
    """Return a subquery of each pending process's first row id in ``table`` (``ocid``, ``position``): slices
    of processes taken in that order lie together in the table, so that :func:`rows_of` gives each a narrow range."""
    return f"(SELECT ocid, min(rowid) AS position FROM {table} WHERE ocid IN (SELECT ocid FROM pending) GROUP BY ocid)"


def compiled_with_text(where: str = "TRUE", raw_where: str = "TRUE") -> str:
    """Return a subquery of the compiled releases (the columns of ``compiled_releases`` but ``data`` and
    ``data_hash``) with ``text``, each one's JSON text: merged by tenderwatch, or the publisher's own, which is kept
    once, in ``raw_releases``, and named by its hash.

    ``where`` is a condition on ``compiled_releases AS c`` and ``raw_where`` one on ``raw_releases AS r`` (such as
    the ranges :func:`rows_of` gives), so that a reader of a slice of processes reads only that part of each. The
    stored releases are joined to the compiled rows, not the other way round, so that their text streams through
    instead of filling a hash table. To read every compiled release, :data:`ALL_COMPILED_TEXTS` needs less memory.
    """
    return f"""(
        SELECT c.* EXCLUDE (data, data_hash), c.data AS text
        FROM compiled_releases AS c WHERE c.data IS NOT NULL AND {where}
        UNION ALL
        SELECT c.* EXCLUDE (data, data_hash), r.data AS text
        FROM raw_releases AS r
        JOIN (SELECT * FROM compiled_releases AS c WHERE c.data IS NULL AND {where}) AS c ON r.hash = c.data_hash
        WHERE r.kind = 'compiled' AND {raw_where}
    )"""


# Every compiled release's ocid, latest release id and text, for readers of all of them. A publisher's own is found
# by a semi-join on the hashes its compiled rows name, so that DuckDB holds only those hashes, not the rows with
# their ocids (at a million, a join on the compiled rows ran out of the default memory_limit); its raw release has
# the same ocid and is the latest release, since the hash covers the whole text.
ALL_COMPILED_TEXTS = """(
    SELECT ocid, latest_release_id, data AS text FROM compiled_releases WHERE data IS NOT NULL
    UNION ALL
    SELECT r.ocid, r.release_id, r.data FROM raw_releases AS r
    WHERE r.kind = 'compiled' AND r.hash IN (SELECT data_hash FROM compiled_releases WHERE data IS NULL)
)"""


# Groups of tables: (group, package holding tables.csv and columns/, whether a rebuild recreates them).
# The raw store is made by migrations; every other group's tables are created from their CSV files when missing.
# Derived groups are rebuilt from the raw store; the others (such as the track-record register, which users
# curate) are kept.
TABLE_GROUPS = (
    ("raw", "tenderwatch.store", False),
    ("normalised", "tenderwatch.normalise", True),
    ("analysis", "tenderwatch.analysis", True),
    ("organisations", "tenderwatch.resolve", True),
    ("ownership", "tenderwatch.resolve.ownership", False),
    ("register", "tenderwatch.records", False),
    ("events", "tenderwatch.records.derived", True),
    ("services", "tenderwatch.services", True),
    ("sources", "tenderwatch.sources", False),
    ("alerts", "tenderwatch.alerts", False),
)


def group_tables(group: str) -> tuple[str, ...]:
    """Return the names of one group's tables, in their documented order."""
    return tuple(name for name, table in tables().items() if table.group == group)


def derived_tables() -> tuple[str, ...]:
    """Return every table a rebuild recreates (normalised ones first)."""
    derived = {group for group, _, rebuilt in TABLE_GROUPS if rebuilt}
    return tuple(name for name, table in tables().items() if table.group in derived)


@cache
def tables() -> Mapping[str, Table]:
    """Return every table of the store with its documented columns, raw store first (read once: they are part of
    the installed package)."""
    result = {}
    top = resources.files("tenderwatch")
    for group, package, _ in TABLE_GROUPS:
        # the package's folder, found without importing the package (importing them all cost about 0.14 s a command)
        folder = top.joinpath(*package.split(".")[1:])
        if not folder.joinpath("tables.csv").is_file():
            continue
        for row in _read_csv(folder, "tables.csv"):
            columns = tuple(
                Column(item["column"], item["type"], item["description"])
                for item in _read_csv(folder, f"columns/{row['table']}.csv")
            )
            result[row["table"]] = Table(row["table"], row["description"], columns, group)
    return MappingProxyType(result)


def store_variables(settings: Settings) -> dict[str, float | int]:
    """The DuckDB variables a store's connection sets from the settings, which the normalising macros read: the
    limits of believable amounts and years."""
    return {
        "tw_max_amount": float(settings.max_amount),
        "tw_min_year": int(settings.min_year),
        "tw_max_year": int(settings.max_year),
    }


@cache
def macro_sql() -> str:
    """The statements that make the normalising macros (``normalise/sql/_macros.sql``), read once."""
    return resources.files("tenderwatch.normalise").joinpath("sql/_macros.sql").read_text(encoding="utf-8")


def macro_definitions(sql: str) -> dict[str, tuple[list[str], str]]:
    """The ``CREATE OR REPLACE TEMP MACRO`` statements in ``sql`` (its comments left out): by the macro's name in
    lower case, its parameters and the text of its body."""
    text = re.sub(r"--[^\n]*", "", sql)
    pattern = r"(?is)CREATE OR REPLACE TEMP MACRO\s+(\w+)\s*\(([^)]*)\)\s+AS\s+(.*?)(?=;|\Z)"
    return {
        match[1].lower(): ([param.strip() for param in match[2].split(",")], match[3].strip())
        for match in re.finditer(pattern, text)
    }


def _canonical_types(con: duckdb.DuckDBPyConnection, types: Collection[str]) -> dict[str, str]:
    """Return each of ``types`` (as the columns' files spell them) as DuckDB spells it in its catalogue."""
    unique = sorted(set(types))
    if not unique:
        return {}
    row = con.execute("SELECT " + ", ".join(f"typeof(NULL::{kind})" for kind in unique)).fetchone()
    return dict(zip(unique, row or (), strict=True))


# The storage format of a new store. By default DuckDB writes the oldest format that every version since 0.10 reads,
# which has no zstd for text: the JSON declared `USING COMPRESSION zstd` was silently kept uncompressed (a store of
# 100,000 releases took 504 MB; it takes 70 MB in this format). The web app's snapshot keeps the old format (see
# snapshot.SNAPSHOT_STORAGE_VERSION).
STORAGE_VERSION = "v1.5.0"


class Store:
    """An open tenderwatch store (one DuckDB file)."""

    def __init__(self, path: Path, settings: Settings, *, read_only: bool = False) -> None:
        self.path = path
        self.settings = settings
        self.read_only = read_only
        if read_only and not path.exists():
            raise StoreError(
                f"there is no store at {path}", "load some data first with `tenderwatch load`, or give --db"
            )
        skip_missing_pandas()
        try:
            config = {} if read_only else {"storage_compatibility_version": STORAGE_VERSION}
            self.con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as error:
            message = str(error)
            if "lock" in message.lower():
                raise StoreError(f"the store {path} is in use by another tenderwatch process") from error
            raise StoreError(f"{path} cannot be opened as a store ({message.splitlines()[0]})") from error
        except duckdb.Error as error:
            raise StoreError(f"{path} is not a DuckDB store ({str(error).splitlines()[0]})") from error
        self._configure(self.con)
        if not read_only:
            self._migrate()
        elif "raw_releases" not in self.table_names():
            raise StoreError(f"{path} is not a tenderwatch store (it has no raw_releases table)")

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        settings = self.settings
        con.execute(f"SET memory_limit = '{settings.memory_limit}'")
        if settings.threads:
            con.execute(f"SET threads = {int(settings.threads)}")
        con.execute("SET TimeZone = ?", [settings.naive_timezone])
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        # Commits append to the write-ahead log; the file is rewritten once it holds this much, not at every batch.
        con.execute("SET checkpoint_threshold = '1GB'")
        for name, value in store_variables(settings).items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        con.execute(macro_sql())

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a second connection to the same store (for reading while this one writes)."""
        con = self.con.cursor()
        self._configure(con)
        return con

    def table_names(self) -> set[str]:
        """Return the names of the tables in the store."""
        return {
            row[0] for row in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
        }

    def _migrate(self) -> None:
        existing = self.table_names()
        made_before = bool(existing)
        if existing and "meta" not in existing:
            raise StoreError(f"{self.path} is a DuckDB database but not a tenderwatch store", "give another --db path")
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        version = int(self.meta("schema_version") or 0)
        folder = resources.files("tenderwatch.store").joinpath("migrations")
        migrations = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
        for name in migrations:
            number = int(name.split("_", 1)[0])
            if number <= version:
                continue
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute(folder.joinpath(name).read_text(encoding="utf-8"))
            self.set_meta("schema_version", str(number))
            self.con.execute("COMMIT")
        if not (set(NORMALISED_TABLES) <= self.table_names()):
            self.create_normalised_tables()
        existing = self.table_names()
        if made_before:
            self._remake_changed_tables(existing)
        for group, _, _ in TABLE_GROUPS[2:]:
            missing = tuple(name for name in group_tables(group) if name not in existing)
            if missing:
                self.create_tables(missing)
                if "track_record" in missing and self.settings.starter_register:
                    self._import_starter_register()

    def _remake_changed_tables(self, existing: Collection[str]) -> None:
        """Make again, empty, every table of the analysis (and of the other groups made after normalising) whose
        columns another version made differently, and mark the analysis due when any was made again or is new
        (not in ``existing``; :meth:`_migrate` makes those next), so that the next load, sync or rebuild fills them.
        The analysis is marked due first, so that a process killed in between leaves it due. The normalised tables
        are left to :meth:`needs_rebuild`, and the tables users keep (the register, the sources, the alerts) are
        never dropped.
        """
        derived = self.changed_tables(derived_tables())  # one look at the catalogue, for needs_rebuild too
        self._normalised_changed = any(name in NORMALISED_TABLES for name in derived)
        names = tuple(name for name in derived_tables() if name not in NORMALISED_TABLES)
        changed = tuple(name for name in derived if name in existing and name not in NORMALISED_TABLES)
        if changed or any(name not in existing for name in names):
            self.set_meta(ANALYSIS_DUE, "yes")
        if changed:
            self.create_tables(changed)

    def changed_tables(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Return those of ``names`` whose columns in the store (names and types, in order) differ from their
        documented ones; a table the store lacks counts as changed."""
        described = tables()
        documented = _canonical_types(self.con, tuple(c.type for name in names for c in described[name].columns))
        rows = self.con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE NOT internal AND schema_name = 'main' AND database_name = current_database() "
            "ORDER BY table_name, column_index"
        ).fetchall()
        actual: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in rows:
            actual.setdefault(table, []).append((column, kind))
        changed = []
        for name in names:
            wanted = [(column.name, documented[column.type]) for column in described[name].columns]
            if actual.get(name) != wanted:
                changed.append(name)
        return tuple(changed)

    def _import_starter_register(self) -> None:
        """Fill a new store's track-record register with the events tenderwatch ships (each with its source)."""
        try:
            from tenderwatch.records import import_starter_register  # noqa: PLC0415
        except ImportError:
            return
        import_starter_register(self.con)

    def meta(self, key: str) -> str | None:
        """Return a value from the store's meta table."""
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the store's meta table."""
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def create_tables(self, names: tuple[str, ...], stored: Mapping[str, Collection[str]] | None = None) -> None:
        """Drop and create tables from their documented columns (their rows must then be rebuilt).

        A table given in ``stored`` stores only those columns: its others are always NULL (virtual columns, which
        take no space), for a store that is filled for some statements only and dropped.
        """
        described = tables()
        self.con.execute("BEGIN TRANSACTION")
        for name in names:
            kept = None if stored is None else stored.get(name)
            columns = ", ".join(
                f'"{column.name}" {column.type}'
                if kept is None or column.name in kept
                else f'"{column.name}" {column.type} GENERATED ALWAYS AS (NULL::{column.type}) VIRTUAL'
                for column in described[name].columns
            )
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
            self.con.execute(f"CREATE TABLE {name} ({columns})")
        self.con.execute("COMMIT")

    def create_normalised_tables(self) -> None:
        """Drop and create every normalised table (their rows must then be rebuilt)."""
        self.create_tables(NORMALISED_TABLES)
        self._normalised_changed = False

    # Whether the normalised tables differ from their documented columns, as opening the store found (None: not
    # looked at yet, as on a read-only store)
    _normalised_changed: bool | None = None

    def needs_rebuild(self) -> bool:
        """Return whether the normalised tables were made by another version of tenderwatch: whether any of them
        lacks a documented column, or has one of another type (tables made after normalising are made again on
        opening instead: see :meth:`_remake_changed_tables`)."""
        if self._normalised_changed is None:
            self._normalised_changed = bool(self.changed_tables(NORMALISED_TABLES))
        return self._normalised_changed

    def close(self) -> None:
        """Close the store (a checkpoint is written)."""
        self.con.close()
