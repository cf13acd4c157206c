"""Rewriting SELECT statements through DuckDB's own parser.

``json_serialize_sql`` gives the tree of a statement as JSON and ``json_deserialize_sql`` writes a tree back as
SQL, so a statement can be changed by its parts (an entry of its select list) rather than by its text. Anything
the parser cannot give as a tree is left as it is by the callers.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

import duckdb

_lock = threading.Lock()


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    """Return the in-memory connection that parses and writes statements (made on first use)."""
    return duckdb.connect()


def _execute(sql: str, value: str) -> Any:
    with _lock:
        return _parser().execute(sql, [value]).fetchall()[0][0]


def parse(statement: str) -> dict[str, Any] | None:
    """Return the tree of one SELECT statement (its ``node``), or None if DuckDB cannot give it."""
    try:
        tree = json.loads(_execute("SELECT json_serialize_sql(?)", statement))
    except duckdb.Error:
        return None
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    return tree["statements"][0]["node"]


def render(node: dict[str, Any]) -> str | None:
    """Return the SQL of a tree :func:`parse` gave (changed or not), or None if DuckDB cannot write it faithfully.

    What DuckDB writes is parsed again and must give the same tree: its writer does not always keep the meaning
    (``a CROSS JOIN b LEFT JOIN c`` comes back as ``a, b LEFT JOIN c``, which joins ``b`` and ``c`` first).
    """
    tree = json.dumps({"error": False, "statements": [{"node": node}]})
    try:
        text = _execute("SELECT json_deserialize_sql(?::JSON)", tree)
    except duckdb.Error:
        return None
    again = parse(text)
    return text if again is not None and _located_nowhere(again) == _located_nowhere(node) else None


def _located_nowhere(part: Any) -> Any:
    """Return a tree without the places in the text its parts came from."""
    if isinstance(part, dict):
        return {key: _located_nowhere(value) for key, value in part.items() if key != "query_location"}
    if isinstance(part, list):
        return [_located_nowhere(value) for value in part]
    return part


def branches(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Return the SELECT nodes whose select lists give the rows of a query (each branch of its unions), or None
    if one of them is something else."""
    if node.get("type") == "SET_OPERATION_NODE" and node.get("setop_type") == "UNION" and node.get("setop_all"):
        left, right = branches(node["left"]), branches(node["right"])
        return None if left is None or right is None else left + right
    return [node] if node.get("type") == "SELECT_NODE" else None


def output_name(entry: dict[str, Any]) -> str:
    """Return the name of the column an entry of a select list gives: its alias, else the column it names ("" if
    neither)."""
    return entry.get("alias") or (entry.get("column_names") or [""])[-1]


def case_when(condition: dict[str, Any], value: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the tree of ``CASE WHEN condition THEN value END AS name``."""

    def bare(part: dict[str, Any]) -> dict[str, Any]:
        return {**part, "alias": ""}

    return {
        "class": "CASE",
        "type": "CASE_EXPR",
        "alias": name,
        "query_location": 0,
        "case_checks": [{"when_expr": bare(condition), "then_expr": bare(value)}],
        "else_expr": {
            "class": "CONSTANT",
            "type": "VALUE_CONSTANT",
            "alias": "",
            "query_location": 0,
            "value": {"type": {"id": "NULL", "type_info": None}, "is_null": True},
        },
    }
