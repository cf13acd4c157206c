"""Tests of the track-record register and of the events derived from the notices, with helpers they share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from tenderwatch import Workspace
from tenderwatch.records.derived import build_derived_events


def derive(workspace: Workspace) -> list[dict[str, Any]]:
    """Rebuild the derived events in one transaction, as the workspace does after a load; return them by ocid."""
    con = workspace.store.con
    con.execute("BEGIN TRANSACTION")
    build_derived_events(con)
    con.execute("COMMIT")
    return rows(con, "SELECT * FROM derived_events ORDER BY ocid, event_type, party_id, event_date")


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Return the rows of a query as dicts."""
    result = con.execute(sql, params or [])
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def load_releases(workspace: Workspace, folder: Path, releases: list[dict[str, Any]]) -> None:
    """Write releases as a JSON lines file and load it."""
    path = folder / "releases.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in releases), encoding="utf-8")
    result = workspace.load([str(path)])
    assert result.rejected == 0, [file.line() for file in result.files]
