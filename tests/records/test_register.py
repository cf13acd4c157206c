"""The track-record register: validation of CSV and YAML files, import and export round trips, the starter
register, and finding an organisation's record."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tenderwatch import Workspace, load_settings
from tenderwatch.records import (
    EVENT_TYPES,
    FIELDS,
    RegisterError,
    export_register,
    import_register,
    import_starter_register,
    name_key,
    register_events,
    starter_register_path,
    track_record_for,
    validate_register,
)
from tenderwatch.store import tables

GOOD = {
    "event_id": "acme-fine-2020",
    "event_type": "fine_or_settlement",
    "event_date": "2020-05-04",
    "organisation_identifier": "gb-coh-00123456",
    "organisation_name": "Acme Services Ltd",
    "group_name": "Acme Group plc",
    "buyer_name": "Example Council",
    "ocid": "",
    "amount": "1,250,000.50",
    "currency": "gbp",
    "source_url": "https://example.org/news/acme-fined",
    "source_title": "Acme fined",
    "summary": "A regulator fined Acme Services Ltd for late reports.",
    "notes": "",
}


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = FIELDS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(RegisterError) as caught:
        validate_register(path)
    return caught.value.problems


def test_a_valid_csv_row_is_read_and_normalised(tmp_path: Path) -> None:
    [event] = validate_register(write_csv(tmp_path / "r.csv", [GOOD]))
    assert event.event_date == date(2020, 5, 4)
    assert event.amount == Decimal("1250000.50") and event.currency == "GBP"
    assert event.organisation_identifier == "GB-COH-00123456"
    assert event.ocid is None and event.notes is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source_url": ""}, "row 1 (line 2): source_url is missing: every event needs a public source"),
        ({"source_title": " "}, "row 1 (line 2): source_title is missing"),
        ({"event_type": "scandal"}, "row 1 (line 2): event_type: 'scandal' is not a known type"),
        ({"event_date": "2019-02-30"}, "row 1 (line 2): event_date: '2019-02-30' is not a real date"),
        ({"event_date": "04/05/2020"}, "row 1 (line 2): event_date: '04/05/2020' is not a real date"),
        ({"event_date": "2999-01-01"}, "row 1 (line 2): event_date: 2999-01-01 is in the future"),
        ({"amount": "£19m"}, "row 1 (line 2): amount: '£19m' is not a number"),
        ({"amount": "about 5"}, "row 1 (line 2): amount: 'about 5' is not a number"),
        ({"amount": "-5"}, "row 1 (line 2): amount: '-5' is negative"),
        ({"amount": "1.005"}, "row 1 (line 2): amount: '1.005' has more than two decimal places"),
        ({"currency": ""}, "row 1 (line 2): currency is missing"),
        ({"currency": "pounds"}, "row 1 (line 2): currency: 'pounds' is not a three-letter code"),
        ({"source_url": "example.org/x"}, "row 1 (line 2): source_url: 'example.org/x' is not a web address"),
        ({"organisation_name": ""}, "row 1 (line 2): organisation_name is missing"),
        ({"summary": ""}, "row 1 (line 2): summary is missing"),
        ({"organisation_identifier": "01234567"}, "organisation_identifier: '01234567' is not in org-id form"),
        ({"ocid": "12345"}, "row 1 (line 2): ocid: '12345' is not an ocid"),
        ({"event_id": "has space"}, "row 1 (line 2): event_id: 'has space' must be letters"),
    ],
)
def test_each_bad_field_is_refused_in_one_line_naming_the_row_and_field(
    tmp_path: Path, change: dict[str, str], expected: str
) -> None:
    [problem] = problems_of(write_csv(tmp_path / "r.csv", [{**GOOD, **change}]))
    assert problem.startswith("r.csv: ")
    assert expected in problem
    assert "\n" not in problem


def test_every_problem_of_a_file_is_listed_and_nothing_is_imported(tmp_path: Path, db: Path) -> None:
    good = write_csv(tmp_path / "good.csv", [GOOD])
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            {**GOOD, "event_id": "second", "amount": "lots"},
            {**GOOD, "event_id": "third"},
            {**GOOD, "event_id": "fourth", "source_url": "", "event_type": "oops"},
            {**GOOD, "event_id": "third"},
        ],
    )
    with Workspace.open(load_settings(db=db)) as workspace:
        con = workspace.store.con
        import_register(con, good)
        with pytest.raises(RegisterError) as caught:
            import_register(con, bad)
        assert [event.event_id for event in register_events(con)] == ["acme-fine-2020"]
    problems = caught.value.problems
    assert [re.sub(r": .*", "", problem.split("): ", 1)[1]) for problem in problems] == [
        "amount",
        "event_type",
        "source_url is missing",
        "event_id",
    ]
    assert "row 4 (line 5): event_id: 'third' is used already by row 2 (line 3)" in problems[-1]
    assert str(caught.value).startswith("bad.csv: row 1 (line 2): amount") and "(and 3 more problems)" in str(
        caught.value
    )


def test_unknown_columns_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [{**GOOD, "sorce_url": "x"}], (*FIELDS, "sorce_url"))
    assert problems_of(path) == [
        f"r.csv: column 'sorce_url' is not a field of the register (the fields are {', '.join(FIELDS)})"
    ]
    yaml_path = tmp_path / "r.yaml"
    yaml_path.write_text("events:\n- event_type: a: b\n", encoding="utf-8")
    assert problems_of(yaml_path)[0].startswith("r.yaml: line 2: not valid YAML")
    yaml_path.write_text("events:\n- {event_id: x, colour: red}\n", encoding="utf-8")
    assert "r.yaml: event 1 (x): colour: is not a field of the register" in problems_of(yaml_path)
    other = tmp_path / "r.txt"
    other.write_text("", encoding="utf-8")
    assert problems_of(other) == ["r.txt: the file name must end in .csv, .yaml or .yml, which says its format"]


def test_yaml_dates_stay_text_so_an_impossible_date_is_reported(tmp_path: Path) -> None:
    entry = {**GOOD, "event_date": "2019-02-30", "amount": 1250000.5}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"events": [entry]}).replace("'2019-02-30'", "2019-02-30"), encoding="utf-8")
    assert problems_of(path) == [
        "r.yaml: event 1 (acme-fine-2020): event_date: '2019-02-30' is not a real date (write it as YYYY-MM-DD)"
    ]
    path.write_text(yaml.safe_dump({"events": [{**entry, "event_date": "2019-02-28"}]}), encoding="utf-8")
    [event] = validate_register(path)
    assert event.amount == Decimal("1250000.50")


def test_an_event_without_an_id_gets_a_stable_one(tmp_path: Path) -> None:
    [event] = validate_register(write_csv(tmp_path / "r.csv", [{**GOOD, "event_id": ""}]))
    assert event.event_id == "acme-services-ltd-fine-or-settlement-2020-05-04"


def test_csv_and_yaml_round_trips_keep_every_event_exactly(tmp_path: Path) -> None:
    starter = validate_register(starter_register_path())
    stores = [load_settings(db=tmp_path / f"s{number}.duckdb") for number in range(3)]
    with Workspace.open(stores[0]) as first:
        import_register(first.store.con, starter_register_path())
        assert register_events(first.store.con) == sorted(starter, key=lambda e: (e.event_date, e.event_id))
        assert export_register(first.store.con, tmp_path / "out.csv") == len(starter)
    with Workspace.open(stores[1]) as second:
        assert import_register(second.store.con, tmp_path / "out.csv").added == len(starter)
        export_register(second.store.con, tmp_path / "out.yaml")
        from_csv = register_events(second.store.con)
    with Workspace.open(stores[2]) as third:
        import_register(third.store.con, tmp_path / "out.yaml")
        from_yaml = register_events(third.store.con)
    assert from_csv == from_yaml == register_events_sorted(starter)
    # The exported YAML is the same file a second time round.
    with Workspace.open(stores[2]) as third:
        export_register(third.store.con, tmp_path / "again.yaml")
    assert (tmp_path / "again.yaml").read_text() == (tmp_path / "out.yaml").read_text()


def register_events_sorted(events: list) -> list:
    return sorted(events, key=lambda event: (event.event_date, event.event_id))


def test_importing_again_updates_by_event_id_and_replace_removes_the_rest(tmp_path: Path, db: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [GOOD, {**GOOD, "event_id": "other", "summary": "Another event."}])
    with Workspace.open(load_settings(db=db)) as workspace:
        con = workspace.store.con
        assert import_register(con, path).line() == "2 events added, 0 updated"
        added_at = con.execute("SELECT added_at FROM track_record WHERE event_id = 'other'").fetchall()[0][0]
        write_csv(path, [{**GOOD, "summary": "Corrected."}])
        result = import_register(con, path)
        assert (result.added, result.updated, result.removed) == (0, 1, 0)
        assert {event.event_id: event.summary for event in register_events(con)} == {
            "acme-fine-2020": "Corrected.",
            "other": "Another event.",
        }
        assert con.execute("SELECT added_at FROM track_record WHERE event_id = 'other'").fetchall()[0][0] == added_at
        assert import_register(con, path, replace=True).line() == "0 events added, 1 updated, 1 removed"
        assert [event.event_id for event in register_events(con)] == ["acme-fine-2020"]


def test_the_register_survives_a_rebuild(tmp_path: Path, db: Path, real: Path) -> None:
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        workspace.load([str(real / "uk_fts_2026-09-03_page5_excerpt.json")])
        import_starter_register(workspace.store.con)
        before = register_events(workspace.store.con)
        workspace.rebuild()
        assert register_events(workspace.store.con) == before


def test_the_starter_register_is_sourced_and_covers_the_stories(tmp_path: Path) -> None:
    events = validate_register(starter_register_path())
    assert len(events) >= 20
    assert {event.event_type for event in events} <= set(EVENT_TYPES)
    assert all(event.source_url.startswith("https://") and event.source_title for event in events)
    by_id = {event.event_id: event for event in events}
    serco = by_id["serco-sfo-dpa-2019"]
    assert (serco.event_date, serco.amount, serco.organisation_name) == (
        date(2019, 7, 4),
        Decimal("19200000"),
        "Serco Geografix Ltd",
    )
    assert by_id["carillion-liquidation-2018"].event_date == date(2018, 1, 15)
    assert by_id["interserve-administration-2019"].event_date == date(2019, 3, 15)
    assert by_id["circle-hinchingbrooke-withdrawal-2015"].event_type == "service_handed_back"
    assert by_id["nelft-barnet-childrens-therapies-2021"].event_type == "termination_or_exit_by_supplier"
    assert by_id["g4s-em-repayment-2014"].amount == Decimal("108900000")
    groups = {event.group_name for event in events}
    assert {"Serco Group plc", "G4S plc", "Carillion plc", "Interserve", "Capita plc"} <= groups


def test_track_record_for_matches_identifiers_names_and_groups(tmp_path: Path, db: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        [
            {**GOOD, "organisation_identifier": "GB-COH-00123456"},
            {**GOOD, "event_id": "sub", "organisation_identifier": "", "organisation_name": "Acme Care Ltd"},
            {**GOOD, "event_id": "else", "organisation_identifier": "", "organisation_name": "Zed Ltd",
             "group_name": ""},
        ],
    )  # fmt: skip
    with Workspace.open(load_settings(db=db)) as workspace:
        con = workspace.store.con
        import_register(con, path)
        import_starter_register(con)

        def ids(**criteria: object) -> list[str]:
            return [event["event_id"] for event in track_record_for(con, **criteria)]

        assert ids(identifiers=["GB-COH-123456"]) == ["acme-fine-2020"]  # leading zeros as some publishers drop them
        assert ids(names=["ACME SERVICES LIMITED"]) == ["acme-fine-2020"]
        assert ids(group="acme group plc") == ["acme-fine-2020", "sub"]
        assert ids(names=["Zed"]) == ["else"]
        serco = ids(group="Serco Group PLC")
        assert serco == ["serco-em-repayment-2013", "serco-prisoner-escort-repayment-2013", "serco-sfo-dpa-2019"]
        assert ids(names=["SERCO GEOGRAFIX LIMITED"]) == ["serco-sfo-dpa-2019"]
        assert ids() == []
        first = track_record_for(con, names=["Serco Geografix Ltd"])[0]
        assert first["origin"] == "register" and first["source_url"] == "https://sfo.gov.uk/cases/serco"


def test_name_keys_ignore_case_punctuation_and_legal_endings() -> None:
    assert name_key("Serco Ltd") == name_key("SERCO LIMITED") == name_key("serco plc") == "serco"
    assert name_key("G4S Care & Justice Services (UK) Ltd") == "g4scareandjusticeservicesuk"
    assert name_key("Limited") == "limited"
    assert name_key("") is None


def test_the_register_table_has_its_documented_columns(db: Path) -> None:
    described = tables()
    assert described["track_record"].group == "register"
    assert described["derived_events"].group == "events"
    assert [column.name for column in described["track_record"].columns][: len(FIELDS)] == list(FIELDS)
    with Workspace.open(load_settings(db=db)) as workspace:
        columns = [
            row[0]
            for row in workspace.store.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'track_record' ORDER BY column_index"
            ).fetchall()
        ]
    assert columns == [column.name for column in described["track_record"].columns]


def test_an_import_inside_the_callers_transaction_is_undone_with_it(tmp_path: Path, db: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [GOOD])
    with Workspace.open(load_settings(db=db)) as workspace:
        con = workspace.store.con
        con.execute("BEGIN TRANSACTION")
        assert import_register(con, path, in_transaction=True).added == 1
        assert len(register_events(con)) == 1
        con.execute("ROLLBACK")
        assert register_events(con) == []
