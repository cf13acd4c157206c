"""Flatten compiled releases into the documented tables, with one SQL file per table.

Each compiled release is parsed once into a typed structure (``structure.json``, read with DuckDB's
``json_transform``), then every table's query in ``sql/<table>.sql`` selects from that structure, set-based.
Values that fail a check (an impossible date, an amount that is text or absurd) become NULL through the
macros in ``sql/_macros.sql``; the loader has recorded each in the rejects table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from tenderwatch import sqltree
from tenderwatch.exceptions import InputError
from tenderwatch.ingest.inputs import open_file
from tenderwatch.ingest.reader import BYTE_ORDER_MARK, OTHER_ENCODING, looks_like_utf16, not_utf8
from tenderwatch.store import NORMALISED_TABLES, compiled_with_text, macro_definitions, macro_sql, rows_of


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
def narrowed_sql(table: str, columns: tuple[str, ...]) -> str:
    """Return a SELECT statement of one normalised table that gives only ``columns`` of it.

    The table's statement is parsed with DuckDB's own parser, the columns not asked for are taken out of its
    select list, and DuckDB writes it back: what is left reads only the fields of a compiled release those columns
    need. A statement whose select list cannot be narrowed so (a union, a column it does not name, or one DuckDB
    cannot write back faithfully) is read whole, and only the columns asked for are kept of it.
    """
    quoted = ", ".join('"' + name + '"' for name in columns)
    whole = f"SELECT {quoted} FROM ({table_sql(table)})"
    node = sqltree.parse(table_sql(table))
    if node is None or node.get("type") != "SELECT_NODE":
        return whole
    names = [sqltree.output_name(entry) for entry in node["select_list"]]
    if not all(names):
        return whole
    node["select_list"] = [entry for entry, name in zip(node["select_list"], names, strict=True) if name in columns]
    return sqltree.render(node) or whole


@cache
def structure(statements: tuple[str, ...] | None = None) -> str:
    """Return the compact JSON structure that compiled releases are read into: whole, or only what ``statements``
    (those that fill some of the tables, or some of their columns: see :func:`table_statements`) can read.

    A field that no word of the statements (or of the macros they call) names is left out: they cannot read it (a
    field is only reached by its name), and parsing it would be wasted. A field kept whose own fields are all
    unnamed is kept whole. The words of a statement count only within the parts of a release it reads
    (``r.tender``, ``r.awards``...): the tenders' milestones do not make the contracts' milestones parsed.
    """
    text = resources.files("tenderwatch.normalise").joinpath("structure.json").read_text(encoding="utf-8")
    whole = json.loads(text)
    if statements is None:
        return json.dumps(whole, separators=(",", ":"))
    macros = _macro_words()
    by_part: dict[str, set[str]] = {}
    for statement in statements:
        words = _words(statement)
        called: set[str] = set()
        while more := (words & macros.keys()) - called:  # a macro's body may call others
            called |= more
            for name in more:
                words |= macros[name]
        # a statement that names no part of the release (none does today) counts everywhere
        for part in set(re.findall(r'\br\."?(\w+)', statement)) or whole.keys():  # DuckDB quotes some names
            by_part.setdefault(part, set()).update(words)

    def named(part: Any, words: set[str]) -> Any:
        if isinstance(part, list):
            return [named(part[0], words)]
        if not isinstance(part, dict):
            return part
        kept = {key: named(value, words) for key, value in part.items() if key in words}
        return kept or part

    kept = {key: named(value, by_part[key]) for key, value in whole.items() if key in by_part}
    # a process is named by its ocid, and a release by its id and date, wherever the tables come from
    return json.dumps(kept | {key: whole[key] for key in ("ocid", "id", "date")}, separators=(",", ":"))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


@cache
def _macro_words() -> dict[str, set[str]]:
    """The words of each normalising macro's body, by the macro's name."""
    return {name: _words(body) for name, (_, body) in macro_definitions(macro_sql()).items()}


def _encoding_problem(path: Path) -> InputError | None:
    """Return the error for a file (plain or gzipped) that DuckDB's reader cannot read as UTF-8 JSON lines, judged
    from its start: a UTF-8 byte order mark, UTF-16 text, or bytes that are not UTF-8."""
    with open_file(path) as handle:
        start = handle.read(1 << 16)
    if start.startswith(BYTE_ORDER_MARK):
        return InputError(
            f"{path} starts with a byte order mark, which is not read straight",
            "load it with `tenderwatch load` (which skips the mark), or save it without one",
        )
    problem = not_utf8(start, partial=True)
    if problem is not None:
        if looks_like_utf16(start):  # a load refuses the whole of it too
            return InputError(f"{path} is {problem}", "save it as UTF-8")
        return InputError(
            f"{path} is {problem}",
            f"{OTHER_ENCODING}: save it as UTF-8, or load it with `tenderwatch load`, which leaves out only the lines "
            "that are not UTF-8",
        )
    return None


def _in_list(values: Collection[str]) -> str:
    """Return SQL text of a parenthesised list of text literals."""
    return "(" + ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values)) + ")"


def _sql_type(part: Any) -> str:
    """Return the DuckDB type of a part of the structure (a JSON structure as ``json_transform`` takes it)."""
    if isinstance(part, list):
        return _sql_type(part[0]) + "[]"
    if isinstance(part, dict):
        return "STRUCT(" + ", ".join(f'"{key}" {_sql_type(value)}' for key, value in part.items()) + ")"
    return str(part)


def table_statements(tables: Collection[str], columns: Mapping[str, Collection[str]] | None = None) -> dict[str, str]:
    """Return the statement that fills each of ``tables`` (in the documented order): those given in ``columns``
    narrowed to those columns."""
    columns = columns or {}
    return {
        table: narrowed_sql(table, tuple(columns[table])) if table in columns else table_sql(table)
        for table in NORMALISED_TABLES
        if table in tables
    }


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


@dataclass
class FileReading:
    """What reading files of compiled releases found: the processes read, and the lines left out, by reason."""

    processes: int
    left_out: dict[str, int]


# Why a line of a file of compiled releases was left out, by the code normalise_file gives it.
LEFT_OUT = {
    "json": "not JSON",
    "object": "not JSON objects",
    "ocid": "without an ocid",
    "earlier": "earlier compiled releases of a process given again (the latest is read)",
}


def normalise_file(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    tables: Collection[str],
    *,
    columns: Mapping[str, Collection[str]] | None = None,
    item_scopes: Collection[str] | None = None,
    step: Callable[[], None] | None = None,
) -> FileReading:
    """Fill ``tables`` (normalised tables, empty) straight from JSON lines files of compiled releases, one process
    a line, plain or gzipped, without a raw store: as the tables of a store are filled, each line read as a
    publisher's compiled release given alone. A line that is not a JSON object with an ocid is left out and
    counted; so is a compiled release of a process given again by a later one. A table given in ``columns`` gets
    only those of its columns (the others stay NULL), and the fields of a line that only the others read are not
    parsed (see :func:`narrowed_sql`). With ``item_scopes``, the items (and their classifications) of only those
    scopes are filled. ``step`` is called once the files are read, and once each table is filled.

    :raises InputError: if a file is missing, holds no compiled release, or gives a process on more than one line
        not all tagged ``compiled`` (a file of releases, which ``tenderwatch load`` compiles)
    """
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file", "give a JSON lines file of compiled releases")
        if path.suffix.lower() == ".zip":
            raise InputError(
                f"{path}: a zip file is not read straight", "unzip it first, or load it with `tenderwatch load`"
            )
        if (problem := _encoding_problem(path)) is not None:
            raise problem
    names = "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"
    shown = ", ".join(str(path) for path in paths)
    statements = table_statements(tables, columns)
    if item_scopes is not None:
        # DuckDB takes the filter into each scope's branch of the statement, and drops the branches it rules out
        for table in ("items", "item_classifications"):
            if table in statements:
                statements[table] = f"SELECT * FROM ({statements[table]}) WHERE scope IN {_in_list(item_scopes)}"
    # read with the structure the tables need, and the tags (each line is parsed once)
    shape = json.loads(structure(tuple(statements.values()))) | {"tag": "JSON"}
    rows = """
        CREATE OR REPLACE TEMP TABLE tmp_releases AS
        SELECT
            nullif(line.r.ocid, '') AS ocid, 'publisher' AS method, 1 AS release_count,
            CASE json_type(line.r.tag)
                WHEN 'ARRAY' THEN line.r.tag::VARCHAR[]
                WHEN 'VARCHAR' THEN [line.r.tag ->> '$']
                ELSE []::VARCHAR[]
            END AS release_tags,
            line.r.date AS first_release_date, line.r.date AS last_release_date, line.r.id AS latest_release_id,
            NULL::VARCHAR AS latest_package_hash, line.r, {problem} AS problem
        FROM ({lines}) AS line
    """
    # DuckDB's JSON reader typing each line as it parses it is a quarter faster than reading lines and then
    # transforming them, but stops at a line it cannot type (not JSON, not an object, or a field of another
    # shape than the structure's, which the transform makes NULL); the file is then read again that way
    typed = ", ".join(f"'{key}': '{_sql_type(part)}'" for key, part in shape.items())
    try:
        con.execute(
            rows.format(
                problem="if(nullif(line.r.ocid, '') IS NULL, 'ocid', NULL)",
                lines=f"SELECT r FROM read_json({names}, format = 'newline_delimited', columns = {{{typed}}}) AS r",
            )
        )
    except (duckdb.InvalidInputException, duckdb.IOException):
        try:
            con.execute(
                rows.format(
                    # a line is parsed once more only when it is left out
                    problem="""CASE
                        WHEN line.json IS NULL THEN 'json'
                        WHEN nullif(line.r.ocid, '') IS NULL THEN if(json_type(line.json) = 'OBJECT', 'ocid', 'object')
                    END""",
                    lines=f"""SELECT json, json_transform(json, '{json.dumps(shape, separators=(",", ":"))}') AS r
                        FROM read_ndjson_objects({names}, ignore_errors = true)""",
                )
            )
        except (duckdb.InvalidInputException, duckdb.IOException) as error:  # e.g. a .gz file that is not gzip
            message = str(error).splitlines()[0]
            raise InputError(f"cannot read {shown} ({message})", "give JSON lines files, plain or gzipped") from error
    left_out = dict(
        con.execute(
            "SELECT problem, count(*) FROM tmp_releases WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem"
        ).fetchall()
    )
    if left_out:
        con.execute("DELETE FROM tmp_releases WHERE problem IS NOT NULL")
    processes = con.execute("SELECT count(*) FROM tmp_releases").fetchall()[0][0]
    if not processes:
        con.execute("DROP TABLE tmp_releases")
        raise InputError(
            f"{shown} holds no compiled releases (JSON lines, one JSON object with an ocid a line)",
            "for release or record packages, load them with `tenderwatch load`, then run `tenderwatch flags`",
        )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_repeated AS
        SELECT ocid, count(*) AS lines, bool_and(list_contains(release_tags, 'compiled')) AS compiled
        FROM tmp_releases GROUP BY ocid HAVING lines > 1
        """
    )
    releases = con.execute(
        "SELECT ocid, lines FROM tmp_repeated WHERE NOT compiled ORDER BY lines DESC, ocid LIMIT 1"
    ).fetchall()
    if releases:
        con.execute("DROP TABLE tmp_releases")
        ocid, lines = releases[0]
        raise InputError(
            f"{shown} gives the process {ocid} on {lines} lines, not as compiled releases: it holds releases",
            "load it with `tenderwatch load`, which compiles each process's releases, then run `tenderwatch flags`",
        )
    # as a store does, the latest of a process's compiled releases is the one read (by date, then by release id;
    # a store takes the later line of two with the same date)
    earlier = [
        row[0]
        for row in con.execute(
            """
            SELECT rowid FROM (
                SELECT rowid, row_number() OVER (
                    PARTITION BY ocid ORDER BY first_release_date DESC NULLS LAST, latest_release_id DESC
                ) AS n
                FROM tmp_releases WHERE ocid IN (SELECT ocid FROM tmp_repeated)
            ) WHERE n > 1
            """
        ).fetchall()
    ]
    if earlier:  # a list of row ids, not a subquery: a join would read every row again
        con.execute("DELETE FROM tmp_releases WHERE list_contains(?, rowid)", [earlier])
        left_out["earlier"] = len(earlier)
        processes -= len(earlier)
    con.execute("DROP TABLE tmp_repeated")
    done = step or (lambda: None)
    done()
    for table, statement in statements.items():
        con.execute(f"INSERT INTO {table} BY NAME ({statement})")
        done()
    con.execute("DROP TABLE tmp_releases")
    return FileReading(processes, left_out)
