"""Windows follow each API's grid in UK time, and are asked for as connectors.md says each API expects."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from tenderwatch.sources import SOURCES, load_source_settings, parse_when
from tenderwatch.sources.base import DatedApi, Window
from tenderwatch.sources.uk_find_a_tender import FindATender


def source(name: str) -> DatedApi:
    settings = load_source_settings({})
    found = SOURCES[name](settings.of(name), settings.common)
    assert isinstance(found, DatedApi)
    return found


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_a_summer_day_of_find_a_tender_is_four_windows_asked_in_uk_time_with_five_minutes_overlap() -> None:
    fts = source("uk-find-a-tender")
    zone = fts.timezone

    windows = fts.plan(parse_when("2026-09-03", zone, "--since"), parse_when("2026-09-04", zone, "--until"))

    assert [fts.window_label(window) for window in windows] == [
        "2026-09-03 00:00–06:00",
        "2026-09-03 06:00–12:00",
        "2026-09-03 12:00–18:00",
        "2026-09-03 18:00–24:00",
    ]
    assert windows[0].start == datetime(2026, 9, 2, 23, tzinfo=UTC)  # midnight BST
    urls = [fts.first_url(window) for window in windows]
    assert all(url.startswith("https://www.find-tender.service.gov.uk/api/1.0/ocdsReleasePackages?") for url in urls)
    assert [query(url) for url in urls] == [
        [("updatedFrom", "2026-09-02T23:55:00"), ("updatedTo", "2026-09-03T06:00:00"), ("limit", "100")],
        [("updatedFrom", "2026-09-03T05:55:00"), ("updatedTo", "2026-09-03T12:00:00"), ("limit", "100")],
        [("updatedFrom", "2026-09-03T11:55:00"), ("updatedTo", "2026-09-03T18:00:00"), ("limit", "100")],
        [("updatedFrom", "2026-09-03T17:55:00"), ("updatedTo", "2026-09-04T00:00:00"), ("limit", "100")],
    ]


def test_the_autumn_clock_change_keeps_windows_within_six_hours_and_widens_ambiguous_times() -> None:
    fts = source("uk-find-a-tender")
    zone = fts.timezone

    windows = fts.plan(parse_when("2026-10-25", zone, "--since"), parse_when("2026-10-26", zone, "--until"))

    assert windows[0].start == datetime(2026, 10, 24, 23, tzinfo=UTC)
    assert windows[-1].end == datetime(2026, 10, 26, 0, tzinfo=UTC)
    assert all(later.start == earlier.end for earlier, later in itertools.pairwise(windows))
    assert max(window.length for window in windows) <= timedelta(hours=6)
    assert sum((window.length for window in windows), timedelta()) == timedelta(hours=25)
    # 00:45 UTC is 01:45 BST and 01:45 UTC is 01:45 GMT: "01:45" could be read as either, so a window from
    # 00:50 UTC (asked from 00:45 with its overlap) to 01:45 UTC is widened by an hour at both ends.
    ambiguous = Window(datetime(2026, 10, 25, 0, 50, tzinfo=UTC), datetime(2026, 10, 25, 1, 45, tzinfo=UTC))
    assert query(fts.first_url(ambiguous))[:2] == [
        ("updatedFrom", "2026-10-25T00:45:00"),
        ("updatedTo", "2026-10-25T02:45:00"),
    ]


def test_contracts_finder_windows_are_fifteen_uk_days_asked_as_dates() -> None:
    cf = source("uk-contracts-finder")
    zone = cf.timezone

    windows = cf.plan(parse_when("2020-01-01", zone, "--since"), parse_when("2020-02-01", zone, "--until"))

    assert [cf.window_label(window) for window in windows] == [
        "2020-01-01–2020-01-14",
        "2020-01-15–2020-01-29",
        "2020-01-30–2020-01-31",
    ]
    assert query(cf.first_url(windows[1])) == [
        ("limit", "100"),
        ("publishedFrom", "2020-01-15"),
        ("publishedTo", "2020-01-30"),
    ]
    today = Window(datetime(2026, 9, 3, 23, tzinfo=UTC), datetime(2026, 9, 4, 9, 30, tzinfo=UTC))
    assert query(cf.first_url(today))[1:] == [("publishedFrom", "2026-09-04"), ("publishedTo", "2026-09-05")]


def test_a_suspect_window_is_cut_in_halves_down_to_the_shortest_window() -> None:
    fts = source("uk-find-a-tender")
    cf = source("uk-contracts-finder")
    six_hours = Window(datetime(2026, 9, 3, 5, tzinfo=UTC), datetime(2026, 9, 3, 11, tzinfo=UTC))
    zone = cf.timezone
    fifteen_days = cf.plan(parse_when("2020-01-15", zone, "--since"), parse_when("2020-01-30", zone, "--until"))[0]

    halves = fts.split(six_hours)
    days = cf.split(fifteen_days)

    assert [(half.start.hour, half.end.hour) for half in halves] == [(5, 8), (8, 11)]
    assert fts.split(Window(six_hours.start, six_hours.start + FindATender.min_length)) == []
    assert [cf.window_label(half) for half in days] == ["2020-01-15–2020-01-21", "2020-01-22–2020-01-29"]
    one_day = cf.plan(parse_when("2020-01-06", zone, "--since"), parse_when("2020-01-07", zone, "--until"))[0]
    assert cf.split(one_day) == []


def test_dates_with_an_offset_are_taken_as_given() -> None:
    zone = source("uk-find-a-tender").timezone

    assert parse_when("2026-09-03T06:30Z", zone, "--since") == datetime(2026, 9, 3, 6, 30, tzinfo=UTC)
    assert parse_when("2026-09-03T06:30", zone, "--since") == datetime(2026, 9, 3, 5, 30, tzinfo=UTC)
