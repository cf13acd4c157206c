"""Contracts Finder, synced from a real HTTP server on 127.0.0.1 serving the real 2020 awards in the OCDS search's
shape, with its encoding, HTML entities and "too many requests" answers."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from collections.abc import Callable

from tenderwatch import Workspace
from tenderwatch.sources import sync
from tenderwatch.sources.runner import SyncResult
from tenderwatch.sources.settings import SourcesSettings
from tests.sources import CF_PATH, FakeApis

Settings = Callable[..., SourcesSettings]


def sync_half_year(workspace: Workspace, settings: SourcesSettings) -> SyncResult:
    return sync(workspace, ["uk-contracts-finder"], since="2020-01-01", until="2020-07-01", settings=settings)


def test_half_a_year_is_read_in_fifteen_day_windows_and_every_release_is_stored_once(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    result = sync_half_year(workspace, sources_settings(cf={"page_size": 7}))

    con = workspace.store.con
    stored = Counter(con.execute("SELECT ocid, release_id FROM raw_releases").fetchall())
    dated = Counter((entry.release["ocid"], entry.release["id"]) for entry in apis.cf if entry.release["date"])
    assert stored == dated
    assert con.execute("SELECT code FROM rejects").fetchall() == [("no-date",)]
    summary = result.sources[0]
    assert (summary.new, summary.changed, summary.quarantined, summary.windows) == (99, 0, 1, 13)
    assert summary.unchanged > 0  # the last day of a window is asked for again by the next one
    first = [dict(seen.query) for seen in apis.requests_to(CF_PATH) if "cursor" not in dict(seen.query)]
    assert first[:2] == [
        {"limit": "7", "publishedFrom": "2020-01-01", "publishedTo": "2020-01-15"},
        {"limit": "7", "publishedFrom": "2020-01-15", "publishedTo": "2020-01-30"},
    ]
    # Entities are decoded in the stored releases; the pages as received keep them.
    texts = [row[0] for row in con.execute("SELECT data FROM raw_releases").fetchall()]
    assert not any("&#039;" in text or "&amp;" in text or "&pound;" in text for text in texts)
    assert any("COULTON'S BREAD LIMITED" in text for text in texts)
    pages = [gzip.decompress(row[0]) for row in con.execute("SELECT raw FROM sync_pages").fetchall()]
    assert any(b"COULTON&#039;S BREAD LIMITED" in page for page in pages)


def test_iso_8859_1_bytes_are_read_and_rate_limit_answers_are_waited_out(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("latin1", match="publishedFrom=2020-02-29", times=5)
    apis.fault("status", status=403, body=b"<html>Request forbidden</html>", match="publishedFrom=2020-01-15")
    apis.fault("html", match="publishedFrom=2020-01-30")
    settings = sources_settings(cf={"page_size": 20, "forbidden_wait": 0.2})

    result = sync_half_year(workspace, settings)

    summary = result.sources[0]
    assert (summary.error, summary.retries, summary.new) == (None, 2, 99)
    requests = apis.requests_to(CF_PATH)
    waits = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    assert sorted(waits)[-2] >= 0.2
    con = workspace.store.con
    repaired = con.execute("SELECT reason FROM sync_pages WHERE outcome = 'repaired'").fetchall()
    assert repaired and all(
        reason.startswith("bytes that are not UTF-8 read as Windows-1252") for (reason,) in repaired
    )
    texts = [row[0] for row in con.execute("SELECT data FROM raw_releases").fetchall()]
    assert any("circa £320,000 pounds" in text for text in texts)


def test_sync_all_reads_every_enabled_source_and_goes_on_when_one_fails(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("status", status=503, match="ocdsReleasePackages", times=3)
    settings = sources_settings(enabled=["uk-find-a-tender", "uk-contracts-finder"], max_attempts=3)

    result = sync(workspace, all_sources=True, since="2020-01-01", until="2020-02-01", settings=settings)

    assert [summary.source for summary in result.sources] == ["uk-find-a-tender", "uk-contracts-finder"]
    assert result.errors == [
        "uk-find-a-tender, window 2020-01-01 00:00–06:00: HTTP 503 (unavailable), 3 attempts made: the windows "
        "already read are kept; run the same sync again later to retry"
    ]
    assert result.sources[1].error is None
    assert result.sources[1].new > 0
    assert result.processes == result.sources[1].new
