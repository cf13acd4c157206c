"""Loading every shape of OCDS, idempotently, with every bad input recorded rather than lost."""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import termios
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from tenderwatch import Workspace, load_settings
from tests import query, run_cli, table_contents


def load(db: Path, *paths: Path | str, **settings: object):
    with Workspace.open(load_settings(db=db, **settings)) as workspace:
        return workspace.load([str(path) for path in paths])


def release(ocid: str, release_id: str, date: str, **sections: object) -> dict:
    return {"ocid": ocid, "id": release_id, "date": date, "tag": ["tender"], "initiationType": "tender", **sections}


# ------------------------------------------------------------------------------------------------ shapes


def test_release_package(db: Path, real: Path) -> None:
    result = load(db, real / "uk_fts_2026-10-06_release_package_limit4.json")
    assert (result.loaded, result.rejected) == (4, 0)
    rows = query(db, "SELECT pointer, package_hash IS NOT NULL, line FROM raw_releases ORDER BY pointer")
    assert [row[0] for row in rows] == [f"/releases/{index}" for index in range(4)]
    assert all(row[1] for row in rows) and all(row[2] is None for row in rows)
    publisher = query(db, "SELECT DISTINCT publisher_name FROM processes")
    assert publisher == [("Cabinet Office",)]


def test_record_packages_with_linked_releases_use_the_publishers_compiled_release(db: Path, real: Path) -> None:
    result = load(db, real / "paraguay_dncp_2017_record_packages.jsonl")
    # 15 record packages with linked releases and a compiledRelease, plus 4 bare compiled releases.
    assert result.loaded == 16
    kinds = query(db, "SELECT kind, count(*) FROM raw_releases GROUP BY kind")
    assert kinds == [("compiled", 16)]
    methods = query(db, "SELECT DISTINCT compile_method FROM processes")
    assert methods == [("publisher",)]
    # Its text is kept once, in the raw store; the compiled row names it by its hash.
    kept = query(
        db,
        """
        SELECT count(*) FILTER (WHERE c.data IS NULL AND r.kind = 'compiled'), count(*)
        FROM compiled_releases AS c LEFT JOIN raw_releases AS r ON r.hash = c.data_hash
        """,
    )
    assert kept == query(db, "SELECT count(DISTINCT ocid), count(DISTINCT ocid) FROM raw_releases") == [(12, 12)]
    # ... and read back whole, verbatim, by the export and by a rebuild
    latest = query(
        db,
        """
        SELECT data FROM raw_releases QUALIFY row_number() OVER (PARTITION BY ocid ORDER BY release_date DESC) = 1
        ORDER BY ocid
        """,
    )
    exported = run_cli("export", "compiled-releases", db=db)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines() == [text for (text,) in latest]
    before = table_contents(db, ["processes", "tenders", "awards", "parties"])
    assert run_cli("rebuild", db=db).returncode == 0
    assert table_contents(db, ["processes", "tenders", "awards", "parties"]) == before
    # Three records hold only linked releases and no compiled release: each is a reject with the reason.
    reasons = query(db, "SELECT code, reason FROM rejects WHERE scope = 'release'")
    assert len(reasons) == 3
    assert all(code == "linked-only" and "load the release packages" in reason for code, reason in reasons)


def test_a_store_that_copied_the_publishers_compiled_releases_is_upgraded(db: Path, real: Path) -> None:
    # Stores of earlier versions held a second copy of a publisher's compiled release in compiled_releases.
    load(db, real / "paraguay_dncp_2017_record_packages.jsonl")
    exported = run_cli("export", "compiled-releases", db=db).stdout
    con = duckdb.connect(str(db))
    con.execute(
        """
        UPDATE compiled_releases AS c SET data = r.data FROM raw_releases AS r WHERE r.hash = c.data_hash;
        ALTER TABLE compiled_releases DROP COLUMN data_hash;
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
        """
    )
    con.close()
    # read-only commands read it as it is
    assert run_cli("export", "compiled-releases", db=db).stdout == exported
    assert run_cli("status", db=db).returncode == 0
    # a command that writes upgrades it, and a rebuild keeps the text once
    assert run_cli("rebuild", db=db).returncode == 0
    assert query(db, "SELECT count(*) FROM compiled_releases WHERE data IS NULL AND data_hash IS NOT NULL") == [(12,)]
    assert run_cli("export", "compiled-releases", db=db).stdout == exported


def test_records_with_embedded_releases_are_merged(db: Path, real: Path) -> None:
    load(db, real / "ukraine_prozorro_2016-2017_records.jsonl")
    assert query(db, "SELECT count(*) FROM processes WHERE compile_method = 'merge'") == [(11,)]
    # The publisher's compiled releases are kept too, verbatim.
    assert query(db, "SELECT count(*) FROM raw_releases WHERE kind = 'compiled'") == [(11,)]


def test_json_lines_of_releases_and_of_packages(db: Path, real: Path) -> None:
    result = load(db, real / "paraguay_dncp_2017_releases.jsonl")
    # 70 bare releases and 20 packaged ones; 20 ids appear twice (bare and packaged) with the same content.
    assert result.loaded + result.already_stored == 90
    assert query(db, "SELECT count(DISTINCT ocid) FROM raw_releases") == [(17,)]
    lines = query(db, "SELECT min(line), max(line), count(DISTINCT byte_offset) FROM raw_releases")
    assert lines[0][0] == 1 and lines[0][1] == 90


def test_json_array_of_bare_releases(db: Path, real: Path) -> None:
    result = load(db, real / "uk_fts_2021_tender_releases.json")
    assert result.loaded == 10
    assert query(db, "SELECT count(*) FROM tenders") == [(10,)]


def test_gzip_zip_and_standard_input_give_the_same_store(tmp_path: Path, real: Path) -> None:
    source = real / "uk_cf_2019-2020_award_release_packages.jsonl"
    gz = tmp_path / "data.jsonl.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.write(source, "inner/cf.jsonl")
    plain, zipped, gzipped, piped = (tmp_path / f"{name}.duckdb" for name in ("plain", "zip", "gz", "stdin"))
    load(plain, source)
    load(gzipped, gz)
    load(zipped, archive)
    result = run_cli("load", "-", db=piped, stdin=source.read_bytes())
    assert result.returncode == 0, result.stderr
    tables = ["processes", "awards", "award_suppliers", "items"]
    expected = table_contents(plain, tables)
    assert table_contents(gzipped, tables) == expected
    assert table_contents(zipped, tables) == expected
    assert table_contents(piped, tables) == expected
    assert query(zipped, "SELECT DISTINCT member FROM raw_releases") == [("inner/cf.jsonl",)]
    assert query(piped, "SELECT DISTINCT source FROM raw_releases") == [("-",)]


def test_a_folder_loads_every_file_in_it(tmp_path: Path, db: Path, real: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("uk_fts_2026-09-03_page1_excerpt.json", "uk_fts_2026-09-03_page5_excerpt.json"):
        shutil.copy(real / name, folder / name)
    result = load(db, folder)
    assert [summary.loaded for summary in result.files] == [5, 3]


def test_streaming_a_large_document_gives_the_same_store_as_reading_it_whole(tmp_path: Path, real: Path) -> None:
    whole, streamed = tmp_path / "whole.duckdb", tmp_path / "streamed.duckdb"
    for name in ("armenia_2018_release_package.json", "uk_fts_2021_tender_releases.json"):
        load(whole, real / name)
        # A limit far below the document's size forces the streaming reader.
        load(streamed, real / name, document_in_memory_limit=4096)
    assert table_contents(streamed) == table_contents(whole)


def test_streaming_reads_record_packages(tmp_path: Path, real: Path) -> None:
    line = (real / "paraguay_dncp_2017_record_packages.jsonl").read_text().splitlines()[0]
    path = tmp_path / "record-package.json"
    path.write_text(json.dumps(json.loads(line), indent=2))
    whole, streamed = tmp_path / "whole.duckdb", tmp_path / "streamed.duckdb"
    load(whole, path)
    load(streamed, path, document_in_memory_limit=1024)
    assert table_contents(streamed, ["raw_releases", "processes"]) == table_contents(
        whole, ["raw_releases", "processes"]
    )
    assert query(streamed, "SELECT count(*) FROM raw_releases") == [(1,)]


# ------------------------------------------------------------------------------------------- raw store


def test_every_release_is_kept_verbatim_with_where_it_came_from(db: Path, real: Path) -> None:
    source = real / "uk_fts_single_release_packages_2021-2026.jsonl"
    load(db, source)
    lines = source.read_text().splitlines()
    rows = query(
        db, "SELECT source, line, byte_offset, pointer, data, hash, loaded_at FROM raw_releases ORDER BY line"
    )
    assert len(rows) == 7
    offset = 0
    for (stored_source, line, byte_offset, pointer, data, content_hash, loaded_at), text in zip(
        rows, lines, strict=True
    ):
        assert stored_source == str(source.resolve())
        assert byte_offset == offset
        offset += len(text.encode()) + 1
        assert pointer == "/releases/0"
        assert json.loads(data) == json.loads(text)["releases"][0]
        assert len(content_hash) == 64 and loaded_at is not None
        assert line == lines.index(text) + 1


def test_loading_the_same_file_again_changes_nothing(db: Path, real: Path) -> None:
    source = real / "uk_cf_2020_awards_openopps.jsonl"
    first = load(db, source)
    before = table_contents(db)
    second = load(db, source)
    assert (first.loaded, first.already_stored) == (500, 0)
    assert (second.loaded, second.already_stored) == (0, 500)
    assert table_contents(db) == before


def test_the_stored_json_is_compressed_on_disk(db: Path, real: Path) -> None:
    # DuckDB writes a new file in its oldest format by default, which would store every release uncompressed
    load(db, real / "uk_cf_2020_awards_openopps.jsonl")
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, column in (("raw_releases", "data"), ("compiled_releases", "data"), ("packages", "metadata")):
            kinds = con.execute(
                f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') "
                f"WHERE column_name = '{column}' AND segment_type = 'VARCHAR'"
            ).fetchall()
            assert kinds == [("ZSTD",)], (table, kinds)
    finally:
        con.close()


def test_a_release_seen_in_two_files_is_stored_once(db: Path, real: Path) -> None:
    # The Open Opps tenders file repeats 173 releases of the awards file.
    result = load(db, real / "uk_cf_2020_awards_openopps.jsonl", real / "uk_cf_2020_tenders_openopps.jsonl")
    assert result.files[1].already_stored == 173
    assert query(db, "SELECT count(*), count(DISTINCT hash) FROM raw_releases") == [(827, 827)]


# ------------------------------------------------------------------------------------------ bad input


def test_bad_lines_and_releases_are_rejected_with_position_and_reason(tmp_path: Path, db: Path) -> None:
    good = release(
        "ocds-aaaaaa-1", "1", "2021-03-01T00:00:00Z", tender={"id": "t", "value": {"amount": 10, "currency": "GBP"}}
    )
    lines = [
        json.dumps(good),
        '{"ocid": "ocds-aaaaaa-2", "id": "2", "date": ',  # invalid JSON
        json.dumps({"id": "3", "date": "2021-03-01"}),  # no ocid
        json.dumps({"ocid": "ocds-aaaaaa-4", "date": "2021-03-01"}),  # no id
        json.dumps({"ocid": "ocds-aaaaaa-5", "id": "5", "date": "2021-02-30"}),  # impossible release date
        json.dumps({"ocid": 6, "id": "6", "date": "2021-03-01"}),  # wrong type
        json.dumps("just text"),  # not an object
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = load(db, path)
    assert (result.loaded, result.rejected) == (1, 6)
    rejects = query(db, "SELECT line, byte_offset, code, reason FROM rejects ORDER BY line")
    assert [(line, code) for line, _, code, _ in rejects] == [
        (2, "invalid-json"),
        (3, "no-ocid"),
        (4, "no-id"),
        (5, "bad-date"),
        (6, "bad-ocid"),
        (7, "not-object"),
    ]
    offsets = [len("\n".join(lines[:index])) + 1 for index in range(1, 7)]
    assert [offset for _, offset, _, _ in rejects] == offsets
    reasons = {line: reason for line, _, _, reason in rejects}
    assert "invalid JSON" in reasons[2]
    assert "has no ocid" in reasons[3]
    assert "'2021-02-30' is not a real date" in reasons[5]
    # The bad input itself is kept, so it can be fixed.
    assert query(db, "SELECT data FROM rejects WHERE line = 2") == [(lines[1],)]


def test_bad_values_are_set_aside_and_the_release_is_kept(tmp_path: Path, db: Path) -> None:
    bad = release(
        "ocds-aaaaaa-1",
        "1",
        "2021-03-01T00:00:00Z",
        tender={
            "id": "t",
            "value": {"amount": "1,000", "currency": "GBP"},
            "tenderPeriod": {"startDate": "0001-01-01T00:00:00Z", "endDate": "2021-04-31"},
            "contractPeriod": {"startDate": "2021-05-01T00:00:00Z"},
        },
        awards=[{"id": "a", "value": {"amount": -5, "currency": "GBP"}, "date": "2021-03-02"}],
        contracts=[{"id": "c", "value": {"amount": 1e18, "currency": "GBP"}}],
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = load(db, path)
    assert (result.loaded, result.rejected, result.set_aside) == (1, 0, 5)
    fields = query(db, "SELECT field, code FROM rejects WHERE scope = 'field' ORDER BY field")
    assert fields == [
        ("/awards/0/value/amount", "field-amount"),
        ("/contracts/0/value/amount", "field-amount"),
        ("/tender/tenderPeriod/endDate", "field-date"),
        ("/tender/tenderPeriod/startDate", "field-date"),
        ("/tender/value/amount", "field-amount"),
    ]
    tender = query(
        db, "SELECT value_amount, tender_period_start, tender_period_end, contract_period_start FROM tenders"
    )
    assert tender[0][:3] == (None, None, None)
    assert str(tender[0][3]).startswith("2021-05-01")
    assert query(db, "SELECT value_amount FROM awards") == [(None,)]
    assert query(db, "SELECT value_amount FROM contracts") == [(None,)]


def _milestones(start: str | None, end: str | None) -> list[dict]:
    """The two milestones Contracts Finder's OCDS 1.0 notices give for the anticipated contract period."""
    return [
        {"id": 1, "title": "Contract start", "dueDate": start, "description": "Anticipated contract start date"},
        {"id": 2, "title": "Contract end", "dueDate": end, "description": "Anticipated contract end date"},
    ]


def test_contracts_finders_anticipated_contract_period_is_read_as_the_contracts(tmp_path: Path, db: Path) -> None:
    # 2014-16: the milestones have no dates and the tender period is the contract's (a financial year here)
    legacy = release("ocds-b5fd17-legacy", "1", "2014-12-17T16:44:56Z", tender={
        "id": "t", "status": "active", "milestones": _milestones(None, None),
        "tenderPeriod": {"startDate": "2015-04-01T00:00:00Z", "endDate": "2016-03-31T00:00:00Z"}})  # fmt: skip
    # 2019-20: the milestones have the dates, and the tender period is the time for bids
    dated = release("ocds-b5fd17-dated", "1", "2020-01-12T16:31:54Z", tender={
        "id": "t", "status": "active", "milestones": _milestones("2020-04-01T00:00:00Z", "2025-03-31T00:00:00Z"),
        "tenderPeriod": {"endDate": "2020-02-14T00:00:00Z"}})  # fmt: skip
    # another publisher's milestone of that title, and a contractPeriod, are read as they are
    other = release("ocds-aaaaaa-other", "1", "2020-01-12T00:00:00Z", tender={
        "id": "t", "status": "active",
        "milestones": [{"id": "m", "title": "Contract start", "dueDate": "2020-09-01T00:00:00Z"}],
        "tenderPeriod": {"startDate": "2020-01-12T00:00:00Z", "endDate": "2020-02-14T00:00:00Z"},
        "contractPeriod": {"startDate": "2020-04-01T00:00:00Z", "endDate": "2021-03-31T00:00:00Z"}})  # fmt: skip
    path = tmp_path / "cf.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in (legacy, dated, other)))
    assert load(db, path).loaded == 3
    rows = query(
        db,
        "SELECT ocid, tender_period_start::DATE::VARCHAR, tender_period_end::DATE::VARCHAR, "
        "contract_period_start::DATE::VARCHAR, contract_period_end::DATE::VARCHAR FROM tenders ORDER BY ocid",
    )
    assert rows == [
        ("ocds-aaaaaa-other", "2020-01-12", "2020-02-14", "2020-04-01", "2021-03-31"),
        ("ocds-b5fd17-dated", None, "2020-02-14", "2020-04-01", "2025-03-31"),
        ("ocds-b5fd17-legacy", None, None, "2015-04-01", "2016-03-31"),
    ]


def test_a_tender_value_of_0_beside_a_minimum_value_is_that_minimum(tmp_path: Path, db: Path) -> None:
    # Contracts Finder's OCDS 1.0 notices give a single estimate as the minValue, with a value of 0 or none
    def tender(ocid: str, value: dict | None, least: dict | None) -> dict:
        parts = {"id": "t", "status": "active"} | ({"value": value} if value else {}) | (
            {"minValue": least} if least else {})  # fmt: skip
        return release(ocid, "1", "2020-01-12T00:00:00Z", tender=parts)

    def gbp(amount: int) -> dict:
        return {"amount": amount, "currency": "GBP"}

    releases = [
        tender("ocds-b5fd17-zero", gbp(0), gbp(94446)),
        tender("ocds-b5fd17-none", None, gbp(12000)),
        tender("ocds-b5fd17-range", gbp(200000), gbp(100000)),  # a range: the value is its upper end
        tender("ocds-aaaaaa-zero", gbp(0), None),  # a value of 0 and nothing else stays 0
    ]
    path = tmp_path / "values.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in releases))
    assert load(db, path).loaded == 4
    values = query(db, "SELECT ocid, value_amount::DOUBLE, value_currency, min_value_amount::DOUBLE FROM tenders")
    assert sorted(values) == [
        ("ocds-aaaaaa-zero", 0.0, "GBP", None),
        ("ocds-b5fd17-none", 12000.0, "GBP", 12000.0),
        ("ocds-b5fd17-range", 200000.0, "GBP", 100000.0),
        ("ocds-b5fd17-zero", 94446.0, "GBP", 94446.0),
    ]
    # the lifecycle's first and current estimates agree
    lifecycle = query(
        db, "SELECT original_value_amount::DOUBLE, current_value_amount::DOUBLE FROM contract_lifecycle "
        "WHERE ocid = 'ocds-b5fd17-zero'"
    )  # fmt: skip
    assert lifecycle == [(94446.0, 94446.0)]


def test_a_value_given_only_including_taxes_is_read_and_marked_so(tmp_path: Path, db: Path) -> None:
    # the UK extension's amountGross: some Find a Tender award notices give only it
    def gbp(**amounts: object) -> dict:
        return amounts | {"currency": "GBP"}

    releases = [
        release(
            "ocds-h6vhtk-gross",
            "1",
            "2026-10-06T00:00:00+01:00",
            tender={"id": "t", "value": gbp(amountGross=120000), "lots": [{"id": "1", "value": gbp(amountGross=60)}]},
            awards=[
                {"id": "only-gross", "value": gbp(amountGross=256378.74)},
                {"id": "both", "value": gbp(amount=100, amountGross=120)},
            ],
            contracts=[{"id": "c", "awardID": "only-gross", "value": gbp(amountGross=1200)}],
        ),
        release("ocds-h6vhtk-bad", "1", "2026-10-06", awards=[{"id": "a", "value": gbp(amountGross="lots")}]),
    ]
    path = tmp_path / "gross.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in releases))
    assert load(db, path).loaded == 2
    awards = query(db, "SELECT award_id, value_amount::DOUBLE, value_includes_tax FROM awards ORDER BY ocid, award_id")
    assert awards == [("a", None, False), ("both", 100.0, False), ("only-gross", 256378.74, True)]
    for table, amount in (("tenders", 120000.0), ("lots", 60.0), ("contracts", 1200.0)):
        assert query(db, f"SELECT value_amount::DOUBLE, value_includes_tax FROM {table}") == [(amount, True)], table
    # an amount including taxes that is not a number is set aside as any amount is
    assert query(db, "SELECT field, code FROM rejects WHERE scope = 'field'") == [
        ("/awards/0/value/amountGross", "field-amount")
    ]
    # the lifecycle's first and current values are that amount too
    lifecycle = query(
        db, "SELECT original_value_amount::DOUBLE, current_value_amount::DOUBLE FROM contract_lifecycle "
        "WHERE ocid = 'ocds-h6vhtk-gross' AND contract_id = 'c'"
    )  # fmt: skip
    assert lifecycle == [(1200.0, 1200.0)]


def test_find_a_tenders_award_given_only_including_taxes_has_its_value(real_store: Path) -> None:
    # notice 094477-2026 gives the award's value as amountGross alone
    rows = query(
        real_store,
        "SELECT value_amount::DOUBLE, value_currency, value_includes_tax FROM awards "
        "WHERE ocid = 'ocds-h6vhtk-06e832'",
    )
    assert rows == [(256378.74, "GBP", True)]
    # where a notice gives both, the amount without taxes is read, as OCDS defines a value
    both = query(
        real_store,
        "SELECT count(*) FROM tenders WHERE ocid LIKE 'ocds-h6vhtk-%' AND value_amount = 30000000 "
        "AND NOT value_includes_tax",
    )
    assert both == [(1,)]


def test_contracts_finders_notices_of_2014_15_give_the_contracts_period_not_a_deadline(real_store: Path) -> None:
    # their tender period is the anticipated contract's (197 of the 221 span more than 90 days); 11 of the processes
    # also hold the same notice in the newer form, whose deadline for bids is kept
    rows = query(
        real_store,
        """
        SELECT count(*), count(t.contract_period_end),
               count(*) FILTER (WHERE t.tender_period_end IS NOT NULL AND p.release_count = 1),
               count(*) FILTER (WHERE t.tender_period_start > t.tender_period_end
                                   OR t.tender_period_end IN (t.contract_period_start, t.contract_period_end))
        FROM tenders AS t JOIN processes AS p USING (ocid)
        WHERE ocid IN (SELECT ocid FROM raw_releases WHERE source LIKE '%uk_cf_2014-2015_legacy%')
        """,
    )
    assert rows == [(200, 200, 0, 0)]


def test_a_party_given_twice_in_a_process_is_marked_repeated_and_the_first_names_its_bidder(
    tmp_path: Path, db: Path
) -> None:
    given = release(
        "ocds-aaaaaa-2",
        "1",
        "2021-03-01T00:00:00Z",
        parties=[
            {"id": "B", "name": "Barsetshire Council", "roles": ["buyer"]},
            {
                "id": "S",
                "name": "Supplier One Ltd",
                "identifier": {"scheme": "GB-COH", "id": "01"},
                "roles": ["tenderer"],
            },
            {"name": "A party without an id"},
            {"id": "S", "name": "Supplier One (again)", "roles": ["supplier"]},
            {"id": "B", "name": "Barsetshire"},
        ],
        bids={"details": [{"id": "b1", "status": "valid", "tenderers": [{"id": "S", "name": "S1"}]}]},
    )
    given["tag"] = ["compiled"]  # a publisher's compiled release is kept as given (a merge would join the two)
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(given))
    load(db, path)
    parties = query(db, "SELECT position, party_id, repeated FROM parties ORDER BY position")
    assert parties == [(1, "B", False), (2, "S", False), (3, None, None), (4, "S", True), (5, "B", True)]
    # the bidder is named as the first party with its id has it
    assert query(db, "SELECT tenderer_keys, tenderer_party_names FROM bids") == [(["S"], ["Supplier One Ltd"])]


def test_not_json_at_all_is_one_reject_for_the_file(db: Path, real: Path) -> None:
    result = load(db, real / "uk_cf_harvester_csv_2020-08-05.csv")
    assert (result.loaded, result.rejected) == (0, 1)
    assert query(db, "SELECT scope, code FROM rejects") == [("file", "not-json")]


def test_text_in_another_encoding_than_utf8_is_rejected_saying_how_to_mend_it(tmp_path: Path, db: Path) -> None:
    # a Windows program's "Unicode" (UTF-16) and its usual 8-bit encoding, Windows-1252 (é is the byte 0xE9)
    package = {"releases": [release("ocds-aaaaaa-1", "1", "2021-01-01", tender={"title": "Café services"})]}
    utf16 = tmp_path / "unicode.json"
    utf16.write_bytes(json.dumps(package, ensure_ascii=False).encode("utf-16"))
    lines = tmp_path / "windows-1252.jsonl"
    good, bad = (
        json.dumps(release(f"ocds-aaaaaa-{n}", "1", "2021-01-01", tender={"title": "Café"}), ensure_ascii=False)
        for n in (2, 3)
    )
    lines.write_bytes(good.encode("utf-8") + b"\n" + bad.encode("cp1252") + b"\n")
    result = load(db, utf16, lines)
    assert (result.loaded, result.rejected) == (1, 2)
    rejects = dict(query(db, "SELECT code, reason FROM rejects ORDER BY code"))
    assert rejects["not-utf8"].startswith("UTF-16 text, not UTF-8") and "save it as UTF-8" in rejects["not-utf8"]
    column = bad.index("é")
    assert rejects["invalid-json"] == (
        f"not UTF-8 text (byte 0xE9 at byte {column} of the line): the file was probably saved in another encoding, "
        "such as Windows-1252 or Latin-1; save it as UTF-8 and load it again"
    )
    assert query(db, "SELECT line FROM rejects WHERE code = 'invalid-json'") == [(2,)]


def test_a_byte_order_mark_at_the_start_of_a_file_is_skipped(tmp_path: Path, db: Path, real: Path) -> None:
    # as Windows programs save text: a package, and JSON lines whose byte offsets still point into the file
    package = tmp_path / "package.json"
    package.write_bytes(b"\xef\xbb\xbf" + (real / "uk_fts_2026-10-06_release_package_limit4.json").read_bytes())
    lines = tmp_path / "lines.jsonl"
    first, second = (json.dumps(release(f"ocds-aaaaaa-{n}", "1", "2021-01-01")).encode() + b"\n" for n in (1, 2))
    lines.write_bytes(b"\xef\xbb\xbf" + first + second)
    result = load(db, package, lines)
    assert (result.loaded, result.rejected) == (6, 0)
    offsets = query(db, "SELECT line, byte_offset FROM raw_releases WHERE line IS NOT NULL ORDER BY line")
    assert offsets == [(1, 3), (2, 3 + len(first))]
    assert lines.read_bytes()[offsets[1][1] :].startswith(b'{"ocid": "ocds-aaaaaa-2"')


def test_the_same_bad_input_is_recorded_once(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ocid": "x"\n' + json.dumps(release("ocds-aaaaaa-1", "1", "2021-01-01")) + "\n")
    load(db, path)
    load(db, path)
    assert query(db, "SELECT count(*) FROM rejects") == [(1,)]


# ------------------------------------------------------------------------------------------ the command


def test_each_file_ends_with_one_summary_line(db: Path, real: Path) -> None:
    result = run_cli("load", str(real / "uk_fts_2026-09-03_page1_excerpt.json"), str(real / "SOURCES.md"), db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("uk_fts_2026-09-03_page1_excerpt.json: 5 loaded, 0 already stored, 0 rejected")
    # nothing of SOURCES.md could be stored: the line says why
    assert "SOURCES.md: 0 loaded, 0 already stored, 1 rejected (all: not JSON (it starts with" in lines[1]
    assert "\x1b[" not in result.stdout + result.stderr  # plain output when not on a terminal


def test_a_beneficial_ownership_file_is_pointed_to_its_command(db: Path, real: Path) -> None:
    source = real / "uk_bods_openownership_suppliers.jsonl"
    result = run_cli("load", str(source), db=db)
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if "uk_bods_openownership_suppliers.jsonl" in line]
    assert line.endswith(
        "0 loaded, 0 already stored, 900 rejected (all: a beneficial-ownership (BODS) statement, not an OCDS "
        "release; load such a file with `tenderwatch org load-ownership FILE`)"
    )
    assert query(db, "SELECT DISTINCT code FROM rejects") == [("bods-statement",)]


def test_exit_code_is_an_error_when_nothing_could_be_loaded(db: Path, real: Path) -> None:
    result = run_cli("load", str(real / "uk_local_authorities.csv"), db=db)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: nothing could be loaded (1 rejected)")
    assert "Traceback" not in result.stderr


def test_strict_fails_when_anything_was_rejected(db: Path, real: Path) -> None:
    source = real / "uk_cf_2019-2020_award_release_packages.jsonl"  # one release has an empty date
    assert run_cli("load", str(source), db=db).returncode == 0
    strict = run_cli("load", "--strict", str(source), db=db)
    assert strict.returncode == 1
    assert "--strict: 1 rejected" in strict.stderr


def test_a_missing_file_is_one_line_and_the_others_still_load(db: Path, real: Path) -> None:
    result = run_cli("load", "no-such-file.json", str(real / "uk_fts_2026-09-03_page5_excerpt.json"), db=db)
    assert result.returncode == 1
    assert "error: no-such-file.json: no such file or folder: check the path" in result.stderr
    assert "3 loaded" in result.stdout
    assert "Traceback" not in result.stderr


def test_an_address_on_the_web_is_one_line_pointing_to_sync(db: Path) -> None:
    result = run_cli("load", "https://example.org/releases.json", db=db)
    assert result.returncode == 1
    assert (
        "error: https://example.org/releases.json: load reads files, not addresses on the web: download it first, "
        "or read it with `tenderwatch sync ocds-url --url https://example.org/releases.json`"
    ) in result.stderr


def test_processes_too_big_to_normalise_together_are_done_in_smaller_slices(tmp_path: Path) -> None:
    # 60 processes of about 400 KB each cannot be normalised in one transaction within 128MB: the load does them
    # in smaller slices and gives the same tables as a load with room to spare.
    source = tmp_path / "big.jsonl"
    with source.open("w") as handle:
        for number in range(60):
            items = [{"id": str(item), "description": "item " * 40} for item in range(50)]
            tender = {"id": "t", "title": f"Tender {number}", "description": "x" * 400_000, "items": items}
            handle.write(json.dumps(release(f"ocds-test-{number:04d}", "1", "2024-01-01T00:00:00Z", tender=tender)))
            handle.write("\n")
    tight, roomy = tmp_path / "tight.duckdb", tmp_path / "roomy.duckdb"
    quiet = {"analyse_after_load": False, "publish_after_load": False}
    assert load(tight, source, memory_limit="128MB", **quiet).processes == 60
    load(roomy, source, memory_limit="1GB", **quiet)
    assert query(tight, "SELECT count(*) FROM items") == [(3000,)]
    assert query(tight, "SELECT count(*) FROM pending") == [(0,)]
    tables = ["processes", "tenders", "items", "compiled_releases"]
    assert table_contents(tight, tables) == table_contents(roomy, tables)


def test_an_analysis_that_never_finished_is_done_by_the_next_load(db: Path, real: Path) -> None:
    # As when a load is killed after normalising, before its analysis: the next load of the same file has
    # nothing new to store, but still owes the analysis.
    path = real / "uk_fts_2026-10-06_release_package_limit4.json"
    load(db, path, analyse_after_load=False, publish_after_load=False)
    assert query(db, "SELECT count(*) FROM contract_lifecycle") == [(0,)]
    result = load(db, path, publish_after_load=False)
    assert (result.loaded, result.processes) == (0, 0)
    lifecycle = query(db, "SELECT count(DISTINCT ocid) FROM contract_lifecycle")
    assert lifecycle == query(db, "SELECT count(*) FROM processes") != [(0,)]
    assert query(db, "SELECT count(*) FROM flag_runs") != [(0,)]
    # once done, it is not done again
    before = query(db, "SELECT max(computed_at) FROM contract_lifecycle")
    load(db, path, publish_after_load=False)
    assert query(db, "SELECT max(computed_at) FROM contract_lifecycle") == before


@contextlib.contextmanager
def _sigint_as_at_a_terminal() -> Iterator[None]:
    """Ctrl-C at a terminal reaches a command with SIGINT neither ignored nor blocked. A child process inherits
    both from its parent, and a test run can leave either changed (a child that ignores or blocks SIGINT finishes
    its load and exits 0): the child is started with them as at a terminal, and this process's are put back."""
    handler = signal.getsignal(signal.SIGINT)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def test_a_load_stopped_with_ctrl_c_says_so_in_one_line_and_the_command_goes_on(tmp_path: Path, real: Path) -> None:
    store = tmp_path / "store.duckdb"
    assert run_cli("load", str(real / "uk_fts_2026-09-03_page5_excerpt.json"), db=store).returncode == 0
    lines = (real / "uk_fts_single_release_packages_2021-2026.jsonl").read_bytes()
    with _sigint_as_at_a_terminal():
        process = subprocess.Popen(
            [sys.executable, "-m", "tenderwatch", "load", "-", "--db", str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TENDERWATCH_WORKERS": "1"},
        )
    assert process.stdin is not None
    process.stdin.write(lines)
    process.stdin.flush()  # and left open: the load reads the lines, then waits for more
    unread = bytearray(4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fcntl.ioctl(process.stdin.fileno(), termios.FIONREAD, unread)
        if int.from_bytes(unread, sys.byteorder) == 0:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.decode().strip() == "stopped: nothing already stored is lost; run the same command again to go on"
    assert query(store, "SELECT count(*) FROM raw_releases")[0][0] == 3
    again = run_cli("load", "-", db=store, stdin=lines)
    assert again.returncode == 0, again.stderr
    assert "7 loaded" in again.stdout


def test_the_analysis_after_a_load_leaves_none_of_its_work_tables_behind(tmp_path: Path, real: Path) -> None:
    # Each step's work tables (the organisations' parties, every indicator's evaluations…) are dropped when it ends:
    # at a million processes, those left behind held the memory the later steps of the analysis needed.
    settings = load_settings(db=tmp_path / "store.duckdb", workers=1)
    with Workspace.open(settings) as workspace:
        workspace.load([str(real / "uk_fts_2026-10-06_release_package_limit4.json")])
        con = workspace.store.con
        assert con.execute("SELECT count(*) FROM organisation_parties").fetchall() != [(0,)]
        assert con.execute("SELECT count(*) FROM flag_runs").fetchall() != [(0,)]
        left = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    # what is left is the load's own record of the processes it compiled, one short row each
    assert left <= {"tmp_runs", "tmp_valid"}, sorted(left)
