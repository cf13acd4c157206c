"""The web app, served for real on 127.0.0.1: each watchlist's Atom feed (valid Atom 1.0, opened only by its
token), and a signed-in user's watchlists with their latest matches, as a page and as JSON."""

from __future__ import annotations

import re
import shutil
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from tenderwatch import Workspace, load_settings
from tenderwatch.web.accounts import Accounts, accounts_path
from tenderwatch.web.app import create_app
from tests.alerts import QUICK, free_port

ATOM = "{http://www.w3.org/2005/Atom}"
PASSWORD = "correct horse battery"  # noqa: S105 - a test account on a test server


@pytest.fixture(scope="module")
def site(scenario_store: tuple[Path, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The scenario's store, published and served (the tests only read it)."""
    scenario = tmp_path_factory.mktemp("site") / "store.duckdb"
    shutil.copyfile(scenario_store[0], scenario)
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        workspace.publish()
    Accounts(accounts_path(scenario)).add_user("rep", PASSWORD)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(load_settings(db=scenario, secure_cookies=False)), host="127.0.0.1", port=port,
            log_level="warning",
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", scenario
    server.should_exit = True
    thread.join(timeout=30)


def _token(db: Path, watchlist: int) -> str:
    import duckdb

    from tenderwatch.store.snapshot import current_snapshot

    with duckdb.connect(str(current_snapshot(db)), read_only=True) as con:
        return con.execute("SELECT feed_token FROM watchlists WHERE watchlist_id = ?", [watchlist]).fetchall()[0][0]


def test_the_feed_is_valid_atom_and_opens_only_with_its_token(site: tuple[str, Path]) -> None:
    url, db = site
    token = _token(db, 1)

    response = httpx.get(f"{url}/watchlists/1/feed.atom", params={"token": token})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.content)  # noqa: S314 - our own feed, from our own server
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author/{A}name"):
        assert feed.find(f"{ATOM}{required}".replace("{A}", ATOM)) is not None, required
    assert feed.findtext(f"{ATOM}title") == "tenderwatch: Ravensholt"
    assert feed.findtext(f"{ATOM}id").startswith("urn:uuid:")
    datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    self_link = feed.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == f"{url}/watchlists/1/feed.atom?token={token}"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 6
    ids = set()
    for entry in entries:
        ids.add(entry.findtext(f"{ATOM}id"))
        assert entry.findtext(f"{ATOM}title") and entry.findtext(f"{ATOM}summary")
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated")).tzinfo is not None
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith(f"{url}/processes/ocds-twdemo-70000")
    assert len(ids) == 6 and all(value.startswith("urn:uuid:") for value in ids)
    summaries = " ".join(entry.findtext(f"{ATOM}summary") for entry in entries)
    assert "went from £9,600,000 to £11,500,000 (+20%)" in summaries
    assert "Notice: release ocds-twdemo-700001-05 of ocds-twdemo-700001." in summaries
    # The same feed again gives the same ids, so a reader shows nothing twice.
    again = ET.fromstring(httpx.get(f"{url}/watchlists/1/feed.atom", params={"token": token}).content)  # noqa: S314
    assert {entry.findtext(f"{ATOM}id") for entry in again.findall(f"{ATOM}entry")} == ids

    wrong = token[:-1] + ("y" if token.endswith("x") else "x")
    for params in ({"token": wrong}, {}, {"token": _token(db, 2)}):
        assert httpx.get(f"{url}/watchlists/1/feed.atom", params=params).status_code == 404
    assert httpx.get(f"{url}/watchlists/99/feed.atom", params={"token": token}).status_code == 404


def test_a_signed_in_user_sees_their_own_watchlists_and_latest_matches(site: tuple[str, Path]) -> None:
    url, db = site
    with httpx.Client(base_url=url) as client:
        assert client.get("/watchlists").headers["location"] == "/login"
        assert client.get("/api/watchlists").status_code == 401
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        signed_in = client.post("/login", data={"name": "rep", "password": PASSWORD, "csrf": csrf})
        assert signed_in.status_code == 303

        page = client.get("/watchlists").text

    assert "<h2>Ravensholt</h2>" in page and "<h2>Therapy exits</h2>" in page
    assert "School nursing" not in page  # a watchlist of no web user
    assert "Matches buyer &#34;ravensholt borough council&#34;." in page
    assert "went from £9,600,000 to £11,500,000 (+20%)" in page
    assert 'href="/processes/ocds-twdemo-700001"' in page
    assert f'href="/watchlists/1/feed.atom?token={_token(db, 1)}"' in page

    token = Accounts(accounts_path(db)).create_token("rep", "scripts")
    found = httpx.get(f"{url}/api/watchlists", headers={"Authorization": f"Bearer {token}"}).json()
    assert [w["name"] for w in found["watchlists"]] == ["Ravensholt", "Therapy exits"]
    exits = found["watchlists"][1]
    assert sorted(m["kind"] for m in exits["recent"]) == ["provider_exit", "termination"]
    assert all(m["deliveries"] == ["webhook: pending"] for m in exits["recent"])
