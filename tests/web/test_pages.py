"""Pages and their JSON twins, against a real server on 127.0.0.1 over a real DuckDB store."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest
from markupsafe import escape

from tenderwatch import Workspace, load_settings
from tenderwatch.queries.organisation import FLAGS_SHOWN
from tenderwatch.queries.search import SearchFilters, search
from tenderwatch.store import snapshot
from tenderwatch.store.snapshot import current_snapshot, load_fts, snapshot_folder
from tenderwatch.web.app import CSP
from tests import run_cli, serving
from tests.records import load_releases
from tests.records.test_derived import performance_histories
from tests.web.conftest import free_port


def test_home_search_and_the_stories(server: str) -> None:
    home = httpx.get(server + "/")
    assert home.status_code == 200
    assert "Demo data." in home.text and "Every organisation on this page is fictional" in home.text
    assert "National contact-tracing service" in home.text
    found = httpx.get(server + "/search", params={"q": "children therapies"})
    assert found.status_code == 200
    assert "Interim integrated therapies for children and young people" in found.text


def test_every_page_has_a_strict_content_security_policy(server: str) -> None:
    for path in ("/", "/search?q=care", "/flags", "/expiries", "/processes/ocds-twdemo-000009", "/api/flags"):
        response = httpx.get(server + path)
        assert response.headers["content-security-policy"] == CSP
        assert "cdn" not in response.text.lower() or path.startswith("/api")
        assert response.headers["x-frame-options"] == "DENY"


def test_text_from_the_data_is_escaped(server: str) -> None:
    page = httpx.get(server + "/processes/ocds-twdemo-900001")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; cleaning" in page.text
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt; Ltd" in page.text
    assert "Harrowdene &lt;b&gt;Council&lt;/b&gt;" in page.text
    assert (
        "<script>alert(2)" not in page.text
        and "&lt;script&gt;alert(2)&lt;/script&gt; windows &amp; doors" in page.text
    )
    found = httpx.get(server + "/search", params={"q": "cleaning"})
    assert "<script>alert" not in found.text


def test_contract_page_shows_how_it_was_bought_and_its_notices(server: str) -> None:
    page = httpx.get(server + "/processes/ocds-twdemo-000009")
    assert page.status_code == 200
    assert "Negotiated procedure without prior publication" in page.text
    assert "TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY" in page.text
    assert "Every notice" in page.text and "ocds-twdemo-000009-01-award" in page.text
    twin = httpx.get(server + "/api/processes/ocds-twdemo-000009").json()
    assert twin["procurement_method_details"] == "Negotiated procedure without prior publication"
    assert twin["rationale_classifications"] == ["TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY"]
    assert next(notice["release_id"] for notice in twin["notices"]) == "ocds-twdemo-000009-01-award"


def test_profiles_and_charts(server: str) -> None:
    process = httpx.get(server + "/api/processes/ocds-twdemo-000002").json()
    supplier = process["awards"][0]["suppliers"][0]["id"]
    page = httpx.get(server + f"/suppliers/{supplier}")
    assert page.status_code == 200 and "Orbitant Public Services plc" in page.text
    buyer = httpx.get(server + f"/buyers/{process['buyer_id']}")
    assert buyer.status_code == 200 and "National Infection Response Agency" in buyer.text
    big_buyer = httpx.get(server + "/api/search", params={"kind": "buyer", "q": "council"}).json()["items"][0]["key"]
    profile = httpx.get(server + f"/api/buyers/{big_buyer}").json()
    assert profile["totals"] and profile["charts"]
    chart = httpx.get(server + f"/buyers/{big_buyer}/charts/0.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart.text and "<script" not in chart.text
    assert "Show as a table" in httpx.get(server + f"/buyers/{big_buyer}").text


def test_a_buyer_page_lists_its_contracts_ending_within_18_months(web_store: Path, server: str) -> None:
    with duckdb.connect(str(web_store), read_only=True) as con:
        ending = con.execute(
            """
            SELECT o.organisation_id, l.ocid, coalesce(l.contract_id, l.award_id), l.current_end_date::DATE::VARCHAR
            FROM contract_lifecycle AS l JOIN processes AS p USING (ocid)
            JOIN organisation_parties AS o ON o.ocid = p.ocid AND o.party_id = p.buyer_id
            WHERE l.current_end_date BETWEEN now() AND now() + INTERVAL 17 MONTH
              AND l.row_type IN ('contract', 'award') AND NOT l.terminated AND l.status <> 'cancelled'
            ORDER BY l.current_end_date, l.ocid, coalesce(l.contract_id, l.award_id)
            """
        ).fetchall()
    assert ending  # the demo has contracts ending in the coming months
    buyer = ending[0][0]
    expected = [(ocid, contract, ends) for key, ocid, contract, ends in ending if key == buyer][:50]

    profile = httpx.get(server + f"/api/buyers/{buyer}").json()
    shown = [(item["ocid"], item["contract_id"], item["ends"]) for item in profile["ending_soon"]]

    assert shown[: len(expected)] == expected
    page = httpx.get(server + f"/buyers/{buyer}").text
    assert f'href="/processes/{expected[0][0]}"' in page


def test_supplier_track_record_and_corporate_groups(server: str) -> None:
    # The supplier that walked away from the children's therapies contract: its exit is on its profile, with the
    # notice it was found in.
    process = httpx.get(server + "/api/processes/ocds-twdemo-000008").json()
    supplier = process["awards"][0]["suppliers"][0]["id"]
    profile = httpx.get(server + f"/api/suppliers/{supplier}").json()
    kinds = {event["event_type"] for event in profile["track_record"]}
    assert {"terminated_early", "provider_exit"} <= kinds
    assert profile["organisation"]["organisation_id"] == supplier
    page = httpx.get(server + f"/suppliers/{supplier}").text
    assert "provider exit" in page and "/processes/ocds-twdemo-000008" in page

    # Groups are found by search, and a group's page lists its record with a public source for each event.
    found = httpx.get(server + "/api/search", params={"q": "serco", "kind": "group"}).json()["items"]
    assert [hit["url"] for hit in found] == ["/groups/serco"]
    group = httpx.get(server + "/api/groups/serco").json()
    assert group["name"] == "Serco" and group["track_record"]
    assert all(event["source_url"].startswith("https://") for event in group["track_record"])
    page = httpx.get(server + "/groups/serco")
    assert page.status_code == 200 and "Track record" in page.text
    assert httpx.get(server + "/groups/no-such-group").status_code == 404


def test_missing_things_are_404(server: str) -> None:
    assert httpx.get(server + "/processes/ocds-nope-1").status_code == 404
    assert httpx.get(server + "/api/processes/ocds-nope-1").status_code == 404
    assert httpx.get(server + "/api/suppliers/nobody").status_code == 404
    # a browser that follows a wrong address gets a page saying so; the API and other programs get JSON
    browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = httpx.get(server + "/no-such-page", headers=browser)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "There is no page at this address" in page.text
    pack = httpx.get(server + "/briefs/buyer/nobody.pdf", headers=browser)
    assert pack.status_code == 404 and "No buyer &#39;nobody&#39; in the store." in pack.text
    assert httpx.get(server + "/api/no-such-thing", headers=browser).json() == {"detail": "Not Found"}
    assert httpx.get(server + "/no-such-page").json() == {"detail": "Not Found"}


def test_lists_are_paginated_in_a_stable_order_and_downloadable(server: str) -> None:
    first = httpx.get(server + "/api/flags", params={"per_page": 20, "page": 1}).json()
    second = httpx.get(server + "/api/flags", params={"per_page": 20, "page": 2}).json()
    again = httpx.get(server + "/api/flags", params={"per_page": 20, "page": 1}).json()
    assert first["total"] > 40 and first == again
    keys = lambda page: [(f["code"], f["subject_id"], f["ocid"]) for f in page["items"]]  # noqa: E731
    assert not set(keys(first)) & set(keys(second))
    download = httpx.get(server + "/api/flags", params={"format": "csv", "per_page": 200})
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows and "sentence" in rows[0]
    expiring = httpx.get(server + "/api/expiries", params={"months": 18}).json()
    assert expiring["total"] >= len(expiring["items"])


def test_openapi_spec(server: str) -> None:
    spec = httpx.get(server + "/api/openapi.json").json()
    assert {"/api/search", "/api/processes/{ocid}", "/api/flags", "/api/expiries"} <= set(spec["paths"])


def test_the_server_keeps_answering_while_a_load_writes(web_store: Path, server: str, tmp_path: Path) -> None:
    from tenderwatch.demo.generator import write_jsonl

    extra = tmp_path / "more.jsonl"
    write_jsonl(extra, 4000, seed=99)
    before = httpx.get(server + "/api/flags", params={"per_page": 1}).json()["total"]
    load = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "load", str(extra), "--db", str(web_store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    statuses = []
    while load.poll() is None:
        statuses.append(httpx.get(server + "/search", params={"q": "care"}, timeout=10).status_code)
        time.sleep(0.1)
    assert load.returncode == 0, load.stderr.read().decode()[-2000:]
    assert statuses and set(statuses) == {200}
    time.sleep(1.5)  # the server looks for a newer snapshot at most once a second
    after = httpx.get(server + "/api/flags", params={"per_page": 1}).json()["total"]
    assert after > before  # the new snapshot, with the new data, is served


@pytest.fixture
def user_server(tmp_path: Path, web_store: Path) -> tuple[str, subprocess.Popen[bytes]]:
    return server_for(web_store)


def server_for(store: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "serve", "--db", str(store), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/login", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return url, process


def test_writing_needs_a_login_with_csrf_or_a_token(web_store: Path, server: str) -> None:
    add = subprocess.run(
        [sys.executable, "-m", "tenderwatch", "user", "add", "alex", "--password-stdin", "--db", str(web_store)],
        input=b"correct horse battery staple\n",
        capture_output=True,
        check=False,
    )
    assert add.returncode == 0, add.stderr
    short = subprocess.run(
        [sys.executable, "-m", "tenderwatch", "user", "add", "sam", "--password-stdin", "--db", str(web_store)],
        input=b"short\n",
        capture_output=True,
        check=False,
    )
    assert short.returncode == 1 and b"at least 12 characters" in short.stderr

    anonymous = httpx.Client(base_url=server)
    assert anonymous.post("/account/tokens", data={"csrf": "x"}).status_code == 401
    assert anonymous.get("/api/me").status_code == 401
    signed_out = anonymous.post("/account/tokens", data={"csrf": "x"}, headers={"accept": "text/html"})
    assert signed_out.status_code == 401 and "<h1>Sign in first</h1>" in signed_out.text
    assert '<a href="/login">Sign in</a>' in signed_out.text

    # Cookies are marked Secure; browsers send them to 127.0.0.1, httpx needs to be told it is trusted.
    client = httpx.Client(base_url=server, follow_redirects=False)
    form = client.get("/login")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    cookie = form.headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    session = cookie.split(";")[0]
    headers = {"cookie": session}
    bad = client.post("/login", data={"name": "alex", "password": "wrong password!", "csrf": token}, headers=headers)
    assert bad.status_code == 401
    forged = client.post(
        "/login", data={"name": "alex", "password": "correct horse battery staple", "csrf": "f"}, headers=headers
    )
    assert forged.status_code == 403
    assert forged.json() == {"detail": "the form has expired: reload the page and try again"}
    in_a_browser = client.post(
        "/login",
        data={"name": "alex", "password": "correct horse battery staple", "csrf": "f"},
        headers={**headers, "accept": "text/html"},
    )
    assert in_a_browser.status_code == 403
    assert "<h1>Not allowed</h1>" in in_a_browser.text and "The form has expired" in in_a_browser.text
    good = client.post(
        "/login", data={"name": "alex", "password": "correct horse battery staple", "csrf": token}, headers=headers
    )
    assert good.status_code == 303
    session = good.headers["set-cookie"].split(";")[0]
    account = client.get("/account", headers={"cookie": session})
    assert account.status_code == 200 and "alex" in account.text
    if "set-cookie" in account.headers:
        session = account.headers["set-cookie"].split(";")[0]
    csrf = account.text.split('name="csrf" value="')[1].split('"')[0]
    made = client.post("/account/tokens", data={"csrf": csrf, "label": "scripts"}, headers={"cookie": session})
    api_token = made.text.split("<code>")[1].split("</code>")[0]
    assert api_token.startswith("tw_")
    assert anonymous.get("/api/me", headers={"authorization": f"Bearer {api_token}"}).json() == {"name": "alex"}
    assert anonymous.get("/api/me", headers={"authorization": "Bearer tw_forged"}).status_code == 401


def test_concurrent_requests(server: str) -> None:
    errors = []

    def hit() -> None:
        for _ in range(10):
            response = httpx.get(server + "/processes/ocds-twdemo-000006", timeout=20)
            if response.status_code != 200:
                errors.append(response.status_code)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_a_profile_shows_its_first_flags_and_links_to_them_all(web_store: Path, server: str) -> None:
    snapshot = current_snapshot(web_store)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        buyer, total = con.execute(
            "SELECT party_id, (page::JSON ->> 'flags_total')::INTEGER AS total FROM organisation_pages "
            "WHERE kind = 'buyer' ORDER BY total DESC, party_id LIMIT 1"
        ).fetchall()[0]
    assert total > FLAGS_SHOWN  # the busiest demo buyer has more flags than a page shows
    profile = httpx.get(server + f"/api/buyers/{buyer}").json()
    assert profile["flags_total"] == total and len(profile["flags"]) == FLAGS_SHOWN
    page = httpx.get(server + f"/buyers/{buyer}").text
    assert f"The first {FLAGS_SHOWN} of {total} red flags" in page
    assert f'href="/flags?buyer={buyer}"' in page
    # each flag says which contract it is about by its title, linked to its page
    with duckdb.connect(str(web_store), read_only=True) as con:
        titles = dict(con.execute("SELECT ocid, title FROM processes").fetchall())
    first = next(flag for flag in profile["flags"] if flag["ocid"])
    assert first["title"] == titles[first["ocid"]]
    assert f'in <a href="/processes/{first["ocid"]}">{escape(first["title"])}</a>' in page
    # the red-flags list, filtered by the buyer, has every one of them, the page's first among them
    listed = httpx.get(server + "/api/flags", params={"buyer": buyer, "per_page": 200}).json()
    assert listed["total"] == total, (buyer, listed["total"], total)
    keys = {(flag["code"], flag["ocid"], flag["sentence"]) for flag in listed["items"]}
    if total <= 200:
        assert {(flag["code"], flag["ocid"], flag["sentence"]) for flag in profile["flags"]} <= keys


def test_the_snapshot_keeps_the_format_where_a_page_reads_without_decompressing_a_block(web_store: Path) -> None:
    # the store is written in DuckDB 1.5's format, which compresses long text with zstd; the snapshot is not: reading
    # one page out of a zstd block made every page two to three times slower under load at a million processes
    # (docs/performance.md)
    formats = {}
    for name, path in (("store", web_store), ("snapshot", current_snapshot(web_store))):
        with duckdb.connect(str(path), read_only=True) as con:
            formats[name] = con.execute(
                "SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal"
            ).fetchall()[0][0]
    assert formats == {"store": "v1.5.0+", "snapshot": "v1.0.0+"}


def test_search_ranks_by_bm25_and_every_path_agrees(web_store: Path) -> None:
    snapshot = current_snapshot(web_store)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        load_fts(con)
        for words in ("care", "children therapies", "council cleaning"):
            # the full-text index's own BM25, document by document
            expected = con.execute(
                "SELECT kind, key FROM (SELECT kind, key, fts_main_search_documents.match_bm25(doc_id, ?) AS score "
                "FROM search_documents) WHERE score IS NOT NULL ORDER BY score DESC, kind, key",
                [words],
            ).fetchall()
            assert len(expected) > 25
            found = [search(con, SearchFilters(q=words), page=page) for page in (1, 2)]
            assert [(hit.kind, hit.key) for page in found for hit in page.items] == expected[:50]
            assert found[0].total == len(expected)
            # words alone, and words with a filter that keeps every process, give the same processes
            alone = search(con, SearchFilters(q=words, kind="process"), page=2)
            filtered = search(con, SearchFilters(q=words, date_from=date(1900, 1, 1)), page=2)
            assert alone.total == filtered.total and alone.items == filtered.items


def test_a_suppliers_page_shows_the_failures_its_contract_notices_record(tmp_path: Path) -> None:
    # Find a Tender contract performance notices (UK9): two failures and two KPIs below standard, on the supplier's
    # page after a load (with its analysis and web snapshot), each with the notice it came from.
    db = tmp_path / "uk9.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        load_releases(workspace, tmp_path, performance_histories())
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        page = httpx.get(url + "/suppliers/GB-COH-01234567", timeout=30).text
        data = httpx.get(url + "/api/suppliers/GB-COH-01234567", timeout=30).json()
    record = page[page.index("Track record") :]
    assert "2025-03-10, KPIs below standard: Axford Council published on 10 March 2025 that Sample Care Ltd" in record
    assert record.count("2025-03-10, performance failure: ") == 2 and "Penalty: £25,000 (imposed)." in record
    assert '<a href="/processes/ocds-t3st01-p13">notice ocds-t3st01-p13-2</a>' in record
    assert sorted(event["event_type"] for event in data["track_record"]) == [
        "kpi_below",
        "performance_failure",
        "performance_failure",
    ]


def test_a_contract_page_gives_an_estimate_as_the_notice_does(tmp_path: Path) -> None:
    # a single estimate given as the minimum (Contracts Finder's OCDS 1.0 notices), a range, and a plain value
    def tender(ocid: str, **values: dict) -> dict:
        return {"ocid": ocid, "id": f"{ocid}-1", "date": "2020-01-12T00:00:00Z", "tag": ["tender"],
                "initiationType": "tender", "buyer": {"name": "Axford Council"},
                "tender": {"id": "t", "title": f"Tender {ocid[-1]}", "status": "active", **values}}  # fmt: skip

    def gbp(amount: int) -> dict:
        return {"amount": amount, "currency": "GBP"}

    db = tmp_path / "estimates.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        load_releases(workspace, tmp_path, [
            tender("ocds-b5fd17-est1", value=gbp(0), minValue=gbp(94446)),
            tender("ocds-b5fd17-est2", value=gbp(200000), minValue=gbp(100000)),
            tender("ocds-aaaaaa-est3", value=gbp(75000)),
            tender("ocds-aaaaaa-est4", value=gbp(0)),  # no value stated, as Open Opportunities gives it
        ])  # fmt: skip
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        shown = {
            ocid: httpx.get(f"{url}/api/processes/{ocid}", timeout=30).json()["tender_value"]
            for ocid in ("ocds-b5fd17-est1", "ocds-b5fd17-est2", "ocds-aaaaaa-est3", "ocds-aaaaaa-est4")
        }
        page = httpx.get(f"{url}/processes/ocds-b5fd17-est1", timeout=30).text
    assert shown == {
        "ocds-b5fd17-est1": "at least £94,446",
        "ocds-b5fd17-est2": "£100,000 to £200,000",
        "ocds-aaaaaa-est3": "£75,000",
        "ocds-aaaaaa-est4": "£0 (as published: often means no value was given)",
    }
    assert "<dt>Estimated value</dt><dd>at least £94,446</dd>" in page


def test_a_contract_page_says_when_a_value_includes_taxes(tmp_path: Path, real: Path) -> None:
    # Find a Tender notice 094477-2026 gives its award's value only including taxes (amountGross)
    db = tmp_path / "gross.duckdb"
    assert run_cli("load", str(real / "uk_fts_2026-10-06_release_package_limit4.json"), db=db).returncode == 0
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        awards = httpx.get(f"{url}/api/processes/ocds-h6vhtk-06e832", timeout=30).json()["awards"]
        page = httpx.get(f"{url}/processes/ocds-h6vhtk-06e832", timeout=30).text
        # another award of the same file gives its value without taxes, and says nothing of them
        other = httpx.get(f"{url}/api/processes/ocds-h6vhtk-06d285", timeout=30).json()["awards"]
        lifecycle = httpx.get(f"{url}/api/processes/ocds-h6vhtk-06e832", timeout=30).json()["lifecycle"]
    assert [award["value"] for award in awards] == ["£256,379 including taxes"]
    assert "<td>£256,379 including taxes</td>" in page
    assert [award["value"] for award in other] == ["£211,232"]
    # where the contract stands says so too, and the value is not compared with one without taxes
    assert [(row["current_value_includes_tax"], row["value_growth"]) for row in lifecycle] == [(True, 0.0)]
    assert page.count("<td>£256,379 including taxes</td>") == 2


def test_a_contract_page_says_where_the_contract_stands_in_words_with_its_notices(server: str) -> None:
    # the children's therapies story: a contract to 31 August 2022 that its provider gave notice on, ended a year
    # early by the notice of termination
    page = httpx.get(server + "/processes/ocds-twdemo-000008").text
    section = page[page.index("Where each contract stands") : page.index("</section>", page.index("Where each"))]
    assert "terminated early (stopped on 2021-08-31)" in section
    assert "2022-08-31 when first published; 2021-08-31 now (brought forward by 12 months)" in section
    assert "<td>£9,600,000</td>" in section
    # each fact links to the notice it comes from, listed on the same page
    for notice in ("ocds-twdemo-000008-03-contract", "ocds-twdemo-000008-04-contractTermination"):
        assert f'href="#notice-{notice}"' in section
        assert f'<li id="notice-{notice}">' in page
    # a contract that has ended has no extension options left to use, whatever its latest possible end
    interim = httpx.get(server + "/processes/ocds-twdemo-000009").text
    assert "<td>ended</td>" in interim and "extension options left" not in interim
    # no column of the table is shown raw: no timestamps, no lists
    assert "+01:00" not in section and "['" not in section and "computed" not in section


def test_a_contract_page_gives_its_codes_in_words(tmp_path: Path, real: Path) -> None:
    # Find a Tender notice 094477-2026: its legal basis, bid statistics and publication time as codes and numbers
    source = real / "uk_fts_2026-10-06_release_package_limit4.json"
    db = tmp_path / "words.duckdb"
    assert run_cli("load", str(source), db=db).returncode == 0
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        page = httpx.get(f"{url}/processes/ocds-h6vhtk-06e832", timeout=30).text
        twin = httpx.get(f"{url}/api/processes/ocds-h6vhtk-06e832", timeout=30).json()
        brief = httpx.get(f"{url}/briefs/process/ocds-h6vhtk-06e832.md", timeout=30).text
    assert "<dd>Procurement Act 2023 (UKPGA 2023/54)</dd>" in page
    # the UK extension's final-stage counts, as counts
    assert "<dt>Bids received (lot 1)</dt><dd>15</dd>" in page
    assert "<dt>Bids from SMEs assessed at the final stage (lot 1)</dt><dd>8</dd>" in page
    assert "finalStageBids" not in page and "15.0" not in page
    # the notice's time as the UK's clock gave it (18:31:55+01:00), and the file it came from without its folders
    assert "<strong>2026-10-06 18:31</strong>" in page
    assert f"from {source.name} /releases/0" in page and str(source.parent) not in page
    assert [notice["date"] for notice in twin["notices"]] == ["2026-10-06T18:31:55+01:00"]  # as published
    assert "published 2026-10-06 18:31" in brief


def test_a_notice_republished_by_open_opps_links_to_its_contracts_finder_page(tmp_path: Path, real: Path) -> None:
    # Open Opps gives each Contracts Finder notice an ocid of its own, ocds-0c46vo-0001-{notice id}; each notice
    # links to its page on Contracts Finder, the page its own tender document names
    source = real / "uk_cf_2020_tenders_openopps.jsonl"
    db = tmp_path / "openopps.duckdb"
    assert run_cli("load", str(source), db=db).returncode == 0
    named = {}
    for line in source.read_text(encoding="utf-8").splitlines()[:15]:
        for release in json.loads(line)["releases"]:
            documents = release["tender"].get("documents") or []
            named[release["ocid"]] = {d["url"] for d in documents if "contractsfinder" in d.get("url", "")}
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        for ocid, links in named.items():
            notices = httpx.get(f"{url}/api/processes/{ocid}", timeout=30).json()["notices"]
            assert [notice["url"] for notice in notices] == sorted(links), ocid
        page = httpx.get(f"{url}/processes/{ocid}", timeout=30).text
    assert f'<a href="{sorted(links)[0]}" rel="noopener noreferrer">on the publisher\'s site</a>' in page


def test_an_award_whose_contract_is_not_published_yet_is_ending_soon(tmp_path: Path) -> None:
    # an award notice gives the contract's period; no contract notice has followed yet
    ends = date.today().replace(day=1).toordinal() + 200
    end = date.fromordinal(ends).isoformat()
    ocid = "ocds-h6vhtk-end001"
    notice = {"ocid": ocid, "id": "100001-2026", "date": f"{date.today().isoformat()}T09:00:00Z", "tag": ["award"],
              "initiationType": "tender", "buyer": {"id": "B1", "name": "Axford Council"},
              "tender": {"id": "t", "title": "Home care for adults", "status": "complete",
                         "procurementMethod": "open"},
              "awards": [{"id": "1", "status": "active", "date": f"{date.today().isoformat()}T00:00:00Z",
                          "value": {"amount": 500000, "currency": "GBP"},
                          "suppliers": [{"id": "S1", "name": "Carewell Ltd"}],
                          "contractPeriod": {"startDate": "2024-04-01T00:00:00Z",
                                             "endDate": f"{end}T00:00:00Z"}}]}  # fmt: skip
    db = tmp_path / "ending.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        load_releases(workspace, tmp_path, [notice])
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        listed = httpx.get(f"{url}/api/expiries", params={"months": 12}, timeout=30).json()["items"]
        page = httpx.get(f"{url}/expiries", params={"months": 12}, timeout=30).text
        buyer = httpx.get(f"{url}/api/processes/{ocid}", timeout=30).json()["buyer_profile"]
        profile = httpx.get(f"{url}/api/buyers/{buyer}", timeout=30).json()
    assert [(item["ocid"], item["contract_id"], item["kind"], item["ends"], item["suppliers"]) for item in listed] == [
        (ocid, "1", "award", end, "Carewell Ltd")
    ]
    assert "(awarded; contract not published yet)" in page
    assert [(item["ocid"], item["ends"]) for item in profile["ending_soon"]] == [(ocid, end)]


def test_a_date_is_the_day_the_notice_gives_in_uk_time(tmp_path: Path) -> None:
    # Find a Tender writes a summer day as midnight with the UK offset: 2026-10-06T00:00:00+01:00, which is still
    # 5 October in UTC. The contract page (published with the snapshot), the search and the contracts ending soon
    # (read from it) and the red flags' sentences all give the UK day.
    ocid = "ocds-h6vhtk-bst001"
    notice = {"ocid": ocid, "id": "094477-2026", "date": "2026-10-06T00:30:00+01:00", "tag": ["award"],
              "initiationType": "tender", "buyer": {"id": "B1", "name": "Axford College"},
              "tender": {"id": "t", "title": "Unified communications", "status": "complete",
                         "procurementMethod": "open"},
              "awards": [{"id": "1", "status": "pending", "date": "2026-10-06T00:00:00+01:00",
                          "value": {"amount": 213649, "currency": "GBP"},
                          "suppliers": [{"id": "S1", "name": "Chess ICT"}]}],
              "contracts": [{"id": "C1", "awardID": "1", "status": "active",
                             "period": {"startDate": "2026-11-01T00:00:00Z",
                                        "endDate": "2027-06-01T00:00:00+01:00"}}]}  # fmt: skip
    db = tmp_path / "bst.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        load_releases(workspace, tmp_path, [notice])
    with serving(db, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        process = httpx.get(f"{url}/api/processes/{ocid}", timeout=30).json()
        found = httpx.get(f"{url}/api/search", params={"q": "unified communications"}, timeout=30).json()["items"]
        ending = httpx.get(f"{url}/api/expiries", params={"months": 18}, timeout=30).json()["items"]
    assert [award["date"] for award in process["awards"]] == ["2026-10-06"]
    assert [item["date"] for item in found if item["key"] == ocid] == ["2026-10-06"]
    assert [(item["ocid"], item["ends"]) for item in ending] == [(ocid, "2027-06-01")]  # 31 May in UTC
    sentences = [flag["sentence"] for flag in process["flags"] if flag["code"] == "R004"]
    assert sentences and "award on 6 October 2026" in sentences[0]


def test_a_store_with_nothing_published_says_so_without_telling_its_path(tmp_path: Path, real: Path) -> None:
    db = tmp_path / "store.duckdb"
    assert run_cli("load", str(real / "uk_fts_2026-09-03_page5_excerpt.json"), db=db).returncode == 0
    with serving(db) as url:
        shutil.rmtree(snapshot_folder(db))  # as if nothing had been published
        deadline = time.monotonic() + 30  # the server looks for a newer snapshot at most once a second
        while (page := httpx.get(url + "/", headers={"accept": "text/html"})).status_code == 200:
            assert time.monotonic() < deadline, "the server kept serving a snapshot that is gone"
            time.sleep(0.2)
        assert page.status_code == 503
        assert "<h1>Not ready</h1>" in page.text and "the data appear after the next load or sync" in page.text
        api = httpx.get(url + "/api/flags")
        assert api.status_code == 503 and "Nothing has been published" in api.json()["detail"]
        assert str(tmp_path) not in page.text + api.text


def test_a_snapshot_made_again_gives_the_same_pages(
    web_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # contract pages are made from their parts a slice of processes at a time: parts of 200 processes, joined 100 at a
    # time, give the pages that one slice gives; so do profiles made 40 at a time, or a weight of 1,000 at a time;
    # and a profile lists its flags, its identifiers and its counterparts' names the same way every time
    db = tmp_path / "again.duckdb"
    shutil.copyfile(web_store, db)
    pages = []
    slices = (
        (snapshot.PART_SLICE, snapshot.PROCESS_PAGE_SLICE, snapshot.PAGE_SLICE, snapshot.PROFILE_SLICE_WEIGHT),
        (200, 100, 40, 1_000),
    )
    for part_slice, page_slice, profile_slice, link_slice in slices:
        monkeypatch.setattr(snapshot, "PART_SLICE", part_slice)
        monkeypatch.setattr(snapshot, "PROCESS_PAGE_SLICE", page_slice)
        monkeypatch.setattr(snapshot, "PAGE_SLICE", profile_slice)
        monkeypatch.setattr(snapshot, "PROFILE_SLICE_WEIGHT", link_slice)
        with Workspace.open(load_settings(db=db, workers=1)) as workspace:
            workspace.store.con.execute("SET memory_limit = '768MB'")
            made = workspace.publish()
        with duckdb.connect(str(made), read_only=True) as con:
            pages.append(
                [
                    con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                    for table in ("process_pages", "organisation_pages")
                ]
            )
            processes = con.execute("SELECT count(*) FROM process_pages").fetchall()[0][0]
            profiles = con.execute("SELECT count(*) FROM organisation_pages").fetchall()[0][0]
    assert processes > 200 * 3 and profiles > 40 * 3  # several slices
    assert pages[0] == pages[1]


def test_the_red_flags_page_says_what_each_indicator_flags(server: str) -> None:
    counts = {c["code"]: c for c in httpx.get(server + "/api/flags/counts").json()}
    assert counts["R003"]["flags_what"] == "processes"
    assert counts["R002"]["flags_what"] == "buyers" and counts["R040"]["flags_what"] == "suppliers"
    assert counts["R038"]["flags_what"] == "buyers, procuring entities and tenderers"
    # an indicator of buyers or suppliers names no one process
    code = next(c for c, n in counts.items() if "process" not in n["flags_what"] and n["flags"] > 0)
    assert counts[code]["processes"] == 0
    page = httpx.get(server + "/flags").text
    start = page.index(f'<a href="/flags?code={code}">')
    row = page[start : page.index("</tr>", start)]
    assert f"<td>{counts[code]['flags_what']}</td>" in row and f"<td>{counts[code]['flags']:,}</td>" in row
    assert "flags organisations, not single processes" in row


def test_a_flags_evidence_is_in_words_not_in_python(server: str) -> None:
    # the 10-year cancer contract's "very long contract" flag: its evidence holds a yes-or-no and values not given
    page = httpx.get(server + "/processes/ocds-twdemo-000006").text
    evidence = page[page.index('<details class="evidence">') : page.rindex("</details>")]
    assert "<dt>indefinite</dt><dd>no</dd>" in evidence
    assert "<dd>not given</dd>" in evidence
    assert "<dt>estimated value</dt><dd>1,200,000,000</dd>" in evidence
    for raw in ("<dd>None</dd>", "<dd>False</dd>", "<dd>True</dd>", "<dd>[", "<dd>{"):
        assert raw not in evidence
    # a market's concentration and its largest share, as measures are written, not to sixteen decimals
    flagged = re.search(r'href="(/processes/[^"]+)"', httpx.get(server + "/flags?code=R051").text)
    assert flagged, "R051 flagged no process"
    market = httpx.get(server + flagged.group(1)).text
    fractions = re.findall(r"<dd>-?[0-9,]*\.([0-9]+)</dd>", market)
    assert fractions, "no evidence with a fraction on the page"
    assert max(len(digits) for digits in fractions) <= 4, fractions
