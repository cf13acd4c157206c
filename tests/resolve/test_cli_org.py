"""The `org` commands and `export organisations`, run through Typer against a real store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tenderwatch.cli.org import EXPORT_COLUMNS, app, export_organisations_command
from tests import REAL, query

runner = CliRunner()


def _settings(tmp_path: Path) -> Path:
    path = tmp_path / "tenderwatch.toml"
    path.write_text(f'[organisations]\noverrides_file = "{tmp_path / "overrides.yaml"}"\n')
    return path


def test_show_prints_the_profile(resolved_store: Path) -> None:
    result = runner.invoke(app, ["show", "bfs group limited", "--db", str(resolved_store)])

    assert result.exit_code == 0, result.output
    assert "BFS GROUP LIMITED  [GB-COH-00239718]" in result.output
    assert "identifiers: GB-COH-00239718" in result.output
    assert "awards as supplier, by year:" in result.output


def test_show_json_is_the_library_profile(resolved_store: Path) -> None:
    result = runner.invoke(app, ["show", "GB-COH-239718", "--json", "--db", str(resolved_store)])

    data = json.loads(result.stdout)
    assert data["organisation"]["organisation_id"] == "GB-COH-00239718"
    assert data["timeline"] == []


def test_merge_and_split_edit_the_overrides_file_and_resolve(writable_store: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    merged = runner.invoke(
        app,
        [
            "merge",
            "Croydon",
            "Croydon Council",
            "--reason",
            "same council",
            "--db",
            str(writable_store),
            "--settings",
            str(settings),
        ],
    )
    split = runner.invoke(
        app,
        [
            "split",
            "--name",
            "Deloittte LLP",
            "--reason",
            "kept apart for the test",
            "--db",
            str(writable_store),
            "--settings",
            str(settings),
        ],
    )

    assert merged.exit_code == 0, merged.output
    assert split.exit_code == 0, split.output
    text = (tmp_path / "overrides.yaml").read_text()
    assert "same council" in text and "kept apart for the test" in text
    croydon = query(
        writable_store,
        "SELECT count(DISTINCT organisation_id) FROM organisation_parties WHERE name_key IN ('CROYDON', "
        "'CROYDON COUNCIL')",
    )
    assert croydon == [(1,)]


def test_merge_needs_two_parties(writable_store: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["merge", "Croydon", "--reason", "x", "--db", str(writable_store), "--settings", str(_settings(tmp_path))]
    )

    assert result.exit_code != 0


def test_load_ownership_stores_statements_and_groups(writable_store: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "load-ownership",
            str(REAL / "uk_bods_openownership_suppliers.jsonl"),
            "--db",
            str(writable_store),
            "--settings",
            str(_settings(tmp_path)),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "statements about people left out" in result.output
    assert query(writable_store, "SELECT count(*) FROM corporate_relations WHERE source = 'ownership data'")[0][0] > 50


def test_export_organisations_writes_every_party(resolved_store: Path, tmp_path: Path) -> None:
    export = typer.Typer()
    export.command("organisations")(export_organisations_command)
    export.command("unused")(lambda: None)
    out = tmp_path / "organisations.csv"

    result = runner.invoke(export, ["organisations", "--out", str(out), "--db", str(resolved_store)])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) == query(resolved_store, "SELECT count(*) FROM organisation_parties")[0][0]
    deloitte = [row for row in rows if row["name"] == "Deloittte LLP"]
    assert deloitte and all(row["organisation_id"] == "GB-COH-OC303675" for row in deloitte)
