"""Find a Tender, synced from a real HTTP server on 127.0.0.1 that answers as the API does with real releases, and
injects every fault the API is known for. After each, the store holds every release exactly once."""

from __future__ import annotations

import copy
import gzip
import itertools
import socket
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from tenderwatch import Workspace, __version__
from tenderwatch.sources import sync
from tenderwatch.sources.runner import SyncResult
from tenderwatch.sources.settings import SourcesSettings
from tests.sources import FTS_PATH, Entry, FakeApis, day_of

DAY = date(2026, 9, 3)
Settings = Callable[..., SourcesSettings]


def sync_day(workspace: Workspace, settings: SourcesSettings, **options: Any) -> SyncResult:
    return sync(workspace, ["uk-find-a-tender"], since="2026-09-03", until="2026-09-04", settings=settings, **options)


def stored(workspace: Workspace) -> Counter[tuple[str, str]]:
    rows = workspace.store.con.execute("SELECT ocid, release_id FROM raw_releases").fetchall()
    return Counter((ocid, release_id) for ocid, release_id in rows)


def published(apis: FakeApis) -> Counter[tuple[str, str]]:
    return Counter((entry.release["ocid"], entry.release["id"]) for entry in day_of(apis.fts, DAY))


def windows_asked(apis: FakeApis) -> list[tuple[str, str]]:
    return [
        (dict(seen.query)["updatedFrom"], dict(seen.query)["updatedTo"])
        for seen in apis.requests_to(FTS_PATH)
        if "cursor" not in dict(seen.query)
    ]


def test_a_real_day_is_asked_for_exactly_as_the_api_expects(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    settings = sources_settings(fts={"min_interval": 0.1}, retry_after_default=30)

    result = sync_day(workspace, settings)

    # connectors.md: ocdsReleasePackages, windows of at most 6 hours in UK local time (no offset, 19 characters),
    # a small overlap, limit 100, no `stages`, then links.next as given; one request at a time, paced.
    requests = apis.requests_to(FTS_PATH)
    assert [seen.path for seen in apis.seen] == [FTS_PATH] * 4
    assert [[key for key, _ in seen.query] for seen in requests] == [["updatedFrom", "updatedTo", "limit"]] * 4
    assert windows_asked(apis) == [
        ("2026-09-02T23:55:00", "2026-09-03T06:00:00"),
        ("2026-09-03T05:55:00", "2026-09-03T12:00:00"),
        ("2026-09-03T11:55:00", "2026-09-03T18:00:00"),
        ("2026-09-03T17:55:00", "2026-09-04T00:00:00"),
    ]
    assert all(dict(seen.query)["limit"] == "100" for seen in requests)
    # Paced at 0.1 s between starts. The server notes each arrival a little after the start, by a delay that varies
    # on a busy machine, so one gap can look shorter than 0.1 s while the whole span cannot by more than one delay.
    assert requests[-1].at - requests[0].at >= 3 * 0.1 - 0.03
    assert all(later.at - earlier.at >= 0.05 for earlier, later in itertools.pairwise(requests))
    assert {seen.headers["user-agent"] for seen in requests} == {
        f"tenderwatch/{__version__} (open contracting data reader)"
    }
    assert {seen.headers["accept"] for seen in requests} == {"application/json"}
    assert stored(workspace) == published(apis)
    summary = result.sources[0]
    assert summary.error is None
    assert summary.line().startswith(
        "uk-find-a-tender: 10 new, 0 changed, 0 unchanged, 0 quarantined releases (4 of 4 windows read, 4 pages, "
    )
    processes = workspace.store.con.execute("SELECT count(*) FROM processes").fetchall()[0][0]
    assert processes == len({ocid for ocid, _ in published(apis)})


def test_rate_limits_and_server_errors_are_waited_out(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("status", status=429, headers={"Retry-After": "1"}, body=b"Too Many Requests")
    apis.fault("status", status=429, body=b"Too Many Requests")
    apis.fault("status", status=503, match="updatedFrom=2026-09-03T11")
    apis.fault("status", status=504, match="updatedFrom=2026-09-03T17")
    settings = sources_settings(fts={"page_size": 2}, retry_after_default=0.3)

    result = sync_day(workspace, settings)

    first = apis.requests_to(FTS_PATH)[:3]
    assert first[1].at - first[0].at >= 1.0  # Retry-After: 1
    assert first[2].at - first[1].at >= 0.3  # no Retry-After: retry_after_default
    assert result.sources[0].retries == 4
    assert result.sources[0].error is None
    assert stored(workspace) == published(apis)


def test_slow_answers_broken_connections_and_bodies_cut_short_are_fetched_again(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("slow", seconds=1.0, match="updatedFrom=2026-09-03T05")
    apis.fault("reset", match="cursor=")
    apis.fault("truncate", match="updatedFrom=2026-09-03T11")
    settings = sources_settings(fts={"page_size": 2}, timeout=0.4)

    result = sync_day(workspace, settings)

    summary = result.sources[0]
    assert (summary.error, summary.retries, summary.quarantined_pages) == (None, 3, 0)
    assert stored(workspace) == published(apis)


def test_invalid_json_is_fetched_again_then_quarantined_and_the_window_goes_on(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    # Once: the second copy is whole. Twice, on a page that is not the last: quarantined, and since the damage
    # took its next link, the window is read again in halves, which find the releases of the lost page.
    apis.fault("invalid", match="updatedFrom=2026-09-03T05")
    apis.fault(
        "invalid", match="updatedFrom=2026-09-03T11:55:00&updatedTo=2026-09-03T18:00:00&limit=2&cursor=", times=2
    )
    settings = sources_settings(fts={"page_size": 2})

    result = sync_day(workspace, settings)

    summary = result.sources[0]
    assert (summary.error, summary.quarantined_pages, summary.windows_split) == (None, 1, 1)
    assert stored(workspace) == published(apis)
    con = workspace.store.con
    url, reason, raw = con.execute("SELECT url, reason, raw FROM sync_pages WHERE outcome = 'quarantined'").fetchall()[
        0
    ]
    assert "updatedFrom=2026-09-03T11:55:00" in url and "cursor=" in url
    assert reason.startswith("invalid JSON: ")
    assert gzip.decompress(raw).startswith(b'{\n  "uri"')
    assert (
        con.execute("SELECT count(*) FROM rejects WHERE code = 'invalid-json' AND source = ?", [url]).fetchall()[0][0]
        == 1
    )
    assert con.execute(
        "SELECT status, note FROM sync_windows WHERE parent_start IS NULL AND note IS NOT NULL"
    ).fetchall() == [("done", "a page that is not JSON had no next link to go on with: read again in halves")]


def test_the_1e9999_number_is_repaired_and_never_reaches_the_store(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("overflow", match="updatedFrom=2026-09-03T05")

    result = sync_day(workspace, sources_settings())

    assert result.sources[0].repaired_pages == 1
    assert stored(workspace) == published(apis)
    con = workspace.store.con
    outcome, reason, raw = con.execute(
        "SELECT outcome, reason, raw FROM sync_pages WHERE outcome <> 'stored'"
    ).fetchall()[0]
    assert (outcome, reason) == ("repaired", "1 number(s) too large for JSON (such as 1e9999) written as 9999999")
    assert b'"maximumLotsBidPerSupplier": 1e9999' in gzip.decompress(raw)
    packages = [row[0] for row in con.execute("SELECT metadata FROM packages").fetchall()]
    assert any('"maximumLotsBidPerSupplier":9999999' in metadata for metadata in packages)
    assert not any("1e9999" in metadata or "Infinity" in metadata for metadata in packages)


def test_a_full_page_without_a_next_link_makes_the_window_suspect_and_it_is_read_again_in_halves(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    # Issue #1306 of Kingfisher Collect: the second page came back without links.next.
    apis.fault("no-next", match="updatedFrom=2026-09-03T11:55:00&updatedTo=2026-09-03T18:00:00&limit=2&cursor=")

    result = sync_day(workspace, sources_settings(fts={"page_size": 2}))

    assert result.sources[0].windows_split == 1
    assert stored(workspace) == published(apis)
    rows = workspace.store.con.execute(
        """
        SELECT strftime(window_start AT TIME ZONE 'Europe/London', '%H:%M'),
               strftime(window_end AT TIME ZONE 'Europe/London', '%H:%M'), status, parent_start IS NOT NULL
        FROM sync_windows ORDER BY window_start, window_end DESC
        """
    ).fetchall()
    assert rows == [
        ("00:00", "06:00", "done", False),
        ("06:00", "12:00", "done", False),
        ("12:00", "18:00", "done", False),
        ("12:00", "15:00", "done", True),
        ("15:00", "18:00", "done", True),
        ("18:00", "00:00", "done", False),
    ]
    assert ("2026-09-03T11:55:00", "2026-09-03T15:00:00") in windows_asked(apis)
    assert ("2026-09-03T14:55:00", "2026-09-03T18:00:00") in windows_asked(apis)


def test_releases_listed_again_and_edited_are_stored_once_and_counted(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    release = day_of(apis.fts, DAY)[0]
    again = day_of(apis.fts, DAY)[-1]
    edited = copy.deepcopy(again.release)
    edited["tender"] = {**edited.get("tender", {}), "title": "A title the publisher corrected"}
    apis.fts.append(Entry(release.listed.replace(hour=release.listed.hour - 7), release.release))  # in another window
    first = sync_day(workspace, sources_settings())
    apis.fts.append(Entry(again.listed.replace(day=4, hour=10), edited))

    second = sync(workspace, ["uk-find-a-tender"], until="2026-09-05", settings=sources_settings())

    assert first.sources[0].line().startswith("uk-find-a-tender: 10 new, 0 changed, 1 unchanged")
    assert second.sources[0].line().startswith("uk-find-a-tender: 0 new, 1 changed, 0 unchanged")
    assert windows_asked(apis)[4] == ("2026-09-03T23:55:00", "2026-09-04T06:00:00")  # goes on where it ended
    counts = stored(workspace)
    assert counts[(edited["ocid"], edited["id"])] == 2  # both versions, kept as published
    assert sum(counts.values()) == 11


def test_a_window_that_keeps_failing_stops_the_source_with_its_name_and_the_next_sync_retries_it(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    apis.fault("status", status=503, match="updatedFrom=2026-09-03T05", times=3)
    settings = sources_settings(max_attempts=3)

    failed = sync_day(workspace, settings)
    asked_before = len(apis.seen)
    retried = sync_day(workspace, settings)

    assert failed.errors == [
        "uk-find-a-tender, window 2026-09-03 06:00–12:00: HTTP 503 (unavailable), 3 attempts made: the windows "
        "already read are kept; run the same sync again later to retry"
    ]
    assert failed.sources[0].windows_done == 1
    assert retried.errors == []
    assert retried.sources[0].windows_skipped == 1
    assert [dict(seen.query)["updatedFrom"] for seen in apis.seen[asked_before:]] == [
        "2026-09-03T05:55:00",
        "2026-09-03T11:55:00",
        "2026-09-03T17:55:00",
    ]
    assert stored(workspace) == published(apis)


def test_a_host_that_cannot_be_looked_up_fails_after_one_retry_instead_of_every_attempt(
    sources_settings: Settings, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a machine without a network: looking up the name fails (answered here, so that no query leaves the machine)
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            looked_up.append(str(host))
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    settings = sources_settings(max_attempts=5, fts={"base_url": "http://find-tender.invalid/api/1.0/"})

    result = sync_day(workspace, settings)

    assert looked_up == ["find-tender.invalid", "find-tender.invalid"]
    assert len(result.errors) == 1
    assert result.errors[0].startswith(
        "uk-find-a-tender, window 2026-09-03 00:00–06:00: the host find-tender.invalid could not be looked up ("
    )
    assert "2 attempts made: check the network connection" in result.errors[0]
    assert result.sources[0].windows_done == 0
    assert stored(workspace) == Counter()


def test_next_links_to_the_official_host_are_followed_through_the_configured_base_url(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    apis.official_links = True
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing may leave this machine

    result = sync_day(workspace, sources_settings(fts={"page_size": 2}, max_attempts=1))

    assert result.errors == []
    assert sum("cursor" in dict(seen.query) for seen in apis.requests_to(FTS_PATH)) == 4
    assert stored(workspace) == published(apis)


def test_a_sample_stores_that_many_releases_and_records_no_checkpoint(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    result = sync_day(workspace, sources_settings(fts={"page_size": 2}), sample=3)

    assert result.sources[0].new == 3
    assert sum(stored(workspace).values()) == 3
    assert workspace.store.con.execute("SELECT count(*) FROM sync_windows").fetchall()[0][0] == 0


def test_refetch_reads_windows_already_synced_again(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace
) -> None:
    sync_day(workspace, sources_settings())

    skipped = sync_day(workspace, sources_settings())
    again = sync_day(workspace, sources_settings(), refetch=True)

    assert skipped.sources[0].windows_skipped == 4
    assert again.sources[0].line().startswith("uk-find-a-tender: 0 new, 0 changed, 10 unchanged")
    assert len(windows_asked(apis)) == 8
