"""Tests of change detection, watchlists and alert delivery, with the notices and helpers they share.

The notices follow the children's therapies story of the demo (a provider serves notice, the council buys an
interim service by direct award), dated around today so they count as news: first the history (a year and more
ago), then the news (the last few days), then a re-publication of the news with nothing new in it.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb

import tenderwatch.store
from tenderwatch import Workspace
from tenderwatch.alerts import AlertRun, update_alerts

BUYER = {"id": "GB-DEMO-RBC", "name": "Ravensholt Borough Council"}
COUNTY = {"id": "GB-DEMO-WCC", "name": "Westmarch County Council"}
LEAVING = {"id": "GB-COH-09876543", "name": "Tresswyn Therapy Services Ltd"}
TAKING_OVER = {"id": "GB-DEMO-VCH", "name": "Vennmoor Community Health NHS Trust"}
THERAPIES = "Integrated therapies for children and young people"
TODAY = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
# Settings that keep the tests quick: no red-flag run after a load (the tests build what alerts read themselves).
QUICK = {"workers": 1, "analyse_after_load": False, "publish_after_load": False}


ALERTS_GROUP = ("alerts", "tenderwatch.alerts", False)


def ensure_alerts_group() -> None:
    """Make the store create the alert tables, when their table group is not registered yet (for a subprocess)."""
    if not any(group == "alerts" for group, _, _ in tenderwatch.store.TABLE_GROUPS):
        tenderwatch.store.TABLE_GROUPS = (*tenderwatch.store.TABLE_GROUPS, ALERTS_GROUP)


def day(offset: int, *, plain: bool = False) -> str:
    """Return today plus ``offset`` days as an OCDS date (or a bare date with ``plain``)."""
    moment = TODAY + timedelta(days=offset)
    return moment.strftime("%Y-%m-%d") if plain else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _party(party: dict[str, str], role: str, **extra: Any) -> dict[str, Any]:
    scheme, _, number = party["id"].rpartition("-")
    return {**party, "identifier": {"scheme": scheme, "id": number}, "roles": [role], **extra}


def _release(ocid: str, number: str, offset: int, tag: str, buyer: dict[str, str], **parts: Any) -> dict[str, Any]:
    parties = [_party(buyer, "buyer", address={"region": "UKJ2", "locality": "Ravensholt"})]
    for award in parts.get("awards", []):
        parties += [_party(supplier, "supplier") for supplier in award.get("suppliers", [])]
    return {
        "ocid": ocid,
        "id": f"{ocid}-{number}",
        "date": day(offset),
        "tag": [tag],
        "x_demo": True,
        "buyer": buyer,
        "parties": parties,
        **parts,
    }


def _items(cpv: str, text: str) -> list[dict[str, Any]]:
    return [{"id": "1", "description": text, "classification": {"scheme": "CPV", "id": cpv}}]


def history() -> list[dict[str, Any]]:
    """Notices of a year and more ago: the therapies contract let by open tender, and a school nursing tender."""
    tender = {"id": "RBC-THER", "title": THERAPIES, "status": "active", "procurementMethod": "open",
              "procurementMethodDetails": "Open procedure", "value": {"amount": 9600000, "currency": "GBP"},
              "items": _items("85312400", "Therapies for children")}  # fmt: skip
    award = {"id": "RBC-THER-A1", "title": THERAPIES, "status": "active", "date": day(-450),
             "value": {"amount": 9600000, "currency": "GBP"}, "suppliers": [LEAVING],
             "contractPeriod": {"startDate": day(-420), "endDate": day(400)}}  # fmt: skip
    contract = {"id": "RBC-THER-C1", "awardID": "RBC-THER-A1", "title": THERAPIES, "status": "active",
                "value": {"amount": 9600000, "currency": "GBP"},
                "period": {"startDate": day(-420), "endDate": day(400)}}  # fmt: skip
    nursing = {"id": "WCC-NURSE", "title": "School nursing service", "status": "active", "procurementMethod": "open",
               "procurementMethodDetails": "Open procedure", "value": {"amount": 3000000, "currency": "GBP"},
               "items": _items("85141000", "School nursing")}  # fmt: skip
    return [
        _release("ocds-twdemo-700001", "01", -500, "tender", BUYER, tender=tender),
        _release(
            "ocds-twdemo-700001", "02", -450, "award", BUYER, tender={**tender, "status": "complete"}, awards=[award]
        ),
        _release("ocds-twdemo-700001", "03", -440, "contract", BUYER, contracts=[contract]),
        _release("ocds-twdemo-700002", "01", -420, "tender", COUNTY, tender=nursing),
    ]


def _termination(offset: int, *, plain: bool = False) -> dict[str, Any]:
    amendment = {"id": "1", "date": day(-3), "rationale": "Extended by six months to cover the handover."}
    return _release(
        "ocds-twdemo-700001",
        "05" if not plain else "06",
        offset,
        "contractTermination",
        BUYER,
        contracts=[
            {
                "id": "RBC-THER-C1",
                "awardID": "RBC-THER-A1",
                "status": "terminated",
                "value": {"amount": 11500000.0 if plain else 11500000, "currency": "GBP"},
                "period": {"startDate": day(-420, plain=plain), "endDate": day(30, plain=plain)},
                "amendments": [amendment],
            }
        ],
    )


def news() -> list[dict[str, Any]]:
    """Notices of the last days: the contract grows and is extended, then the provider leaves and the council
    awards an interim service directly to another; a school nursing estimate is corrected by 1%."""
    amendment = {"id": "1", "date": day(-3), "rationale": "Extended by six months to cover the handover."}
    grown = {"id": "RBC-THER-C1", "awardID": "RBC-THER-A1", "status": "active",
             "value": {"amount": 11500000, "currency": "GBP"},
             "period": {"startDate": day(-420), "endDate": day(580)}, "amendments": [amendment]}  # fmt: skip
    interim = {"id": "RBC-INT", "title": "Interim integrated therapies for children and young people",
               "status": "complete", "procurementMethod": "limited",
               "procurementMethodDetails": "Negotiated procedure without prior publication",
               "procurementMethodRationale": "Extreme urgency after the provider served notice",
               "items": _items("85312400", "Interim therapies for children")}  # fmt: skip
    interim_award = {"id": "RBC-INT-A1", "title": interim["title"], "status": "active", "date": day(-1),
                     "value": {"amount": 2400000, "currency": "GBP"}, "suppliers": [TAKING_OVER],
                     "contractPeriod": {"startDate": day(30), "endDate": day(395)}}  # fmt: skip
    nursing = {"id": "WCC-NURSE", "title": "School nursing service", "status": "active",
               "value": {"amount": 3030000, "currency": "GBP"}}  # fmt: skip
    return [
        _release("ocds-twdemo-700001", "04", -3, "contractAmendment", BUYER, contracts=[grown]),
        _termination(-2),
        _release("ocds-twdemo-700003", "01", -1, "award", BUYER, tender=interim, awards=[interim_award]),
        _release("ocds-twdemo-700002", "02", -1, "tenderUpdate", COUNTY, tender=nursing),
    ]


def republication() -> list[dict[str, Any]]:
    """The termination notice published again today under a new id, its dates and amounts written another way."""
    return [_termination(0, plain=True)]


def write(folder: Path, name: str, releases: list[dict[str, Any]]) -> Path:
    """Write releases as a JSON lines file; return its path."""
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in releases), encoding="utf-8")
    return path


def analyse(workspace: Workspace) -> AlertRun:
    """Do after a load what the alerts read, as the workspace's analysis does: the contract lifecycle and the
    events derived from the notices, then the changes and matches (the red flags are left out, for speed)."""
    from tenderwatch.analysis.lifecycle import build_lifecycle
    from tenderwatch.records.derived import build_derived_events

    con = workspace.store.con
    con.execute("BEGIN TRANSACTION")
    build_lifecycle(con)
    build_derived_events(con)
    con.execute("COMMIT")
    return update_alerts(con)


def load(workspace: Workspace, folder: Path, name: str, releases: list[dict[str, Any]]) -> AlertRun:
    """Load releases and analyse them for alerts."""
    result = workspace.load([str(write(folder, name, releases))])
    assert result.rejected == 0, [file.line() for file in result.files]
    return analyse(workspace)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Return the rows of a query as dicts."""
    result = con.execute(sql, params or [])
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records webhook posts. ``answers`` gives the status of each post in
    turn (then 200); clearing ``hold`` makes it wait before answering until it is set again."""

    def __init__(self, port: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], bytes, int]] = []
        self.answers: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.arrived.set()
                receiver.hold.wait(30)
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.posts.append((headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> dict[str, list[bytes]]:
        """Return the bodies of the posts answered with success, by delivery id (a repeat shows as two bodies)."""
        found: dict[str, list[bytes]] = {}
        for headers, body, status in self.posts:
            if 200 <= status < 300:
                found.setdefault(headers["x-tenderwatch-delivery"], []).append(body)
        return found


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(app: Any, *args: str) -> tuple[int, str, str]:
    """Run a command of a Typer sub-app as a user runs it; an error a user can cause is shown as the CLI's main
    shows it (one line on standard error, exit code 1)."""
    from typer.testing import CliRunner

    from tenderwatch.exceptions import TenderwatchError

    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, TenderwatchError):
        return 1, result.stdout, result.stderr + f"error: {result.exception}\n"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
