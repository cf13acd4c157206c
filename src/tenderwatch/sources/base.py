"""What every source is made of, by access pattern.

- :class:`Source`: a name, a title, settings, and how its requests are paced;
- :class:`DatedApi`: an API asked for one date window at a time, which pages with ``links.next``
  (Find a Tender, Contracts Finder). Windows follow a grid in the publisher's time zone, so the same dates
  always give the same windows and a checkpoint can say which are done;
- :class:`UrlFeed`: a URL read as it is, whatever it holds (the generic OCDS source).

A source module's docstring is its documentation page (``docs/sources/<name>.md``): what it covers, its
limits, and its quirks with the evidence for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from tenderwatch.sources.http import Policy
from tenderwatch.sources.payload import Page
from tenderwatch.sources.settings import CommonSettings, SourceSettings

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Window:
    """A span of time asked for in one go (``start`` inclusive, ``end`` exclusive, both in UTC), or, for a
    URL feed, the whole feed (``feed`` set, no dates)."""

    start: datetime | None
    end: datetime | None
    feed: str = ""

    @property
    def length(self) -> timedelta:
        """Return how long the window is."""
        assert self.start is not None and self.end is not None
        return self.end - self.start


class Source:
    """A source of OCDS data."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    """One sentence: what the source covers."""
    settings_model: ClassVar[type[SourceSettings]] = SourceSettings
    dated: ClassVar[bool] = False
    accept: ClassVar[str] = "application/json"

    def __init__(self, settings: SourceSettings, common: CommonSettings) -> None:
        self.settings = settings
        self.common = common

    def policy(self) -> Policy:
        """Return how requests to this source are paced and read."""
        return Policy(self.settings.min_interval, {"Accept": self.accept}, self.wait_for)

    def wait_for(self, response: httpx.Response) -> float | None:
        """Return a wait in seconds if ``response`` is this source's way of saying "slow down" (besides 429
        and 503), else None."""
        return None

    def transform(self, page: Page) -> Page:
        """Return the page with this source's quirks handled (the raw bytes are kept apart, unchanged)."""
        return page

    def window_label(self, window: Window) -> str:
        """Return how a window is named in messages."""
        return window.feed


class DatedApi(Source):
    """An API read one date window at a time, paging with ``links.next``."""

    dated = True
    official_url: ClassVar[str]
    timezone: ClassVar[ZoneInfo] = ZoneInfo("Europe/London")
    anchor: ClassVar[datetime]
    """A local wall-clock time the grid of windows starts from."""
    step: ClassVar[timedelta]
    """Length of a grid window in local wall-clock time."""
    max_length: ClassVar[timedelta]
    """Longest window in real time (a grid window across the autumn clock change is split)."""
    min_length: ClassVar[timedelta]
    """Shortest window a suspect window is split into."""
    granularity: ClassVar[timedelta] = timedelta(seconds=1)
    overlap: ClassVar[timedelta] = timedelta(0)

    @property
    def base_url(self) -> str:
        """Return the base URL, ending with a slash."""
        url = self.settings.base_url or self.official_url
        return url if url.endswith("/") else url + "/"

    @property
    def page_size(self) -> int:
        """Return the number of releases asked for per page."""
        return int(getattr(self.settings, "page_size", 100))

    def plan(self, since: datetime, until: datetime) -> list[Window]:
        """Return the windows that cover ``since`` to ``until``, on the source's grid, oldest first."""
        windows = []
        start = since
        while start < until:
            end = min(self._next_boundary(start), until)
            while end - start > self.max_length:
                windows.append(Window(start, start + self.max_length))
                start += self.max_length
            windows.append(Window(start, end))
            start = end
        return windows

    def _next_boundary(self, instant: datetime) -> datetime:
        local = instant.astimezone(self.timezone).replace(tzinfo=None)
        steps = (local - self.anchor) // self.step + 1
        boundary = self.anchor + steps * self.step
        return boundary.replace(tzinfo=self.timezone).astimezone(UTC)

    def split(self, window: Window) -> list[Window]:
        """Return ``window`` cut in two halves on the source's granularity, or [] if it is too short to cut."""
        assert window.start is not None and window.end is not None
        if window.length <= self.min_length:
            return []
        middle = self._floor(window.start + window.length / 2)
        if middle <= window.start or middle >= window.end:
            return []
        return [Window(window.start, middle), Window(middle, window.end)]

    def _floor(self, instant: datetime) -> datetime:
        if self.granularity >= timedelta(days=1):
            local = instant.astimezone(self.timezone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
            return midnight.replace(tzinfo=self.timezone).astimezone(UTC)
        return instant.replace(microsecond=0)

    def first_url(self, window: Window) -> str:
        """Return the URL of the first page of a window."""
        raise NotImplementedError

    def rebase(self, link: str) -> str:
        """Return a next link pointed at the configured base URL when the API gives one on its official host
        (so that a mirror or proxy keeps being used)."""
        official = urlsplit(self.official_url)
        ours = urlsplit(self.base_url)
        found = urlsplit(link)
        if (found.netloc, found.scheme) == (ours.netloc, ours.scheme) or found.netloc != official.netloc:
            return link
        if not found.path.startswith(official.path):
            return link
        path = ours.path.rstrip("/") + "/" + found.path[len(official.path) :].lstrip("/")
        return urlunsplit((ours.scheme, ours.netloc, path, found.query, found.fragment))

    def is_full(self, releases: list[Any]) -> bool:
        """Return whether a page holds as many releases as were asked for (so more may follow)."""
        return len(releases) >= self.page_size

    def window_label(self, window: Window) -> str:
        """Return the window in the publisher's local time, such as ``2026-09-03 00:00–06:00``."""
        assert window.start is not None and window.end is not None
        start = window.start.astimezone(self.timezone)
        end = window.end.astimezone(self.timezone)
        if self.granularity >= timedelta(days=1) and start.time() == end.time() == datetime.min.time():
            last = (end - timedelta(days=1)).date()
            return f"{start:%Y-%m-%d}" if last == start.date() else f"{start:%Y-%m-%d}–{last:%Y-%m-%d}"
        if start.date() == end.date():
            return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
        if end.time() == datetime.min.time() and end.date() - start.date() == timedelta(days=1):
            return f"{start:%Y-%m-%d %H:%M}–24:00"
        return f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"

    def local_text(self, instant: datetime, *, widen: timedelta) -> str:
        """Return ``instant`` as the publisher's local wall-clock time (``YYYY-MM-DDTHH:MM:SS``, no offset).

        A local time that happens twice (the hour before the autumn clock change) could be read either way,
        so it is moved by ``widen`` (an hour earlier for a start, later for an end) to a time that covers the
        instant whichever way the API reads it.
        """
        local = instant.astimezone(self.timezone)
        if _ambiguous(local.replace(tzinfo=None), self.timezone):
            local = (instant + widen).astimezone(self.timezone)
        return f"{local:%Y-%m-%dT%H:%M:%S}"

    def local_date(self, instant: datetime, *, ceiling: bool) -> str:
        """Return the local date of ``instant`` (``YYYY-MM-DD``); with ``ceiling``, the next date unless the
        instant is a local midnight."""
        local = instant.astimezone(self.timezone)
        day = local.date()
        if ceiling and local.time() != datetime.min.time():
            day += timedelta(days=1)
        return day.isoformat()


def _ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


class UrlFeed(Source):
    """A URL read as it is: a document, JSON lines, gzip or zip, or an API paging with ``links.next``."""

    accept = "application/json, */*;q=0.5"  # bulk files are zip or gzip as often as JSON

    def resolve(self, url: str) -> str:
        """Return the URL to fetch for ``url`` as the user gave it."""
        return url
