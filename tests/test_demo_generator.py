"""Tests of the demo data: the seeded synthetic generator and the hand-written stories."""

from __future__ import annotations

import json
import math
import tracemalloc
from collections import Counter, defaultdict
from datetime import datetime
from itertools import islice, pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tenderwatch.demo import generator
from tenderwatch.demo.generator import DEMO_OCID_PREFIX, generate_releases, write_jsonl, write_release_packages

STORIES = Path(generator.__file__).parent / "stories" / "stories.jsonl"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "data" / "schema" / "1.1.5" / "release-schema.json"
PROCUREMENT_METHODS = {"open", "selective", "limited", "direct"}
RELEASE_TAGS = {
    "planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate", "tenderCancellation", "award",
    "awardUpdate", "awardCancellation", "contract", "contractUpdate", "contractAmendment", "implementation",
    "implementationUpdate", "contractTermination",
}  # fmt: skip
REAL_NAMES = (
    "serco", "barnet", "staffordshire", "sussex", "nelft", "virgin", "circle", "care uk", "north central london",
    "test and trace", "g4s", "capita", "interserve", "carillion",
)  # fmt: skip
DATE_KEYS = {"date", "startDate", "endDate", "maxExtentDate", "dateSigned", "datePublished", "dueDate"}


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(generate_releases(5000, seed=7))


@pytest.fixture(scope="module")
def stories() -> list[dict]:
    with STORIES.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def walk(value, key=None):
    """Yield every (key, value) pair in a JSON value, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


def by_ocid(releases: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for release in releases:
        grouped[release["ocid"]].append(release)
    return grouped


def organisation_names(release: dict) -> list[str]:
    names = [p["name"] for p in release.get("parties", [])]
    names += [
        p["identifier"]["legalName"] for p in release.get("parties", []) if "legalName" in p.get("identifier", {})
    ]
    names.append(release["buyer"]["name"])
    names += [s["name"] for a in release.get("awards", []) for s in a.get("suppliers", [])]
    names += [t["name"] for t in release.get("tender", {}).get("tenderers", [])]
    names += [t["name"] for b in release.get("bids", {}).get("details", []) for t in b.get("tenderers", [])]
    for contract in release.get("contracts", []):
        for transaction in contract.get("implementation", {}).get("transactions", []):
            names += [transaction["payer"]["name"], transaction["payee"]["name"]]
    return names


# ---------------------------------------------------------------------------------------------------------------
# The synthetic generator
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 1234])
def test_generate_releases_yields_exactly_n(n):
    assert sum(1 for _ in generate_releases(n, seed=3)) == n


def test_generate_releases_rejects_a_negative_n():
    with pytest.raises(ValueError, match="n must be 0 or more"):
        generate_releases(-1)


def test_write_jsonl_is_byte_identical_for_the_same_n_and_seed(tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"

    written = write_jsonl(first, 3000, seed=11)
    write_jsonl(second, 3000, seed=11)

    assert first.read_bytes() == second.read_bytes()
    assert written == first.stat().st_size
    assert first.read_bytes().count(b"\n") == 3000


def test_a_different_seed_gives_different_releases(tmp_path):
    write_jsonl(tmp_path / "one.jsonl", 500, seed=1)
    write_jsonl(tmp_path / "two.jsonl", 500, seed=2)

    assert (tmp_path / "one.jsonl").read_bytes() != (tmp_path / "two.jsonl").read_bytes()


def test_the_first_releases_do_not_depend_on_n():
    short = [json.dumps(r) for r in generate_releases(700, seed=5)]
    long = [json.dumps(r) for r in islice(generate_releases(5000, seed=5), 700)]

    assert short == long


def test_write_jsonl_writes_compact_json_lines(tmp_path):
    path = tmp_path / "releases.jsonl"

    write_jsonl(path, 50, seed=2)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50
    for line in lines:
        assert json.dumps(json.loads(line), separators=(",", ":")) == line


def test_every_release_has_the_required_fields_and_the_demo_marker(sample):
    for release in sample:
        assert release["ocid"].startswith(DEMO_OCID_PREFIX)
        assert release["id"]
        assert release["date"]
        assert release["tag"]
        assert set(release["tag"]) <= RELEASE_TAGS
        assert release["initiationType"] == "tender"
        assert release["x_demo"] is True
        assert release["buyer"]["id"]


def test_release_ids_are_unique_and_dates_increase_within_each_ocid(sample):
    for ocid, releases in by_ocid(sample).items():
        assert len({r["id"] for r in releases}) == len(releases), ocid
        dates = [datetime.fromisoformat(r["date"]) for r in releases]
        assert dates == sorted(dates), ocid


def test_releases_of_an_ocid_are_mostly_consecutive(sample):
    runs = 1 + sum(1 for a, b in pairwise(sample) if a["ocid"] != b["ocid"])
    ocids = len({r["ocid"] for r in sample})

    assert ocids <= runs <= ocids * 1.2


def test_about_three_releases_per_ocid(sample):
    assert 2.3 <= len(sample) / len({r["ocid"] for r in sample}) <= 3.5


def test_every_date_is_valid_iso_8601_in_uk_time(sample):
    # as UK publishers write dates: with the UK's offset at that moment (Z in winter, +01:00 in summer)
    london = ZoneInfo("Europe/London")
    offsets = set()
    for release in sample:
        assert 2016 <= datetime.fromisoformat(release["date"]).year <= 2026
        for key, value in walk(release):
            if key in DATE_KEYS and isinstance(value, str):
                moment = datetime.fromisoformat(value)
                assert moment.utcoffset() == moment.astimezone(london).utcoffset(), value
                assert value.endswith(("Z", "+01:00")), value
                offsets.add(value[19:])
    assert offsets == {"Z", "+01:00"}


def test_every_amount_is_a_non_negative_finite_number(sample):
    amounts = [v for r in sample for k, v in walk(r) if k == "amount"]

    assert amounts
    for amount in amounts:
        assert isinstance(amount, int | float)
        assert not isinstance(amount, bool)
        assert math.isfinite(amount)
        assert amount >= 0


def test_every_procurement_method_occurs(sample):
    methods = {r["tender"]["procurementMethod"] for r in sample if "procurementMethod" in r.get("tender", {})}

    assert methods == PROCUREMENT_METHODS


def test_limited_and_direct_awards_give_a_rationale(sample):
    tenders = [r["tender"] for r in sample if r.get("tender", {}).get("procurementMethod") in {"limited", "direct"}]

    assert tenders
    assert all(t.get("procurementMethodRationale") for t in tenders)


def test_spend_is_skewed_towards_a_few_suppliers(sample):
    spend = Counter()
    for release in sample:
        for award in release.get("awards", []):
            for supplier in award.get("suppliers", []):
                spend[supplier["id"]] += award["value"]["amount"] / len(award["suppliers"])
    values = sorted(spend.values(), reverse=True)
    top = values[: len(values) // 10]

    assert len(values) > 500
    assert sum(top) > 0.5 * sum(values)


def test_the_population_has_the_features_the_analysis_needs(sample):
    tags = Counter(tag for r in sample for tag in r["tag"])
    tenders = [r["tender"] for r in sample if "tender" in r]
    contracts = [c for r in sample for c in r.get("contracts", [])]
    parties = [p for r in sample for p in r.get("parties", [])]
    cpv_divisions = {
        item["classification"]["id"][:2] for t in tenders for item in t.get("items", []) if "classification" in item
    }
    names_by_number = defaultdict(set)
    for party in parties:
        if party.get("identifier", {}).get("scheme") == "GB-COH":
            names_by_number[party["identifier"]["id"].lstrip("0")].add(party["name"])
    numbers_by_company = defaultdict(set)
    for party in parties:
        if party.get("identifier", {}).get("scheme") == "GB-COH":
            numbers_by_company[party["identifier"]["id"].lstrip("0")].add(party["identifier"]["id"])

    for tag in ("tender", "tenderAmendment", "award", "contract", "contractAmendment", "implementation",
                "contractTermination"):  # fmt: skip
        assert tags[tag], tag
    assert {"85", "79", "90", "45", "72"} <= cpv_divisions
    assert any(t.get("numberOfTenderers") == 1 for t in tenders)
    assert any(t.get("numberOfTenderers", 0) >= 5 for t in tenders)
    assert any(t.get("tenderers") for t in tenders)
    assert any(t.get("lots") for t in tenders)
    assert any(r.get("bids", {}).get("details") for r in sample)
    assert any(t.get("procurementMethodRationaleClassifications") for t in tenders)
    assert any("framework" in rp["relationship"] for r in sample for rp in r.get("relatedProcesses", []))
    assert any(c.get("period", {}).get("maxExtentDate") for c in contracts)
    assert any(c.get("amendments") for c in contracts)
    assert any(c.get("status") == "terminated" for c in contracts)
    assert any(c.get("implementation", {}).get("transactions") for c in contracts)
    assert any(c.get("milestones") for c in contracts)
    assert any(c.get("documents") for c in contracts)
    assert any(t.get("documents") for t in tenders)
    assert {"GB-COH", "GB-CHC", "GB-LAE", "GB-NHS", "GB-GOR"} <= {
        p.get("identifier", {}).get("scheme") for p in parties
    }
    assert all(p["address"]["postalCode"] and p["address"]["region"] for p in parties)
    assert any(len(names) > 1 for names in names_by_number.values())  # "X Care Limited" and "X CARE LTD"
    assert any(len(numbers) > 1 for numbers in numbers_by_company.values())  # "01234567" and "1234567"


def test_the_population_is_a_few_hundred_buyers_and_thousands_of_suppliers():
    releases = list(generate_releases(40000, seed=0))
    buyers = {r["buyer"]["id"] for r in releases}
    suppliers = {s["id"] for r in releases for a in r.get("awards", []) for s in a.get("suppliers", [])}

    assert 200 <= len(buyers) <= 500
    assert 2000 <= len(suppliers) <= 6000


def test_a_release_is_typically_one_to_three_kilobytes(sample):
    sizes = sorted(len(json.dumps(r, separators=(",", ":"))) for r in sample)

    assert 1000 <= sum(sizes) / len(sizes) <= 3000
    assert 700 <= sizes[len(sizes) // 2] <= 3000


def test_generation_streams_in_constant_memory():
    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            for _ in generate_releases(n, seed=4):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(5000)

    assert large < small * 1.5 + 1_000_000


def test_write_release_packages_groups_the_same_releases_into_packages(tmp_path):
    path = tmp_path / "packages.jsonl"

    written = write_release_packages(path, 2500, seed=9, per_package=1000)

    assert written == path.stat().st_size
    packages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [len(p["releases"]) for p in packages] == [1000, 1000, 500]
    for package in packages:
        assert package["publisher"] == {"name": "tenderwatch synthetic demo data"}
        assert package["version"] == "1.1"
        assert package["uri"]
        datetime.fromisoformat(package["publishedDate"])
    assert [r for p in packages for r in p["releases"]] == list(generate_releases(2500, seed=9))


def test_synthetic_releases_are_valid_against_the_ocds_release_schema(sample):
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.exists():
        pytest.skip(f"no OCDS schema at {SCHEMA}")
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))

    errors = [(r["id"], e.message) for r in sample[:1500] for e in validator.iter_errors(r)]

    assert errors == []


# ---------------------------------------------------------------------------------------------------------------
# The stories
# ---------------------------------------------------------------------------------------------------------------


def test_the_stories_parse_and_every_release_is_marked_as_demo_data(stories):
    assert 15 <= len(stories) <= 40
    for release in stories:
        assert release["ocid"].startswith("ocds-twdemo-")
        assert release["x_demo"] is True
        assert release["initiationType"] == "tender"
        assert set(release["tag"]) <= RELEASE_TAGS
        assert datetime.fromisoformat(release["date"]).utcoffset() is not None
        for key, value in walk(release):
            if key in DATE_KEYS and isinstance(value, str):
                datetime.fromisoformat(value)
            if key == "amount" and not isinstance(value, dict):  # a budget's amount is a Value
                assert value >= 0


def test_story_release_ids_are_unique_and_dated_in_order(stories):
    for ocid, releases in by_ocid(stories).items():
        assert len({r["id"] for r in releases}) == len(releases), ocid
        dates = [datetime.fromisoformat(r["date"]) for r in releases]
        assert dates == sorted(dates), ocid


def test_stories_name_no_real_organisation(stories):
    names = [name.lower() for release in stories for name in organisation_names(release)]
    text = STORIES.read_text(encoding="utf-8").lower()

    assert len(names) > 50
    for real in REAL_NAMES:
        assert not [name for name in names if real in name], real
        assert real not in text, real


def test_story_contact_tracing_was_awarded_without_competition(stories):
    awards = [
        (r, a)
        for r in stories
        if r.get("tender", {}).get("procurementMethod") == "limited"
        for a in r.get("awards", [])
        if abs(a.get("value", {}).get("amount", 0) - 108_000_000) <= 2_000_000 and a["value"]["currency"] == "GBP"
    ]

    assert len(awards) == 1
    release, award = awards[0]
    assert release["tender"]["procurementMethodDetails"] == (
        "Award procedure without prior publication of a call for competition"
    )
    assert release["tender"]["procurementMethodRationale"]
    prime = award["suppliers"][0]["id"]
    # The same company had an earlier, separate contract with another buyer: electronic tagging of offenders.
    earlier = [
        r
        for r in stories
        if r["ocid"] != release["ocid"]
        and r["buyer"]["id"] != release["buyer"]["id"]
        and any(s["id"] == prime for a in r.get("awards", []) for s in a.get("suppliers", []))
        and r["date"] < release["date"]
    ]
    assert earlier
    assert "monitoring" in earlier[0]["tender"]["title"].lower()


def test_story_contact_tracing_is_subcontracted_at_least_three_levels_down(stories):
    parent_of = {
        r["ocid"]: rp["identifier"]
        for r in stories
        for rp in r.get("relatedProcesses", [])
        if "subContract" in rp["relationship"] and rp.get("scheme") == "ocid"
    }
    prime_ocid = next(
        r["ocid"] for r in stories for a in r.get("awards", []) if a.get("value", {}).get("amount") == 108_000_000
    )

    def depth(ocid: str) -> int:
        return 0 if ocid == prime_ocid else 1 + depth(parent_of[ocid]) if ocid in parent_of else -100

    assert max(depth(ocid) for ocid in parent_of) >= 3
    buyers = {r["ocid"]: r["buyer"]["id"] for r in stories}
    suppliers = {r["ocid"]: s["id"] for r in stories for a in r.get("awards", []) for s in a.get("suppliers", [])}
    for child, parent in parent_of.items():  # each subcontract is bought by the supplier of the level above
        assert buyers[child] == suppliers[parent]


def test_story_lead_provider_contract_has_seven_bidders_over_ten_years(stories):
    matches = []
    for releases in by_ocid(stories).values():
        tenders = [r["tender"] for r in releases if "tender" in r]
        values = [t["value"]["amount"] for t in tenders if "value" in t]
        periods = [t["contractPeriod"] for t in tenders if "contractPeriod" in t]
        tenderers = [t for t in tenders if t.get("numberOfTenderers") == 7 and len(t.get("tenderers", [])) == 7]
        if tenderers and periods and any(abs(v - 1_200_000_000) <= 50_000_000 for v in values):
            matches.append((releases, periods[-1], tenderers[-1]))

    assert len(matches) == 1
    releases, period, tender = matches[0]
    years = (datetime.fromisoformat(period["endDate"]) - datetime.fromisoformat(period["startDate"])).days / 365.25
    assert 9.9 <= years <= 10.1
    parties = {p["id"]: p for r in releases for p in r.get("parties", [])}
    bidders = [parties[t["id"]]["name"] for t in tender["tenderers"]]
    assert sum("NHS" in name for name in bidders) == 2
    assert sum(name.endswith(("Ltd", "Limited", "plc")) for name in bidders) == 5
    commissioners = [p for p in parties.values() if {"buyer", "funder"} & set(p["roles"])]
    assert len(commissioners) == 4


def test_story_childrens_therapies_contract_is_terminated(stories):
    titles = {r["ocid"]: r["tender"]["title"] for r in reversed(stories) if "title" in r.get("tender", {})}
    terminations = [r for r in stories if "contractTermination" in r["tag"] and "therap" in titles[r["ocid"]].lower()]

    assert len(terminations) == 1
    contract = terminations[0]["contracts"][0]
    assert contract["status"] == "terminated"
    assert contract["period"]["endDate"].startswith("2021-08-31")
    assert contract["documents"][0]["description"]
    signed = next(c for r in stories if r["ocid"] == terminations[0]["ocid"] and "contract" in r["tag"]
                  for c in r["contracts"])  # fmt: skip
    assert signed["period"]["endDate"] > contract["period"]["endDate"]  # the end was brought forward


def test_story_urgency_award_under_regulation_32_2_c(stories):
    urgent = [
        r
        for r in stories
        if "32(2)(c)" in r.get("tender", {}).get("procurementMethodRationale", "")
        and r["tender"].get("procurementMethod") == "limited"
    ]

    assert len(urgent) == 1
    tender = urgent[0]["tender"]
    assert tender["procurementMethodDetails"] == "Negotiated procedure without prior publication"
    assert tender["procurementMethodRationaleClassifications"][0]["scheme"] == "TED_PT_AWARD_CONTRACT_WITHOUT_CALL"
    assert tender["procurementMethodRationaleClassifications"][0]["id"] == "D_EXTREME_URGENCY"
    assert "education, health and care" in tender["description"]
    contracts = [c for r in stories if r["ocid"] == urgent[0]["ocid"] for c in r.get("contracts", [])]
    assert contracts
    assert contracts[0]["period"]["startDate"].startswith("2021-09-01")
    assert contracts[0]["period"]["endDate"].startswith("2022-08-31")
    assert contracts[0]["period"]["maxExtentDate"].startswith("2023-08-31")


def test_story_healthy_child_programme_scope_widened_late(stories):
    amendments = [r for r in stories if "tenderAmendment" in r["tag"]]

    assert len(amendments) == 1
    amended = amendments[0]
    original = next(r for r in stories if r["ocid"] == amended["ocid"] and "tender" in r["tag"])
    change = amended["tender"]["amendments"][0]
    assert change["rationale"]
    assert change["description"]
    assert change["amendsReleaseID"] == original["id"]
    assert amended["tender"]["value"]["amount"] > original["tender"]["value"]["amount"]
    assert {i["id"] for i in amended["tender"]["items"]}.isdisjoint({i["id"] for i in original["tender"]["items"]})
    closing = datetime.fromisoformat(original["tender"]["tenderPeriod"]["endDate"])
    assert 0 < (closing - datetime.fromisoformat(change["date"])).days <= 21


def test_stories_are_valid_against_the_ocds_release_schema(stories):
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.exists():
        pytest.skip(f"no OCDS schema at {SCHEMA}")
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))

    errors = [(r["id"], e.message) for r in stories for e in validator.iter_errors(r)]

    assert errors == []
