"""The checkpoints of a sync, in the tables ``sync_windows`` and ``sync_pages``.

Each page's checkpoint is a list of SQL statements handed to :meth:`IngestSession.add_document`, which runs them
in the transaction that stores the page's releases: the store never holds a page's releases without its
checkpoint, nor the reverse.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from tenderwatch.sources.base import Window

Statement = tuple[str, list[Any]]

_SAME_WINDOW = "source = ? AND feed = ? AND window_start IS NOT DISTINCT FROM ? AND window_end IS NOT DISTINCT FROM ?"


def _key(source: str, window: Window) -> list[Any]:
    return [source, window.feed, window.start, window.end]


def _table_definitions() -> dict[str, list[tuple[str, str]]]:
    package = resources.files("tenderwatch.sources")
    result = {}
    for row in csv.DictReader(package.joinpath("tables.csv").read_text(encoding="utf-8").splitlines()):
        text = package.joinpath(f"columns/{row['table']}.csv").read_text(encoding="utf-8")
        result[row["table"]] = [(item["column"], item["type"]) for item in csv.DictReader(text.splitlines())]
    return result


def ensure_tables(con: Any) -> None:
    """Create the sync tables from their documented columns when the store lacks them (the store creates them
    itself when the "sources" table group is registered)."""
    existing = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    for name, columns in _table_definitions().items():
        if name not in existing:
            described = ", ".join(f'"{column}" {kind}' for column, kind in columns)
            con.execute(f"CREATE TABLE {name} ({described})")


@dataclass
class WindowRow:
    """The checkpoint of one window."""

    window: Window
    status: str
    next_url: str | None
    position: int
    content_hash: str | None
    etag: str | None
    last_modified: str | None
    pages: int
    releases: int
    quarantined: int


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _row(values: tuple[Any, ...]) -> WindowRow:
    feed, start, end, status, next_url, position, content_hash, etag, last_modified, pages, releases, bad = values
    return WindowRow(
        Window(_utc(start), _utc(end), feed),
        status,
        next_url,
        position or 0,
        content_hash,
        etag,
        last_modified,
        pages or 0,
        releases or 0,
        bad or 0,
    )


_COLUMNS = (
    "feed, window_start, window_end, status, next_url, position, content_hash, etag, last_modified, pages, "
    "releases, quarantined"
)


def get_window(con: Any, source: str, window: Window) -> WindowRow | None:
    """Return the checkpoint of a window, if it has one."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM sync_windows WHERE {_SAME_WINDOW}", _key(source, window)).fetchall()
    return _row(rows[0]) if rows else None


def children(con: Any, source: str, window: Window) -> list[Window]:
    """Return the smaller windows a suspect window was split into, oldest first."""
    rows = con.execute(
        f"""
        SELECT {_COLUMNS} FROM sync_windows
        WHERE source = ? AND feed = ? AND parent_start = ? AND parent_end = ?
        ORDER BY window_start
        """,
        _key(source, window),
    ).fetchall()
    return [_row(row).window for row in rows]


def unfinished(con: Any, source: str) -> list[Window]:
    """Return the windows of a dated source begun and not finished by earlier syncs (not the smaller windows of
    a split one), oldest first."""
    rows = con.execute(
        f"""
        SELECT {_COLUMNS} FROM sync_windows
        WHERE source = ? AND feed = '' AND status <> 'done' AND parent_start IS NULL
        ORDER BY window_start
        """,
        [source],
    ).fetchall()
    return [_row(row).window for row in rows]


def synced_until(con: Any, source: str) -> datetime | None:
    """Return the end of the latest window of a dated source that a sync has begun, if any."""
    value = con.execute(
        "SELECT max(window_end) FROM sync_windows WHERE source = ? AND feed = '' AND parent_start IS NULL", [source]
    ).fetchall()[0][0]
    return _utc(value)


def start_window(source: str, window: Window, first_url: str, parent: Window | None = None) -> Statement:
    """Return the statement that records a window as begun, its first page still to fetch."""
    return (
        """
        INSERT INTO sync_windows (source, feed, window_start, window_end, parent_start, parent_end, status, next_url,
                                  position, pages, releases, quarantined, started_at)
        VALUES (?, ?, ?, ?, ?, ?, 'running', ?, 0, 0, 0, 0, now())
        """,
        [*_key(source, window), parent.start if parent else None, parent.end if parent else None, first_url],
    )


def restart_window(source: str, window: Window, first_url: str) -> Statement:
    """Return the statement that begins a finished window (a URL feed) again from its first page."""
    return (
        f"""
        UPDATE sync_windows SET status = 'running', next_url = ?, position = 0, content_hash = NULL, pages = 0,
               releases = 0, quarantined = 0, note = NULL, started_at = now(), finished_at = NULL
        WHERE {_SAME_WINDOW}
        """,
        [first_url, *_key(source, window)],
    )


def advance(
    source: str,
    window: Window,
    *,
    next_url: str | None,
    releases: int,
    quarantined: int = 0,
    position: int | None = None,
    content_hash: str | None = None,
) -> Statement:
    """Return the statement that records one more page (or piece) of a window read, and where to go on."""
    return (
        f"""
        UPDATE sync_windows SET next_url = ?, pages = pages + 1, releases = releases + ?,
               quarantined = quarantined + ?, position = coalesce(?, position),
               content_hash = coalesce(?, content_hash)
        WHERE {_SAME_WINDOW}
        """,
        [next_url, releases, quarantined, position, content_hash, *_key(source, window)],
    )


def finish(
    source: str,
    window: Window,
    *,
    note: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Statement:
    """Return the statement that records a window as done."""
    return (
        f"""
        UPDATE sync_windows SET status = 'done', next_url = NULL, note = coalesce(?, note), etag = ?,
               last_modified = ?, finished_at = now()
        WHERE {_SAME_WINDOW}
        """,
        [note, etag, last_modified, *_key(source, window)],
    )


def forget(source: str, window: Window) -> Statement:
    """Return the statement that forgets a window and every smaller window inside it, to read it again."""
    return (
        "DELETE FROM sync_windows WHERE source = ? AND feed = ? AND window_start >= ? AND window_end <= ?",
        _key(source, window),
    )


def mark_split(source: str, window: Window, note: str) -> Statement:
    """Return the statement that records a window as suspect, to be read again as smaller windows."""
    return (
        f"UPDATE sync_windows SET status = 'split', next_url = NULL, note = ? WHERE {_SAME_WINDOW}",
        [note, *_key(source, window)],
    )


@dataclass
class PageRecord:
    """What is recorded of one fetched page."""

    source: str
    window: Window
    page: int
    url: str
    member: str | None
    content_type: str
    raw: bytes
    sha256: str
    releases: int | None
    next_url: str | None
    outcome: str
    reason: str | None
    keep: bool

    def statement(self) -> Statement:
        """Return the statement that records the page (with its bytes, when they are kept)."""
        return (
            """
            INSERT INTO sync_pages (source, feed, window_start, window_end, page, url, member, fetched_at,
                                    content_type, bytes, sha256, releases, next_url, outcome, reason, raw, load_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, (SELECT max(load_id) FROM loads))
            """,
            [
                *_key(self.source, self.window),
                self.page,
                self.url,
                self.member,
                self.content_type,
                len(self.raw),
                self.sha256,
                self.releases,
                self.next_url,
                self.outcome,
                self.reason,
                gzip.compress(self.raw, mtime=0) if self.keep else None,
            ],
        )
