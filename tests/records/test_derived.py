"""Events derived from the notices: early terminations and ends, cancellations, termination notices, provider
exits, performance failures, KPIs below standard, removed suppliers and payments to the buyer, on the demo stories, on
hand-written release histories and on the real data."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tenderwatch import Workspace
from tenderwatch.records import track_record_for
from tests import uk_time
from tests.records import derive, load_releases, rows

BUYER = {"id": "GB-LAE-AXF", "name": "Axford Council", "identifier": {"scheme": "GB-LAE", "id": "AXF"}}
OTHER_BUYER = {"id": "GB-LAE-BRM", "name": "Bramford Council", "identifier": {"scheme": "GB-LAE", "id": "BRM"}}
CARE = {"id": "S1", "name": "Sample Care Ltd", "identifier": {"scheme": "GB-COH", "id": "01234567"}}
CARE_AGAIN = {"id": "S1b", "name": "SAMPLE CARE LIMITED", "identifier": {"scheme": "GB-COH", "id": "1234567"}}
OTHER_CARE = {"id": "S2", "name": "Other Care Ltd", "identifier": {"scheme": "GB-COH", "id": "07654321"}}
SYSTEMS = {"id": "S3", "name": "Library Systems plc", "identifier": {"scheme": "GB-COH", "id": "05555555"}}
NEW_SYSTEMS = {"id": "S4", "name": "New Systems Ltd", "identifier": {"scheme": "GB-COH", "id": "06666666"}}


def release(
    ocid: str, number: int, when: str, tags: list[str], *, buyer: dict = BUYER, suppliers: tuple = (), **sections: Any
) -> dict[str, Any]:
    """Return one release of a hand-written process."""
    parties = [{**buyer, "roles": ["buyer"]}] + [{**supplier, "roles": ["supplier"]} for supplier in suppliers]
    return {
        "ocid": f"ocds-t3st01-{ocid}",
        "id": f"ocds-t3st01-{ocid}-{number}",
        "date": f"{when}T09:00:00Z",
        "tag": tags,
        "initiationType": "tender",
        "parties": parties,
        "buyer": {"id": buyer["id"], "name": buyer["name"]},
        **sections,
    }


def tender(title: str, cpv: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "T",
        "title": title,
        "items": [{"id": "1", "classification": {"scheme": "CPV", "id": cpv}}],
        **extra,
    }


def award(supplier: dict, start: str, end: str, *, award_id: str = "A1", status: str = "active", **extra: Any) -> dict:
    return {
        "id": award_id,
        "status": status,
        "date": uk_time(start),
        "suppliers": [{"id": supplier["id"], "name": supplier["name"]}],
        "contractPeriod": {"startDate": uk_time(start), "endDate": uk_time(end, "23:59:59")},
        **extra,
    }


def contract(start: str | None, end: str | None, *, status: str = "active", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"id": "C1", "awardID": "A1", "status": status, **extra}
    if end:
        result["period"] = {"endDate": uk_time(end, "23:59:59")}
        if start:
            result["period"]["startDate"] = uk_time(start)
    return result


def histories() -> list[dict[str, Any]]:
    """Processes whose notices show (or do not show) each kind of event."""
    home_care = tender("Home care for older people", "85311000")
    library = tender("Library management system", "48160000")
    return [
        # 1. terminated well before its planned end; 9 replaces it, 10 does not (same supplier, spelled otherwise)
        release("p1", 1, "2020-01-10", ["award"], suppliers=(CARE,), tender=home_care,
                awards=[award(CARE, "2020-04-01", "2023-03-31")]),
        release("p1", 2, "2020-02-01", ["contract"], contracts=[contract("2020-04-01", "2023-03-31")]),
        release("p1", 3, "2021-06-15", ["contractTermination"],
                contracts=[contract(None, "2021-07-31", status="terminated")]),
        release("p9", 1, "2021-08-20", ["award"], suppliers=(OTHER_CARE,),
                tender=tender("Home care for older people (interim)", "85311000"),
                awards=[award(OTHER_CARE, "2021-08-20", "2022-08-19")]),
        release("p10", 1, "2021-07-01", ["award"], suppliers=(CARE_AGAIN,), tender=home_care,
                awards=[{**award(CARE_AGAIN, "2021-07-01", "2022-06-30")}]),
        # 2. terminated when it was due to end: a completion, not an event
        release("p2", 1, "2020-01-01", ["award"], suppliers=(OTHER_CARE,), tender=home_care,
                awards=[award(OTHER_CARE, "2020-01-01", "2020-12-31")]),
        release("p2", 2, "2021-01-10", ["contractTermination"],
                contracts=[contract(None, "2020-12-31", status="terminated")]),
        # 3. end brought forward by an amendment, status still active; no replacement (11: another buyer,
        #    12: too late)
        release("p3", 1, "2019-01-01", ["award"], suppliers=(SYSTEMS,), tender=library,
                awards=[award(SYSTEMS, "2019-01-01", "2024-12-31")]),
        release("p3", 2, "2019-01-15", ["contract"], contracts=[contract("2019-01-01", "2024-12-31")]),
        release("p3", 3, "2021-03-01", ["contractAmendment"], contracts=[contract(None, "2021-09-30")]),
        release("p11", 1, "2021-10-01", ["award"], buyer=OTHER_BUYER, suppliers=(NEW_SYSTEMS,), tender=library,
                awards=[award(NEW_SYSTEMS, "2021-10-01", "2024-09-30")]),
        release("p12", 1, "2023-06-01", ["award"], suppliers=(NEW_SYSTEMS,), tender=library,
                awards=[award(NEW_SYSTEMS, "2023-06-01", "2026-05-31")]),
        # 4. an end brought forward by ten days only
        release("p4", 1, "2019-01-01", ["award"], suppliers=(SYSTEMS,), tender=tender("Printing", "79800000"),
                awards=[award(SYSTEMS, "2019-01-01", "2021-12-31")]),
        release("p4", 2, "2019-01-15", ["contract"], contracts=[contract("2019-01-01", "2021-12-31")]),
        release("p4", 3, "2021-03-01", ["contractAmendment"], contracts=[contract(None, "2021-12-21")]),
        # 5. the contract is first published when it is terminated: the award gives the planned end
        release("p5", 1, "2020-01-01", ["award"], suppliers=(OTHER_CARE,), tender=tender("Meals", "55520000"),
                awards=[award(OTHER_CARE, "2020-01-01", "2025-12-31")]),
        release("p5", 2, "2022-01-10", ["contractTermination"],
                contracts=[contract(None, "2022-02-28", status="terminated")]),
        # 6. an award cancelled
        release("p6", 1, "2021-04-01", ["award"], suppliers=(OTHER_CARE,), tender=tender("Laundry", "98310000"),
                awards=[award(OTHER_CARE, "2021-04-01", "2022-03-31")]),
        release("p6", 2, "2021-05-05", ["awardCancellation"], awards=[{"id": "A1", "status": "cancelled"}]),
        # 7. a Find a Tender UK11 contract termination notice for a contract that ran its course
        release("p7", 1, "2024-01-10", ["award", "contract"], suppliers=(SYSTEMS,),
                tender=tender("Archive storage", "79995100"),
                awards=[award(SYSTEMS, "2024-01-01", "2025-05-31")],
                contracts=[contract("2024-01-01", "2025-05-31", documents=[
                    {"id": "n7", "documentType": "contractNotice", "noticeType": "UK7"}])]),
        release("p7", 2, "2025-06-10", ["contractTermination"], contracts=[contract(None, None, status="terminated",
                documents=[{"id": "n11", "documentType": "contractTerminationNotice", "noticeType": "UK11"}])]),
        # 8. a UK12 procurement termination notice that cancels a pending award
        release("p8", 1, "2025-06-01", ["award"], suppliers=(OTHER_CARE,), tender=tender("Cleaning", "90910000"),
                awards=[award(OTHER_CARE, "2025-07-01", "2027-06-30", status="pending")]),
        release("p8", 2, "2025-07-01", ["tenderCancellation"],
                tender={"id": "T", "status": "withdrawn", "documents": [
                    {"id": "n12", "documentType": "tenderCancellationNotice", "noticeType": "UK12"}]},
                awards=[{"id": "A1", "status": "cancelled"}]),
    ]  # fmt: skip


def by_ocid(events: list[dict[str, Any]]) -> dict[str, list[tuple[str, str | None]]]:
    found: dict[str, list[tuple[str, str | None]]] = {}
    for event in events:
        found.setdefault(event["ocid"].removeprefix("ocds-t3st01-"), []).append(
            (event["event_type"], event["party_id"])
        )
    return found


def test_each_kind_of_event_is_found_in_release_histories_and_only_there(workspace: Workspace, tmp_path: Path) -> None:
    load_releases(workspace, tmp_path, histories())
    events = derive(workspace)
    assert by_ocid(events) == {
        "p1": [("provider_exit", "S1"), ("terminated_early", "S1")],
        "p3": [("ended_early", "S3")],
        "p5": [("terminated_early", "S2")],
        "p6": [("award_or_contract_cancelled", "S2")],
        "p7": [("termination_notice", "S3")],
        "p8": [("termination_notice", "S2")],
    }
    found = {(event["ocid"][12:], event["event_type"]): event for event in events}

    terminated = found["p1", "terminated_early"]
    assert terminated["release_id"] == "ocds-t3st01-p1-3"
    assert terminated["event_date"] == date(2021, 6, 15)
    assert (terminated["planned_end_date"], terminated["end_date"]) == (date(2023, 3, 31), date(2021, 7, 31))
    assert terminated["days_early"] == 608
    assert terminated["organisation_identifier"] == "GB-COH-01234567"
    assert terminated["organisation_name"] == "Sample Care Ltd"
    assert terminated["buyer_name"] == "Axford Council"
    assert "31 July 2021" in terminated["summary"] and "31 March 2023" in terminated["summary"]
    assert "Sample Care Ltd" in terminated["summary"] and "608 days" in terminated["summary"]

    exit_ = found["p1", "provider_exit"]
    assert exit_["related_ocid"] == "ocds-t3st01-p9"  # not p10: the supplier that left, with its number unpadded
    assert exit_["related_release_id"] == "ocds-t3st01-p9-1"
    assert exit_["related_supplier"] == "Other Care Ltd"
    assert exit_["release_id"] == "ocds-t3st01-p1-3"
    assert exit_["event_date"] == date(2021, 8, 20)
    assert "CPV class" in exit_["basis"]
    assert "Other Care Ltd" in exit_["summary"] and "20 August 2021" in exit_["summary"]

    shortened = found["p3", "ended_early"]
    assert shortened["release_id"] == "ocds-t3st01-p3-3"
    assert (shortened["planned_end_date"], shortened["end_date"]) == (date(2024, 12, 31), date(2021, 9, 30))

    assert found["p5", "terminated_early"]["planned_end_date"] == date(2025, 12, 31)  # from the award
    assert found["p6", "award_or_contract_cancelled"]["release_id"] == "ocds-t3st01-p6-2"
    notice = found["p7", "termination_notice"]
    assert (notice["notice_type"], notice["release_id"], notice["contract_id"]) == ("UK11", "ocds-t3st01-p7-2", "C1")
    assert "ends as planned" in notice["summary"]
    cancelled = found["p8", "termination_notice"]
    assert (cancelled["notice_type"], cancelled["release_id"]) == ("UK12", "ocds-t3st01-p8-2")
    assert "cancelled the award to Other Care Ltd" in cancelled["summary"]


def performance_histories() -> list[dict[str, Any]]:
    """A contract whose Find a Tender contract performance notices (UK9) record failures and KPI ratings, a
    supplier removed from a contract, and a contract whose payments include one from the supplier to the buyer."""
    uk9 = [{"id": "n9", "documentType": "implementationNotice", "noticeType": "UK9"}]
    missed = {
        "requirement": "Home visits within 30 minutes of the planned time",
        "description": "One visit in five was late for six months",
        "decisionDate": "2025-03-01T00:00:00Z",
        "penaltyType": "imposed",
        "penaltyValue": {"amount": 25000, "currency": "GBP"},
        "partialTermination": "Visits in the north of the county",
        "suppliers": [{"id": "S1", "name": "Sample Care Ltd"}],
    }
    records = {"requirement": "Care records kept up to date", "description": "Records were missing"}
    kpis = [
        {"id": "K1", "title": "Visits made on time",
         "observations": [{"id": "Q1", "measureClassification": {"id": "significantlyBelow"}}]},
        {"id": "K2", "title": "Complaints answered",
         "observations": [{"id": "Q1", "measureClassification": {"id": "below"}}]},
        {"id": "K3", "title": "Staff trained", "observations": [{"id": "Q1", "measureClassification": {"id": "met"}}]},
    ]  # fmt: skip
    later = [{**kpis[0], "observations": [*kpis[0]["observations"],
                                          {"id": "Q2", "measureClassification": {"id": "met"}}]}]  # fmt: skip
    home_care = tender("Home care for older people", "85311000")
    # the buyer paying its supplier is no event; the supplier paying the buyer back is one
    paid = {
        "id": "T1",
        "date": "2025-06-01T00:00:00Z",
        "value": {"amount": 120000, "currency": "GBP"},
        "payer": {"id": BUYER["id"], "name": BUYER["name"]},
        "payee": {"id": "S2", "name": "Other Care Ltd"},
    }
    repaid = {
        "id": "T2",
        "date": "2025-06-15T00:00:00Z",
        "value": {"amount": 48250, "currency": "GBP"},
        "payer": {"id": "S2", "name": "Other Care Ltd"},
        "payee": {"id": BUYER["id"], "name": BUYER["name"]},
    }
    return [
        release("p13", 1, "2024-01-10", ["award", "contract"], suppliers=(CARE,), tender=home_care,
                awards=[award(CARE, "2024-02-01", "2027-01-31")],
                contracts=[contract("2024-02-01", "2027-01-31", title="Home care, north and south")]),
        release("p13", 2, "2025-03-10", ["implementation"], contracts=[contract(None, None, documents=uk9,
                implementation={"performanceFailures": [missed, records], "metrics": kpis})]),
        # a later notice repeats the failure and the ratings already told, and rates K1 met this time
        release("p13", 3, "2025-09-10", ["implementation"], contracts=[contract(None, None, documents=uk9,
                implementation={"performanceFailures": [missed], "metrics": later})]),
        release("p14", 1, "2024-01-10", ["award"], suppliers=(SYSTEMS, NEW_SYSTEMS), tender=tender("IT", "72000000"),
                awards=[award(SYSTEMS, "2024-02-01", "2027-01-31")]),
        release("p14", 2, "2025-05-02", ["awardUpdate"], parties=[
            {**BUYER, "roles": ["buyer"]}, {**SYSTEMS, "roles": ["removedSupplier"]},
            {**NEW_SYSTEMS, "roles": ["supplier"]}]),
        # the supplier is named two ways in two awards: its repayment is still one event, under the contract's name
        release("p15", 1, "2023-04-01", ["award", "contract"], suppliers=(OTHER_CARE,),
                tender=tender("Day centres", "85312000"),
                awards=[award(OTHER_CARE, "2023-05-01", "2026-04-30"),
                        award({**OTHER_CARE, "name": "OTHER CARE LIMITED"}, "2023-05-01", "2026-04-30",
                              award_id="A2")],
                contracts=[contract("2023-05-01", "2026-04-30")]),
        release("p15", 2, "2025-06-20", ["implementation"], contracts=[contract(None, None, implementation={
            "transactions": [paid, repaid],
            "documents": [{"id": "D1", "documentType": "implementationNotice", "title": "Overcharged hours repaid."}],
        })]),
        # a later notice gives both payments again: the repayment is told once, from the notice that first gave it
        release("p15", 3, "2025-09-01", ["implementation"], contracts=[contract(None, None, implementation={
            "transactions": [paid, repaid]})]),
    ]  # fmt: skip


def test_performance_failures_kpis_below_standard_removed_suppliers_and_payments_to_the_buyer(
    workspace: Workspace, tmp_path: Path
) -> None:
    load_releases(workspace, tmp_path, performance_histories())
    events = derive(workspace)
    assert sorted((event["ocid"][12:], event["event_type"], event["party_id"]) for event in events) == [
        ("p13", "kpi_below", "S1"),
        ("p13", "performance_failure", "S1"),  # the failure that names its supplier
        ("p13", "performance_failure", "S1"),  # the one that does not: the award's supplier
        ("p14", "supplier_removed", "S3"),
        ("p15", "payment_to_buyer", "S2"),
    ]
    assert len({event["event_id"] for event in events}) == 5
    failures = sorted((e for e in events if e["event_type"] == "performance_failure"), key=lambda e: e["summary"])
    assert all(e["release_id"] == "ocds-t3st01-p13-2" and e["notice_type"] == "UK9" for e in failures)
    assert failures[1]["summary"] == (
        'Axford Council published on 10 March 2025 a failure to perform the contract "Home care, north and south" '
        "by Sample Care Ltd. Requirement not met: Home visits within 30 minutes of the planned time. What "
        "happened: One visit in five was late for six months. Decided on 1 March 2025. Penalty: £25,000 "
        "(imposed). Partial termination: Visits in the north of the county."
    )
    assert failures[0]["summary"].endswith("Requirement not met: Care records kept up to date. What happened: "
                                           "Records were missing.")  # fmt: skip
    assert failures[0]["organisation_identifier"] == "GB-COH-01234567"
    (kpi,) = [e for e in events if e["event_type"] == "kpi_below"]
    assert (kpi["release_id"], kpi["contract_id"], kpi["award_id"]) == ("ocds-t3st01-p13-2", "C1", "A1")
    assert kpi["summary"] == (
        "Axford Council published on 10 March 2025 that Sample Care Ltd performed below the required standard on 2 "
        'key performance indicators of the contract "Home care, north and south": "Visits made on time" '
        '(significantly below), "Complaints answered" (below).'
    )
    (removed,) = [e for e in events if e["event_type"] == "supplier_removed"]
    assert (removed["release_id"], removed["event_date"]) == ("ocds-t3st01-p14-2", date(2025, 5, 2))
    assert removed["organisation_name"] == "Library Systems plc" and removed["organisation_identifier"] == (
        "GB-COH-05555555"
    )
    (repaid,) = [e for e in events if e["event_type"] == "payment_to_buyer"]
    assert (repaid["release_id"], repaid["event_date"]) == ("ocds-t3st01-p15-2", date(2025, 6, 20))
    assert (repaid["contract_id"], repaid["award_id"], repaid["organisation_identifier"]) == (
        "C1",
        "A1",
        "GB-COH-07654321",
    )
    assert repaid["summary"] == (
        'Other Care Ltd paid Axford Council £48,250 on 15 June 2025 under the contract "Day centres": a payment '
        "from the supplier to the buyer, such as a repayment, penalty, service credit or settlement. The notice of "
        '20 June 2025 gives with it: "Overcharged hours repaid".'
    )
    # the supplier's track record has them, oldest first
    record = track_record_for(workspace.store.con, identifiers=["GB-COH-1234567"])
    assert sorted(event["event_type"] for event in record) == ["kpi_below", "performance_failure",
                                                               "performance_failure"]  # fmt: skip


def test_event_ids_are_stable_and_a_rebuild_replaces_the_events(workspace: Workspace, tmp_path: Path) -> None:
    load_releases(workspace, tmp_path, histories())
    first = sorted(event["event_id"] for event in derive(workspace))
    second = sorted(event["event_id"] for event in derive(workspace))
    assert first == second and len(set(first)) == len(first) == 7
    workspace.rebuild()
    assert sorted(event["event_id"] for event in derive(workspace)) == first


def test_the_demo_stories_give_the_early_ends_and_the_childrens_therapies_provider_exit(stories: Workspace) -> None:
    events = derive(stories)
    assert [(event["ocid"], event["event_type"]) for event in events] == [
        ("ocds-twdemo-000001", "payment_to_buyer"),  # the penalty over fraud on the tagging contract
        ("ocds-twdemo-000007", "terminated_early"),  # the hospital franchise handed back
        ("ocds-twdemo-000008", "provider_exit"),
        ("ocds-twdemo-000008", "terminated_early"),  # the provider that gave notice
        ("ocds-twdemo-000011", "terminated_early"),  # the musculoskeletal lead-provider contract
    ]
    penalty = events[0]
    assert (penalty["organisation_name"], penalty["buyer_name"]) == (
        "Orbitant Public Services plc",
        "Department for Courts and Rehabilitation",
    )
    assert penalty["release_id"] == "ocds-twdemo-000001-03-implementation"
    assert "£19,000,000 on 3 July 2019" in penalty["summary"]
    assert penalty["summary"].endswith('"Penalty of about £19m over fraud on the tagging contract".')
    exit_ = events[2]
    assert exit_["organisation_name"] == "Tresswyn Therapy Services Ltd"
    assert exit_["release_id"] == "ocds-twdemo-000008-04-contractTermination"
    assert exit_["related_ocid"] == "ocds-twdemo-000009"
    assert exit_["related_release_id"] == "ocds-twdemo-000009-01-award"
    assert exit_["related_supplier"] == "Vennmoor Community Health NHS Trust"
    assert exit_["event_date"] == date(2021, 7, 12)
    assert "names the first one as related" in exit_["basis"]
    ended = events[3]
    assert (ended["planned_end_date"], ended["end_date"]) == (date(2022, 8, 31), date(2021, 8, 31))
    # The supplier's track record joins the notices by its identifier (with or without leading zeros) or its name.
    record = track_record_for(stories.store.con, identifiers=["GB-COH-98203318"])
    assert [event["event_type"] for event in record] == ["terminated_early", "provider_exit"]
    assert track_record_for(stories.store.con, names=["TRESSWYN THERAPY SERVICES LIMITED"]) == record


def test_on_the_real_data_the_cancellations_the_uk12_notice_and_a_removed_supplier_are_events(
    real_copy: Workspace,
) -> None:
    events = derive(real_copy)
    kinds = sorted((event["ocid"], event["event_type"]) for event in events)
    assert kinds == [
        ("PC-0015", "award_or_contract_cancelled"),
        ("PC-0016", "award_or_contract_cancelled"),
        ("PC-0017", "award_or_contract_cancelled"),
        ("ocds-h6vhtk-0510f8", "supplier_removed"),
        ("ocds-h6vhtk-05f9f4", "termination_notice"),
    ]
    removed = next(event for event in events if event["event_type"] == "supplier_removed")
    assert (removed["release_id"], removed["notice_type"]) == ("083685-2026", "UK15")  # a dynamic market notice
    assert removed["organisation_name"] == "UNIVERSITY OF WARWICK"
    assert removed["summary"].startswith("Government Commercial Agency published on 3 September 2026 that UNIVERSITY")
    notice = next(event for event in events if event["event_type"] == "termination_notice")
    assert notice["release_id"] == "083256-2026" and notice["notice_type"] == "UK12"
    assert notice["party_id"] is None  # the procurement ended before any supplier was named
    assert "Solihull Metropolitan Borough Council" in notice["summary"]
    # Every event names a release that is in the store.
    con = real_copy.store.con
    missing = rows(
        con,
        """SELECT event_id FROM derived_events AS d WHERE NOT EXISTS (
               SELECT 1 FROM raw_releases AS r WHERE r.ocid = d.ocid AND r.release_id = d.release_id)""",
    )
    assert missing == []
    # The 28 real contracts with the status terminated all ended when planned: none is reported as early.
    terminated = con.execute("SELECT count(*) FROM contracts WHERE lower(status) = 'terminated'").fetchall()[0][0]
    assert terminated == 28
