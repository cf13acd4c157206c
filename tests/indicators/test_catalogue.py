"""The catalogue indicators fitted to UK data (R002 to R069): for each, a small set of releases with true
positives, true negatives and edge cases, the exact subjects flagged with their values and evidence, and one test
per setting changed from its default.

Each list of releases is loaded once per module (by ``tests.indicators.evaluate``); the other runs on it rerun
the indicators, with their settings, on that store.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.exceptions import SettingsError
from tenderwatch.indicators import INDICATORS
from tenderwatch.indicators.engine import read_flags, run_indicators
from tenderwatch.indicators.settings import from_toml
from tests.indicators import evaluate, release

Runner = Callable[..., tuple[dict[tuple[str, str, str], Any], Any]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Return ``run(releases, codes, flags=None)``: ``evaluate`` for a list of releases seen for the first time,
    else the same run on the store it built."""
    stores: dict[int, Path] = {}

    def run_on(releases: list[dict], codes: list[str], flags: dict[str, Any] | None = None) -> tuple[dict, Any]:
        db = stores.get(id(releases))
        if db is None:
            folder = tmp_path_factory.mktemp("catalogue")
            result = evaluate(folder, releases, codes, flags)
            stores[id(releases)] = folder / "fixture.duckdb"
            assert stores[id(releases)].exists(), "tests.indicators.evaluate keeps its store elsewhere now"
            return result
        with Workspace.open(load_settings(db=db, workers=1)) as workspace:
            con = workspace.store.con
            outcome = run_indicators(con, from_toml({"flags": flags or {}}, "test"), codes)
            found = {(flag.code, flag.subject, flag.subject_id): flag for flag in read_flags(con, codes=codes)}
        return found, outcome

    return run_on


EAST = ("GB-LAE-E1", "Eastshire Council")
DIRECT = ("direct", "Single tender action (non-OJEU)")
OPEN = ("open", "Open procedure")


def day(text: str) -> str:
    """Return an OCDS date-time at midnight UTC."""
    return text if "T" in text else f"{text}T00:00:00Z"


def award(value: float | None, date: str, *suppliers: tuple[str, str], currency: str = "GBP") -> dict:
    """Return an award (its id is filled in by :func:`proc`)."""
    item: dict[str, Any] = {"status": "active", "date": day(date), "suppliers": list(suppliers)}
    if value is not None:
        item["value"] = {"amount": value, "currency": currency}
    return item


def contract(
    value: float,
    signed: str,
    *,
    award_number: int | None = 1,
    amendments: int = 0,
    currency: str = "GBP",
    **extra: Any,
) -> dict:
    """Return a contract of the given award (1 is the process's first award; None: no awardID)."""
    item: dict[str, Any] = {
        "status": "active",
        "value": {"amount": value, "currency": currency},
        "dateSigned": day(signed),
    }
    if award_number is not None:
        item["awardNumber"] = award_number
    if amendments:
        item["amendments"] = [
            {"id": str(n + 1), "date": day(signed), "rationale": f"Change {n + 1}"} for n in range(amendments)
        ]
    return {**item, **extra}


def proc(
    ocid: str,
    *,
    buyer: tuple[str | None, str] = EAST,
    procedure: tuple[str | None, str | None] = OPEN,
    value: float | None = None,
    currency: str = "GBP",
    cpv: str = "79411000",
    category: str = "services",
    period: tuple[str | None, str | None] | None = None,
    awards: tuple[dict, ...] = (),
    contracts: tuple[dict, ...] = (),
    rationale: str | None = None,
    grounds: tuple[str, ...] = (),
    documents: tuple[dict, ...] = (),
    buyer_type: str | None = None,
    region: str | None = None,
    special_regime: tuple[str, ...] = (),
) -> dict:
    """Return one release of a whole contracting process."""
    method, details = procedure
    buyer_party: dict[str, Any] = {"name": buyer[1], "roles": ["buyer"]}
    if buyer_type:
        scheme, _, code = buyer_type.partition(":")
        buyer_party["details"] = {"classifications": [{"scheme": scheme, "id": code}]}
    if region:
        buyer_party["address"] = {"region": region}
    parties = []
    if buyer[0]:
        parties.append({"id": buyer[0], **buyer_party})
    tender: dict[str, Any] = {
        "id": f"{ocid}-tender",
        "status": "complete",
        "mainProcurementCategory": category,
        "items": [{"id": "1", "classification": {"scheme": "CPV", "id": cpv}}],
    }
    if method:
        tender["procurementMethod"] = method
    if details:
        tender["procurementMethodDetails"] = details
    if value is not None:
        tender["value"] = {"amount": value, "currency": currency}
    if period:
        tender["tenderPeriod"] = {
            key: day(when) for key, when in zip(("startDate", "endDate"), period, strict=True) if when
        }
    if rationale is not None:
        tender["procurementMethodRationale"] = rationale
    if grounds:
        tender["procurementMethodRationaleClassifications"] = [
            {"scheme": "TED_PT_AWARD_CONTRACT_WITHOUT_CALL", "id": ground} for ground in grounds
        ]
    if documents:
        tender["documents"] = [{"id": str(n + 1), **document} for n, document in enumerate(documents)]
    if special_regime:
        tender["specialRegime"] = list(special_regime)
    sections: dict[str, Any] = {"buyer": {"name": buyer[1], **({"id": buyer[0]} if buyer[0] else {})}}
    sections["parties"] = parties
    sections["tender"] = tender
    seen = set()
    if awards:
        sections["awards"] = []
        for n, item in enumerate(awards):
            suppliers = [{"id": sid, "name": name} for sid, name in item["suppliers"]]
            sections["awards"].append({**item, "id": f"{ocid}-a{n + 1}", "suppliers": suppliers})
            for sid, name in item["suppliers"]:
                if (sid, name) not in seen and sid not in {party["id"] for party in parties}:
                    parties.append({"id": sid, "name": name, "roles": ["supplier"]})
                seen.add((sid, name))
    if contracts:
        sections["contracts"] = []
        for n, item in enumerate(contracts):
            body = {key: value for key, value in item.items() if key != "awardNumber"}
            if "awardNumber" in item:
                body["awardID"] = f"{ocid}-a{item['awardNumber']}"
            sections["contracts"].append({"id": f"{ocid}-c{n + 1}", **body})
    return release(ocid, **sections)


def with_bids(
    release: dict, *, tenderers: int | None = None, statistics: list[tuple[str, float, str | None]] = ()
) -> dict:
    """Return a release with the number of tenderers of its tender, and bid statistics (measure, value, lot)."""
    if tenderers is not None:
        release["tender"]["numberOfTenderers"] = tenderers
    if statistics:
        release["bids"] = {
            "statistics": [
                {"id": str(n + 1), "measure": measure, "value": value, **({"relatedLot": lot} if lot else {})}
                for n, (measure, value, lot) in enumerate(statistics)
            ]
        }
    return release


def flagged(found: dict, code: str) -> set[str]:
    """Return the subject ids an indicator flagged."""
    return {subject_id for (flag_code, _, subject_id) in found if flag_code == code}


def counts(outcome: Any, code: str) -> tuple[int, int]:
    """Return (evaluated, flagged) of one indicator in a run."""
    return next((item.evaluated, item.flagged) for item in outcome.runs if item.code == code)


def r8(values: list[float], p: float) -> float:
    """The R-8 quantile, as Cardinal and tenderwatch compute it."""
    xs = sorted(values)
    h = (len(xs) + 1 / 3) * p + 1 / 3
    low = math.floor(h)
    if low <= 0:
        return xs[0]
    if low >= len(xs):
        return xs[-1]
    return xs[low - 1] + (h - low) * (xs[low] - xs[low - 1])


# ---------------------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------------------

CODES = [
    "R002",
    "R004",
    "R010",
    "R011",
    "R013",
    "R016",
    "R031",
    "R040",
    "R049",
    "R050",
    "R051",
    "R052",
    "R054",
    "R055",
    "R059",
    "R060",
    "R061",
    "R062",
    "R064",
    "R069",
]


@pytest.mark.parametrize("code", CODES)
def test_each_indicator_cites_the_catalogue_and_documents_itself(code: str) -> None:
    indicator = INDICATORS[code]
    assert f"Red Flags for Integrity (2024), {code}" in indicator.references[0]
    assert "Example" in indicator.methodology and len(indicator.title.split()) <= 5
    for name, field in indicator.settings.model_fields.items():
        assert field.description, f"{code}.{name}"


def test_thresholds_must_be_dated() -> None:
    settings = from_toml({"flags": {"R054": {"threshold_works": {"soon": 1.0}}}}, "t")
    with pytest.raises(SettingsError, match="threshold_works"):
        settings.for_indicator("R054", INDICATORS["R054"].settings)


# ---------------------------------------------------------------------------------------------------------------
# R004 and R010: procedures, advertising and reasons
# ---------------------------------------------------------------------------------------------------------------

SUPPLIER = ("GB-COH-00000001", "Alder Services Ltd")
AWARDED = (award(50000, "2024-03-01", SUPPLIER),)

PROCEDURES = [
    proc("ocds-t-direct-empty", procedure=DIRECT, rationale="", awards=AWARDED),
    proc("ocds-t-direct-na", procedure=DIRECT, rationale=" Not applicable ", awards=AWARDED),
    proc("ocds-t-direct-abc", procedure=DIRECT, rationale="abc", awards=AWARDED),
    proc(
        "ocds-t-direct-reason",
        procedure=DIRECT,
        rationale="Only supplier licensed to maintain the system.",
        period=("2024-01-01", "2024-01-15"),
        awards=AWARDED,
    ),
    proc(
        "ocds-t-negotiated-ground",
        procedure=("limited", "Negotiated procedure without prior publication"),
        grounds=("D_TECHNICAL",),
        awards=AWARDED,
    ),
    proc("ocds-t-calloff", procedure=("limited", "Call off from a Framework Agreement"), awards=AWARDED),
    proc("ocds-t-quotation", procedure=("limited", "Competitive quotation (non-OJEU)"), awards=AWARDED),
    proc("ocds-t-open-period", period=("2024-01-01", "2024-02-01"), awards=AWARDED),
    proc(
        "ocds-t-open-notice",
        documents=({"documentType": "tenderNotice", "datePublished": day("2024-01-05")},),
        awards=AWARDED,
    ),
    proc(
        "ocds-t-open-uk4",
        documents=({"documentType": "biddingDocuments", "noticeType": "UK4", "datePublished": day("2024-01-05")},),
        awards=AWARDED,
    ),
    proc(
        "ocds-t-open-late",
        documents=({"documentType": "tenderNotice", "datePublished": day("2024-04-01")},),
        awards=AWARDED,
    ),
    proc("ocds-t-open-bare", awards=AWARDED),
    proc("ocds-t-open-pending", period=("2024-01-01", "2024-02-01")),
    proc("ocds-t-details-only", procedure=(None, "Direct award"), awards=AWARDED),
    proc("ocds-t-limited-other", procedure=("limited", "Limited tender"), rationale="", awards=AWARDED),
    proc(
        "ocds-t-contract-only",
        period=("2024-01-01", "2024-02-01"),
        contracts=(contract(50000, "2024-03-01", award_number=None),),
    ),
    proc("ocds-t-undated-notice", documents=({"documentType": "tenderNotice"},), awards=AWARDED),
    # award notices alone, their calls not held: bids from several suppliers show the market was called
    with_bids(proc("ocds-t-open-bid-stats", awards=AWARDED), statistics=[("bids", 15, "1")]),
    with_bids(proc("ocds-t-open-tenderers", awards=AWARDED), tenderers=3),
    with_bids(proc("ocds-t-open-one-bid", awards=AWARDED), statistics=[("bids", 1, None)]),
]

R004_FLAGGED = {
    "ocds-t-direct-empty",
    "ocds-t-direct-na",
    "ocds-t-direct-abc",
    "ocds-t-direct-reason",
    "ocds-t-negotiated-ground",
    "ocds-t-quotation",
    "ocds-t-open-late",
    "ocds-t-open-bare",
    "ocds-t-details-only",
    "ocds-t-limited-other",
    "ocds-t-open-one-bid",
}
R010_FLAGGED = {
    "ocds-t-direct-empty",
    "ocds-t-direct-na",
    "ocds-t-direct-abc",
    "ocds-t-details-only",
    "ocds-t-limited-other",
}


def test_r004_r010_defaults(run: Runner) -> None:
    found, outcome = run(PROCEDURES, ["R004", "R010"])

    assert flagged(found, "R004") == R004_FLAGGED
    assert counts(outcome, "R004") == (18, 11)  # no call-off, no process without award or contract
    direct = found["R004", "process", "ocds-t-direct-reason"]
    assert direct.evidence["procedure_class"] == "non_competitive" and direct.evidence["advertised_before"] is True
    assert direct.sentence.startswith('The contract was awarded by "Single tender action (non-OJEU)", a procedure')
    late = found["R004", "process", "ocds-t-open-late"]
    assert late.evidence["first_tender_notice"] == "2024-04-01" and late.evidence["decision_date"] == "2024-03-01"
    assert late.sentence == (
        "No notice held for this process shows a call for competition before the award on 1 March 2024: no tender "
        "period or tender notice is dated before it (the first tender notice is dated 1 April 2024)."
    )

    assert flagged(found, "R010") == R010_FLAGGED
    assert counts(outcome, "R010") == (7, 5)
    assert found["R010", "process", "ocds-t-direct-na"].sentence.endswith(
        'the only reason given was "Not applicable".'
    )
    assert found["R010", "process", "ocds-t-direct-empty"].sentence.endswith("and no reason was published.")
    assert found["R010", "process", "ocds-t-details-only"].evidence["procedure"] == "Direct award"


@pytest.mark.parametrize(
    ("settings", "now_flagged", "no_longer_flagged"),
    [
        ({"include_non_competitive": False}, set(), {"ocds-t-direct-reason"}),
        ({"notice_document_types": ["x"]}, {"ocds-t-open-notice", "ocds-t-undated-notice"}, set()),
        ({"notice_types": []}, {"ocds-t-open-uk4"}, set()),
        ({"competed_bids": 0}, {"ocds-t-open-bid-stats", "ocds-t-open-tenderers"}, set()),
        ({"competed_bids": 4}, {"ocds-t-open-tenderers"}, set()),
    ],
)
def test_r004_settings(run: Runner, settings: dict, now_flagged: set, no_longer_flagged: set) -> None:
    found, _ = run(PROCEDURES, ["R004"], {"R004": settings})

    assert flagged(found, "R004") == (R004_FLAGGED | now_flagged) - no_longer_flagged


@pytest.mark.parametrize(
    ("settings", "now_flagged", "no_longer_flagged", "evaluated"),
    [
        ({"minimum_rationale_length": 0}, set(), {"ocds-t-direct-abc"}, 7),
        ({"placeholder_rationales": []}, set(), {"ocds-t-direct-na"}, 7),
        ({"call_off_procedures": []}, {"ocds-t-calloff"}, set(), 8),
        ({"competitive_procedures": []}, {"ocds-t-quotation"}, set(), 8),
        ({"non_competitive_procedures": []}, set(), {"ocds-t-details-only"}, 6),
        ({"non_competitive_methods": ["direct"]}, set(), {"ocds-t-limited-other"}, 6),
    ],
)
def test_r010_settings(run: Runner, settings: dict, now_flagged: set, no_longer_flagged: set, evaluated: int) -> None:
    found, outcome = run(PROCEDURES, ["R010"], {"R010": settings})

    assert flagged(found, "R010") == (R010_FLAGGED | now_flagged) - no_longer_flagged
    assert counts(outcome, "R010")[0] == evaluated


# ---------------------------------------------------------------------------------------------------------------
# R013: buyers' share of non-competitive awards
# ---------------------------------------------------------------------------------------------------------------


def _buyer_processes(number: int, processes: int, direct: int) -> list[dict]:
    buyer = (f"GB-LAE-B{number}", f"Buyer Council {number}")
    return [
        proc(
            f"ocds-n-b{number}-{n}",
            buyer=buyer,
            procedure=DIRECT if n < direct else OPEN,
            awards=(award(10000, "2024-03-01", SUPPLIER),),
        )
        for n in range(processes)
    ]


NON_COMPETITIVE = [
    *_buyer_processes(1, 10, 1),
    *_buyer_processes(2, 10, 2),
    *_buyer_processes(3, 10, 2),
    *_buyer_processes(4, 10, 3),
    *_buyer_processes(5, 10, 3),
    *_buyer_processes(6, 10, 9),
    *_buyer_processes(7, 9, 9),  # too few processes
    # left out of the counts: a call-off and a process without an award
    proc(
        "ocds-n-b1-calloff",
        buyer=("GB-LAE-B1", "Buyer Council 1"),
        procedure=("limited", "Award under framework"),
        awards=AWARDED,
    ),
    proc("ocds-n-b1-pending", buyer=("GB-LAE-B1", "Buyer Council 1"), procedure=DIRECT),
]


def test_r013_flags_the_outlier_buyer(run: Runner) -> None:
    found, outcome = run(NON_COMPETITIVE, ["R013"])

    assert flagged(found, "R013") == {"GB-LAE-B6"}
    assert counts(outcome, "R013") == (6, 1)
    shares = [0.1, 0.2, 0.2, 0.3, 0.3, 0.9]
    fence = r8(shares, 0.75) + 1.5 * (r8(shares, 0.75) - r8(shares, 0.25))
    flag = found["R013", "buyer", "GB-LAE-B6"]
    assert flag.value == pytest.approx(0.9) and flag.ocid is None
    assert flag.evidence["threshold"] == pytest.approx(fence) and flag.evidence["processes"] == 10
    assert outcome.meta["R013"]["upper_fence"] == pytest.approx(fence)
    assert flag.sentence.startswith("Buyer Council 6 awarded 9 of its 10 contracts without competition (90%)")


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        ({"threshold": 0.25}, {"GB-LAE-B4", "GB-LAE-B5", "GB-LAE-B6"}, 6),
        ({"minimum_processes": 11}, set(), 0),
    ],
)
def test_r013_settings(run: Runner, settings: dict, expected: set, evaluated: int) -> None:
    found, outcome = run(NON_COMPETITIVE, ["R013"], {"R013": settings})

    assert flagged(found, "R013") == expected
    assert counts(outcome, "R013")[0] == evaluated


# ---------------------------------------------------------------------------------------------------------------
# R002: estimates just below the threshold (£214,904 for goods and services of other public bodies in 2024)
# ---------------------------------------------------------------------------------------------------------------


def _estimates(buyer: tuple[str, str], values: list[float], currency: str = "GBP") -> list[dict]:
    return [
        proc(
            f"ocds-e-{buyer[0]}-{n}-{currency}",
            buyer=buyer,
            value=value,
            currency=currency,
            period=("2024-02-01", "2024-03-01"),
        )
        for n, value in enumerate(values)
    ]


BUNCHING = [
    # 4 of 10 values in [£193,413.60, £214,904): the lower edge counts, the threshold itself does not
    *_estimates(("GB-LAE-A", "Ashshire Council"), [193413.6, 200000, 205000, 210000, 214904] + [50000] * 5),
    *_estimates(("GB-LAE-A", "Ashshire Council"), [200000], currency="EUR"),  # not in pounds: left out
    *_estimates(("GB-LAE-B", "Beechshire Council"), [200000] + [60000 + n * 1000 for n in range(29)]),
    *_estimates(("GB-LAE-C", "Cedarshire Council"), [70000] * 9),  # too few values
]


def test_r002_flags_a_buyer_bunching_below_the_threshold(run: Runner) -> None:
    found, outcome = run(BUNCHING, ["R002"])

    assert flagged(found, "R002") == {"GB-LAE-A"}
    assert counts(outcome, "R002") == (2, 1)
    flag = found["R002", "buyer", "GB-LAE-A"]
    expected = 1 / 39  # Beechshire's one value in 30 and Cedarshire's none in 9
    assert flag.evidence["just_below_threshold"] == 4 and flag.evidence["processes"] == 10
    assert flag.evidence["expected_share"] == pytest.approx(expected)
    assert flag.value == pytest.approx(0.4 / expected)
    z = (4 - 10 * expected) / math.sqrt(10 * expected * (1 - expected))
    assert flag.evidence["z_score"] == pytest.approx(z)
    assert len(flag.evidence["ocids_just_below"]) == 4
    assert flag.sentence == (
        "Ashshire Council put 4 of its 10 estimated values (40%) within 10% below the procurement threshold that "
        "applied to them, against 2.6% for other buyers: 15.6 times as often, more than chance would explain."
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"band": 0.05},  # only £205,000 and £210,000 are within 5%
        {"minimum_processes": 11},
        {"minimum_in_band": 5},
        {"ratio": 20.0},
        {"minimum_z_score": 50.0},
        {"threshold_goods_services_sub_central": {"2000-01-01": 300000.0}},
    ],
)
def test_r002_settings(run: Runner, settings: dict) -> None:
    found, _ = run(BUNCHING, ["R002"], {"R002": settings})

    assert flagged(found, "R002") == set()


# ---------------------------------------------------------------------------------------------------------------
# R054 and the UK thresholds
# ---------------------------------------------------------------------------------------------------------------


def _grown(ocid: str, awarded: float, now: float, when: str = "2024-06-01", **options: Any) -> dict:
    options.setdefault("procedure", DIRECT)
    return proc(
        ocid,
        awards=(award(awarded, when, SUPPLIER),),
        contracts=(contract(now, when, amendments=options.pop("amendments", 1)),),
        **options,
    )


THRESHOLDS = [
    _grown("ocds-d-grown", 150000, 250000),
    _grown("ocds-d-small", 150000, 160000),
    _grown("ocds-d-large", 300000, 400000),  # above the threshold from the start
    _grown("ocds-d-open", 150000, 250000, procedure=OPEN),
    _grown("ocds-d-care", 500000, 700000, cpv="85311000", amendments=0),
    _grown("ocds-d-regime", 500000, 700000, special_regime=("lightTouch",)),
    _grown("ocds-d-works", 3000000, 6000000, cpv="45233000", category="works"),
    _grown(
        "ocds-d-central", 100000, 150000, buyer=("GB-GOR-C1", "Office for Testing"), buyer_type="TED_CA_TYPE:MINISTRY"
    ),
    _grown("ocds-d-2021", 150000, 200000, when="2021-06-01"),
    _grown("ocds-d-2026", 150000, 210000, when="2026-02-01"),
]
R054_FLAGGED = {
    "ocds-d-grown",
    "ocds-d-care",
    "ocds-d-regime",
    "ocds-d-works",
    "ocds-d-central",
    "ocds-d-2021",
    "ocds-d-2026",
}


def test_r054_and_the_threshold_that_applies(run: Runner) -> None:
    found, outcome = run(THRESHOLDS, ["R054"])

    assert flagged(found, "R054") == R054_FLAGGED
    assert counts(outcome, "R054") == (8, 7)
    applied = {ocid: found["R054", "process", ocid].evidence for ocid in R054_FLAGGED}
    assert {ocid: (evidence["threshold"], evidence["threshold_kind"]) for ocid, evidence in applied.items()} == {
        "ocds-d-grown": (214904, "goods and services (other public bodies)"),
        "ocds-d-care": (663540, "light-touch services"),
        "ocds-d-regime": (663540, "light-touch services"),
        "ocds-d-works": (5372609, "works"),
        "ocds-d-central": (139688, "goods and services (central government)"),
        "ocds-d-2021": (189330, "goods and services (other public bodies)"),
        "ocds-d-2026": (207720, "goods and services (other public bodies)"),
    }
    grown = found["R054", "process", "ocds-d-grown"]
    assert grown.value == pytest.approx(250000 / 214904) and grown.evidence["amendments"] == 1
    assert grown.sentence == (
        'The contract was awarded without competition, by "Single tender action (non-OJEU)", for £150,000, below '
        "the £214,904 threshold for goods and services (other public bodies); after 1 amendment it is now worth "
        "£250,000, above the threshold."
    )
    assert "; it is now worth £700,000" in found["R054", "process", "ocds-d-care"].sentence


@pytest.mark.parametrize(
    ("settings", "no_longer_flagged"),
    [
        ({"light_touch_cpv_prefixes": []}, {"ocds-d-care"}),  # now under £214,904, which it was awarded above
        ({"central_government_buyer_types": []}, {"ocds-d-central"}),
        ({"threshold_works": {"2000-01-01": 10000000.0}}, {"ocds-d-works"}),
        ({"threshold_light_touch": {"2000-01-01": 800000.0}}, {"ocds-d-care", "ocds-d-regime"}),
        ({"threshold_goods_services_central": {"2000-01-01": 200000.0}}, {"ocds-d-central"}),
        (
            {"threshold_goods_services_sub_central": {"2000-01-01": 100000.0}},
            {"ocds-d-grown", "ocds-d-2021", "ocds-d-2026"},
        ),
    ],
)
def test_r054_threshold_settings(run: Runner, settings: dict, no_longer_flagged: set) -> None:
    found, _ = run(THRESHOLDS, ["R054"], {"R054": settings})

    assert flagged(found, "R054") == R054_FLAGGED - no_longer_flagged


# ---------------------------------------------------------------------------------------------------------------
# R011: split purchases (£214,904 threshold)
# ---------------------------------------------------------------------------------------------------------------

SOUTH = (None, "Southshire Council")  # no id, as in Contracts Finder: matched by name


def _purchase(ocid: str, when: str, value: float, cpv: str, **options: Any) -> dict:
    options.setdefault("buyer", SOUTH)
    return proc(ocid, cpv=cpv, awards=(award(value, when, (f"GB-COH-{ocid[-5:]}", f"Supplier {ocid}")),), **options)


SPLITS = [
    _purchase("ocds-r-may02", "2024-05-02", 90000, "77310000"),
    _purchase("ocds-r-may10", "2024-05-10", 80000, "77310000"),
    _purchase("ocds-r-may25", "2024-05-25", 70000, "77311000"),
    _purchase("ocds-r-aug01", "2024-08-01", 100000, "77310000"),
    _purchase("ocds-r-it", "2024-05-05", 150000, "72000000"),
    _purchase("ocds-r-calloff", "2024-05-15", 150000, "77310000", procedure=("limited", "Award under framework")),
    _purchase("ocds-r-large", "2024-05-20", 250000, "77310000"),
    _purchase("ocds-r-other", "2024-05-12", 150000, "77310000", buyer=("GB-LAE-W1", "Westshire Council")),
]


def test_r011_flags_each_part_of_a_split(run: Runner) -> None:
    found, outcome = run(SPLITS, ["R011"])

    parts = {"ocds-r-may02", "ocds-r-may10", "ocds-r-may25"}
    assert flagged(found, "R011") == parts
    assert counts(outcome, "R011") == (6, 3)
    for ocid in parts:
        flag = found["R011", "process", ocid]
        assert flag.value == 240000 and flag.evidence["ocids"] == sorted(parts)
        assert flag.evidence["threshold"] == 214904 and flag.evidence["awards_in_window"] == 3
    assert found["R011", "process", "ocds-r-may02"].sentence == (
        "Within 30 days either side of this £90,000 award, Southshire Council made 3 awards for agricultural, "
        "forestry and horticultural services (CPV 77), each below the procurement threshold, worth £240,000 "
        "together: at or above the £214,904 threshold for goods and services (other public bodies)."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"window_days": 20}, {"ocds-r-may10"}),  # 2 to 30 May holds all three; the others reach only two
        ({"minimum_awards": 4}, set()),
        ({"cpv_digits": 5}, set()),  # 77310 and 77311 part
        ({"call_off_procedures": []}, {"ocds-r-may02", "ocds-r-may10", "ocds-r-may25", "ocds-r-calloff"}),
    ],
)
def test_r011_settings(run: Runner, settings: dict, expected: set) -> None:
    found, _ = run(SPLITS, ["R011"], {"R011": settings})

    assert flagged(found, "R011") == expected


# ---------------------------------------------------------------------------------------------------------------
# R049 and R055: direct awards from one buyer to one supplier
# ---------------------------------------------------------------------------------------------------------------

S1 = ("GB-COH-00000011", "Birch Consulting Ltd")


def _direct(ocid: str, when: str, value: float, supplier: tuple[str, str] = S1) -> dict:
    return proc(ocid, procedure=DIRECT, awards=(award(value, when, supplier),))


DIRECT_AWARDS = [
    _direct("ocds-p-s1-jan", "2024-01-10", 40000),
    _direct("ocds-p-s1-may", "2024-05-10", 55000),
    _direct("ocds-p-s1-nov", "2024-11-10", 38000),
    _direct("ocds-p-s1-dec", "2024-12-01", 300000),  # above the threshold
    _direct("ocds-p-s1-jun", "2025-06-01", 30000),
    # the same supplier under a publisher-local party id and three spellings, all on one day
    _direct("ocds-p-s2-a", "2024-03-01", 10000, ("0", "Acme Care Ltd")),
    _direct("ocds-p-s2-b", "2024-03-01", 10000, ("0", "ACME CARE LTD")),
    _direct("ocds-p-s2-c", "2024-03-01", 10000, ("0", " Acme  Care Ltd")),
    proc("ocds-p-s1-open", awards=(award(40000, "2024-11-01", S1),)),  # competed: not counted
]
R049_FLAGGED = {"ocds-p-s1-nov", "ocds-p-s2-a", "ocds-p-s2-b", "ocds-p-s2-c"}


def test_r049_flags_the_third_direct_award_in_a_year(run: Runner) -> None:
    found, outcome = run(DIRECT_AWARDS, ["R049"])

    assert flagged(found, "R049") == R049_FLAGGED
    assert counts(outcome, "R049") == (7, 4)
    flag = found["R049", "process", "ocds-p-s1-nov"]
    assert flag.value == 3 and flag.evidence["window_total"] == 133000
    assert flag.evidence["first_award_in_window"] == "2024-01-10" and flag.evidence["threshold"] == 214904
    assert found["R049", "process", "ocds-p-s2-a"].evidence["supplier"] == "name:ACME CARE LTD"
    assert flag.sentence == (
        "This £38,000 award is one of 3 that Eastshire Council made without competition to Birch Consulting Ltd in "
        "the 365 days up to and including it, each below the £214,904 threshold for goods and services (other "
        "public bodies): £133,000 in all."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"window_days": 30}, R049_FLAGGED - {"ocds-p-s1-nov"}),
        ({"minimum_awards": 2}, R049_FLAGGED | {"ocds-p-s1-may", "ocds-p-s1-jun"}),
    ],
)
def test_r049_settings(run: Runner, settings: dict, expected: set) -> None:
    found, _ = run(DIRECT_AWARDS, ["R049"], {"R049": settings})

    assert flagged(found, "R049") == expected


def test_r055_flags_direct_awards_adding_up_past_the_threshold(run: Runner) -> None:
    found, outcome = run(DIRECT_AWARDS, ["R055"])

    assert flagged(found, "R055") == {S1[0]}
    assert counts(outcome, "R055") == (2, 1)
    flag = found["R055", "supplier", S1[0]]
    assert flag.ocid == "ocds-p-s1-dec" and flag.value == 433000
    assert flag.evidence["awards_in_window"] == 4 and flag.evidence["buyer"] == "GB-LAE-E1"
    assert flag.evidence["ocids"] == ["ocds-p-s1-dec", "ocds-p-s1-jan", "ocds-p-s1-may", "ocds-p-s1-nov"]
    assert flag.sentence == (
        "Eastshire Council made 4 awards without competition to Birch Consulting Ltd between 10 January 2024 and 1 "
        "December 2024, worth £433,000 together: at or above the £214,904 threshold for goods and services (other "
        "public bodies) above which one contract would have had to be competed."
    )


@pytest.mark.parametrize("settings", [{"minimum_awards": 5}, {"window_days": 10}])
def test_r055_settings(run: Runner, settings: dict) -> None:
    found, outcome = run(DIRECT_AWARDS, ["R055"], {"R055": settings})

    assert flagged(found, "R055") == set()
    assert counts(outcome, "R055") == (2, 0)


# ---------------------------------------------------------------------------------------------------------------
# R052: small first purchase, then much larger
# ---------------------------------------------------------------------------------------------------------------

WEST = ("GB-LAE-W4", "Westshire Council")
S3 = ("GB-COH-00000033", "Cobalt Software Ltd")
S4 = ("GB-COH-00000044", "Dune Supplies Ltd")
S5 = ("GB-COH-00000055", "Elm Training Ltd")


def _bought(ocid: str, when: str, value: float, supplier: tuple[str, str]) -> dict:
    return proc(ocid, buyer=WEST, awards=(award(value, when, supplier),))


ESCALATIONS = [
    _bought("ocds-q-s3-first", "2024-02-01", 15000, S3),
    _bought("ocds-q-s3-big", "2024-09-01", 900000, S3),
    _bought("ocds-q-s3-late", "2027-01-01", 2000000, S3),  # more than 730 days after the first
    _bought("ocds-q-s4-a", "2024-02-01", 10000, S4),
    _bought("ocds-q-s4-b", "2024-02-01", 20000, S4),  # same day: the larger is the first purchase
    _bought("ocds-q-s4-c", "2024-03-01", 150000, S4),
    _bought("ocds-q-s5-zero", "2024-01-01", 0, S5),  # a first purchase of zero is not compared
    _bought("ocds-q-s5-next", "2024-02-01", 50000, S5),
]


def test_r052_flags_a_much_larger_later_award(run: Runner) -> None:
    found, outcome = run(ESCALATIONS, ["R052"])

    assert flagged(found, "R052") == {"ocds-q-s3-big"}
    assert counts(outcome, "R052") == (2, 1)
    flag = found["R052", "process", "ocds-q-s3-big"]
    assert flag.value == 60 and flag.evidence["first_ocid"] == "ocds-q-s3-first"
    assert flag.sentence == (
        "The first contract Westshire Council gave Cobalt Software Ltd, on 1 February 2024, was worth £15,000; this "
        "award, 213 days later, is worth £900,000: 60 times as much."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"ratio": 5.0}, {"ocds-q-s3-big", "ocds-q-s4-c"}),
        ({"window_days": 1100}, {"ocds-q-s3-big", "ocds-q-s3-late"}),
    ],
)
def test_r052_settings(run: Runner, settings: dict, expected: set) -> None:
    found, _ = run(ESCALATIONS, ["R052"], {"R052": settings})

    assert flagged(found, "R052") == expected
    if "ocds-q-s4-c" in expected:
        evidence = found["R052", "process", "ocds-q-s4-c"].evidence
        assert evidence["first_value"] == 20000 and evidence["first_ocid"] == "ocds-q-s4-b"


# ---------------------------------------------------------------------------------------------------------------
# R040: a supplier's share of a buyer's awarded value
# ---------------------------------------------------------------------------------------------------------------


def _supplier(n: int) -> tuple[str, str]:
    return (f"GB-COH-0000T{n:03d}", f"Supplier T{n}")


SPEND = [
    proc("ocds-w-1", buyer=("GB-LAE-E2", "Elmshire Council"), awards=(award(200000, "2024-01-01", _supplier(1)),)),
    proc("ocds-w-2", buyer=("GB-LAE-E2", "Elmshire Council"), awards=(award(200000, "2024-02-01", _supplier(1)),)),
    proc(
        "ocds-w-3",
        buyer=("GB-LAE-E2", "Elmshire Council"),
        awards=(award(100000, "2024-03-01", _supplier(1), _supplier(5)),),
    ),
    *[
        proc(
            f"ocds-w-{n + 4}",
            buyer=("GB-LAE-E2", "Elmshire Council"),
            awards=(award(50000, "2024-04-01", _supplier(s)),),
        )
        for n, s in enumerate((2, 3, 4, 6, 7, 8, 9))
    ],
    proc("ocds-x-1", buyer=("GB-LAE-E3", "Firshire Council"), awards=(award(700000, "2024-01-01", _supplier(10)),)),
    *[
        proc(
            f"ocds-x-{n + 2}",
            buyer=("GB-LAE-E3", "Firshire Council"),
            awards=(award(20000, "2024-04-01", _supplier(20 + n)),),
        )
        for n in range(9)
    ],
]
T1, T10 = _supplier(1)[0], _supplier(10)[0]


def test_r040_flags_a_supplier_with_most_of_a_buyers_spend(run: Runner) -> None:
    found, outcome = run(SPEND, ["R040"])

    assert flagged(found, "R040") == {T1}  # Supplier T10 won 80% of Firshire's spend, but in one process
    assert counts(outcome, "R040") == (19, 1)
    flag = found["R040", "supplier", T1]
    assert flag.value == pytest.approx(450000 / 850000) and flag.ocid is None
    assert flag.evidence["supplier_processes"] == 3 and flag.evidence["buyer"] == "GB-LAE-E2"
    assert flag.sentence == (
        "Supplier T1 won £450,000 of the £850,000 that Elmshire Council awarded in 10 processes (53%, in 3 of "
        "them): at or above the 50% that is flagged."
    )


def test_r040_uses_the_fence_with_a_threshold_of_zero(run: Runner) -> None:
    found, outcome = run(SPEND, ["R040"], {"R040": {"threshold": 0}})

    shares = [450000 / 850000] + [50000 / 850000] * 8 + [700000 / 880000] + [20000 / 880000] * 9
    fence = r8(shares, 0.75) + 1.5 * (r8(shares, 0.75) - r8(shares, 0.25))
    assert flagged(found, "R040") == {T1}
    assert found["R040", "supplier", T1].evidence["threshold"] == pytest.approx(fence)
    assert outcome.meta["R040"]["upper_fence"] == pytest.approx(fence)


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        ({"threshold": 0.6}, set(), 19),
        ({"minimum_supplier_processes": 1}, {T1, T10}, 19),
        ({"minimum_buyer_processes": 11}, set(), 0),
    ],
)
def test_r040_settings(run: Runner, settings: dict, expected: set, evaluated: int) -> None:
    found, outcome = run(SPEND, ["R040"], {"R040": settings})

    assert flagged(found, "R040") == expected
    assert counts(outcome, "R040")[0] == evaluated


# ---------------------------------------------------------------------------------------------------------------
# R050 and R051: markets
# ---------------------------------------------------------------------------------------------------------------

NORTH = ("GB-LAE-N1", "Northshire Council")
SOUTHWEST = ("GB-LAE-S1", "Southwest Council")


def _market(ocid: str, buyer: tuple[str, str], region: str, cpv: str, supplier: str) -> dict:
    return proc(
        ocid,
        buyer=buyer,
        region=region,
        cpv=cpv,
        awards=(award(100000, "2024-04-01", (f"GB-COH-{supplier}", f"Supplier {supplier}")),),
    )


MARKETS = [
    # waste (CPV 90): M1 wins 8 of 10 in the north and 2 of 10 in the south
    *[_market(f"ocds-m-90n{n}", NORTH, "North West", "90511000", "M1" if n < 8 else "M2") for n in range(10)],
    *[
        _market(f"ocds-m-90s{n}", SOUTHWEST, "South West", "90610000", supplier)
        for n, supplier in enumerate(["M1", "M1", "M2", "M2", "M2", "M3", "M4", "M5", "M6", "M7"])
    ],
    # care (CPV 85): twenty suppliers, one process each
    *[_market(f"ocds-m-85n{n}", NORTH, "North West", "85311000", f"K{n}") for n in range(10)],
    *[_market(f"ocds-m-85s{n}", SOUTHWEST, "South West", "85311000", f"K{n + 10}") for n in range(10)],
    # IT (CPV 72): one supplier, but 19 processes only
    *[_market(f"ocds-m-72-{n}", NORTH, "North West", "72000000", "Z1") for n in range(19)],
]
WASTE = {f"ocds-m-90n{n}" for n in range(10)} | {f"ocds-m-90s{n}" for n in range(10)}


def test_r050_flags_a_supplier_with_half_a_market(run: Runner) -> None:
    found, outcome = run(MARKETS, ["R050"])

    assert flagged(found, "R050") == {"GB-COH-M1"}
    assert counts(outcome, "R050") == (27, 1)
    flag = found["R050", "supplier", "GB-COH-M1"]
    assert flag.value == pytest.approx(0.5) and flag.evidence["market_processes"] == 20
    assert flag.sentence == (
        "Supplier M1 won 50% of the £2,000,000 awarded for sewage, refuse, cleaning and environmental services "
        "(CPV 90) across all buyers (10 of 20 processes, 7 suppliers): at or above the 40% that is flagged."
    )


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        ({"threshold": 0.6}, set(), 27),
        ({"minimum_supplier_processes": 11}, set(), 27),
        ({"cpv_digits": 3}, set(), 20),  # 905 and 906 have 10 processes each: too few
        ({"minimum_market_processes": 21}, set(), 0),
        # by region, the IT market (19 processes, one supplier) is large enough too
        ({"market_scope": "buyer_region", "minimum_market_processes": 10}, {"GB-COH-M1", "GB-COH-Z1"}, 30),
    ],
)
def test_r050_settings(run: Runner, settings: dict, expected: set, evaluated: int) -> None:
    found, outcome = run(MARKETS, ["R050"], {"R050": settings})

    assert flagged(found, "R050") == expected
    assert counts(outcome, "R050")[0] == evaluated
    if settings.get("market_scope"):
        flag = found["R050", "supplier", "GB-COH-M1"]
        assert flag.value == pytest.approx(0.8) and flag.evidence["region"] == "North West"


def test_r051_flags_every_process_of_a_concentrated_market(run: Runner) -> None:
    found, outcome = run(MARKETS, ["R051"])

    assert flagged(found, "R051") == WASTE
    assert counts(outcome, "R051") == (40, 20)
    flag = found["R051", "process", "ocds-m-90n0"]
    assert flag.value == pytest.approx(50**2 + 25**2 + 5 * 5**2)
    assert flag.evidence["largest_supplier"] == "GB-COH-M1" and flag.evidence["market_suppliers"] == 7
    assert flag.evidence["largest_supplier_name"] == "Supplier M1"  # the key's name, as the sentence gives it
    assert flag.sentence == (
        "This contract is in a highly concentrated market: 7 suppliers shared the £2,000,000 awarded for sewage, "
        "refuse, cleaning and environmental services (CPV 90) across all buyers in 20 processes, an HHI of 3,250 "
        "(2,500 or more is highly concentrated); the largest supplier, Supplier M1, won 50%."
    )


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        ({"threshold": 4000.0}, set(), 40),
        ({"cpv_digits": 3}, set(), 20),
        ({"minimum_market_processes": 21}, set(), 0),
        (
            {"market_scope": "buyer_region", "minimum_market_processes": 10},
            {f"ocds-m-90n{n}" for n in range(10)} | {f"ocds-m-72-{n}" for n in range(19)},
            59,
        ),
    ],
)
def test_r051_settings(run: Runner, settings: dict, expected: set, evaluated: int) -> None:
    found, outcome = run(MARKETS, ["R051"], {"R051": settings})

    assert flagged(found, "R051") == expected
    assert counts(outcome, "R051")[0] == evaluated


# ---------------------------------------------------------------------------------------------------------------
# R016: estimates unusual for their CPV division
# ---------------------------------------------------------------------------------------------------------------

IT_VALUES = [10000.0 * n for n in range(1, 20)]
ESTIMATES = [
    *[proc(f"ocds-u-it{n}", value=value, cpv="72000000") for n, value in enumerate(IT_VALUES)],
    proc("ocds-u-it-huge", value=50000000, cpv="72000000"),
    proc("ocds-u-it-tiny", value=10, cpv="72000000"),
    *[proc(f"ocds-u-eur{n}", value=1000, currency="EUR", cpv="72000000") for n in range(5)],  # too few
    *[proc(f"ocds-u-same{n}", value=5000, cpv="30200000") for n in range(20)],  # equal quartiles: no outlier
]


def test_r016_flags_estimates_far_from_their_category(run: Runner) -> None:
    found, outcome = run(ESTIMATES, ["R016"])

    assert flagged(found, "R016") == {"ocds-u-it-huge", "ocds-u-it-tiny"}
    assert counts(outcome, "R016") == (41, 2)
    logs = [math.log10(value) for value in [*IT_VALUES, 50000000, 10]]
    q1, q3 = r8(logs, 0.25), r8(logs, 0.75)
    huge = found["R016", "process", "ocds-u-it-huge"]
    assert huge.value == 50000000 and huge.evidence["processes_in_class"] == 21
    assert huge.evidence["upper_fence"] == pytest.approx(10 ** (q3 + 1.5 * (q3 - q1)))
    assert huge.sentence.startswith("The estimated value, £50,000,000, is unusually high for IT services (CPV 72)")
    assert found["R016", "process", "ocds-u-it-tiny"].evidence["lower_fence"] == pytest.approx(
        10 ** (q1 - 1.5 * (q3 - q1))
    )
    assert outcome.meta["R016"]["GBP CPV 72 upper_fence"] == pytest.approx(10 ** (q3 + 1.5 * (q3 - q1)))


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        ({"direction": "high"}, {"ocds-u-it-huge"}, 41),
        ({"direction": "low"}, {"ocds-u-it-tiny"}, 41),
        ({"log_scale": False}, {"ocds-u-it-huge"}, 41),  # the raw lower fence is below zero
        ({"minimum_processes": 22}, set(), 0),
        ({"cpv_digits": 3}, {"ocds-u-it-huge", "ocds-u-it-tiny"}, 41),  # 720 and 302: the same classes
    ],
)
def test_r016_settings(run: Runner, settings: dict, expected: set, evaluated: int) -> None:
    found, outcome = run(ESTIMATES, ["R016"], {"R016": settings})

    assert flagged(found, "R016") == expected
    assert counts(outcome, "R016")[0] == evaluated


# ---------------------------------------------------------------------------------------------------------------
# R031: award close to or above the estimate
# ---------------------------------------------------------------------------------------------------------------


def _priced(ocid: str, estimate: float, awarded: float, **options: Any) -> dict:
    currency = options.pop("currency", "GBP")
    return proc(ocid, value=estimate, currency=currency, awards=(award(awarded, "2024-03-01", SUPPLIER),), **options)


PRICES = [
    _priced("ocds-v-above", 100000, 105000),
    _priced("ocds-v-close", 100000, 98500),
    _priced("ocds-v-below", 100000, 90000),
    _priced("ocds-v-equal", 100000, 100000),  # a copied value, left out
    _priced("ocds-v-absurd", 1, 50000),  # an estimate of £1, left out
    _priced("ocds-v-direct", 100000, 99000, procedure=DIRECT),
    _priced("ocds-v-currency", 100000, 99000, currency="EUR"),
]


def test_r031_flags_awards_at_or_near_the_estimate(run: Runner) -> None:
    found, outcome = run(PRICES, ["R031"])

    assert flagged(found, "R031") == {"ocds-v-above", "ocds-v-close"}
    assert counts(outcome, "R031") == (3, 2)
    assert found["R031", "process", "ocds-v-above"].value == pytest.approx(1.05)
    assert found["R031", "process", "ocds-v-above"].sentence == (
        "The contract was awarded for £105,000, 5% above the buyer's estimate of £100,000."
    )
    assert found["R031", "process", "ocds-v-close"].sentence == (
        "The contract was awarded for £98,500, 98% of the buyer's estimate of £100,000: close to it, at 98% or more."
    )


@pytest.mark.parametrize(
    ("settings", "now_flagged"),
    [
        ({"minimum_ratio": 0.9}, {"ocds-v-below"}),
        ({"ignore_identical_values": False}, {"ocds-v-equal"}),
        ({"maximum_ratio": 0}, {"ocds-v-absurd"}),
        ({"include_non_competitive": True}, {"ocds-v-direct"}),
    ],
)
def test_r031_settings(run: Runner, settings: dict, now_flagged: set) -> None:
    found, _ = run(PRICES, ["R031"], {"R031": settings})

    assert flagged(found, "R031") == {"ocds-v-above", "ocds-v-close"} | now_flagged


# ---------------------------------------------------------------------------------------------------------------
# R059, R064 and R069: contracts against awards, and amendments
# ---------------------------------------------------------------------------------------------------------------


def _signed(ocid: str, awards: tuple[float, ...], contracts: tuple[dict, ...], **options: Any) -> dict:
    return proc(
        ocid, awards=tuple(award(value, "2024-03-01", SUPPLIER) for value in awards), contracts=contracts, **options
    )


CONTRACTS = [
    _signed("ocds-c-up", (100000,), (contract(130000, "2024-03-20", amendments=2),)),
    _signed("ocds-c-down", (100000,), (contract(75000, "2024-03-20", amendments=1),)),
    _signed("ocds-c-small", (100000,), (contract(110000, "2024-03-20"),)),
    _signed("ocds-c-twenty", (100000,), (contract(120000, "2024-03-20"),)),  # exactly 20%: flagged
    _signed(
        "ocds-c-two",
        (50000, 50000),
        (contract(60000, "2024-03-20"), contract(50000, "2024-03-20", award_number=2)),
    ),
    _signed("ocds-c-no-award-id", (100000,), (contract(200000, "2024-03-20", award_number=None),)),
    _signed(
        "ocds-c-currency",
        (100000,),
        (contract(150000, "2024-03-20", currency="EUR"),),
    ),
    _signed(
        "ocds-c-uk10",
        (100000,),
        (
            contract(
                100000, "2024-03-20", documents=[{"id": "1", "documentType": "contractNotice", "noticeType": "UK10"}]
            ),
        ),
    ),
]


def test_r059_flags_contracts_far_from_their_award(run: Runner) -> None:
    found, outcome = run(CONTRACTS, ["R059"])

    assert flagged(found, "R059") == {"ocds-c-up", "ocds-c-down", "ocds-c-twenty", "ocds-c-no-award-id"}
    assert counts(outcome, "R059") == (7, 4)
    assert found["R059", "process", "ocds-c-up"].sentence == (
        "The contract is worth £130,000, 30% more than the £100,000 awarded."
    )
    assert found["R059", "process", "ocds-c-down"].sentence == (
        "The contract is worth £75,000, 25% less than the £100,000 awarded."
    )
    assert found["R059", "process", "ocds-c-no-award-id"].value == 2


def test_r059_threshold(run: Runner) -> None:
    found, _ = run(CONTRACTS, ["R059"], {"R059": {"threshold": 0.05}})

    assert flagged(found, "R059") == {
        "ocds-c-up",
        "ocds-c-down",
        "ocds-c-small",
        "ocds-c-twenty",
        "ocds-c-two",
        "ocds-c-no-award-id",
    }


def test_r064_counts_amendments_and_uk10_notices(run: Runner) -> None:
    found, outcome = run(CONTRACTS, ["R064"])

    assert flagged(found, "R064") == {"ocds-c-up", "ocds-c-down", "ocds-c-uk10"}
    assert counts(outcome, "R064") == (8, 3)
    up = found["R064", "process", "ocds-c-up"]
    assert up.value == 2 and up.evidence["latest_reason"] == "Change 2"
    assert (
        up.sentence
        == 'The contract was modified twice after it was signed; the latest change (20 March 2024): "Change 2".'
    )
    assert found["R064", "process", "ocds-c-uk10"].evidence["uk10_notices"] == 1
    assert found["R064", "process", "ocds-c-uk10"].sentence == "The contract was modified once after it was signed."


def test_r064_minimum_modifications(run: Runner) -> None:
    found, _ = run(CONTRACTS, ["R064"], {"R064": {"minimum_modifications": 2}})

    assert flagged(found, "R064") == {"ocds-c-up"}


def test_r069_flags_amended_contracts_that_cost_more(run: Runner) -> None:
    found, outcome = run(CONTRACTS, ["R069"])

    assert flagged(found, "R069") == {"ocds-c-up"}
    assert counts(outcome, "R069") == (2, 1)
    flag = found["R069", "process", "ocds-c-up"]
    assert flag.value == pytest.approx(0.3) and flag.evidence["amendments"] == 2
    assert flag.sentence == "After 2 amendments the contract is worth £130,000, 30% more than the £100,000 awarded."


def test_r069_minimum_increase(run: Runner) -> None:
    found, outcome = run(CONTRACTS, ["R069"], {"R069": {"minimum_increase": 0.5}})

    assert flagged(found, "R069") == set()
    assert counts(outcome, "R069") == (2, 0)


# ---------------------------------------------------------------------------------------------------------------
# R060, R061 and R062: time from deadline to award, and from award to signature
# ---------------------------------------------------------------------------------------------------------------

DEADLINE = "2024-03-10T12:00:00Z"
DECISIONS = [1, 6, 7, 30, 30, 35, 40, 45, 50, 60, 300]
SIGNATURES = [0, 5, 10, 10, 15, 20, 20, 25, 30, 200]


def _shift(days: float, start: str = DEADLINE) -> str:
    when = datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _timed(n: int, decision: float, signature: int | None) -> dict:
    awarded = _shift(decision)
    signed = () if signature is None else (contract(10000, _shift(signature, awarded)),)
    if signature == 30:  # a second contract signed sooner: the longest delay counts
        signed = (*signed, contract(10000, _shift(2, awarded)))
    return proc(
        f"ocds-time-{n}", period=("2024-02-01", DEADLINE), awards=(award(10000, awarded, SUPPLIER),), contracts=signed
    )


TIMES = [
    _timed(0, 1.5, SIGNATURES[0]),  # 1.5 days count as 1
    *[
        _timed(n, decision, signature)
        for n, (decision, signature) in enumerate(zip(DECISIONS, SIGNATURES, strict=False))
        if n
    ],
    _timed(10, DECISIONS[10], None),
    # awarded before the deadline and signed before the award: data errors, left out
    proc(
        "ocds-time-negative",
        period=("2024-02-01", DEADLINE),
        awards=(award(10000, "2024-03-05", SUPPLIER),),
        contracts=(contract(10000, "2024-03-02"),),
    ),
    proc(
        "ocds-time-direct",
        procedure=DIRECT,
        period=("2024-02-01", DEADLINE),
        awards=(award(10000, _shift(2), SUPPLIER),),
    ),
]


def test_r061_flags_decisions_within_days_of_the_deadline(run: Runner) -> None:
    found, outcome = run(TIMES, ["R061"])

    assert flagged(found, "R061") == {"ocds-time-0", "ocds-time-1"}
    assert counts(outcome, "R061") == (11, 2)
    flag = found["R061", "process", "ocds-time-0"]
    assert flag.value == 1 and flag.evidence["bid_deadline"] == "2024-03-10"
    assert flag.sentence == (
        "The award is dated 12 March 2024, 1 day after bids closed on 10 March 2024: fewer than the 7 days expected "
        "for evaluating them."
    )


def test_r061_threshold(run: Runner) -> None:
    found, _ = run(TIMES, ["R061"], {"R061": {"threshold": 31}})

    assert flagged(found, "R061") == {f"ocds-time-{n}" for n in range(5)}


def test_r062_flags_decisions_beyond_the_fence(run: Runner) -> None:
    found, outcome = run(TIMES, ["R062"])

    assert flagged(found, "R062") == {"ocds-time-10"}
    fence = r8(DECISIONS, 0.75) + 1.5 * (r8(DECISIONS, 0.75) - r8(DECISIONS, 0.25))
    flag = found["R062", "process", "ocds-time-10"]
    assert flag.value == 300 and flag.evidence["threshold_days"] == pytest.approx(fence)
    assert outcome.meta["R062"]["upper_fence"] == pytest.approx(fence)
    assert flag.sentence == (
        "The award is dated 4 January 2025, 300 days after bids closed on 10 March 2024: at or above 107 days, the "
        "limit for an unusual decision period among 11 processes."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"threshold": 50}, {"ocds-time-8", "ocds-time-9", "ocds-time-10"}),
        ({"minimum_days": 400}, set()),
    ],
)
def test_r062_settings(run: Runner, settings: dict, expected: set) -> None:
    found, _ = run(TIMES, ["R062"], {"R062": settings})

    assert flagged(found, "R062") == expected


def test_r060_flags_a_long_wait_for_signature(run: Runner) -> None:
    found, outcome = run(TIMES, ["R060"])

    assert flagged(found, "R060") == {"ocds-time-9"}
    assert counts(outcome, "R060") == (10, 1)
    fence = r8(SIGNATURES, 0.75) + 1.5 * (r8(SIGNATURES, 0.75) - r8(SIGNATURES, 0.25))
    flag = found["R060", "process", "ocds-time-9"]
    assert flag.value == 200 and flag.evidence["threshold_days"] == pytest.approx(fence)
    assert flag.sentence == (
        "The contract was signed on 25 November 2024, 200 days after the award on 9 May 2024: at or above 50 days, "
        "the limit for an unusual delay among 10 processes."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"threshold": 20}, {"ocds-time-5", "ocds-time-6", "ocds-time-7", "ocds-time-8", "ocds-time-9"}),
        ({"minimum_days": 250}, set()),
    ],
)
def test_r060_settings(run: Runner, settings: dict, expected: set) -> None:
    found, _ = run(TIMES, ["R060"], {"R060": settings})

    assert flagged(found, "R060") == expected
