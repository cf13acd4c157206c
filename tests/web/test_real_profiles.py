"""Profiles of real UK data: one per organisation, never one per party id as published.

Contracts Finder numbers the parties of each notice 0, 1, 2…, so the published id "0" stands for hundreds of
different firms. A profile keyed by that id would add their contracts together under one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx
import pytest

from tenderwatch.indicators.engine import read_flags
from tests import serving


@pytest.fixture(scope="module")
def real_site(real_store: Path) -> Iterator[tuple[str, Path]]:
    with serving(real_store) as url:
        yield url, real_store


def _query(store: Path, sql: str, params: list | dict | None = None) -> list[tuple]:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _buyer_organisation(store: Path, name: str) -> str:
    """The one organisation the buyer parties of that name were matched to."""
    found = _query(
        store,
        """
        SELECT DISTINCT o.organisation_id FROM organisation_parties AS o JOIN processes AS p USING (ocid)
        WHERE list_contains(o.roles, 'buyer') AND p.buyer_name = ?
        """,
        [name],
    )
    assert len(found) == 1, found
    return found[0][0]


def test_a_party_id_shared_by_many_firms_has_no_profile_of_its_own(real_site: tuple[str, Path]) -> None:
    url, store = real_site
    shared, organisations = _query(
        store,
        """
        SELECT party_id, count(DISTINCT organisation_id) AS n FROM organisation_parties
        WHERE list_contains(roles, 'supplier') GROUP BY party_id ORDER BY n DESC, party_id LIMIT 1
        """,
    )[0]
    assert organisations > 10  # the real data does hold such ids

    page = httpx.get(f"{url}/suppliers/{quote(shared, safe='')}")

    assert page.status_code == 404
    assert "names a different supplier in different notices" in page.text
    links = re.findall(r'href="/suppliers/([^"]+)"', page.text)
    assert len(links) == min(organisations, 50)
    # each of those leads to one organisation's own profile, under its own name only
    api = httpx.get(f"{url}/api/suppliers/{links[0]}")
    assert api.status_code == 200
    profile = api.json()
    assert profile["party_id"] != shared
    assert len({name.upper() for name in profile["names_seen"]}) <= 3


def test_contract_pages_link_each_supplier_to_its_organisation(real_site: tuple[str, Path]) -> None:
    url, store = real_site
    ocid, name, organisation = _query(
        store,
        """
        SELECT s.ocid, s.name, o.organisation_id FROM award_suppliers AS s
        JOIN organisation_parties AS o ON o.ocid = s.ocid AND o.party_id = s.party_id
        WHERE s.party_id = '0' AND s.ocid LIKE 'ocds-b5fd17-%' ORDER BY s.ocid LIMIT 1
        """,
    )[0]

    page = httpx.get(f"{url}/processes/{quote(ocid, safe='')}")

    assert page.status_code == 200
    assert f'href="/suppliers/{quote(organisation, safe="")}"' in page.text
    assert 'href="/suppliers/0"' not in page.text
    profile = httpx.get(f"{url}/api/suppliers/{quote(organisation, safe='')}").json()
    assert profile["name"].upper() == name.upper() or name in profile["names_seen"]
    assert ocid in {item["ocid"] for item in profile["processes"]}


def test_a_published_id_naming_one_organisation_leads_to_its_profile(real_site: tuple[str, Path]) -> None:
    url, store = real_site
    party, organisation = _query(
        store,
        """
        SELECT party_id, min(organisation_id) FROM organisation_parties
        WHERE list_contains(roles, 'supplier') AND party_id <> organisation_id
        GROUP BY party_id HAVING count(DISTINCT organisation_id) = 1 ORDER BY party_id LIMIT 1
        """,
    )[0]

    page = httpx.get(f"{url}/suppliers/{quote(party, safe='')}", follow_redirects=False)

    assert page.status_code == 307
    assert page.headers["location"] == f"/suppliers/{quote(organisation, safe='')}"
    assert httpx.get(url + page.headers["location"]).status_code == 200


def test_flags_of_an_organisation_leave_out_the_firms_that_share_its_published_id(real_store: Path) -> None:
    with duckdb.connect(str(real_store), read_only=True) as con:
        organisation, ocid = con.execute(
            """
            SELECT o.organisation_id, f.ocid FROM flags AS f
            JOIN organisation_parties AS o ON o.ocid = f.ocid AND o.party_id = '0'
            WHERE f.subject = 'process' AND list_contains(o.roles, 'supplier')
            ORDER BY f.ocid LIMIT 1
            """
        ).fetchall()[0]
        theirs = {flag.ocid for flag in read_flags(con, supplier=organisation)}
        everyone = {flag.ocid for flag in read_flags(con, supplier="0")}
        organisation_processes = {
            row[0]
            for row in con.execute(
                "SELECT ocid FROM organisation_parties WHERE organisation_id = ? AND list_contains(roles, 'supplier')",
                [organisation],
            ).fetchall()
        }

    assert ocid in theirs
    assert theirs <= organisation_processes | {None}
    assert len(everyone) > len(theirs)  # the published id "0" gathers other firms' flags too


def test_a_profiles_red_flag_total_counts_every_process_of_the_organisation(real_site: tuple[str, Path]) -> None:
    # most of Durham County Council's notices (Contracts Finder's, and Open Opps' copies of them) give the buyer no
    # id; one Find a Tender notice does. The profile gathers all of them, and so must its red-flag total.
    url, store = real_site
    key = quote(_buyer_organisation(store, "Durham County Council"), safe="")
    profile = httpx.get(f"{url}/api/buyers/{key}").json()
    ocids = {item["ocid"] for item in profile["processes"]}
    (processes, flagged, at_stake) = _query(
        store,
        f"""
        SELECT count(*), count(*) FILTER (WHERE flags_raised > 0),
               sum(value_amount) FILTER (WHERE flags_raised > 0 AND value_currency = 'GBP')::DOUBLE
        FROM process_scores WHERE ocid IN ({", ".join(f"'{ocid}'" for ocid in ocids)})
        """,
    )[0]
    assert len(ocids) > 10 and flagged > 1
    assert profile["scores"] == [
        {
            "processes": processes,
            "flagged_processes": flagged,
            "mean_score": profile["scores"][0]["mean_score"],
            "at_stake": [{"amount": at_stake, "currency": "GBP"}],
        }
    ]
    page = httpx.get(f"{url}/buyers/{key}").text
    assert f"<dd>{flagged} of {processes} processes flagged; £{at_stake:,.0f} at stake in them</dd>" in page


def test_contracts_ending_soon_include_awards_whose_contract_is_not_published_yet(
    real_site: tuple[str, Path],
) -> None:
    # Find a Tender's award notices give the contract's dates before its contract details notice does, and
    # Contracts Finder's awards mostly have no contract at all: of the real data's contracts ending within the
    # next five years (the longest window the list offers), most are awards of that kind
    url, store = real_site
    awards = _query(
        store,
        """
        SELECT l.ocid, l.award_id, l.current_end_date::DATE::VARCHAR FROM contract_lifecycle AS l
        WHERE l.row_type = 'award' AND NOT l.terminated AND l.status <> 'cancelled'
          AND l.current_end_date BETWEEN now() AND now() + INTERVAL 60 MONTH
          AND l.ocid NOT IN (SELECT ocid FROM process_copies)  -- listed as their originals
        """,
    )
    assert awards  # the real data's awards of 2025 and 2026 run to 2027 and beyond
    listed = httpx.get(f"{url}/api/expiries", params={"months": 60, "per_page": 200}).json()["items"]
    shown = {(item["ocid"], item["contract_id"], item["ends"]): item["kind"] for item in listed}
    assert set(awards) <= set(shown)
    assert {shown[award] for award in awards} == {"award"}
    page = httpx.get(f"{url}/expiries", params={"months": 60}).text
    assert "(awarded; contract not published yet)" in page


def test_character_references_publishers_leave_in_texts_are_shown_as_characters(real_site: tuple[str, Path]) -> None:
    # Contracts Finder's notices hold titles such as "Provision of Day, Residential &amp; Nursing Home Care Contract":
    # pages show "&", not "&amp;", and what a publisher wrote still cannot become markup
    url, store = real_site
    ocid, title = _query(
        store, "SELECT ocid, title FROM processes WHERE title LIKE '%Residential &amp; Nursing%' ORDER BY ocid LIMIT 1"
    )[0]
    page = httpx.get(f"{url}/processes/{quote(ocid, safe='')}").text
    found = httpx.get(f"{url}/search", params={"q": "residential nursing home care"}).text
    brief = httpx.get(f"{url}/briefs/process/{quote(ocid, safe='')}.html").text
    for html in (page, found, brief):
        # the title's "&amp;" is one "&", which the HTML escapes once: "&amp;", never "&amp;amp;"
        assert title in html and "&amp;amp;" not in html
    # the JSON gives the title as published
    assert httpx.get(f"{url}/api/processes/{quote(ocid, safe='')}").json()["title"] == title
    # and a count of one is said in the singular
    assert "1 contract won" in found and "1 contracts won" not in found


def test_how_a_buyer_buys_is_read_from_the_procedures_name_where_it_gives_no_method(
    real_site: tuple[str, Path],
) -> None:
    # Durham County Council's Contracts Finder notices call their procedure "Open procedure" or "Restricted
    # procedure" and give no OCDS method: they were competed, not "not stated"
    url, store = real_site
    named = _query(
        store,
        """
        SELECT count(*) FROM processes AS p JOIN tenders AS t USING (ocid)
        WHERE p.buyer_name = 'Durham County Council'
          AND t.procurement_method_details IN ('Open procedure', 'Restricted procedure')
        """,
    )[0][0]
    organisation = _buyer_organisation(store, "Durham County Council")
    profile = httpx.get(f"{url}/api/buyers/{quote(organisation, safe='')}").json()
    procedures = profile["procedures"]
    by_class = {item["class"]: item for item in procedures}
    assert named >= 5 and by_class["competitive"]["processes"] == named
    assert by_class["competitive"]["method"] == "competed (open or selective)"
    assert sum(item["processes"] for item in procedures) == len(profile["processes"])


def test_a_buyers_total_counts_an_award_to_several_suppliers_once(real_site: tuple[str, Path]) -> None:
    # a framework award names its suppliers under one value: Northamptonshire's learning-disability framework gives
    # £980,000,000 for eighteen providers, which the buyer's total once read as eighteen times that
    url, store = real_site
    ocid, currency, suppliers = _query(
        store,
        """
        SELECT ocid, value_currency, supplier_count FROM awards
        WHERE ocid LIKE 'ocds-b5fd17%' AND value_amount > 0 AND status = 'active'
        ORDER BY supplier_count DESC, value_amount DESC, ocid LIMIT 1
        """,
    )[0]
    assert suppliers > 10
    buyer = _query(
        store,
        """
        SELECT o.organisation_id FROM organisation_parties AS o
        WHERE o.ocid = ? AND list_contains(o.roles, 'buyer')
        """,
        [ocid],
    )[0][0]
    # what the buyer awarded, each award once, straight from the store
    awards, expected = _query(
        store,
        """
        SELECT count(*), sum(a.value_amount)::DOUBLE FROM awards AS a
        WHERE a.value_currency = $currency AND a.status IS DISTINCT FROM 'cancelled'
          AND a.status IS DISTINCT FROM 'unsuccessful' AND a.award_id IS NOT NULL
          AND a.ocid IN (SELECT o.ocid FROM organisation_parties AS o
                         WHERE o.organisation_id = $buyer AND list_contains(o.roles, 'buyer'))
          -- a copy of another of the buyer's processes counts once, as its original
          AND a.ocid NOT IN (SELECT c.ocid FROM process_copies AS c JOIN organisation_parties AS o
                             ON o.ocid = c.original_ocid AND o.organisation_id = $buyer
                             AND list_contains(o.roles, 'buyer'))
        """,
        {"currency": currency, "buyer": buyer},
    )[0]

    profile = httpx.get(f"{url}/api/buyers/{quote(buyer, safe='')}").json()

    total = next(row for row in profile["totals"] if row["currency"] == currency)
    assert total["awards"] == awards
    assert total["total"] == pytest.approx(expected)
    # each supplier is the buyer's counterpart for its part of an award, as on its own profile: together they
    # come to no more than the buyer awarded
    counterparts = [row["total"] for row in profile["counterparts"] if row["currency"] == currency]
    assert len(counterparts) > 1 and sum(counterparts) <= expected * 1.000001
    page = httpx.get(f"{url}/buyers/{quote(buyer, safe='')}").text
    assert total["total_text"] in page


def test_the_home_page_counts_buyers_and_suppliers_as_organisations(real_site: tuple[str, Path]) -> None:
    # most Contracts Finder buyers have no id, and its suppliers are numbered 0, 1, 2… in each notice: counting the
    # ids as published said 236 buyers and 350 suppliers where the profiles know 729 and 978
    url, store = real_site
    buyers, suppliers, buyer_ids, supplier_ids = _query(
        store,
        """
        SELECT (SELECT count(DISTINCT organisation_id) FROM organisation_parties WHERE list_contains(roles, 'buyer')),
               (SELECT count(DISTINCT organisation_id) FROM organisation_parties
                WHERE list_contains(roles, 'supplier')),
               (SELECT count(DISTINCT buyer_id) FROM processes),
               (SELECT count(DISTINCT party_id) FROM award_suppliers)
        """,
    )[0]
    assert buyers > buyer_ids * 2 and suppliers > supplier_ids * 2

    page = httpx.get(f"{url}/").text

    assert f"from {buyers:,} buyers and {suppliers:,} suppliers" in " ".join(page.split())


def test_a_supplier_with_one_buyer_is_said_in_the_singular(real_site: tuple[str, Path]) -> None:
    # BFS Group won four contracts, all from Foodbuy Europe: "across 1 buyer", not "1 buyers"
    url, store = real_site
    candidates = _query(
        store,
        """
        SELECT o.organisation_id FROM organisation_parties AS o
        WHERE list_contains(o.roles, 'supplier') AND o.organisation_id LIKE 'GB-COH-%'
        GROUP BY o.organisation_id HAVING count(DISTINCT o.ocid) > 1
        ORDER BY count(DISTINCT o.ocid) DESC, o.organisation_id LIMIT 20
        """,
    )
    singles = [
        key
        for (key,) in candidates
        if [
            row["counterparts"]
            for row in httpx.get(f"{url}/api/suppliers/{quote(key, safe='')}").json()["concentration"]
        ]
        == [1]
    ]
    assert singles

    page = " ".join(httpx.get(f"{url}/suppliers/{quote(singles[0], safe='')}").text.split())

    assert "across 1 buyer</dd>" in page and "1 buyers" not in page


def test_a_deadline_without_an_opening_date_reads_by_that_day(real_site: tuple[str, Path]) -> None:
    # most Contracts Finder notices give the deadline for bids and not the day bidding opened
    url, store = real_site
    ocid = _query(
        store,
        """
        SELECT ocid FROM tenders WHERE tender_period_start IS NULL AND tender_period_end IS NOT NULL
        ORDER BY ocid LIMIT 1
        """,
    )[0][0]
    deadline = httpx.get(f"{url}/api/processes/{quote(ocid, safe='')}").json()["tender_period"][1]

    page = httpx.get(f"{url}/processes/{quote(ocid, safe='')}").text

    assert f"<dt>Bids due</dt><dd>by {deadline}</dd>" in page and "<dd>? to" not in page


def test_a_notice_dated_at_midnight_utc_shows_its_day_alone(real_site: tuple[str, Path]) -> None:
    # bluetail's Contracts Finder notices give dates only, written as midnight UTC: in summer that is 01:00 in the
    # UK, a time nobody published
    url, store = real_site
    ocid, day = _query(
        store,
        """
        SELECT ocid, left(release_date, 10) FROM raw_releases
        WHERE release_date LIKE '%T00:00:00Z' AND month(left(release_date, 10)::DATE) BETWEEN 5 AND 9
        ORDER BY ocid LIMIT 1
        """,
    )[0]

    page = httpx.get(f"{url}/processes/{quote(ocid, safe='')}").text

    assert f"<strong>{day}</strong>" in page and f"{day} 01:00" not in page


def test_a_notice_republished_under_another_ocid_is_counted_once(real_site: tuple[str, Path]) -> None:
    # Open Opps republishes Contracts Finder notices under ocids of its own, and bluetail's research copy rewrote
    # the ocids of the notices it matched; both keep Contracts Finder's release ids, which begin with its ocid
    url, store = real_site
    copies = _query(
        store,
        """
        SELECT c.ocid, c.original_ocid, c.release_id,
               (SELECT count(DISTINCT r.ocid) FROM raw_releases AS r
                WHERE r.release_id = c.release_id AND r.ocid IN (c.ocid, c.original_ocid))
        FROM process_copies AS c ORDER BY c.ocid
        """,
    )
    publishers = {ocid.split("-")[1] for ocid, *_ in copies}
    assert {"0c46vo", "b5fd17suppliermatch"} <= publishers
    assert all(release.startswith(original) and held == 2 for _, original, release, held in copies)
    # Cambridgeshire's home-care system: £300,000,000 in each of the two, once counted twice
    copy, original = next(
        (ocid, original)
        for ocid, original, *_ in copies
        if _query(store, "SELECT count(DISTINCT buyer_name) FROM processes WHERE ocid IN (?, ?)", [ocid, original])
        == [(1,)]
    )

    page = httpx.get(f"{url}/processes/{quote(copy, safe='')}").text
    twin = httpx.get(f"{url}/processes/{quote(original, safe='')}").text
    ending = httpx.get(f"{url}/api/expiries", params={"months": 60, "per_page": 200}).json()
    buyer = _query(
        store,
        "SELECT organisation_id FROM organisation_parties WHERE ocid = ? AND list_contains(roles, 'buyer')",
        [original],
    )[0][0]
    profile = httpx.get(f"{url}/api/buyers/{quote(buyer, safe='')}").json()

    assert "<strong>A copy.</strong>" in page and f'href="/processes/{quote(original, safe="")}"' in page
    assert "Also republished as" in twin and f'href="/processes/{quote(copy, safe="")}"' in twin
    listed = {row["ocid"] for row in ending["items"]}
    assert listed and not listed & {ocid for ocid, *_ in copies}
    shown = {row["ocid"] for row in profile["processes"]}
    assert original in shown and copy not in shown


def test_a_profile_says_in_words_how_its_organisations_parties_were_matched(real_site: tuple[str, Path]) -> None:
    url, store = real_site
    alone, matched = (
        _query(
            store,
            """
            SELECT o.organisation_id FROM organisations AS o
            WHERE o.link_methods = ? AND list_contains(o.roles, 'supplier') ORDER BY o.organisation_id LIMIT 1
            """,
            [methods],
        )[0][0]
        for methods in (["alone"], ["exact name", "identifier"])
    )

    lone = " ".join(httpx.get(f"{url}/suppliers/{quote(alone, safe='')}").text.split())
    both = " ".join(httpx.get(f"{url}/suppliers/{quote(matched, safe='')}").text.split())

    assert "named in one notice and matched to no other" in lone and "matched by alone" not in lone
    assert "its parties in the notices matched by the same name, the same identifier" in both


def test_an_empty_value_in_a_flags_evidence_reads_not_given(real_site: tuple[str, Path]) -> None:
    # Contracts Finder's direct awards often publish an empty reason: the evidence says so in words
    url, store = real_site
    ocid = _query(
        store,
        "SELECT ocid FROM flags WHERE code = 'R010' AND json_extract_string(evidence, '$.rationale') = '' "
        "ORDER BY ocid LIMIT 1",
    )[0][0]

    page = httpx.get(f"{url}/processes/{quote(ocid, safe='')}").text

    assert "<dt>rationale</dt><dd>not given</dd>" in page


def test_a_copy_of_a_notice_is_in_a_statutory_service_as_its_original_only(real_site: tuple[str, Path]) -> None:
    # the copy and the original of Cambridgeshire's home-care system: adult social care once, not twice
    _, store = real_site
    pairs = _query(
        store,
        """
        SELECT c.ocid, c.original_ocid,
               (SELECT count(*) FROM service_assignments AS s WHERE s.ocid = c.ocid),
               (SELECT count(*) FROM service_assignments AS s WHERE s.ocid = c.original_ocid)
        FROM process_copies AS c ORDER BY c.ocid
        """,
    )
    assert any(original > 0 for *_, original in pairs)
    assert all(copy == 0 for _, _, copy, _ in pairs)


def test_a_copy_of_a_notice_raises_no_alert_of_its_own(real_site: tuple[str, Path]) -> None:
    # the changes its original's notices show are found once, in the original
    _, store = real_site
    in_copies, in_originals = _query(
        store,
        """
        SELECT (SELECT count(*) FROM changes WHERE ocid IN (SELECT ocid FROM process_copies)),
               (SELECT count(*) FROM changes WHERE ocid IN (SELECT original_ocid FROM process_copies))
        """,
    )[0]
    assert in_originals > 0 and in_copies == 0


def test_a_groups_awards_by_year_say_what_the_group_was(real_site: tuple[str, Path]) -> None:
    # Capita Business Services won a contract in the real data: the group's row is as a supplier, for its part
    url, store = real_site
    group = _query(store, "SELECT group_id FROM group_totals WHERE role = 'supplier' ORDER BY group_id LIMIT 1")[0][0]

    page = " ".join(httpx.get(f"{url}/groups/{quote(group, safe='')}").text.split())

    assert "<th>the group as</th>" in page and "<td>supplier (its part of each award)</td>" in page
