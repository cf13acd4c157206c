"""`tenderwatch sync` and `tenderwatch sources` as a user runs them: the real command in a subprocess, against the
fake publishers on 127.0.0.1; killed mid-sync with SIGKILL, it resumes and ends with the same store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests import query, table_contents
from tests.sources import FakeApis

DAY = ("--since", "2026-09-03", "--until", "2026-09-04")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tenderwatch", *args]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TENDERWATCH_WORKERS": "1"}
    return subprocess.run(command(*args), capture_output=True, text=True, env=env, check=False, timeout=120)


def settings_file(tmp_path: Path, apis: FakeApis, page_size: int = 1) -> str:
    path = tmp_path / "tenderwatch.toml"
    path.write_text(
        f"""
analyse_after_load = false
publish_after_load = false

[sources]
retry_after_default = 0.05
backoff_base = 0.01
backoff_max = 0.02
max_attempts = 3

[sources.uk-find-a-tender]
base_url = "{apis.url}/api/1.0/"
min_interval = 0
page_size = {page_size}
""",
        encoding="utf-8",
    )
    return str(path)


def test_sources_lists_every_source_with_where_it_reads_and_its_documentation() -> None:
    listed = run("sources")
    page = run("sources", "uk-find-a-tender")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line for line in lines if not line.startswith(" ")] == [
        "ocds-url: Any OCDS publisher",
        "uk-contracts-finder: UK Contracts Finder",
        "uk-find-a-tender: UK Find a Tender",
    ]
    assert "  reads: https://www.find-tender.service.gov.uk/api/1.0/" in lines
    assert "  docs: docs/sources/uk-find-a-tender.md, or `tenderwatch sources uk-find-a-tender`" in lines
    assert page.returncode == 0
    assert page.stdout.startswith("# UK Find a Tender (`uk-find-a-tender`)")
    assert "## Quirks, and what tenderwatch does about them" in page.stdout


def test_mistakes_are_one_line_saying_what_to_do(tmp_path: Path) -> None:
    db = str(tmp_path / "store.duckdb")

    nothing = run("sync", "--db", db)
    bad_date = run("sync", "uk-find-a-tender", "--since", "2026-13-01", "--db", db)

    assert (nothing.returncode, nothing.stderr) == (
        1,
        "error: name a SOURCE to sync, or give --all: see `tenderwatch sources` for the sources there are\n",
    )
    assert (bad_date.returncode, bad_date.stderr) == (
        1,
        "error: --since '2026-13-01' is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM (UK time for the UK "
        "sources)\n",
    )


def test_a_window_that_keeps_failing_ends_with_one_line_naming_it(apis: FakeApis, tmp_path: Path) -> None:
    apis.fault("status", status=503, match="updatedFrom=2026-09-03T05", times=3)

    result = run(
        "sync",
        "uk-find-a-tender",
        *DAY,
        "--db",
        str(tmp_path / "s.duckdb"),
        "--settings",
        settings_file(tmp_path, apis, 100),
    )

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: uk-find-a-tender, window 2026-09-03 06:00–12:00: HTTP 503 (unavailable), 3 attempts made: the "
        "windows already read are kept; run the same sync again later to retry"
    )
    assert "uk-find-a-tender 2026-09-03 00:00–06:00: 1 page, 0 releases" in result.stderr
    assert result.stdout.startswith("uk-find-a-tender: 0 new, 0 changed, 0 unchanged, 0 quarantined releases (1 of 4")


def test_a_sync_killed_mid_way_resumes_and_ends_with_the_store_of_an_uninterrupted_one(
    apis: FakeApis, tmp_path: Path
) -> None:
    settings = settings_file(tmp_path, apis)
    killed, straight = tmp_path / "killed.duckdb", tmp_path / "straight.duckdb"
    apis.delay = 0.1
    env = {**os.environ, "TENDERWATCH_WORKERS": "1"}
    process = subprocess.Popen(
        command("sync", "uk-find-a-tender", *DAY, "--db", str(killed), "--settings", settings),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(apis.seen) < 7 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.kill()
    process.wait()
    assert 7 <= len(apis.seen) < 14, "the sync was not killed mid-way"
    apis.delay = 0

    before = len(apis.seen)
    resumed = run("sync", "uk-find-a-tender", *DAY, "--db", str(killed), "--settings", settings)
    on_resuming = len(apis.seen) - before
    clean = run("sync", "uk-find-a-tender", *DAY, "--db", str(straight), "--settings", settings)
    in_full = len(apis.seen) - before - on_resuming

    assert resumed.returncode == clean.returncode == 0, resumed.stderr + clean.stderr
    assert in_full == 14
    assert on_resuming <= in_full - 6  # the pages committed before the kill are not asked for again
    assert "10 new" in clean.stdout
    kept, expected = table_contents(killed), table_contents(straight)
    assert kept.pop("sync_pages") and expected.pop("sync_pages")
    assert kept == expected
    assert len(kept["raw_releases"]) == 10
    pages = "SELECT window_start, page, url, outcome, sha256, next_url, releases FROM sync_pages ORDER BY ALL"
    assert query(killed, pages) == query(straight, pages)
