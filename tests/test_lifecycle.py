"""The contract lifecycle table: statuses, first and current values and end dates, extensions and terminations,
built from the history of the notices."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.analysis.lifecycle import build_lifecycle
from tenderwatch.store import tables
from tests import query
from tests.indicators import release

STORIES = Path(__file__).resolve().parent.parent / "src" / "tenderwatch" / "demo" / "stories" / "stories.jsonl"
TODAY = dt.date(2024, 6, 1)
BUYER = {"id": "GB-LAE-E1", "name": "Eastmere Council"}
SUPPLIER = {"id": "GB-COH-98000001", "name": "Fenwick Care Ltd"}


def _gbp(amount: float) -> dict:
    return {"amount": amount, "currency": "GBP"}


def _load(tmp_path: Path, releases: list[dict]) -> Path:
    source = tmp_path / "releases.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in releases))
    db = tmp_path / "store.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        result = workspace.load([str(source)])
        assert result.rejected == 0
    return db


def lifecycle(tmp_path: Path, releases: list[dict], today: dt.date = TODAY) -> dict[tuple[str, str | None], dict]:
    """Load the releases, rebuild the lifecycle for ``today``, and return its rows by (ocid, contract or award id)."""
    db = _load(tmp_path, releases)
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        con = workspace.store.con
        con.execute("BEGIN TRANSACTION")
        build_lifecycle(con, today=today)
        con.execute("COMMIT")
        result = con.execute("SELECT * FROM contract_lifecycle")
        names = [column[0] for column in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return {(row["ocid"], row["contract_id"] or row["award_id"]): row for row in rows}


def _day(value: Any) -> str | None:
    return value.date().isoformat() if value is not None else None


def _awarded(ocid: str, date: str, *, end: str = "2025-12-31T23:59:59Z", value: float = 100000, **extra: Any) -> dict:
    """A release with the tender, award and signed contract of one process."""
    period = {"startDate": "2023-01-01T00:00:00Z", "endDate": end, **extra.pop("period", {})}
    return release(
        ocid,
        date,
        f"{ocid}-award",
        tag=["award", "contract"],
        buyer=BUYER,
        tender={"id": "T1", "status": "complete", "procurementMethod": "open"},
        awards=[
            {"id": "A1", "status": "active", "date": date, "value": _gbp(value), "suppliers": [SUPPLIER],
             "contractPeriod": dict(period)}
        ],
        contracts=[
            {"id": "C1", "awardID": "A1", "status": "active", "period": period, "value": _gbp(value),
             "dateSigned": date, **extra}
        ],
    )  # fmt: skip


def _change(ocid: str, date: str, tag: str, **contract: Any) -> dict:
    return release(ocid, date, f"{ocid}-{tag}-{date[:10]}", tag=[tag], buyer=BUYER,
                   contracts=[{"id": "C1", "awardID": "A1", **contract}])  # fmt: skip


def test_the_table_is_documented_and_in_the_analysis_group() -> None:
    described = tables()["contract_lifecycle"]
    assert described.group == "analysis"
    names = [column.name for column in described.columns]
    for name in (
        "ocid", "contract_id", "award_id", "buyer_id", "buyer_name", "supplier_ids", "supplier_names", "title",
        "status", "original_value_amount", "original_value_currency", "original_value_includes_tax",
        "current_value_amount", "current_value_currency", "current_value_includes_tax", "value_growth",
        "original_end_date", "current_end_date", "max_extent_date",
        "months_added", "extension_months_available", "amendment_count", "terminated", "termination_date",
        "months_left", "original_release_id", "current_release_id", "computed_at",
    ):  # fmt: skip
        assert name in names, name
    assert all(column.description for column in described.columns)
    types = {column.name: column.type for column in described.columns}
    assert types["supplier_ids"] == types["supplier_names"] == "VARCHAR[]"
    assert types["current_end_date"] == "TIMESTAMPTZ"


def test_value_raised_by_an_amendment(tmp_path: Path) -> None:
    ocid = "ocds-lc0001-value"
    rows = lifecycle(
        tmp_path,
        [
            _awarded(ocid, "2023-01-01T00:00:00Z", value=100000),
            _change(ocid, "2024-03-01T00:00:00Z", "contractAmendment", value=_gbp(150000),
                    amendments=[{"id": "1", "date": "2024-03-01T00:00:00Z", "description": "More hours."}]),
        ],
    )  # fmt: skip
    row = rows[(ocid, "C1")]
    assert row["row_type"] == "contract" and row["award_id"] == "A1"
    assert row["status"] == "active"
    assert float(row["original_value_amount"]) == 100000 and row["original_value_currency"] == "GBP"
    assert float(row["current_value_amount"]) == 150000 and row["current_value_currency"] == "GBP"
    assert row["value_growth"] == 0.5
    assert row["original_release_id"] == f"{ocid}-award"
    assert row["current_release_id"] == f"{ocid}-contractAmendment-2024-03-01"
    assert row["amendment_count"] == 1
    assert row["months_added"] == 0.0 and not row["terminated"] and row["termination_date"] is None
    assert row["buyer_id"] == "GB-LAE-E1" and row["buyer_name"] == "Eastmere Council"
    assert row["supplier_ids"] == ["GB-COH-98000001"] and row["supplier_names"] == ["Fenwick Care Ltd"]
    assert row["months_left"] == 19.0  # 1 June 2024 to 31 December 2025
    assert row["computed_at"] is not None


def test_end_date_extended_within_its_options(tmp_path: Path) -> None:
    ocid = "ocds-lc0002-extended"
    rows = lifecycle(
        tmp_path,
        [
            _awarded(ocid, "2023-01-01T00:00:00Z", end="2023-12-31T23:59:59Z",
                     period={"maxExtentDate": "2025-12-31T23:59:59Z"}),
            _change(ocid, "2023-11-01T00:00:00Z", "contractAmendment", period={"endDate": "2024-12-31T23:59:59Z"}),
        ],
    )  # fmt: skip
    row = rows[(ocid, "C1")]
    assert _day(row["original_end_date"]) == "2023-12-31" and _day(row["current_end_date"]) == "2024-12-31"
    assert row["months_added"] == 12.0
    assert _day(row["max_extent_date"]) == "2025-12-31" and _day(row["original_max_extent_date"]) == "2025-12-31"
    assert row["extension_months_available"] == 12.0
    assert row["status"] == "active" and row["months_left"] == 7.0
    assert row["original_release_id"] == f"{ocid}-award"  # the value was first given there


def test_termination_by_provider_notice(tmp_path: Path) -> None:
    ocid = "ocds-lc0003-terminated"
    rows = lifecycle(
        tmp_path,
        [
            _awarded(ocid, "2023-01-01T00:00:00Z", end="2025-12-31T23:59:59Z",
                     period={"maxExtentDate": "2026-12-31T23:59:59Z"}),
            _change(ocid, "2024-02-01T09:00:00Z", "contractTermination", status="terminated",
                    period={"endDate": "2024-04-30T23:59:59+01:00", "maxExtentDate": "2024-04-30T23:59:59+01:00"},
                    documents=[{"id": "notice", "documentType": "contractTerminationNotice",
                                "title": "The provider gave notice"}]),
        ],
    )  # fmt: skip
    row = rows[(ocid, "C1")]
    assert row["status"] == "terminated_early"
    assert row["terminated"] is True and _day(row["termination_date"]) == "2024-04-30"
    assert row["months_added"] == -20.0
    assert row["extension_months_available"] == 0.0
    assert row["months_left"] is None
    assert row["current_release_id"] == f"{ocid}-contractTermination-2024-02-01"


def test_a_termination_notice_in_the_future_and_one_after_a_normal_end(tmp_path: Path) -> None:
    leaving, completed = "ocds-lc0004-leaving", "ocds-lc0005-completed"
    rows = lifecycle(
        tmp_path,
        [
            _awarded(leaving, "2023-01-01T00:00:00Z", end="2025-12-31T23:59:59Z"),
            _change(leaving, "2024-05-01T00:00:00Z", "contractTermination", status="terminated",
                    period={"endDate": "2024-08-31T23:59:59+01:00"}),
            _awarded(completed, "2020-01-01T00:00:00Z", end="2022-12-31T23:59:59Z"),
            _change(completed, "2023-01-15T00:00:00Z", "contractTermination", status="terminated"),
        ],
    )  # fmt: skip
    assert rows[(leaving, "C1")]["status"] == "terminated_early"
    assert rows[(leaving, "C1")]["months_left"] == 3.0  # it still runs until 31 August
    ended = rows[(completed, "C1")]
    assert ended["terminated"] is True and ended["status"] == "ended"  # ran its course, then a UK11-like notice
    assert _day(ended["termination_date"]) == "2022-12-31"


def test_a_process_at_every_stage_has_a_status(tmp_path: Path) -> None:
    planned = release("ocds-lc0006-planned", tag=["planning"], buyer=BUYER, planning={"rationale": "Need."},
                      tender={"id": "T1", "status": "planned", "value": _gbp(5000),
                              "contractPeriod": {"startDate": "2025-01-01T00:00:00Z",
                                                 "endDate": "2026-12-31T23:59:59Z"}})  # fmt: skip
    tendering = release("ocds-lc0007-tender", buyer=BUYER, tender={
        "id": "T1", "status": "active", "value": _gbp(9000),
        "tenderPeriod": {"endDate": "2024-07-01T12:00:00Z"}})  # fmt: skip
    cancelled = release("ocds-lc0008-cancelled", tag=["tenderCancellation"], buyer=BUYER,
                        tender={"id": "T1", "status": "cancelled"})  # fmt: skip
    awarded = release("ocds-lc0009-awarded", "2024-05-01T00:00:00Z", tag=["award"], buyer=BUYER,
                      tender={"id": "T1", "status": "complete"},
                      awards=[{"id": "A1", "status": "active", "value": _gbp(7000), "suppliers": [SUPPLIER],
                               "contractPeriod": {"startDate": "2024-09-01T00:00:00Z",
                                                  "endDate": "2025-08-31T23:59:59Z"}}])  # fmt: skip
    unsuccessful = release("ocds-lc0010-unsuccessful", tag=["award"], buyer=BUYER,
                           awards=[{"id": "A1", "status": "unsuccessful"}])  # fmt: skip
    rows = lifecycle(tmp_path, [planned, tendering, cancelled, awarded, unsuccessful])
    by_ocid = {ocid: row for (ocid, _), row in rows.items()}
    assert len(by_ocid) == len(rows) == 5
    assert by_ocid["ocds-lc0006-planned"]["status"] == "planned"
    assert by_ocid["ocds-lc0006-planned"]["row_type"] == "process"
    assert _day(by_ocid["ocds-lc0006-planned"]["current_end_date"]) == "2026-12-31"
    assert by_ocid["ocds-lc0007-tender"]["status"] == "tendering"
    assert float(by_ocid["ocds-lc0007-tender"]["current_value_amount"]) == 9000
    assert by_ocid["ocds-lc0008-cancelled"]["status"] == "cancelled"
    award = rows[("ocds-lc0009-awarded", "A1")]
    assert award["row_type"] == "award" and award["status"] == "awarded"  # it starts in September
    assert award["supplier_names"] == ["Fenwick Care Ltd"] and float(award["current_value_amount"]) == 7000
    assert rows[("ocds-lc0010-unsuccessful", "A1")]["status"] == "cancelled"


def test_a_tender_marked_unsuccessful_before_its_deadline_has_not_failed(tmp_path: Path) -> None:
    # Contracts Finder publishes most tender notices with the status unsuccessful, before bids are even due
    early = release("ocds-b5fd17-lc0020-early", "2024-03-01T09:00:00Z", buyer=BUYER,
                    tender={"id": "T1", "status": "unsuccessful", "value": _gbp(40000),
                            "tenderPeriod": {"endDate": "2024-03-29T12:00:00Z"}})  # fmt: skip
    # marked unsuccessful by a notice after the deadline: the procedure failed
    late = release("ocds-lc0021-late", "2024-04-15T09:00:00Z", buyer=BUYER,
                   tender={"id": "T1", "status": "unsuccessful", "value": _gbp(40000),
                           "tenderPeriod": {"endDate": "2024-03-29T12:00:00Z"}})  # fmt: skip
    rows = lifecycle(tmp_path, [early, late])
    by_ocid = {ocid: row for (ocid, _), row in rows.items()}
    assert by_ocid["ocds-b5fd17-lc0020-early"]["status"] == "tendering"
    assert by_ocid["ocds-lc0021-late"]["status"] == "cancelled"


def test_first_facts_follow_release_dates_not_loading_order(tmp_path: Path) -> None:
    ocid = "ocds-lc0011-order"
    history = [
        _awarded(ocid, "2023-01-01T00:00:00Z", value=100000),
        _change(ocid, "2023-06-01T00:00:00Z", "contractAmendment", value=_gbp(120000)),
        _change(ocid, "2024-01-01T00:00:00Z", "contractAmendment", value=_gbp(130000),
                period={"endDate": "2026-06-30T23:59:59Z"}),
    ]  # fmt: skip
    random.Random(3).shuffle(history)  # noqa: S311 - test data
    row = lifecycle(tmp_path, list(reversed(history)))[(ocid, "C1")]
    assert float(row["original_value_amount"]) == 100000 and float(row["current_value_amount"]) == 130000
    assert row["months_added"] == 5.9 and row["amendment_count"] == 2  # 181 days
    assert row["original_release_id"] == f"{ocid}-award"
    assert row["current_release_id"] == f"{ocid}-contractAmendment-2024-01-01"


def test_a_contract_without_value_takes_its_awards(tmp_path: Path) -> None:
    ocid = "ocds-lc0012-award-value"
    first = _awarded(ocid, "2023-01-01T00:00:00Z", value=50000)
    del first["contracts"][0]["value"]
    raised = release(ocid, "2023-09-01T00:00:00Z", f"{ocid}-awardUpdate", tag=["awardUpdate"], buyer=BUYER,
                     awards=[{"id": "A1", "value": _gbp(60000)}])  # fmt: skip
    row = lifecycle(tmp_path, [first, raised])[(ocid, "C1")]
    assert float(row["original_value_amount"]) == 50000 and float(row["current_value_amount"]) == 60000
    assert row["value_growth"] == pytest.approx(0.2)


def test_a_value_given_only_including_taxes_is_marked_and_not_compared_with_one_without(tmp_path: Path) -> None:
    # a first contract notice gives only the amount including taxes (amountGross, as some Find a Tender notices
    # do); a modification then gives the amount without taxes: a fifth less, but no fall in value
    ocid = "ocds-lc0013-gross"
    first = _awarded(ocid, "2023-01-01T00:00:00Z", value=100000)
    first["contracts"][0]["value"] = {"amountGross": 120000, "currency": "GBP"}
    changed = _change(ocid, "2024-03-01T00:00:00Z", "contractAmendment", value=_gbp(100000))
    (tmp_path / "mixed").mkdir()
    row = lifecycle(tmp_path / "mixed", [first, changed])[(ocid, "C1")]
    assert float(row["original_value_amount"]) == 120000 and row["original_value_includes_tax"] is True
    assert float(row["current_value_amount"]) == 100000 and row["current_value_includes_tax"] is False
    assert row["value_growth"] is None
    # raised later including taxes too: compared, and marked so
    gross = {"amountGross": 150000, "currency": "GBP"}
    raised = _change(ocid, "2024-03-01T00:00:00Z", "contractAmendment", value=gross)
    (tmp_path / "gross").mkdir()
    row = lifecycle(tmp_path / "gross", [first, raised])[(ocid, "C1")]
    assert row["original_value_includes_tax"] is True and row["current_value_includes_tax"] is True
    assert row["value_growth"] == pytest.approx(0.25)


def test_rebuilding_replaces_rows_inside_the_callers_transaction(tmp_path: Path) -> None:
    db = _load(tmp_path, [_awarded("ocds-lc0013-one", "2023-01-01T00:00:00Z")])
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        con = workspace.store.con
        before = con.execute("SELECT count(*) FROM contract_lifecycle").fetchall()[0][0]
        assert before == 1  # built after the load
        con.execute("BEGIN TRANSACTION")
        assert build_lifecycle(con, today=TODAY) == 1
        assert build_lifecycle(con) == 1
        con.execute("DELETE FROM contract_lifecycle")
        con.execute("ROLLBACK")
        assert con.execute("SELECT count(*) FROM contract_lifecycle").fetchall()[0][0] == 1
        temporary = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'tmp_lc_%'").fetchall()
        assert temporary[0][0] == 0


def test_the_demo_stories(tmp_path: Path) -> None:
    stories = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = lifecycle(tmp_path, stories, today=dt.date(2026, 1, 1))
    processes = {ocid for ocid, _ in rows}
    assert processes == {item["ocid"] for item in stories}  # every process has a status

    therapies = rows[("ocds-twdemo-000008", "RBC-2018-CIT-C1")]
    assert therapies["status"] == "terminated_early" and therapies["terminated"] is True
    assert _day(therapies["termination_date"]) == "2021-08-31"
    assert _day(therapies["original_end_date"]) == "2022-08-31" and therapies["months_added"] == -12.0
    assert _day(therapies["original_max_extent_date"]) == "2024-08-31"
    assert therapies["current_release_id"] == "ocds-twdemo-000008-04-contractTermination"

    interim = rows[("ocds-twdemo-000009", "GCCG-2021-CIT-INTERIM-C1")]
    assert _day(interim["max_extent_date"]) == "2023-08-31"
    assert interim["extension_months_available"] == 12.0 and interim["status"] == "ended"

    for ocid in ("ocds-twdemo-000007", "ocds-twdemo-000011"):  # the hospital franchise and the MSK contract
        assert next(row for (key, _), row in rows.items() if key == ocid)["status"] == "terminated_early"
    cancer = next(row for (key, _), row in rows.items() if key == "ocds-twdemo-000006")
    assert cancer["row_type"] == "process" and cancer["status"] == "tendering"
    assert float(cancer["original_value_amount"]) == 1_200_000_000
    scope = next(row for (key, _), row in rows.items() if key == "ocds-twdemo-000010")
    assert float(scope["original_value_amount"]) == 45_000_000 and float(scope["current_value_amount"]) == 68_000_000
    assert scope["original_release_id"] == "ocds-twdemo-000010-01-tender" and scope["amendment_count"] == 1


def test_it_runs_on_the_real_data(real_store: Path) -> None:
    processes = query(real_store, "SELECT count(*) FROM processes")[0][0]
    covered = query(real_store, "SELECT count(DISTINCT ocid) FROM contract_lifecycle")[0][0]
    assert processes > 1000 and covered == processes
    statuses = {row[0] for row in query(real_store, "SELECT DISTINCT status FROM contract_lifecycle")}
    assert statuses <= {"planned", "tendering", "awarded", "active", "ended", "terminated_early", "cancelled"}
    # Contracts Finder's tender notices marked unsuccessful on publication, before their deadline (or, in its notices
    # of 2014-15, with none given), are not cancelled (578 processes were, of the 1,616, when the status was taken
    # at its word)
    early = query(
        real_store,
        "SELECT l.status, count(*) FROM contract_lifecycle AS l JOIN tenders AS t USING (ocid) "
        "JOIN processes AS p USING (ocid) WHERE t.status = 'unsuccessful' AND l.row_type = 'process' AND "
        "(p.last_release_date < t.tender_period_end OR (t.tender_period_end IS NULL AND ocid LIKE 'ocds-b5fd17-%')) "
        "GROUP BY ALL",
    )
    assert dict(early).get("tendering", 0) > 500 and "cancelled" not in dict(early)
    cancelled = query(real_store, "SELECT count(*) FROM contract_lifecycle WHERE status = 'cancelled'")[0][0]
    assert 0 < cancelled < 100
    con = duckdb.connect(str(real_store), read_only=True)
    try:
        bad = con.execute(
            "SELECT count(*) FROM contract_lifecycle WHERE original_value_currency IS DISTINCT FROM "
            "current_value_currency AND value_growth IS NOT NULL"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert bad == 0
