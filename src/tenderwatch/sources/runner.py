"""Run a sync: windows, pages and pieces, each stored with its checkpoint in one transaction.

For a dated API, every window is read page by page, following ``links.next``. Each page's releases, its row in
``sync_pages`` and the window's checkpoint (the next page to fetch, or "done") commit together, so a sync
stopped at any moment (even by SIGKILL) resumes at the page it stopped at and ends with the same store as an
uninterrupted one. A full page without a next link marks its window as suspect: the window is split in two and
each half read again (its pages' releases are kept meanwhile; a release met twice is stored once).

A URL feed is read as a document (following ``links.next`` when it has one), or, for JSON lines, gzip and zip,
in pieces of about 32 MB, each committed with the number of pieces done.

Errors that stop a source (a request that failed every attempt, or a client error) end that source with a
:class:`SourceError` naming the window; what was stored before stays, the other sources go on, and the next
sync retries the window.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import itertools
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Protocol

import orjson

from tenderwatch.sources import checkpoint
from tenderwatch.sources.base import DatedApi, Source, UrlFeed, Window
from tenderwatch.sources.exceptions import FetchError, SourceError
from tenderwatch.sources.http import SPOOL_IN_MEMORY, Fetcher, Response
from tenderwatch.sources.payload import Page, PageError, find_next_link, next_link, read_page
from tenderwatch.sources.settings import SourcesSettings
from tenderwatch.util import plural
from tenderwatch.workspace import FileSummary, IngestSession, Task, Workspace

# JSON lines are stored in pieces of about this many bytes, each with its own checkpoint.
PIECE_BYTES = 32 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
SNIFF_LINES = 3
LONGEST_LINE = 256 << 20
# Bytes in JSON lines that may need a repair: long exponents, numbers with leading zeros.
_SUSPICIOUS = re.compile(rb"[eE]\+?\d{3}|[:\[,]\s*-?0\d")


@dataclass
class WindowProgress:
    """How far one window has got, for a progress display."""

    source: str
    label: str
    index: int
    """Number of the window in this sync, counting from 1."""
    total: int
    """Windows in this sync (for a URL feed, the URLs)."""
    pages: int = 0
    releases: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Return releases read per second in this window."""
        elapsed = time.monotonic() - self.started
        return self.releases / elapsed if elapsed > 0 else 0.0


@dataclass
class SourceSummary:
    """What a sync did for one source."""

    source: str
    windows: int = 0
    windows_done: int = 0
    windows_skipped: int = 0
    windows_split: int = 0
    pages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    """Releases and lines refused (see ``rejects``)."""
    quarantined_pages: int = 0
    repaired_pages: int = 0
    retries: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        """Return the one-line summary printed after a source's sync."""
        text = (
            f"{self.source}: {self.new:,} new, {self.changed:,} changed, {self.unchanged:,} unchanged, "
            f"{self.quarantined:,} quarantined releases"
        )
        details = [f"{self.windows_done:,} of {plural(self.windows, 'window')} read", plural(self.pages, "page")]
        if self.windows_skipped:
            details.append(f"{plural(self.windows_skipped, 'window')} already synced")
        if self.windows_split:
            details.append(f"{plural(self.windows_split, 'suspect window')} read again in halves")
        if self.repaired_pages:
            details.append(f"{plural(self.repaired_pages, 'page')} repaired")
        if self.quarantined_pages:
            details.append(f"{plural(self.quarantined_pages, 'page')} quarantined")
        if self.retries:
            details.append(plural(self.retries, "retry", "retries"))
        details.append(_duration(self.seconds))
        return f"{text} ({', '.join(details)})"


@dataclass
class SyncResult:
    """What a sync did: one summary per source, and the processes compiled afterwards."""

    sources: list[SourceSummary]
    processes: int = 0
    compile_errors: int = 0

    @property
    def errors(self) -> list[str]:
        """Return the errors that stopped a source, one line each."""
        return [summary.error for summary in self.sources if summary.error]


class SyncReporter(Protocol):
    """Receives a sync's progress; the CLI draws it, the library is silent by default."""

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        """Start a task (compiling and normalising after the sync)."""

    def file_done(self, summary: FileSummary) -> None:
        """Report a stored document (not called during a sync)."""

    def note(self, message: str) -> None:
        """Report a notable event in one line."""

    def source_started(self, source: str, windows: int) -> None:
        """Report that a source's sync begins, with the number of windows (or URLs) planned."""

    def window_started(self, progress: WindowProgress) -> None:
        """Report that a window begins."""

    def window_progress(self, progress: WindowProgress) -> None:
        """Report that a page of the window was stored."""

    def window_done(self, progress: WindowProgress) -> None:
        """Report that a window is done."""

    def retry(self, progress: WindowProgress | None, message: str) -> None:
        """Report a request that is tried again, and why."""

    def source_done(self, summary: SourceSummary) -> None:
        """Report the summary of a source."""


class SilentSyncReporter:
    """A reporter that reports nothing."""

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        from tenderwatch.workspace import SilentReporter  # noqa: PLC0415

        return SilentReporter().task(description, total, unit)

    def file_done(self, summary: FileSummary) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def source_started(self, source: str, windows: int) -> None:
        pass

    def window_started(self, progress: WindowProgress) -> None:
        pass

    def window_progress(self, progress: WindowProgress) -> None:
        pass

    def window_done(self, progress: WindowProgress) -> None:
        pass

    def retry(self, progress: WindowProgress | None, message: str) -> None:
        pass

    def source_done(self, summary: SourceSummary) -> None:
        pass


class _SessionReporter:
    """Passes the session's compile progress on, without a line per stored page."""

    def __init__(self, reporter: SyncReporter) -> None:
        self.reporter = reporter

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        return self.reporter.task(description, total, unit)

    def file_done(self, summary: FileSummary) -> None:
        pass

    def note(self, message: str) -> None:
        self.reporter.note(message)


@dataclass
class SyncRequest:
    """One source to sync: a dated API with its dates, or URL feeds."""

    source: Source
    since: datetime | None = None
    until: datetime | None = None
    urls: list[str] = field(default_factory=list)
    refetch: bool = False
    """Read the windows again even if an earlier sync did."""


class _SampleDone(Exception):
    """Raised when a sample has as many releases as were asked for."""


@dataclass
class _Fetched:
    response: Response
    kind: str
    """``unchanged`` (304), ``document``, ``zip`` or ``lines``."""
    raw: bytes = b""
    page: Page | None = None
    """The page to store, after its source's quirks were handled; None when quarantined."""
    original: Any = None
    """The parsed value before the source's quirks were handled (its links are read from it)."""
    releases: int | None = None
    error: str | None = None
    stream: IO[bytes] | None = None


class Syncer:
    """Runs the sync of one or more sources in one ingest session."""

    def __init__(
        self,
        workspace: Workspace,
        settings: SourcesSettings,
        reporter: SyncReporter | None = None,
        *,
        sample: int | None = None,
    ) -> None:
        self.workspace = workspace
        self.con = workspace.store.con
        self.settings = settings
        self.common = settings.common
        self.reporter = reporter or SilentSyncReporter()
        self.sample = sample
        self.remaining = sample or 0
        self.checkpoints = sample is None
        self.summary = SourceSummary("")
        self.refetch = False
        self.progress: WindowProgress | None = None
        self.session: IngestSession | None = None
        self.fetcher: Fetcher | None = None

    # ------------------------------------------------------------------------------------------- the run

    def run(self, requests: list[SyncRequest]) -> SyncResult:
        """Sync every source asked for, then compile, normalise and analyse what changed."""
        checkpoint.ensure_tables(self.con)
        result = SyncResult([])
        with (
            Fetcher(self.common, on_retry=self._on_retry) as fetcher,
            self.workspace.session("sync", reporter=_SessionReporter(self.reporter)) as session,
        ):
            self.fetcher = fetcher
            self.session = session
            for request in requests:
                result.sources.append(self._run_source(request))
        result.processes, result.compile_errors = session.processes, session.compile_errors
        return result

    def _run_source(self, request: SyncRequest) -> SourceSummary:
        source = request.source
        self.summary = SourceSummary(source.name)
        self.remaining = self.sample or 0
        self.refetch = request.refetch
        started = time.monotonic()
        try:
            if isinstance(source, DatedApi):
                self._sync_dated(source, request.since, request.until)
            elif isinstance(source, UrlFeed):
                self.reporter.source_started(source.name, len(request.urls))
                self.summary.windows = len(request.urls)
                for index, url in enumerate(request.urls, 1):
                    self._sync_feed(source, url, index, len(request.urls))
        except _SampleDone:
            pass
        except SourceError as error:
            self.summary.error = str(error)
        self.summary.seconds = time.monotonic() - started
        self.reporter.source_done(self.summary)
        return self.summary

    def _on_retry(self, message: str, wait: float) -> None:
        self.summary.retries += 1
        if self.progress is not None:
            self.progress.retries += 1
        self.reporter.retry(self.progress, message)

    def _execute(self, statements: list[checkpoint.Statement]) -> None:
        """Run checkpoint statements in a transaction of their own (between pages, the store is idle)."""
        if not self.checkpoints:
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            for sql, params in statements:
                self.con.execute(sql, params)
            self.con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                self.con.execute("ROLLBACK")
            raise

    # -------------------------------------------------------------------------------------- dated APIs

    def _sync_dated(self, source: DatedApi, since: datetime | None, until: datetime | None) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        until = until or now
        windows: list[Window] = []
        if since is None:
            if self.checkpoints:
                windows = checkpoint.unfinished(self.con, source.name)
                since = checkpoint.synced_until(self.con, source.name)
            if since is None:
                since = _local_midnight(now - timedelta(days=self.common.first_sync_days), source)
        windows += source.plan(since, until)
        self.summary.windows = len(windows)
        self.reporter.source_started(source.name, len(windows))
        for index, window in enumerate(windows, 1):
            self._dated_window(source, window, index, len(windows), None)

    def _dated_window(self, source: DatedApi, window: Window, index: int, total: int, parent: Window | None) -> None:
        label = source.window_label(window)
        row = checkpoint.get_window(self.con, source.name, window) if self.checkpoints else None
        if self.refetch and parent is None:
            self._execute([checkpoint.forget(source.name, window)])
            row = None
        if row is not None and row.status == "done":
            if parent is None:
                self.summary.windows_skipped += 1
            return
        progress = WindowProgress(source.name, label, index, total)
        self.progress = progress
        self.reporter.window_started(progress)
        try:
            if row is not None and row.status == "split":
                self._read_halves(source, window, checkpoint.children(self.con, source.name, window), index, total)
            else:
                self._read_window(source, window, row, parent, progress)
        except FetchError as error:
            raise SourceError(f"{source.name}, window {label}: {error.args[0]}", error.hint) from error
        if parent is None:
            self.summary.windows_done += 1
        self.reporter.window_done(progress)

    def _read_halves(self, source: DatedApi, window: Window, halves: list[Window], index: int, total: int) -> None:
        for half in halves:
            self._dated_window(source, half, index, total, window)
        self._execute([checkpoint.finish(source.name, window)])

    def _read_window(
        self,
        source: DatedApi,
        window: Window,
        row: checkpoint.WindowRow | None,
        parent: Window | None,
        progress: WindowProgress,
    ) -> None:
        if row is None:
            first = source.first_url(window)
            self._execute([checkpoint.start_window(source.name, window, first, parent)])
            url: str | None = first
            page_number = 0
        else:
            url, page_number = row.next_url, row.pages
        seen: set[str] = set()
        while url:
            seen.add(url)
            fetched = self._fetch(source, url)
            page_number += 1
            found = next_link(fetched.original) if fetched.page is not None else find_next_link(fetched.raw)
            following = source.rebase(found) if found else None
            note = None
            if following in seen:
                note = f"the API gave a next link already read ({following}); the window ends there"
                following = None
            full = fetched.page is not None and source.is_full(_items(fetched.original) or [])
            suspect = following is None and (full or fetched.page is None)
            halves = source.split(window) if suspect and self.checkpoints else []
            bad = int(fetched.page is None)
            statements = []
            if halves:
                why = (
                    "a full page came without a next link"
                    if fetched.page is not None
                    else "a page that is not JSON had no next link to go on with"
                )
                statements.append(
                    checkpoint.advance(
                        source.name, window, next_url=None, releases=fetched.releases or 0, quarantined=bad
                    )
                )
                statements.append(checkpoint.mark_split(source.name, window, f"{why}: read again in halves"))
                statements += [
                    checkpoint.start_window(source.name, half, source.first_url(half), window) for half in halves
                ]
            else:
                statements.append(
                    checkpoint.advance(
                        source.name, window, next_url=following, releases=fetched.releases or 0, quarantined=bad
                    )
                )
                if following is None:
                    if suspect and self.checkpoints:
                        note = (
                            "a full page came without a next link, or a page that is not JSON had none, and the "
                            "window is too short to split: releases may be missing"
                        )
                    if note:
                        self.summary.notes.append(f"{source.name} {source.window_label(window)}: {note}")
                    statements.append(checkpoint.finish(source.name, window, note=note))
            self._store(source, window, page_number, url, fetched, following, statements, progress)
            if halves:
                self.summary.windows_split += 1
                self._read_halves(source, window, halves, progress.index, progress.total)
                return
            url = following

    # ------------------------------------------------------------------------------------------ fetching

    def _fetch(
        self, source: Source, url: str, *, headers: dict[str, str] | None = None, feed: bool = False
    ) -> _Fetched:
        """Fetch a page (again, if it is not JSON and refetches are left), or a feed's file."""
        assert self.fetcher is not None
        refetches = 0
        while True:
            response = self.fetcher.get(url, source.policy(), headers=headers, to_file=feed)
            if response.status == 304:
                return _Fetched(response, "unchanged")
            if feed:
                assert response.file is not None
                kind, stream, head = _classify(response.file)
                if kind != "document":
                    return _Fetched(response, kind, stream=stream)
                raw = b"".join(head) + stream.read()
                stream.close()
            else:
                raw = response.body
            fetched = _parse(source, response, raw)
            if fetched.page is None and refetches < self.common.invalid_json_refetches:
                refetches += 1
                self._on_retry(f"the page is not JSON ({fetched.error}); fetching it again", 0)
                continue
            return fetched

    # ----------------------------------------------------------------------------------------- storing

    def _store(
        self,
        source: Source,
        window: Window,
        page_number: int,
        url: str,
        fetched: _Fetched,
        following: str | None,
        statements: list[checkpoint.Statement],
        progress: WindowProgress,
        *,
        member: str | None = None,
    ) -> None:
        """Store a page (or piece) with its record in ``sync_pages`` and its window's checkpoint."""
        page = fetched.page
        if page is None:
            outcome, reason, data = "quarantined", fetched.error, fetched.raw
        else:
            outcome = "repaired" if page.repairs else "stored"
            reason = "; ".join(page.repairs + page.quirks) or None
            data = page.data
        releases = fetched.releases
        if self.sample is not None and page is not None:
            data, releases = self._trim(fetched, data)
        record = checkpoint.PageRecord(
            source.name,
            window,
            page_number,
            url,
            member,
            fetched.response.content_type,
            fetched.raw,
            hashlib.sha256(fetched.raw).hexdigest(),
            None if fetched.kind == "lines" else releases,
            following,
            outcome,
            reason,
            self.common.keep_pages == "all" or outcome != "stored" or bool(page and page.quirks),
        )
        self._add(url, data, [record.statement(), *statements] if self.checkpoints else [], member, page is None)
        self.summary.pages += 1
        if outcome == "repaired":
            self.summary.repaired_pages += 1
        elif outcome == "quarantined":
            self.summary.quarantined_pages += 1
            self.reporter.note(f"{source.name}: quarantined {url}{f' ({member})' if member else ''}: {reason}")
        progress.pages += 1
        progress.releases += releases or 0
        self.reporter.window_progress(progress)
        if self.sample is not None:
            self.remaining -= releases or 0
            if self.remaining <= 0:
                raise _SampleDone

    def _add(self, url: str, data: bytes, statements: list[Any], member: str | None, quarantined: bool) -> None:
        """Store a document with its statements; count what was new, changed, unchanged and refused."""
        assert self.session is not None
        before = self.con.execute("SELECT coalesce(max(seq), 0) FROM raw_releases").fetchall()[0][0]
        result = self.session.add_document(url, data, statements, member=member)
        changed = 0
        if result.loaded:
            changed = self.con.execute(
                """
                SELECT count(*) FROM raw_releases AS r
                WHERE r.seq > ? AND EXISTS (
                    SELECT 1 FROM raw_releases AS o
                    WHERE o.ocid = r.ocid AND o.release_id = r.release_id AND o.seq <= ?
                )
                """,
                [before, before],
            ).fetchall()[0][0]
        self.summary.new += result.loaded - changed
        self.summary.changed += changed
        self.summary.unchanged += result.already_stored
        if not quarantined:
            self.summary.quarantined += result.rejected

    def _trim(self, fetched: _Fetched, data: bytes) -> tuple[bytes, int]:
        """Return the page (or piece) cut to the releases a sample still wants, and how many it holds."""
        assert fetched.page is not None
        count = fetched.releases or 0
        if count <= self.remaining:
            return data, count
        if fetched.kind == "lines":
            lines = [line for line in data.split(b"\n") if line.strip()][: self.remaining]
            return b"\n".join(lines) + b"\n", len(lines)
        value = fetched.page.value
        if isinstance(value, dict):
            for key in ("releases", "records"):
                if isinstance(value.get(key), list):
                    return orjson.dumps({**value, key: value[key][: self.remaining]}), self.remaining
        return data, count

    # ---------------------------------------------------------------------------------------- URL feeds

    def _sync_feed(self, source: UrlFeed, given: str, index: int, total: int) -> None:
        url = source.resolve(given)
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"{source.name}: {given!r} is not an http:// or https:// URL", "give a full URL")
        window = Window(None, None, url)
        row = checkpoint.get_window(self.con, source.name, window) if self.checkpoints else None
        progress = WindowProgress(source.name, url, index, total)
        self.progress = progress
        self.reporter.window_started(progress)
        headers: dict[str, str] | None = None
        position, content_hash = 0, None
        if row is None:
            self._execute([checkpoint.start_window(source.name, window, url)])
            next_url: str | None = url
            page_number = 0
        elif row.status == "done":
            headers = {}
            if row.etag:
                headers["If-None-Match"] = row.etag
            if row.last_modified:
                headers["If-Modified-Since"] = row.last_modified
            self._execute([checkpoint.restart_window(source.name, window, url)])
            next_url, page_number = url, 0
        else:
            next_url, page_number = row.next_url, row.pages
            position, content_hash = row.position, row.content_hash
        try:
            while next_url:
                fetched = self._fetch(source, next_url, headers=headers or None, feed=True)
                headers = None
                if fetched.kind == "unchanged":
                    assert row is not None
                    self._execute(
                        [
                            checkpoint.finish(
                                source.name,
                                window,
                                note="unchanged since the last sync",
                                etag=row.etag,
                                last_modified=row.last_modified,
                            )
                        ]
                    )
                    break
                if fetched.kind != "document":
                    self._read_pieces(source, window, next_url, fetched, position, content_hash, page_number, progress)
                    break
                first = page_number == 0
                page_number += 1
                found = next_link(fetched.original) if fetched.page is not None else find_next_link(fetched.raw)
                following = found if found and found != next_url else None
                bad = int(fetched.page is None)
                statements = [
                    checkpoint.advance(
                        source.name, window, next_url=following, releases=fetched.releases or 0, quarantined=bad
                    )
                ]
                if following is None:
                    # Only a URL that is one whole document is asked for again with its validators.
                    etag, modified = _validators(fetched.response) if first else (None, None)
                    statements.append(checkpoint.finish(source.name, window, etag=etag, last_modified=modified))
                self._store(source, window, page_number, next_url, fetched, following, statements, progress)
                next_url = following
        except FetchError as error:
            raise SourceError(f"{source.name}, {url}: {error.args[0]}", error.hint) from error
        self.summary.windows_done += 1
        self.reporter.window_done(progress)

    def _read_pieces(
        self,
        source: UrlFeed,
        window: Window,
        url: str,
        fetched: _Fetched,
        position: int,
        content_hash: str | None,
        page_number: int,
        progress: WindowProgress,
    ) -> None:
        """Store a JSON lines or zip file piece by piece, each piece with its checkpoint."""
        stream = fetched.stream
        assert stream is not None
        try:
            stream.seek(0)
            digest = hashlib.sha256()
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
            file_hash = digest.hexdigest()
            if content_hash is not None and content_hash != file_hash and position:
                self.reporter.note(f"{source.name}: {url} changed since the stopped sync; reading it from the start")
                position = 0
            stream.seek(0)
            etag, modified = _validators(fetched.response)
            pieces = _pieces(fetched.kind, stream)
            current = next(pieces, None)
            number = 0
            while current is not None:
                upcoming = next(pieces, None)
                number += 1
                if number > position:
                    member, data, is_lines = current
                    piece = _piece(source, fetched.response, data, is_lines)
                    statements = [
                        checkpoint.advance(
                            source.name,
                            window,
                            next_url=url,
                            releases=piece.releases or 0,
                            quarantined=int(piece.page is None),
                            position=number,
                            content_hash=file_hash,
                        )
                    ]
                    if upcoming is None:
                        statements.append(checkpoint.finish(source.name, window, etag=etag, last_modified=modified))
                    page_number += 1
                    self._store(source, window, page_number, url, piece, None, statements, progress, member=member)
                current = upcoming
            if number == 0:
                self._execute([checkpoint.finish(source.name, window, note="the file holds nothing to read")])
        except zipfile.BadZipFile as error:
            raise SourceError(
                f"{source.name}, {url}: the zip archive cannot be read ({error})",
                "run the sync again later; the file may have been cut short or replaced while being read",
            ) from error
        finally:
            stream.close()


def _parse(source: Source, response: Response, raw: bytes) -> _Fetched:
    """Parse a document strictly (then with the known repairs), and handle its source's quirks."""
    try:
        page = read_page(raw)
    except PageError as error:
        return _Fetched(response, "document", raw=raw, error=str(error))
    transformed = source.transform(page)
    return _Fetched(
        response, "document", raw=raw, page=transformed, original=page.value, releases=_count(transformed.value)
    )


def _piece(source: Source, response: Response, data: bytes, is_lines: bool) -> _Fetched:
    """Prepare one piece of a large file: JSON lines are repaired line by line where needed."""
    if not is_lines:
        return _parse(source, response, data)
    repaired, count = _repair_lines(data)
    page = Page(repaired, None, [f"known repairs made in {count} line(s)"] if count else [])
    return _Fetched(response, "lines", raw=data, page=page, releases=_count_lines(data))


def _items(value: Any) -> list[Any] | None:
    """Return the releases (or records) of a package, or of every package of an array, if it has any."""
    if isinstance(value, dict):
        for key in ("releases", "records"):
            if isinstance(value.get(key), list):
                return value[key]
        if isinstance(value.get("results"), list):
            return _items(value["results"])
    if isinstance(value, list):
        return [entry for item in value for entry in (_items(item) or [item])]
    return None


def _count(value: Any) -> int:
    """Return the releases (or records) a parsed document holds."""
    if value is None:
        return 0
    items = _items(value)
    return len(items) if items is not None else 1


def _count_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def _validators(response: Response) -> tuple[str | None, str | None]:
    return response.headers.get("etag"), response.headers.get("last-modified")


def _local_midnight(instant: datetime, source: DatedApi) -> datetime:
    local = instant.astimezone(source.timezone).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    return local.replace(tzinfo=source.timezone).astimezone(UTC)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def _classify(stream: IO[bytes]) -> tuple[str, IO[bytes], list[bytes]]:
    """Tell what a downloaded file holds: ``zip``, ``lines`` (JSON lines) or a ``document``; gzip is opened.
    Returns the kind, the stream, and the lines already read from it."""
    magic = stream.read(4)
    stream.seek(0)
    if magic.startswith(ZIP_MAGIC):
        return "zip", stream, []
    if magic.startswith(GZIP_MAGIC):
        unpacked = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            with gzip.GzipFile(fileobj=stream, mode="rb") as opened:
                shutil.copyfileobj(opened, unpacked, 1 << 20)
        except (OSError, EOFError):
            unpacked.close()
            stream.seek(0)
            return "document", stream, []
        stream.close()
        unpacked.seek(0)
        return _classify(unpacked)
    is_lines, head = _sniff_lines(stream)
    return ("lines" if is_lines else "document"), stream, head


def _sniff_lines(stream: IO[bytes]) -> tuple[bool, list[bytes]]:
    """Read the first lines and tell whether the stream is JSON lines: a line that is a whole JSON object or
    array, and another line after it. Returns the answer and the lines read."""
    head: list[bytes] = []
    while len(head) < SNIFF_LINES:
        line = stream.readline(LONGEST_LINE)
        if not line:
            break
        head.append(line)
        text = line.strip().lstrip(b"\xef\xbb\xbf")
        if not text:
            continue
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, (dict, list)):
            more = stream.readline(LONGEST_LINE)
            if more:
                head.append(more)
            return bool(more.strip()), head
    return False, head


def _pieces(kind: str, stream: IO[bytes]) -> Iterator[tuple[str | None, bytes, bool]]:
    """Yield (member label, bytes, whether JSON lines) for each piece of a file, always in the same order."""
    if kind == "lines":
        yield from _line_pieces(None, stream)
        return
    with zipfile.ZipFile(stream) as archive:
        for info in sorted(archive.infolist(), key=lambda item: item.filename):
            if info.is_dir():
                continue
            with archive.open(info) as member:
                opened: IO[bytes] = (
                    gzip.GzipFile(fileobj=member, mode="rb") if member.peek(2)[:2] == GZIP_MAGIC else member
                )
                is_lines, head = _sniff_lines(opened)
                if is_lines:
                    yield from _line_pieces(info.filename, opened, head)
                else:
                    yield info.filename, b"".join(head) + opened.read(), False


def _line_pieces(
    name: str | None, stream: IO[bytes], head: list[bytes] | None = None
) -> Iterator[tuple[str | None, bytes, bool]]:
    """Cut JSON lines into pieces of about PIECE_BYTES at line ends; when there is more than one, each is
    labelled with its line numbers."""

    def lines() -> Iterator[bytes]:
        yield from head or []
        while True:
            line = stream.readline(LONGEST_LINE)
            if not line:
                return
            yield line

    def chunks() -> Iterator[tuple[int, int, bytes]]:
        buffer: list[bytes] = []
        size, first, number = 0, 1, 0
        for line in lines():
            number += 1
            buffer.append(line if line.endswith(b"\n") else line + b"\n")
            size += len(line)
            if size >= PIECE_BYTES:
                yield first, number, b"".join(buffer)
                buffer, size, first = [], 0, number + 1
        if buffer:
            yield first, number, b"".join(buffer)

    found = chunks()
    first_chunk = next(found, None)
    if first_chunk is None:
        return
    second = next(found, None)
    if second is None:
        yield name, first_chunk[2], True
        return
    for start, end, data in itertools.chain([first_chunk, second], found):
        yield _line_label(name, start, end), data, True


def _line_label(name: str | None, first: int, last: int) -> str:
    return (f"{name}, " if name else "") + f"lines {first}–{last}"


def _repair_lines(data: bytes) -> tuple[bytes, int]:
    """Repair the JSON lines that need a known repair: only where the bytes suggest one may be needed, each line
    is parsed strictly and, if that fails, repaired. Returns the lines and how many were repaired."""
    try:
        data.decode("utf-8")
        if not _SUSPICIOUS.search(data):
            return data, 0
    except UnicodeDecodeError:
        pass
    repaired = 0
    out = []
    for line in data.split(b"\n"):
        fixed = line
        if line.strip():
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                with contextlib.suppress(PageError):  # a line still bad is refused on its own, in rejects
                    fixed = read_page(line).data
                    repaired += 1
        out.append(fixed)
    return b"\n".join(out), repaired
