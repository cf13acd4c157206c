"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
SCHEMA = SHARED / "data" / "schema"

# Columns that record when or in which run something happened; everything else must match between stores.
VOLATILE_COLUMNS = {
    "seq",
    "load_id",
    "loaded_at",
    "rejected_at",
    "started_at",
    "finished_at",
    "ran_at",
    "computed_at",
    "added_at",
    "fetched_at",
    "run_id",
}


def run_cli(
    *args: str,
    db: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `tenderwatch` command in a subprocess and return its result (text)."""
    full_env = {**os.environ, "TENDERWATCH_WORKERS": "1", **(env or {})}
    command = [sys.executable, "-m", "tenderwatch", *args]
    if db is not None:
        command += ["--db", str(db)]
    result = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=cwd,
        check=False,
        timeout=600,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def table_contents(path: Path, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Return every row of every table (or of ``tables``), sorted, without the volatile columns."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = tables or [
            row[0]
            for row in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
            if row[0] not in ("loads", "meta")
        ]
        contents = {}
        for name in names:
            columns = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [name]
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS
            ]
            quoted = ", ".join(f'"{column}"::VARCHAR' for column in columns)
            contents[name] = sorted(
                con.execute(f"SELECT {quoted} FROM {name}").fetchall(), key=lambda row: tuple(str(v) for v in row)
            )
        return contents
    finally:
        con.close()


def uk_time(day: str, clock: str = "00:00:00") -> str:
    """Return a day's time as UK publishers write it, with that day's UK offset (``2021-08-31T23:59:59+01:00``
    in summer, ``2021-12-31T23:59:59Z`` in winter)."""
    offset = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo("Europe/London")).utcoffset()
    return f"{day}T{clock}{'+01:00' if offset else 'Z'}"


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run a read-only query against a store."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@contextlib.contextmanager
def serving(db: Path, env: dict[str, str] | None = None, wait: float = 90) -> Iterator[str]:
    """Run the real `tenderwatch serve` for the store ``db`` on a free local port; yield its address."""
    import httpx
    import pytest

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "serve", "--db", str(db), "--port", str(port)],
        env={**os.environ, "TENDERWATCH_WORKERS": "1", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not start: " + process.stderr.read().decode()[-2000:])
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
