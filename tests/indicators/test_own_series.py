"""tenderwatch's own indicators, TW101 to TW108: each on a small history of notices with a true positive, a true
negative and edge cases, one test per setting, and the demo stories."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.indicators import INDICATORS
from tenderwatch.indicators.engine import run_indicators
from tenderwatch.indicators.settings import from_toml
from tenderwatch.resolve import load_ownership
from tests import REAL, run_cli
from tests.indicators import evaluate, release

STORIES = Path(__file__).resolve().parents[2] / "src" / "tenderwatch" / "demo" / "stories" / "stories.jsonl"
OWN = [f"TW10{n}" for n in range(1, 9)]


def gbp(amount: float) -> dict:
    return {"amount": amount, "currency": "GBP"}


def flagged(found: dict, code: str) -> set[str]:
    """The subjects ``code`` flagged."""
    return {subject_id for (flag_code, _, subject_id) in found if flag_code == code}


def counts(run: Any) -> tuple[int, int]:
    (only,) = run.runs
    return only.evaluated, only.flagged


def test_the_series_is_registered_and_documented() -> None:
    for code in OWN:
        indicator = INDICATORS[code]
        assert indicator.code == code and 1 <= len(indicator.title.split()) <= 5
        assert indicator.methodology and "Example" in indicator.methodology, code
        assert indicator.why and indicator.description and indicator.needs and indicator.references, code
        assert indicator.subjects, code
        for name, field in indicator.settings.model_fields.items():
            assert field.description, f"{code}.{name}"
            assert field.default is not None or field.default_factory is not None, f"{code}.{name}"


# ------------------------------------------------------------------------------------------------------ TW101

BUYER = {"id": "GB-LAE-W1", "name": "Westvale County Council"}
DEADLINE = {"startDate": "2024-01-10T09:00:00Z", "endDate": "2024-03-01T12:00:00Z"}


def _tender(ocid: str, **tender: Any) -> dict:
    return release(ocid, "2024-01-10T09:00:00Z", f"{ocid}-1", buyer=BUYER,
                   tender={"id": "T1", "status": "active", "value": gbp(100000), "items": [{"id": "1"}],
                           "tenderPeriod": DEADLINE, **tender})  # fmt: skip


def _later(ocid: str, date: str, tag: str = "tenderAmendment", **tender: Any) -> dict:
    return release(ocid, date, f"{ocid}-2", tag=[tag], buyer=BUYER, tender={"id": "T1", **tender})


TW101_RELEASES = [
    # late and wider: ten days before the deadline, value up by half and an item added
    _tender("ocds-tw101-late"),
    _later("ocds-tw101-late", "2024-02-20T16:00:00Z", value=gbp(150000), items=[{"id": "2"}],
           amendments=[{"id": "1", "date": "2024-02-20T16:00:00Z", "description": "Scope widened."}]),
    # early and small: 41 days before the deadline, +5%
    _tender("ocds-tw101-small"),
    _later("ocds-tw101-small", "2024-01-20T10:00:00Z", value=gbp(105000)),
    # never changed
    _tender("ocds-tw101-same"),
    # late, but the deadline moved with it: 24 days left after the change
    _tender("ocds-tw101-moved"),
    _later("ocds-tw101-moved", "2024-02-25T10:00:00Z",
           tenderPeriod={"endDate": "2024-03-20T12:00:00Z"}),
    # early, but a lot was added (in a tender update)
    _tender("ocds-tw101-lot", lots=[{"id": "1", "title": "North"}]),
    _later("ocds-tw101-lot", "2024-01-15T10:00:00Z", "tenderUpdate", lots=[{"id": "2", "title": "South"}]),
    # an award notice restating a higher value is not a change to the tender notice
    _tender("ocds-tw101-award"),
    _later("ocds-tw101-award", "2024-04-01T10:00:00Z", "award", status="complete", value=gbp(200000)),
    # exactly ten per cent more, early: not more than the share
    _tender("ocds-tw101-tenpc"),
    _later("ocds-tw101-tenpc", "2024-01-20T10:00:00Z", value=gbp(110000)),
]  # fmt: skip


def test_tw101_late_or_widening_changes(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW101_RELEASES, ["TW101"])
    assert flagged(found, "TW101") == {"ocds-tw101-late", "ocds-tw101-lot"}
    assert counts(run) == (7, 2)
    late = found[("TW101", "process", "ocds-tw101-late")]
    assert late.value == 10
    assert late.evidence["change_date"] == "2024-02-20" and late.evidence["deadline"] == "2024-03-01"
    assert late.evidence["days_before_deadline"] == 10 and late.evidence["late"] is True
    assert late.evidence["value_before"] == 100000 and late.evidence["value_after"] == 150000
    assert late.evidence["items_before"] == 1 and late.evidence["items_after"] == 2
    assert late.evidence["changes"] == 1 and late.evidence["widened"] is True
    assert late.sentence == (
        "The tender notice was changed after it was published, on 20 February 2024, 10 days before the deadline "
        "for bids (1 March 2024): the estimated value went from £100,000 to £150,000 (+50%) and 1 item was added."
    )
    lot = found[("TW101", "process", "ocds-tw101-lot")]
    assert lot.evidence["late"] is False and lot.evidence["lots_before"] == 1 and lot.evidence["lots_after"] == 2
    assert lot.sentence.endswith(": 1 lot was added.")


def test_tw101_late_days(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW101_RELEASES, ["TW101"], {"TW101": {"late_days": 30}})
    assert flagged(found, "TW101") == {"ocds-tw101-late", "ocds-tw101-lot", "ocds-tw101-moved"}
    moved = found[("TW101", "process", "ocds-tw101-moved")].evidence
    assert moved["days_before_deadline"] == 24 and moved["deadline_before_change"] == "2024-03-01"
    assert moved["late_days"] == 30


def test_tw101_value_increase(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW101_RELEASES, ["TW101"], {"TW101": {"value_increase": 0.05}})
    assert flagged(found, "TW101") == {"ocds-tw101-late", "ocds-tw101-lot", "ocds-tw101-tenpc"}


def test_tw101_flag_any_change(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW101_RELEASES, ["TW101"], {"TW101": {"flag_any_change": True}})
    assert flagged(found, "TW101") == {
        "ocds-tw101-late", "ocds-tw101-lot", "ocds-tw101-small", "ocds-tw101-moved", "ocds-tw101-tenpc",
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------------ TW102


def contract_history(
    ocid: str,
    start: str,
    end: str,
    changes: tuple[tuple[str, str, dict], ...] | list[tuple[str, str, dict]] = (),
    *,
    max_extent: str | None = None,
    value: float = 100000,
    buyer: dict = BUYER,
    award_date: str | None = None,
) -> list[dict]:
    """An awarded and signed contract, then later notices changing it: (date, tag, contract fields)."""
    period = {"startDate": start, "endDate": end, **({"maxExtentDate": max_extent} if max_extent else {})}
    date = award_date or start
    first = release(
        ocid, date, f"{ocid}-1", tag=["award", "contract"], buyer=buyer,
        tender={"id": "T1", "status": "complete", "procurementMethod": "open"},
        awards=[{"id": "A1", "status": "active", "date": date, "value": gbp(value),
                 "suppliers": [{"id": "GB-COH-98111111", "name": "Brook Services Ltd"}], "contractPeriod": period}],
        contracts=[{"id": "C1", "awardID": "A1", "status": "active", "period": period, "value": gbp(value)}],
    )  # fmt: skip
    later = [
        release(ocid, when, f"{ocid}-{n + 2}", tag=[tag], buyer=buyer,
                contracts=[{"id": "C1", "awardID": "A1", **fields}])
        for n, (when, tag, fields) in enumerate(changes)
    ]  # fmt: skip
    return [first, *later]


def _extend(when: str, end: str) -> tuple[str, str, dict]:
    return (
        when,
        "contractAmendment",
        {"period": {"endDate": end}, "amendments": [{"id": when, "date": when, "rationale": "Extended."}]},
    )


TW102_RELEASES = [
    # two years, one added: +50%
    *contract_history("ocds-tw102-long", "2020-01-01T00:00:00Z", "2021-12-31T23:59:59Z",
                      [_extend("2021-06-01T00:00:00Z", "2022-12-31T23:59:59Z")]),
    # four years, three months added: +6%
    *contract_history("ocds-tw102-short", "2020-01-01T00:00:00Z", "2023-12-31T23:59:59Z",
                      [_extend("2023-06-01T00:00:00Z", "2024-03-31T23:59:59Z")]),
    # terminated: its end was brought forward
    *contract_history("ocds-tw102-ended", "2020-01-01T00:00:00Z", "2023-12-31T23:59:59Z",
                      [("2021-03-01T00:00:00Z", "contractTermination",
                        {"status": "terminated", "period": {"endDate": "2021-06-30T23:59:59Z"}})]),
    # two years, one added, within the extension option announced at the start
    *contract_history("ocds-tw102-option", "2020-01-01T00:00:00Z", "2021-12-31T23:59:59Z",
                      [_extend("2021-06-01T00:00:00Z", "2022-12-31T23:59:59Z")],
                      max_extent="2023-12-31T23:59:59Z"),
    # one month, twenty days added: a large share, but less than a month
    *contract_history("ocds-tw102-days", "2020-01-01T00:00:00Z", "2020-01-31T23:59:59Z",
                      [_extend("2020-01-20T00:00:00Z", "2020-02-20T23:59:59Z")]),
    # never changed
    *contract_history("ocds-tw102-same", "2020-01-01T00:00:00Z", "2021-12-31T23:59:59Z"),
]  # fmt: skip


def test_tw102_lengthened_contracts(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW102_RELEASES, ["TW102"])
    assert flagged(found, "TW102") == {"ocds-tw102-long", "ocds-tw102-option"}
    assert counts(run) == (6, 2)
    long = found[("TW102", "process", "ocds-tw102-long")]
    assert long.value == pytest.approx(0.5, abs=0.002)
    assert long.evidence["original_end_date"] == "2021-12-31" and long.evidence["current_end_date"] == "2022-12-31"
    assert long.evidence["months_added"] == 12.0 and long.evidence["original_months"] == 24.0
    assert long.evidence["within_announced_extensions"] is False and long.evidence["threshold"] == 0.2
    assert long.sentence == (
        "The contract's end date was moved from 31 December 2021 to 31 December 2022, adding 12.0 months to an "
        "original term of 24.0 months (50%, over the 20% threshold)."
    )
    option = found[("TW102", "process", "ocds-tw102-option")]
    assert option.evidence["within_announced_extensions"] is True
    assert option.sentence.endswith(", within the extension options announced at the start.")


def test_tw102_threshold(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW102_RELEASES, ["TW102"], {"TW102": {"threshold": 0.6}})
    assert flagged(found, "TW102") == set()


def test_tw102_min_months(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW102_RELEASES, ["TW102"], {"TW102": {"min_months": 0.5}})
    assert flagged(found, "TW102") == {"ocds-tw102-long", "ocds-tw102-option", "ocds-tw102-days"}


def test_tw102_ignore_planned_extensions(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW102_RELEASES, ["TW102"], {"TW102": {"ignore_planned_extensions": True}})
    assert flagged(found, "TW102") == {"ocds-tw102-long"}


# ------------------------------------------------------------------------------------------------------ TW103

TW103_RELEASES = [
    # ten years, still at tender
    release("ocds-tw103-tender", buyer=BUYER, tender={
        "id": "T1", "status": "active", "title": "Lead provider for cancer care",
        "contractPeriod": {"startDate": "2016-04-01T00:00:00+01:00", "endDate": "2026-03-31T23:59:59+01:00"}}),
    # five years, seven with its options
    *contract_history("ocds-tw103-seven", "2020-01-01T00:00:00Z", "2024-12-31T23:59:59Z",
                      max_extent="2026-12-31T23:59:59Z"),
    # five years, twelve with its options
    *contract_history("ocds-tw103-twelve", "2020-01-01T00:00:00Z", "2024-12-31T23:59:59Z",
                      max_extent="2031-12-31T23:59:59Z"),
    # no end date, described as rolling
    release("ocds-tw103-rolling", tag=["award"], buyer=BUYER,
            tender={"id": "T1", "status": "complete", "description": "A rolling contract with no fixed end date."},
            awards=[{"id": "A1", "status": "active", "date": "2022-01-01T00:00:00Z",
                     "contractPeriod": {"startDate": "2022-01-01T00:00:00Z"}}]),
    # only a length: 4,000 days is 11.0 years
    release("ocds-tw103-days", tag=["award"], buyer=BUYER, tender={"id": "T1", "status": "complete"},
            awards=[{"id": "A1", "status": "active", "date": "2022-01-01T00:00:00Z",
                     "contractPeriod": {"startDate": "2022-01-01T00:00:00Z", "durationInDays": 4000}}]),
    # a cancelled tender is not a contract
    release("ocds-tw103-cancelled", tag=["tenderCancellation"], buyer=BUYER, tender={
        "id": "T1", "status": "cancelled",
        "contractPeriod": {"startDate": "2020-01-01T00:00:00Z", "endDate": "2034-12-31T23:59:59Z"}}),
    # no dates at all: not evaluated
    release("ocds-tw103-nodates", buyer=BUYER, tender={"id": "T1", "status": "active"}),
]  # fmt: skip


def test_tw103_very_long_contracts(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW103_RELEASES, ["TW103"])
    assert flagged(found, "TW103") == {
        "ocds-tw103-tender",
        "ocds-tw103-twelve",
        "ocds-tw103-rolling",
        "ocds-tw103-days",
    }
    assert counts(run) == (5, 4)
    tender = found[("TW103", "process", "ocds-tw103-tender")]
    assert tender.value == 10.0 and tender.evidence["from"] == "process" and tender.evidence["min_years"] == 10.0
    assert tender.sentence == (
        "The contract being tendered would run for 10.0 years (1 April 2016 to 31 March 2026), at least the 10 "
        "years counted as very long."
    )
    twelve = found[("TW103", "process", "ocds-tw103-twelve")]
    assert twelve.evidence["end_used"] == "latest possible end" and twelve.evidence["term_years"] == 12.0
    assert "with every extension option used" in twelve.sentence
    rolling = found[("TW103", "process", "ocds-tw103-rolling")]
    assert rolling.evidence["indefinite"] is True and "indefinite or open-ended" in rolling.sentence
    assert found[("TW103", "process", "ocds-tw103-days")].evidence["term_years"] == 11.0


def test_tw103_min_years(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW103_RELEASES, ["TW103"], {"TW103": {"min_years": 7}})
    assert flagged(found, "TW103") == {
        "ocds-tw103-tender", "ocds-tw103-twelve", "ocds-tw103-rolling", "ocds-tw103-days", "ocds-tw103-seven",
    }  # fmt: skip


def test_tw103_indefinite_pattern(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW103_RELEASES, ["TW103"], {"TW103": {"indefinite_pattern": "(?i)perpetual"}})
    assert flagged(found, "TW103") == {"ocds-tw103-tender", "ocds-tw103-twelve", "ocds-tw103-days"}
    assert counts(run) == (4, 3)


# ------------------------------------------------------------------------------------------------------ TW104

SHIRE = {"id": "GB-LAE-S1", "name": "Southmoor District Council"}
SMALL = {"id": "GB-LAE-S2", "name": "Littlecombe Town Council"}


def _award(ocid: str, date: str, amount: float, buyer: dict) -> dict:
    return release(ocid, date, f"{ocid}-1", tag=["award"], buyer=buyer, tender={"id": "T1", "status": "complete"},
                   awards=[{"id": "A1", "status": "active", "date": date, "value": gbp(amount),
                            "suppliers": [{"id": "GB-COH-98222222", "name": "Moor Works Ltd"}]}])  # fmt: skip


TW104_RELEASES = [
    # nine awards of £1,000,000 and one of £4,000,000 over five years: £2,600,000 a year
    *[_award(f"ocds-tw104-usual-{n}", f"{2020 + n % 5}-03-01T00:00:00Z", 1_000_000, SHIRE) for n in range(9)],
    _award("ocds-tw104-large", "2022-06-01T00:00:00Z", 4_000_000, SHIRE),
    # a buyer with three awards: no average to speak of
    *[_award(f"ocds-tw104-few-{n}", "2021-01-01T00:00:00Z", 9_000_000, SMALL) for n in range(3)],
]


def test_tw104_very_large_for_its_buyer(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW104_RELEASES, ["TW104"])
    assert flagged(found, "TW104") == {"ocds-tw104-large"}
    assert counts(run) == (10, 1)
    large = found[("TW104", "process", "ocds-tw104-large")]
    assert large.value == pytest.approx(4_000_000 / 2_600_000, abs=0.0001)
    assert large.evidence["buyer_average_year"] == 2_600_000 and large.evidence["buyer_contracts"] == 10
    assert large.evidence["buyer_years"] == 5 and large.evidence["buyer_id"] == "GB-LAE-S1"
    assert large.sentence == (
        "This contract, worth £4,000,000, is 154% of what Southmoor District Council awards in an average year "
        "(£2,600,000 a year over 10 contracts from 2020 to 2024), above the 50% threshold."
    )


def test_tw104_share(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW104_RELEASES, ["TW104"], {"TW104": {"share": 0.3}})
    assert len(flagged(found, "TW104")) == 10  # £1,000,000 is 38% of an average year


def test_tw104_min_amount(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW104_RELEASES, ["TW104"], {"TW104": {"min_amount": 5_000_000}})
    assert flagged(found, "TW104") == set()


def test_tw104_min_buyer_awards(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW104_RELEASES, ["TW104"], {"TW104": {"min_buyer_awards": 3}})
    assert flagged(found, "TW104") == {"ocds-tw104-large"}  # each of the three is a third of the small buyer's year
    assert counts(run) == (13, 1)


# ------------------------------------------------------------------------------------------------------ TW105


def _tender_in(ocid: str, date: str, cpv: str, buyer: dict, **extra: Any) -> dict:
    return release(ocid, date, f"{ocid}-1", buyer=buyer, **extra.pop("sections", {}), tender={
        "id": "T1", "title": f"Tender {ocid[-2:]}", "status": extra.pop("status", "active"),
        "tenderPeriod": {"startDate": date}, "items": [{"id": "1", "classification": {"scheme": "CPV", "id": cpv}}],
    })  # fmt: skip


def _cancel(ocid: str, date: str, status: str = "cancelled") -> dict:
    return release(
        ocid, date, f"{ocid}-2", tag=["tenderCancellation"], buyer=SHIRE, tender={"id": "T1", "status": status}
    )


OTHER = {"id": "GB-LAE-O1", "name": "Otterby Borough Council"}
TW105_RELEASES = [
    _tender_in("ocds-tw105-c1", "2024-01-10T00:00:00Z", "85100000", SHIRE),
    _cancel("ocds-tw105-c1", "2024-03-10T00:00:00Z"),
    _tender_in("ocds-tw105-n1", "2024-05-01T00:00:00Z", "85311000", SHIRE),  # the relaunch
    _tender_in("ocds-tw105-n2", "2024-06-01T00:00:00Z", "85320000", SHIRE),  # a later tender, same division
    _tender_in("ocds-tw105-n3", "2024-05-01T00:00:00Z", "72000000", SHIRE),  # other work
    _tender_in("ocds-tw105-n4", "2024-05-01T00:00:00Z", "85100000", OTHER),  # other buyer
    _tender_in("ocds-tw105-n0", "2023-12-01T00:00:00Z", "85100000", SHIRE),  # before the cancelled one
    # another buyer's cancelled works tender, and a tender that names it as its predecessor
    _tender_in("ocds-tw105-c2", "2024-01-10T00:00:00Z", "45000000", OTHER),
    release("ocds-tw105-c2", "2024-02-01T00:00:00Z", "ocds-tw105-c2-2", tag=["tenderCancellation"], buyer=OTHER,
            tender={"id": "T1", "status": "cancelled"}),
    _tender_in("ocds-tw105-n5", "2024-04-01T00:00:00Z", "90000000", SMALL, sections={"relatedProcesses": [
        {"id": "1", "relationship": ["prior"], "scheme": "ocid", "identifier": "ocds-tw105-c2"}]}),
    # a tender declared unsuccessful, and the same buyer's next one in the division
    _tender_in("ocds-tw105-c3", "2024-01-10T00:00:00Z", "79000000", SMALL, status="unsuccessful"),
    _tender_in("ocds-tw105-n6", "2024-02-05T00:00:00Z", "79100000", SMALL),
]  # fmt: skip


def test_tw105_relaunched_procedures(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW105_RELEASES, ["TW105"])
    assert flagged(found, "TW105") == {"ocds-tw105-n1", "ocds-tw105-n5", "ocds-tw105-n6"}
    assert counts(run) == (7, 3)
    relaunch = found[("TW105", "process", "ocds-tw105-n1")]
    assert (
        relaunch.evidence["cancelled_ocid"] == "ocds-tw105-c1" and relaunch.evidence["matched_by"] == "buyer and CPV"
    )
    assert relaunch.evidence["cancelled_on"] == "2024-03-10" and relaunch.evidence["cpv_prefix"] == "85"
    assert relaunch.value == 1.7
    assert relaunch.sentence == (
        "This tender, published on 1 May 2024, follows a tender by the same buyer for the same kind of work "
        '(CPV 85…), "Tender c1" (ocds-tw105-c1), marked cancelled in its notice of 10 March 2024.'
    )
    linked = found[("TW105", "process", "ocds-tw105-n5")]
    assert linked.evidence["matched_by"] == "link" and linked.evidence["cancelled_ocid"] == "ocds-tw105-c2"
    assert "a procedure it is linked to" in linked.sentence


def test_tw105_months(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW105_RELEASES, ["TW105"], {"TW105": {"months": 1}})
    assert flagged(found, "TW105") == {"ocds-tw105-n6"}  # 26 days after the unsuccessful tender's only notice


def test_tw105_failed_statuses(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW105_RELEASES, ["TW105"], {"TW105": {"failed_statuses": ["cancelled"]}})
    assert flagged(found, "TW105") == {"ocds-tw105-n1", "ocds-tw105-n5"}


def test_tw105_cpv_digits(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW105_RELEASES, ["TW105"], {"TW105": {"cpv_digits": 3}})
    assert flagged(found, "TW105") == {"ocds-tw105-n5"}


def test_tw105_a_tender_marked_unsuccessful_before_its_deadline_has_not_failed(tmp_path: Path) -> None:
    def tender(ocid: str, date: str, status: str, deadline: str) -> dict:
        return release(ocid, date, f"{ocid}-1", buyer=OTHER, tender={
            "id": "T1", "title": "Grounds maintenance", "status": status,
            "tenderPeriod": {"startDate": date, "endDate": deadline},
            "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "77310000"}}]})  # fmt: skip

    # as Contracts Finder publishes a tender notice: unsuccessful on the day, with bids due a month later
    on_publication = [
        tender("ocds-b5fd17-tw105-p1", "2024-01-10T00:00:00Z", "unsuccessful", "2024-02-09T12:00:00Z"),
        tender("ocds-b5fd17-tw105-p2", "2024-04-01T00:00:00Z", "active", "2024-05-01T12:00:00Z"),
    ]
    found, run = evaluate(tmp_path, on_publication, ["TW105"])
    assert flagged(found, "TW105") == set() and counts(run) == (2, 0)
    # the same buyer's procedure declared unsuccessful after its deadline did fail: the next tender relaunches it
    failed = [*on_publication, release("ocds-b5fd17-tw105-p1", "2024-02-20T00:00:00Z", "ocds-b5fd17-tw105-p1-2",
                                       buyer=OTHER, tender={"id": "T1", "status": "unsuccessful"})]  # fmt: skip
    (tmp_path / "failed").mkdir()
    found, _ = evaluate(tmp_path / "failed", failed, ["TW105"])
    assert flagged(found, "TW105") == {"ocds-b5fd17-tw105-p2"}


# ------------------------------------------------------------------------------------------------------ TW106


def _direct(
    ocid: str, method: str, details: str, rationale: str, codes: tuple[str, ...] = (), basis: str = ""
) -> dict:
    legal = {"CELEX": {"scheme": "CELEX", "id": "32014L0024"}, "UKPGA": {"scheme": "UKPGA", "id": "2023/54"}}
    tender = {"id": "T1", "status": "complete", "procurementMethod": method, "procurementMethodDetails": details,
              "procurementMethodRationale": rationale,
              "procurementMethodRationaleClassifications": [
                  {"scheme": "TED_PT_AWARD_CONTRACT_WITHOUT_CALL", "id": code} for code in codes]}  # fmt: skip
    if basis:
        tender["legalBasis"] = legal[basis]
    return release(ocid, tag=["award"], buyer=BUYER, tender=tender)


NPWP = "Negotiated procedure without prior publication"
TW106_RELEASES = [
    _direct("ocds-tw106-reg32", "limited", NPWP,
            "Regulation 32(2)(c) of the Public Contracts Regulations 2015: the provider's sudden exit created an "
            "extreme urgency, leaving no time for a competition.", ("D_EXTREME_URGENCY",), "CELEX"),
    _direct("ocds-tw106-text", "direct", "Single tender action (non-OJEU)",
            "Urgent requirement: the previous supplier went into administration."),
    _direct("ocds-tw106-act", "direct", "Direct award",
            "Strictly necessary for reasons of extreme and unavoidable urgency after a fire.", basis="UKPGA"),
    _direct("ocds-tw106-technical", "limited", NPWP, "Only this supplier can maintain the system.", ("D_TECHNICAL",)),
    _direct("ocds-tw106-care", "direct", "Single tender action (non-OJEU)",
            "Continuity of urgent care services for residents of the town."),
    _direct("ocds-tw106-calloff", "limited", "Call off from a Framework Agreement", "Urgent need for staff."),
    _direct("ocds-tw106-open", "open", "Open procedure", "Urgent."),
]  # fmt: skip


def test_tw106_urgency_direct_awards(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW106_RELEASES, ["TW106"])
    assert flagged(found, "TW106") == {"ocds-tw106-reg32", "ocds-tw106-text", "ocds-tw106-act"}
    assert counts(run) == (5, 3)
    reg32 = found[("TW106", "process", "ocds-tw106-reg32")]
    assert reg32.evidence["rules_matched"] == [
        "coded ground",
        "regulation 32(2)(c)",
        "urgency",
        "no time for a competition",
    ]
    assert reg32.evidence["urgency_codes"] == ["TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY"]
    assert reg32.evidence["law"] == "regulation 32(2)(c) of the Public Contracts Regulations 2015"
    assert reg32.sentence.startswith(
        "The contract was awarded without a competition (Negotiated procedure without prior publication) on grounds "
        "of extreme urgency under regulation 32(2)(c) of the Public Contracts Regulations 2015: the notice gives the "
        'coded ground D_EXTREME_URGENCY and its stated reason says "Regulation 32(2)(c) of the Public Contracts'
    )
    text = found[("TW106", "process", "ocds-tw106-text")]
    assert text.evidence["rules_matched"] == ["urgency"] and text.evidence["law"] is None
    assert text.sentence == (
        "The contract was awarded without a competition (Single tender action (non-OJEU)) on grounds of extreme "
        'urgency: its stated reason says "Urgent requirement: the previous supplier went into administration."'
        "."
    )
    act = found[("TW106", "process", "ocds-tw106-act")]
    assert act.evidence["law"] == "the urgency justification of the Procurement Act 2023 (Schedule 5)"


def test_tw106_procurement_methods(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW106_RELEASES, ["TW106"], {"TW106": {"procurement_methods": ["direct"]}})
    assert flagged(found, "TW106") == {"ocds-tw106-reg32", "ocds-tw106-text", "ocds-tw106-act"}  # reg32 by its code
    assert counts(run) == (4, 3)  # the technical and call-off awards are limited


def test_tw106_call_off_pattern(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW106_RELEASES, ["TW106"], {"TW106": {"call_off_pattern": "(?i)dynamic market"}})
    assert "ocds-tw106-calloff" in flagged(found, "TW106")


def test_tw106_code_pattern(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW106_RELEASES, ["TW106"], {"TW106": {"code_pattern": "(?i)technical"}})
    assert "ocds-tw106-technical" in flagged(found, "TW106")
    assert found[("TW106", "process", "ocds-tw106-reg32")].evidence["urgency_codes"] == []


def test_tw106_text_rules(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW106_RELEASES, ["TW106"], {"TW106": {"text_rules": {"fire": "(?i)\\bfire\\b"}}})
    assert flagged(found, "TW106") == {"ocds-tw106-reg32", "ocds-tw106-act"}
    assert found[("TW106", "process", "ocds-tw106-act")].evidence["rules_matched"] == ["fire"]


def test_tw106_ignore_pattern(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW106_RELEASES, ["TW106"], {"TW106": {"ignore_pattern": "(?i)never-written"}})
    assert "ocds-tw106-care" in flagged(found, "TW106")


# ------------------------------------------------------------------------------------------------------ TW107


def _closing(ocid: str, deadline: str, **sections: Any) -> dict:
    return release(ocid, "2020-01-01T00:00:00Z", f"{ocid}-1", buyer=BUYER, tender={
        "id": "T1", "status": sections.pop("status", "active"),
        "tenderPeriod": {"startDate": "2020-01-01T00:00:00Z", "endDate": deadline}}, **sections)  # fmt: skip


RECENT = (dt.datetime.now(dt.UTC) - dt.timedelta(days=100)).strftime("%Y-%m-%dT12:00:00Z")
TW107_RELEASES = [
    _closing("ocds-tw107-silent", "2020-01-31T12:00:00Z"),
    _closing("ocds-tw107-awarded", "2020-01-31T12:00:00Z"),
    release("ocds-tw107-awarded", "2020-04-01T00:00:00Z", "ocds-tw107-awarded-2", tag=["award"], buyer=BUYER,
            awards=[{"id": "A1", "status": "active", "date": "2020-04-01T00:00:00Z"}]),
    _closing("ocds-tw107-failed", "2020-01-31T12:00:00Z"),
    release("ocds-tw107-failed", "2020-03-02T00:00:00Z", "ocds-tw107-failed-2", buyer=BUYER,
            tender={"id": "T1", "status": "unsuccessful"}),
    # marked unsuccessful on publication, before bids were due (as Contracts Finder does): no outcome published
    _closing("ocds-tw107-closed", "2020-01-31T12:00:00Z", status="unsuccessful"),
    _closing("ocds-tw107-open", "2099-01-31T12:00:00Z"),
    _closing("ocds-tw107-recent", RECENT),
]  # fmt: skip


def test_tw107_missing_award_notices(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW107_RELEASES, ["TW107"])
    assert flagged(found, "TW107") == {"ocds-tw107-silent", "ocds-tw107-closed"}
    assert counts(run) == (5, 2)
    silent = found[("TW107", "process", "ocds-tw107-silent")]
    days = (dt.date.today() - dt.date(2020, 1, 31)).days
    assert silent.value == days and silent.evidence["days_since_deadline"] == days
    assert silent.evidence["deadline"] == "2020-01-31" and silent.evidence["threshold_days"] == 180
    assert silent.sentence == (
        f"Bids were due on 31 January 2020, {days:,} days ago (more than 180), and no award, contract or "
        "cancellation is in the 1 notice held for it, of 1 January 2020."
    )


def test_tw107_days(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW107_RELEASES, ["TW107"], {"TW107": {"days": 30}})
    assert flagged(found, "TW107") == {"ocds-tw107-silent", "ocds-tw107-closed", "ocds-tw107-recent"}


# ------------------------------------------------------------------------------------------------------ TW108


def _won(ocid: str, party: dict, award_date: str) -> dict:
    supplier = {"id": party["id"], "name": party["name"]}
    return release(ocid, award_date, f"{ocid}-1", tag=["award"], buyer=BUYER,
                   parties=[{**party, "roles": ["supplier"]}], tender={"id": "T1", "status": "complete"},
                   awards=[{"id": "A1", "status": "active", "date": award_date, "value": gbp(400000),
                            "suppliers": [supplier]}])  # fmt: skip


def _company(number: str, name: str, **details: Any) -> dict:
    party = {"id": f"GB-COH-{number}", "name": name, "identifier": {"scheme": "GB-COH", "id": number}}
    return {**party, "details": details} if details else party


TW108_RELEASES = [
    _won("ocds-tw108-new", _company("98333333", "Newly Formed Ltd", foundingDate="2024-02-02"),
         "2024-07-15T10:00:00Z"),
    _won("ocds-tw108-old", _company("98444444", "Old Firm Ltd", foundingDate="2010-05-01"), "2024-07-15T10:00:00Z"),
    _won("ocds-tw108-unknown", _company("98555555", "Unknown Date Ltd"), "2024-07-15T10:00:00Z"),
    # the date is known from another notice, where the number has its leading zeros
    _won("ocds-tw108-elsewhere", _company("9666666", "Elsewhere Ltd"), "2023-03-01T10:00:00Z"),
    _won("ocds-tw108-register", _company("09666666", "Elsewhere Ltd", foundingDate="2022-12-01"),
         "2024-01-01T10:00:00Z"),
    _won("ocds-tw108-incorporated", _company("98777777", "Other Key Ltd", incorporationDate="2024-06-01"),
         "2024-07-01T10:00:00Z"),
]  # fmt: skip


def test_tw108_suppliers_incorporated_shortly_before(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW108_RELEASES, ["TW108"])
    assert flagged(found, "TW108") == {"GB-COH-98333333", "GB-COH-09666666", "GB-COH-98777777"}
    assert counts(run) == (5, 3)  # the company founded in 2010 is evaluated; the one with no date is not
    new = found[("TW108", "supplier", "GB-COH-98333333")]
    assert new.ocid == "ocds-tw108-new" and new.value == 164
    assert new.evidence["incorporated"] == "2024-02-02" and new.evidence["award_date"] == "2024-07-15"
    assert new.evidence["threshold_days"] == 365
    assert new.sentence == (
        "Newly Formed Ltd was incorporated on 2 February 2024 and awarded this contract on 15 July 2024, 164 days "
        "later (365 days or fewer counts as newly formed)."
    )
    elsewhere = found[("TW108", "supplier", "GB-COH-09666666")]  # 90 days; its later award, 396 days, is not flagged
    assert elsewhere.ocid == "ocds-tw108-elsewhere" and elsewhere.evidence["incorporated"] == "2022-12-01"


def test_tw108_days(tmp_path: Path) -> None:
    found, _ = evaluate(tmp_path, TW108_RELEASES, ["TW108"], {"TW108": {"days": 100}})
    assert flagged(found, "TW108") == {"GB-COH-09666666", "GB-COH-98777777"}


def test_tw108_date_fields(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, TW108_RELEASES, ["TW108"], {"TW108": {"date_fields": ["incorporationDate"]}})
    assert flagged(found, "TW108") == {"GB-COH-98777777"}
    assert counts(run) == (1, 1)


def test_tw108_evaluates_nothing_without_dates(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, [_won("ocds-tw108-none", _company("98555555", "No Date Ltd"),
                                          "2024-07-15T10:00:00Z")], ["TW108"])  # fmt: skip
    assert found == {} and counts(run) == (0, 0)


def _entity(statement_id: str, name: str, number: str, founded: str) -> dict:
    """A Beneficial Ownership Data Standard company statement."""
    return {"statementID": statement_id, "statementType": "entityStatement", "entityType": "registeredEntity",
            "name": name, "foundingDate": founded, "statementDate": "2025-01-01",
            "identifiers": [{"scheme": "GB-COH", "schemeName": "Companies House", "id": number}]}  # fmt: skip


REGISTERED = [
    # the notice gives the number without its leading zero; the statement has it
    _won("ocds-tw108-reg-new", _company("7111111", "Fresh Start Ltd"), "2024-07-15T10:00:00Z"),
    _won("ocds-tw108-reg-old", _company("07222222", "Long Standing Ltd"), "2024-07-15T10:00:00Z"),
    # the notice's own date comes first: 2010, not the statement's 2024
    _won("ocds-tw108-reg-own", _company("07333333", "Own Date Ltd", foundingDate="2010-01-01"),
         "2024-07-15T10:00:00Z"),
    _won("ocds-tw108-reg-none", _company("07444444", "Not In The File Ltd"), "2024-07-15T10:00:00Z"),
]  # fmt: skip
STATEMENTS = [
    _entity("bods-fresh", "FRESH START LIMITED", "07111111", "2024-03-11"),
    _entity("bods-long", "LONG STANDING LIMITED", "07222222", "1998-06-30"),
    _entity("bods-own", "OWN DATE LIMITED", "07333333", "2024-05-01"),
    {"statementID": "bods-person", "statementType": "personStatement", "names": [{"fullName": "A Person"}]},
]


def test_tw108_reads_incorporation_dates_from_loaded_ownership_statements(tmp_path: Path) -> None:
    bods = tmp_path / "register.jsonl"
    bods.write_text("".join(json.dumps(statement) + "\n" for statement in STATEMENTS))
    found, run = evaluate(tmp_path, REGISTERED, ["TW108"], ownership=bods)
    assert flagged(found, "TW108") == {"GB-COH-07111111"}
    assert counts(run) == (3, 1)  # the company missing from the file has no date: not evaluated
    fresh = found[("TW108", "supplier", "GB-COH-07111111")]
    assert fresh.value == 126 and fresh.evidence["incorporated"] == "2024-03-11"
    assert fresh.evidence["incorporation_source"] == "ownership statement bods-fresh"
    assert fresh.sentence.endswith(" The date of incorporation is from ownership statement bods-fresh.")
    # the coverage report counts the statements, which belong to no process
    report = run_cli("coverage", db=tmp_path / "fixture.duckdb")
    lines = report.stdout.splitlines()
    at = next(index for index, line in enumerate(lines) if line.startswith("TW108"))
    assert "supported; last run evaluated 3, flagged 1" in lines[at], report.stdout
    assert "ownership_statements.data" in lines[at + 2] and "3 rows (not tied to a process)" in lines[at + 2]


def test_tw108_ownership_statements_off(tmp_path: Path) -> None:
    bods = tmp_path / "register.jsonl"
    bods.write_text("".join(json.dumps(statement) + "\n" for statement in STATEMENTS))
    found, run = evaluate(tmp_path, REGISTERED, ["TW108"], {"TW108": {"ownership_statements": False}}, ownership=bods)
    assert found == {} and counts(run) == (1, 0)  # only the notice that gives its own date


def test_tw108_on_the_real_ownership_data(tmp_path: Path) -> None:
    """The real beneficial-ownership file of UK suppliers, beside the real Contracts Finder notices that carry
    Companies House numbers: the register's dates make the indicator evaluate what the notices alone cannot."""
    bods = REAL / "uk_bods_openownership_suppliers.jsonl"
    notices = REAL / "uk_cf_2018-2020_releases_gbcoh_matched_bluetail.jsonl"
    if not (bods.is_file() and notices.is_file()):
        pytest.skip("the real data in ../shared/data/real is not here")
    releases = [json.loads(line) for line in notices.read_text(encoding="utf-8").splitlines() if line.strip()]
    (tmp_path / "alone").mkdir()
    (tmp_path / "with").mkdir()
    _, alone = evaluate(tmp_path / "alone", releases, ["TW108"])
    found, run = evaluate(tmp_path / "with", releases, ["TW108"], ownership=bods)
    assert counts(alone) == (0, 0)
    evaluated, raised = counts(run)
    assert evaluated >= 100
    for flag in found.values():  # any flag raised names its statement and is within the year
        assert flag.evidence["incorporation_source"].startswith("ownership statement ") and flag.value <= 365
    assert raised == len(found)


# ------------------------------------------------------------------------------------------------- demo stories


def test_the_demo_stories_raise_the_flags_their_facts_imply(tmp_path: Path) -> None:
    stories = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    found, _ = evaluate(tmp_path, stories, OWN)
    assert "ocds-twdemo-000009" in flagged(found, "TW106")  # the regulation 32(2)(c) interim award
    assert "ocds-twdemo-000010" in flagged(found, "TW101")  # the late widening of the Healthy Child Programme
    assert "ocds-twdemo-000006" in flagged(found, "TW103")  # the ten-year cancer and end-of-life care contract
    scope = found[("TW101", "process", "ocds-twdemo-000010")]
    assert scope.evidence["days_before_deadline"] == 11 and scope.evidence["items_after"] == 7
    assert "£45,000,000 to £68,000,000" in scope.sentence
    interim = found[("TW106", "process", "ocds-twdemo-000009")]
    assert interim.evidence["rules_matched"][:2] == ["coded ground", "regulation 32(2)(c)"]
    assert found[("TW103", "process", "ocds-twdemo-000006")].evidence["term_years"] == 10.0
    assert not flagged(found, "TW108")  # the stories publish no incorporation dates


def test_loading_ownership_statements_makes_kept_tw108_results_stale(tmp_path: Path) -> None:
    bods = tmp_path / "register.jsonl"
    bods.write_text("".join(json.dumps(statement) + "\n" for statement in STATEMENTS))
    evaluate(tmp_path, REGISTERED, ["TW108"])  # a store whose kept TW108 results predate the statements
    settings = load_settings(db=tmp_path / "fixture.duckdb", analyse_after_load=False, publish_after_load=False)
    with Workspace.open(settings) as workspace:
        con = workspace.store.con
        before = run_indicators(con, from_toml({}, "test"), ["TW108"], reuse=True)
        load_ownership(con, bods)
        after = run_indicators(con, from_toml({}, "test"), ["TW108"], reuse=True)
        again = run_indicators(con, from_toml({}, "test"), ["TW108"], reuse=True)
    assert before.runs[0].reused and counts(before) == (1, 0)
    assert not after.runs[0].reused and counts(after) == (3, 1)
    assert again.runs[0].reused and counts(again) == (3, 1)
