"""A real HTTP server on 127.0.0.1 that answers as Find a Tender and Contracts Finder do, with real releases from
../shared/data/real, serves files and a paged feed for the generic source, and injects faults on demand."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
FTS_PATH = "/api/1.0/ocdsReleasePackages"
CF_PATH = "/Published/Notices/OCDS/Search"
FTS_PARAMETERS = ("stages", "limit", "cursor", "updatedFrom", "updatedTo")
FTS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
OFFICIAL_FTS = "https://www.find-tender.service.gov.uk"


@dataclass
class Fault:
    """A fault the server injects into the next ``times`` requests whose path and query contain ``match``.

    Kinds: ``status`` (answer ``status`` with ``headers`` and ``body``), ``slow`` (wait ``seconds`` first),
    ``reset`` (close the connection without answering), ``truncate`` (send half the body, then close),
    ``invalid`` (cut the JSON short, with a correct length), ``overflow`` (write a number as ``1e9999``),
    ``no-next`` (drop ``links.next``), ``latin1`` (send a £ sign in ISO-8859-1), ``html`` (a page of HTML
    with status 200).
    """

    kind: str
    match: str = ""
    times: int = 1
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0


@dataclass
class Seen:
    """A request the server received."""

    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    at: float

    @property
    def target(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")


@dataclass
class Entry:
    """A release the fake API publishes, with the time it lists it under."""

    listed: datetime
    release: dict[str, Any]


class FakeApis:
    """The fake publishers. ``fts`` and ``cf`` are their releases; ``files`` maps a path to bytes."""

    def __init__(self) -> None:
        self.fts: list[Entry] = []
        self.fts_package: dict[str, Any] = {}
        self.cf: list[Entry] = []
        self.cf_package: dict[str, Any] = {}
        self.files: dict[str, bytes] = {}
        self.feed_pages: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.delay = 0.0
        self.official_links = False
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"apis": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeApis:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, kind: str, **options: Any) -> Fault:
        found = Fault(kind, **options)
        with self.lock:
            self.faults.append(found)
        return found

    def take_fault(self, target: str) -> Fault | None:
        with self.lock:
            for found in self.faults:
                if found.times > 0 and found.match in target:
                    found.times -= 1
                    return found
        return None

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out or a connection closed on purpose is not news


class _Handler(BaseHTTPRequestHandler):
    apis: FakeApis
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        apis = self.apis
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        seen = Seen(parts.path, query, {key.lower(): value for key, value in self.headers.items()}, time.monotonic())
        with apis.lock:
            apis.seen.append(seen)
        fault = apis.take_fault(unquote(self.path))
        if apis.delay:
            time.sleep(apis.delay)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            self._send(fault.status, fault.body or b"Service Unavailaible", "text/plain", fault.headers)
            return
        if fault is not None and fault.kind == "html":
            self._send(200, b"<html><body>Request forbidden</body></html>", "text/html")
            return
        if parts.path == FTS_PATH:
            status, body = self._fts(dict(query), [key for key, _ in query], fault)
            kind = "application/json"
        elif parts.path == CF_PATH:
            status, body = self._cf(dict(query), fault)
            kind = "application/json; charset=utf-8"
        elif parts.path == "/feed":
            status, body = self._feed(dict(query))
            kind = "application/json"
        elif parts.path in apis.files:
            self._file(parts.path)
            return
        else:
            self._send(404, b'{"status":404,"error":"Not found"}', "application/json")
            return
        body = _damage(body, fault)
        if fault is not None and fault.kind == "truncate":
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, body, kind)

    def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    # ------------------------------------------------------------------------------------ Find a Tender

    def _fts(self, query: dict[str, str], keys: list[str], fault: Fault | None) -> tuple[int, bytes]:
        apis = self.apis
        for key in keys:
            if key not in FTS_PARAMETERS:
                return 400, _fts_error(
                    f"Request parameter '{key}' is not recognised, allowed parameters are: "
                    "stages, limit, cursor, updatedFrom, updatedTo"
                )
        for key in ("updatedFrom", "updatedTo"):
            if key in query and not FTS_TIME.fullmatch(query[key]):
                return 400, _fts_error(f"Request parameter '{key}' is not in the format YYYY-MM-DDTHH:MM:SS")
        limit = int(query.get("limit", "100"))
        if not 1 <= limit <= 100:
            return 400, _fts_error("Request parameter 'limit' must be between 1 and 100")
        start = _london(query["updatedFrom"]) if "updatedFrom" in query else datetime.min.replace(tzinfo=UTC)
        end = _london(query["updatedTo"]) if "updatedTo" in query else datetime.max.replace(tzinfo=UTC)
        offset = 0
        if "cursor" in query:
            decoded = base64.b64decode(query["cursor"]).decode()
            fields = dict(part.split("=", 1) for part in decoded.split("|"))
            if (fields["updatedFrom"], fields["updatedTo"]) != (query.get("updatedFrom"), query.get("updatedTo")):
                return 400, _fts_error("Cursor does not match the request")
            offset = int(fields["nextCursor"])
        chosen = sorted(
            (entry for entry in apis.fts if start <= entry.listed <= end),
            key=lambda entry: (entry.listed, entry.release["id"]),
            reverse=True,
        )
        page = chosen[offset : offset + limit]
        base = (OFFICIAL_FTS if apis.official_links else apis.url) + FTS_PATH
        window = {key: query[key] for key in ("updatedFrom", "updatedTo") if key in query}
        package = {"uri": base + "?" + _plain({**window, "limit": limit}), **apis.fts_package}
        package["releases"] = [entry.release for entry in page]
        if len(page) == limit and not (fault is not None and fault.kind == "no-next"):
            cursor = "|".join(
                [
                    f"updatedFrom={window.get('updatedFrom', '')}",
                    f"updatedTo={window.get('updatedTo', '')}",
                    f"nextCursor={offset + limit}",
                ]
            )
            token = base64.b64encode(cursor.encode()).decode()
            package["links"] = {"next": base + "?" + _plain({**window, "limit": limit, "cursor": token})}
        return 200, json.dumps(package, ensure_ascii=False, indent=2).encode()

    # ---------------------------------------------------------------------------------- Contracts Finder

    def _cf(self, query: dict[str, str], fault: Fault | None) -> tuple[int, bytes]:
        apis = self.apis
        limit = int(query.get("limit", "100"))
        start = datetime.combine(date.fromisoformat(query["publishedFrom"]), datetime.min.time(), LONDON)
        end = datetime.combine(date.fromisoformat(query["publishedTo"]), datetime.min.time(), LONDON)
        end += timedelta(days=1)  # the whole of the last day
        chosen = sorted(
            (entry for entry in apis.cf if start <= entry.listed < end),
            key=lambda entry: (entry.listed, entry.release["id"]),
        )
        offset = int(base64.b64decode(query["cursor"]).decode()) if "cursor" in query else 0
        page = chosen[offset : offset + limit]
        package = {**apis.cf_package, "releases": [entry.release for entry in page]}
        if len(page) == limit and not (fault is not None and fault.kind == "no-next"):
            rest = {key: value for key, value in query.items() if key != "cursor"}
            token = base64.b64encode(str(offset + limit).encode()).decode()
            package["links"] = {"next": f"{apis.url}{CF_PATH}?" + urlencode({**rest, "cursor": token})}
        return 200, json.dumps(package, indent=1).encode()

    # ----------------------------------------------------------------------------------- generic source

    def _feed(self, query: dict[str, str]) -> tuple[int, bytes]:
        apis = self.apis
        number = int(query.get("page", "1"))
        if not 1 <= number <= len(apis.feed_pages):
            return 404, b'{"error": "no such page"}'
        package = dict(apis.feed_pages[number - 1])
        if number < len(apis.feed_pages):
            package["links"] = {"next": f"{apis.url}/feed?page={number + 1}"}
        return 200, json.dumps(package).encode()

    def _file(self, path: str) -> None:
        data = self.apis.files[path]
        etag = '"' + str(hash(data) & 0xFFFFFFFF) + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(
            200,
            data,
            "application/octet-stream",
            {"ETag": etag, "Last-Modified": format_datetime(datetime(2026, 9, 3, tzinfo=UTC), usegmt=True)},
        )


def _plain(query: dict[str, Any]) -> str:
    """Write a query as the FTS API writes its links: colons and padding left as they are."""
    return "&".join(f"{key}={value}" for key, value in query.items())


def _fts_error(message: str) -> bytes:
    return json.dumps({"status": 400, "error": "Bad Request", "exception": message}).encode()


def _london(text: str) -> datetime:
    """Read an offset-less time as the FTS API does: UK local time."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def _damage(body: bytes, fault: Fault | None) -> bytes:
    if fault is None:
        return body
    if fault.kind == "invalid":
        return body[: len(body) * 2 // 3]
    if fault.kind == "overflow":
        return re.sub(
            rb'("(?:uri|version)"\s*:\s*"[^"]*",)', rb'\1 "maximumLotsBidPerSupplier": 1e9999,', body, count=1
        )
    if fault.kind == "latin1":
        return body.replace(b"&pound;", "£".encode("latin-1"), 1)
    return body


# ----------------------------------------------------------------------------------------- real data


def release_time(release: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(release["date"].replace("Z", "+00:00"))


def fts_corpus(real: Path) -> tuple[list[Entry], dict[str, Any]]:
    """Every real FTS release in ../shared/data/real, listed at its date, and the real package metadata."""
    first = json.loads((real / "uk_fts_2026-09-03_page1_excerpt.json").read_text(encoding="utf-8"))
    package = {key: value for key, value in first.items() if key not in ("uri", "releases", "links")}
    releases: list[dict[str, Any]] = list(first["releases"])
    for name in ("uk_fts_2026-09-03_page5_excerpt.json", "uk_fts_2026-10-06_release_package_limit4.json"):
        releases += json.loads((real / name).read_text(encoding="utf-8"))["releases"]
    for line in (real / "uk_fts_single_release_packages_2021-2026.jsonl").read_text(encoding="utf-8").splitlines():
        releases += json.loads(line)["releases"]
    releases += json.loads((real / "uk_fts_2021_tender_releases.json").read_text(encoding="utf-8"))
    return [Entry(release_time(release), release) for release in releases], package


def cf_corpus(real: Path) -> tuple[list[Entry], dict[str, Any]]:
    """The real 2020 Contracts Finder awards, listed at their dates (the one without a date on 1 March 2020)."""
    entries = []
    package: dict[str, Any] = {}
    for line in (real / "uk_cf_2019-2020_award_release_packages.jsonl").read_text(encoding="utf-8").splitlines():
        document = json.loads(line)
        package = package or {key: value for key, value in document.items() if key not in ("releases", "uri")}
        for release in document["releases"]:
            listed = release_time(release) if release["date"] else datetime(2020, 3, 1, 12, tzinfo=UTC)
            entries.append(Entry(listed, release))
    return entries, package


def day_of(entries: list[Entry], day: date) -> list[Entry]:
    """The entries listed on one UK day."""
    return [entry for entry in entries if entry.listed.astimezone(LONDON).date() == day]


@contextlib.contextmanager
def serving(setup: Callable[[FakeApis], None] | None = None) -> Iterator[FakeApis]:
    apis = FakeApis()
    if setup is not None:
        setup(apis)
    apis.start()
    try:
        yield apis
    finally:
        apis.stop()
