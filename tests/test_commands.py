"""The status, rebuild and export commands, and how every command finds its store."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.cli import COMMANDS
from tests import query, run_cli, table_contents


def test_every_command_finds_the_store_by_option_then_environment_then_default(tmp_path: Path, real: Path) -> None:
    source = str(real / "uk_fts_2026-09-03_page5_excerpt.json")
    by_default = run_cli("load", source, cwd=tmp_path)
    assert by_default.returncode == 0, by_default.stderr
    assert (tmp_path / "tenderwatch.duckdb").is_file()

    by_env = run_cli("load", source, cwd=tmp_path, env={"TENDERWATCH_DB": str(tmp_path / "env.duckdb")})
    assert by_env.returncode == 0 and (tmp_path / "env.duckdb").is_file()

    by_option = run_cli(
        "status",
        "--json",
        db=tmp_path / "env.duckdb",
        cwd=tmp_path,
        env={"TENDERWATCH_DB": str(tmp_path / "nope.duckdb")},
    )
    assert by_option.returncode == 0, by_option.stderr
    assert json.loads(by_option.stdout)["releases"] == 3
    assert not (tmp_path / "nope.duckdb").exists()


def test_status_shows_counts_by_publisher_dates_tables_and_rejects(real_store: Path) -> None:
    result = run_cli("status", db=real_store)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "releases" in text and "processes" in text
    assert "ocds-h6vhtk" in text and "Cabinet Office" in text  # Find a Tender
    assert "ocds-b5fd17" in text  # Contracts Finder
    assert "release dates: 2011-02-27 to 2026-10-06" in text
    assert "awards" in text and "rejects:" in text and "bods-statement" in text  # the ownership file
    assert "in 1,616 processes, from 1 run\n" in text  # one load: "1 run", not "1 runs"
    # Open Opps' and bluetail's copies of Contracts Finder notices
    copies = query(real_store, "SELECT count(*) FROM process_copies")[0][0]
    assert copies > 10
    assert f"{copies} processes republish another's notices under another ocid" in text
    # the publishers' columns line up, also after the longest prefix label
    lines = text.split("by ocid prefix and publisher:\n")[1].split("tables:")[0].splitlines()
    assert any(line.startswith("  (no registered prefix) ") for line in lines)
    assert len({line.index(" processes ") for line in lines}) == 1, lines

    as_json = json.loads(run_cli("status", "--json", db=real_store).stdout)
    assert as_json["processes"] == query(real_store, "SELECT count(*) FROM processes")[0][0]
    assert as_json["rejects"]["release"] >= 900  # the ownership statements are not OCDS releases


def test_status_lists_rejects_with_where_and_why(real_store: Path) -> None:
    total = query(real_store, "SELECT count(*) FROM rejects")[0][0]
    result = run_cli("status", "--rejects", "--limit", "5000", db=real_store)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("- [")]
    assert len(lines) == total
    assert (
        len(
            [
                line
                for line in run_cli("status", "--rejects", "--limit", "7", db=real_store).stdout.splitlines()
                if line.startswith("- [")
            ]
        )
        == 7
    )
    csv_line = next(line for line in lines if "uk_local_authorities.csv" in line)
    assert "[file/not-json]" in csv_line and "not JSON" in csv_line


def test_status_of_a_missing_store_is_one_line(tmp_path: Path) -> None:
    result = run_cli("status", db=tmp_path / "missing.duckdb")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: there is no store at {tmp_path / 'missing.duckdb'}: load some data first with `tenderwatch load`, "
        "or give --db"
    )


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("not a database")
    result = run_cli("status", db=bogus)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_rebuild_gives_the_same_tables_without_reading_any_source(tmp_path: Path, real: Path) -> None:
    source = tmp_path / "copy.jsonl"
    source.write_bytes((real / "paraguay_dncp_2017_releases.jsonl").read_bytes())
    db = tmp_path / "store.duckdb"
    assert run_cli("load", str(source), db=db).returncode == 0
    before = table_contents(db)
    source.unlink()  # the source is gone: rebuild must not need it

    result = run_cli("rebuild", db=db)

    assert result.returncode == 0, result.stderr
    assert "rebuilt 17 processes" in result.stdout
    assert table_contents(db) == before


def test_rebuild_applies_changed_settings(tmp_path: Path) -> None:
    source = tmp_path / "naive.json"
    source.write_text(
        json.dumps(
            {
                "ocid": "ocds-aaaaaa-1",
                "id": "1",
                "date": "2021-03-01T00:00:00Z",
                "tag": ["tender"],
                "tender": {"id": "t", "tenderPeriod": {"endDate": "2021-04-01T09:00:00"}},
            }
        )
    )
    db = tmp_path / "store.duckdb"
    assert run_cli("load", str(source), db=db).returncode == 0
    london = query(db, "SELECT tender_period_end::VARCHAR FROM tenders")  # read in UK time by default
    result = run_cli("rebuild", db=db, env={"TENDERWATCH_NAIVE_TIMEZONE": "UTC"})
    assert result.returncode == 0, result.stderr
    utc = query(db, "SELECT tender_period_end::VARCHAR FROM tenders")
    assert (london, utc) == ([("2021-04-01 08:00:00+00",)], [("2021-04-01 09:00:00+00",)])  # British Summer Time


def test_export_writes_one_compiled_release_per_line(tmp_path: Path, real_store: Path) -> None:
    out = tmp_path / "compiled.jsonl"
    result = run_cli("export", "compiled-releases", "--out", str(out), db=real_store)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == query(real_store, "SELECT count(*) FROM compiled_releases")[0][0]
    ocids = [json.loads(line)["ocid"] for line in lines]
    assert ocids == sorted(ocids)
    # each as stored (a publisher's own is read from the raw store, where it is kept)
    stored = query(
        real_store,
        """
        SELECT c.ocid, coalesce(c.data, r.data)
        FROM compiled_releases AS c LEFT JOIN raw_releases AS r ON r.hash = c.data_hash
        """,
    )
    assert [json.loads(line) for line in lines] == [json.loads(text) for _, text in sorted(stored)]


def test_export_sorts_a_large_store_a_part_at_a_time(tmp_path: Path, real_store: Path) -> None:
    # The export sorts through temporary files, a part (10,000 by default) at a time: parts of 7 give the same.
    whole = run_cli("export", "compiled-releases", db=real_store).stdout.encode()
    out = io.BytesIO()
    with Workspace.open(load_settings(db=real_store), read_only=True) as workspace:
        count = workspace.export_compiled_releases(out, bucket=7)
    assert count == len(whole.splitlines()) > 7 * 20
    assert out.getvalue() == whole
    assert not list(real_store.parent.glob(".tenderwatch-export-*"))  # the temporary files are gone


def test_export_to_standard_output(real_store: Path) -> None:
    result = run_cli("export", "compiled-releases", db=real_store)
    assert result.returncode == 0, result.stderr
    assert all(json.loads(line)["tag"] for line in result.stdout.splitlines()[:50])
    assert "exported" in result.stderr


def test_progress_bars_are_drawn_when_asked_and_absent_in_plain_output(tmp_path: Path, real: Path) -> None:
    source = str(real / "uk_cf_2020_awards_openopps.jsonl")
    plain = run_cli("load", source, db=tmp_path / "a.duckdb")
    assert "\x1b[" not in plain.stderr + plain.stdout
    drawn = run_cli("load", source, db=tmp_path / "b.duckdb", env={"TENDERWATCH_PROGRESS": "always"})
    assert drawn.returncode == 0, drawn.stderr
    assert "reading uk_cf_2020_awards_openopps.jsonl" in drawn.stderr
    assert "\x1b[" in drawn.stderr  # drawn as a live bar on standard error
    assert "\x1b[" not in drawn.stdout  # the summary lines stay plain


def test_flags_on_a_store_of_an_older_version_asks_for_a_rebuild(tmp_path: Path, real: Path) -> None:
    db = tmp_path / "store.duckdb"
    assert run_cli("load", str(real / "armenia_2018_release_package.json"), db=db).returncode == 0  # with bids
    # what an older version left: tables without the keys this one keeps
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE bids DROP COLUMN tenderer_keys")
        con.execute("ALTER TABLE parties DROP COLUMN party_key")

    refused = run_cli("flags", "-i", "R028", db=db)
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "run `tenderwatch rebuild` first" in refused.stderr

    assert run_cli("rebuild", db=db).returncode == 0
    after = run_cli("flags", "-i", "R028", "--format", "json", db=db)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["indicators"][0]["evaluated"] == 13
    assert query(db, "SELECT count(*) FROM bids WHERE len(tenderer_keys) = len(tenderer_ids)") == [(36,)]


def test_a_store_whose_analysis_tables_an_older_version_made_needs_no_rebuild(tmp_path: Path, real: Path) -> None:
    db = tmp_path / "store.duckdb"
    source = str(real / "armenia_2018_release_package.json")
    assert run_cli("load", source, db=db).returncode == 0
    lifecycle = query(db, "SELECT count(*) FROM contract_lifecycle")[0][0]
    assert lifecycle > 0
    # what an older version left: a table of the analysis with a column fewer, and one it did not have at all (the
    # normalised tables are as this version makes them)
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE contract_lifecycle DROP COLUMN months_left")
        con.execute("DROP TABLE process_copies")

    status = run_cli("status", db=db)
    assert status.returncode == 0 and "run `tenderwatch rebuild`" not in status.stdout, status.stdout
    flags = run_cli("flags", "-i", "R004", "--format", "json", db=db)
    assert flags.returncode == 0, flags.stderr  # no rebuild asked for
    assert json.loads(flags.stdout)["indicators"][0]["evaluated"] == 19
    # the two tables are made again as this version documents them, and the next load fills them, storing nothing
    columns = query(db, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'contract_lifecycle'")
    assert ("months_left",) in columns
    assert query(db, "SELECT count(*) FROM process_copies") == [(0,)]
    again = run_cli("load", source, db=db)
    assert again.returncode == 0 and "0 loaded, 100 already stored" in again.stdout, again.stdout
    assert query(db, "SELECT count(*) FROM contract_lifecycle")[0][0] == lifecycle
    assert query(db, "SELECT value FROM meta WHERE key = 'analysis_due'") == [("no",)]


def test_every_command_and_group_answers_help_through_the_real_entry_point() -> None:
    overview = run_cli("--help")
    assert overview.returncode == 0, overview.stderr
    for name in COMMANDS:
        assert f"  {name} " in overview.stdout
        result = run_cli(name, "--help")
        assert result.returncode == 0, result.stderr
        assert f"Usage: tenderwatch {name} [OPTIONS]" in result.stdout
    # the export group also holds the organisations export, which lives with the org commands
    assert "organisations" in run_cli("export", "--help").stdout
    mistyped = run_cli("flgs")
    assert mistyped.returncode == 2 and "No such command 'flgs'" in mistyped.stderr


def test_running_out_of_memory_is_one_line_and_loses_nothing(tmp_path: Path, real: Path) -> None:
    store = tmp_path / "store.duckdb"
    first = run_cli("load", str(real / "uk_fts_2026-09-03_page5_excerpt.json"), db=store)
    assert first.returncode == 0, first.stderr
    second = real / "uk_cf_2019-2020_award_release_packages.jsonl"
    starved = run_cli("load", str(second), db=store, env={"TENDERWATCH_MEMORY_LIMIT": "1MB"})
    assert starved.returncode == 1
    line = starved.stderr.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1, line
    assert line.startswith("error: DuckDB needed more memory than its limit allows (")
    assert "raise TENDERWATCH_MEMORY_LIMIT" in line and "nothing already stored is lost" in line
    # the releases of the first load are all there, and the same load with the default limit finishes the work
    assert query(store, "SELECT count(*) FROM raw_releases")[0][0] == 3
    again = run_cli("load", str(second), db=store)
    assert again.returncode == 0, again.stderr
    assert "99 loaded" in again.stdout
    assert query(store, "SELECT count(*) FROM pending")[0][0] == 0


def test_a_fault_of_our_own_is_one_line_naming_a_report_with_the_details(tmp_path: Path, real: Path) -> None:
    store = tmp_path / "store.duckdb"
    assert run_cli("load", str(real / "uk_fts_2026-09-03_page5_excerpt.json"), db=store).returncode == 0
    # a store damaged by hand: a table that every store has is gone, which no command foresees
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE awards")
    reports = tmp_path / "reports"
    reports.mkdir()
    status = run_cli("status", db=store, env={"TMPDIR": str(reports)})
    assert status.returncode == 70
    line = status.stderr.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1, line
    assert line.startswith("error: tenderwatch stopped on a fault of its own (CatalogException: ")
    assert "nothing already stored is lost" in line
    [report] = reports.glob("tenderwatch-fault-*.txt")
    assert str(report) in line
    details = report.read_text(encoding="utf-8")
    assert details.startswith("command: tenderwatch status --db ") and "Traceback" in details
    assert "Table with name awards does not exist" in details
    assert query(store, "SELECT count(*) FROM raw_releases")[0][0] == 3


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device that is always full")
def test_writing_to_a_full_disk_is_one_line(tmp_path: Path, real_store: Path) -> None:
    flags = run_cli("flags", "--out", "/dev/full", db=real_store)
    assert flags.returncode == 1
    assert flags.stderr.strip() == (
        "error: /dev/full: cannot be written (No space left on device): the disk is full: free some space, "
        "or write somewhere else"
    )
    # an export finds the disk full only once it writes
    export = run_cli("export", "compiled-releases", "--out", "/dev/full", db=real_store)
    assert export.returncode == 1
    assert export.stderr.strip().startswith("error: the disk is full: free some space") and "Traceback" not in (
        export.stderr
    )
    folder = run_cli("flags", "--out", str(tmp_path), db=real_store)
    assert folder.returncode == 1 and folder.stderr.strip().endswith("give a file name, not a folder")


def test_a_port_in_use_is_one_line_before_any_work(tmp_path: Path, real_store: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = run_cli("serve", "--port", str(port), db=real_store)
        assert serve.returncode == 1
        assert serve.stderr.strip() == (
            f"error: port {port} is in use already (by another server: an earlier `tenderwatch serve` or "
            "`tenderwatch demo`, say): stop that one, or give another port with --port"
        )
        demo = tmp_path / "demo.duckdb"
        built = run_cli("demo", "--size", "50", db=demo, env={"TENDERWATCH_WEB_PORT": str(port)})
        assert built.returncode == 1
        assert "set another in TENDERWATCH_WEB_PORT, or build the demo without serving it with --no-serve" in (
            built.stderr
        )
        assert not demo.exists()  # the demo was not built only to find the port taken
