"""The `tenderwatch register` commands, run through the command-line app as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenderwatch.cli import app
from tenderwatch.records import starter_register_path, validate_register

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["register", *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_the_starter_then_list_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDERWATCH_STARTER_REGISTER", "true")  # as for every user: the default
    db = str(tmp_path / "store.duckdb")
    count = len(validate_register(starter_register_path()))
    # A new store starts with the starter register, so importing it updates those events and adds none.
    code, _, err = run("import", "--starter", "--db", db)
    assert code == 0, err
    assert f"track_record.yaml: 0 events added, {count} updated" in err
    code, out, err = run("list", "--db", db)
    assert code == 0 and f"{count} events;" in out, err
    code, out, err = run("list", "--organisation", "serco", "--db", db)
    assert code == 0, err
    assert "2019-07-04  fine_or_settlement  Serco Geografix Ltd GBP 19,200,000" in out
    assert "source: Serco (case page, Serious Fraud Office) <https://sfo.gov.uk/cases/serco>" in out
    assert "3 events; each is a fact to check at its source, not a verdict." in out
    code, out, err = run("export", "--format", "csv", "--db", db)
    assert code == 0 and out.startswith("event_id,event_type,event_date,") and f"exported {count} events" in err
    code, _, err = run("export", "--out", str(tmp_path / "register.yaml"), "--db", db)
    assert code == 0, err
    code, out, _ = run("validate", str(tmp_path / "register.yaml"))
    assert (code, out.strip()) == (0, f"register.yaml: {count} events, all valid")


def test_a_file_with_errors_is_refused_with_one_line_per_problem(tmp_path: Path) -> None:
    db = str(tmp_path / "store.duckdb")
    path = tmp_path / "mine.csv"
    path.write_text(
        "event_type,event_date,organisation_name,source_url,source_title,summary,amount,currency\n"
        "fine_or_settlement,2020-01-01,Acme Ltd,,Acme fined,A regulator fined Acme.,,\n"
        "insolvency,2020-13-01,Acme Ltd,https://example.org/a,Acme collapses,Acme went into administration.,,\n",
        encoding="utf-8",
    )
    code, _, err = run("import", str(path), "--db", db)
    assert code == 1
    assert err.splitlines() == [
        "error: mine.csv: row 1 (line 2): source_url is missing: every event needs a public source that reports it",
        "error: mine.csv: row 2 (line 3): event_date: '2020-13-01' is not a real date (write it as YYYY-MM-DD)",
        "nothing was imported from mine.csv: fix the rows above and try again (docs/track-record.md)",
    ]
    code, out, _ = run("list", "--db", db)
    assert (code, out.strip()) == (0, "no events")
    code, _, err = run("validate", str(path))
    assert code == 1 and err.splitlines()[-1] == "mine.csv is not valid: fix the rows above and try again " + (
        "(docs/track-record.md)"
    )
