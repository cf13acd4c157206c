"""Flatten compiled releases into the documented tables, with one SQL file per table.

Each compiled release is parsed once into a typed structure (``structure.json``, read with DuckDB's
``json_transform``), then every table's query in ``sql/<table>.sql`` selects from that structure, set-based.
Values that fail a check (an impossible date, an amount that is text or absurd) become NULL through the
macros in ``sql/_macros.sql``; the loader has recorded each in the rejects table.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import duckdb

from tenderwatch.store import NORMALISED_TABLES, compiled_with_text, rows_of


@cache
def table_sql(table: str) -> str:
    """Return the SELECT statement that builds one normalised table.

    A file whose first line is ``-- include: NAME.sql`` starts with the common table expressions in that file.
    """
    folder = resources.files("tenderwatch.normalise").joinpath("sql")
    text = folder.joinpath(f"{table}.sql").read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if first.startswith("-- include: "):
        text = folder.joinpath(first.removeprefix("-- include: ").strip()).read_text(encoding="utf-8") + rest
    return text


@cache
def structure() -> str:
    """Return the compact JSON structure that compiled releases are read into."""
    text = resources.files("tenderwatch.normalise").joinpath("structure.json").read_text(encoding="utf-8")
    return json.dumps(json.loads(text), separators=(",", ":"))


def normalise(con: duckdb.DuckDBPyConnection, ocids_table: str) -> None:
    """Replace the normalised rows of the processes listed in ``ocids_table`` (a table with an ``ocid`` column).

    Runs inside the caller's transaction.
    """
    seen_before = con.execute(
        f"SELECT count(*) FROM {ocids_table} WHERE ocid IN (SELECT ocid FROM processes)"
    ).fetchall()[0][0]
    # the caller makes slices whose compiled releases lie together in the table
    ocids = f"(SELECT ocid FROM {ocids_table})"
    chosen = rows_of(con, "compiled_releases", ocids, "c")
    # a publisher's compiled release is read from the raw store, where its releases lie together too
    raw = rows_of(con, "raw_releases", ocids, "r")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_releases AS
        SELECT
            c.ocid, c.method, c.release_count, c.release_tags, c.first_release_date, c.last_release_date,
            c.latest_release_id, c.latest_package_hash,
            json_transform(c.text, '{structure()}') AS r
        FROM {compiled_with_text(chosen, raw)} AS c
        """
    )
    for table in NORMALISED_TABLES:
        if seen_before:  # every normalised process has a row in processes, so new ones have nothing to delete
            con.execute(f"DELETE FROM {table} WHERE ocid IN (SELECT ocid FROM {ocids_table})")
        con.execute(f"INSERT INTO {table} BY NAME ({table_sql(table)})")
    con.execute("DROP TABLE tmp_releases")
