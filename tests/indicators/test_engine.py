"""The indicator engine: settings from TOML or Cardinal INI, stored results, scores, output formats, and
results that do not depend on row order or on the number of threads."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.demo.generator import generate_releases
from tenderwatch.exceptions import SettingsError
from tenderwatch.indicators import INDICATORS
from tenderwatch.indicators.settings import from_cardinal_ini, from_toml, load_flag_settings
from tests import query, run_cli, table_contents


def test_every_indicator_is_complete() -> None:
    for code, indicator in INDICATORS.items():
        assert indicator.code == code
        assert 1 <= len(indicator.title.split()) <= 5, code
        assert indicator.methodology, f"{code} has no methodology docstring"
        assert indicator.why and indicator.description, code
        assert indicator.needs, f"{code} does not say which fields it reads"
        for name, field in indicator.settings.model_fields.items():
            assert field.description, f"{code}.{name} has no description"


def test_a_cardinal_settings_file_runs_only_the_indicators_it_names(tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    path.write_text(
        "currency = GBP\n"
        "no_price_comparison_procurement_methods = Direct award|Framework call-off|\n"
        "\n[exclusions]\nprocurement_method_details = Call off from a Framework Agreement\n"
        "\n[defaults]\ncurrency = GBP\n"
        "\n[R003]\nthreshold = 20\n"
        "\n[R003.procurement_method_details]\nOpen procedure = 30\n"
        "\n[R018]\n"
    )
    settings = load_flag_settings(path)
    assert settings.selected == ["R003", "R018"]
    assert settings.common.currency == "GBP"
    assert settings.common.no_price_comparison_procurement_methods == ["Direct award", "Framework call-off"]
    assert settings.common.excluded_procurement_method_details == ["Call off from a Framework Agreement"]
    r003 = settings.for_indicator("R003", INDICATORS["R003"].settings)
    assert r003.threshold == 20
    assert r003.procurement_method_details == {"Open procedure": 30}


def test_unknown_settings_are_errors_naming_the_key() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'threshhold' in \\[R003\\]"):
        from_cardinal_ini("[R003]\nthreshhold = 3\n", "x.ini").for_indicator("R003", INDICATORS["R003"].settings)
    with pytest.raises(SettingsError, match="unknown section \\[R3\\]"):
        from_cardinal_ini("[R3]\n", "x.ini")
    with pytest.raises(SettingsError, match="invalid"):
        from_toml({"flags": {"R003": {"threshold": "soon"}}}, "t").for_indicator("R003", INDICATORS["R003"].settings)
    with pytest.raises(SettingsError, match="unknown setting 'currenzy'"):
        from_toml({"flags": {"currenzy": "GBP"}}, "t")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return list(generate_releases(6000, seed=11))


def _store(path: Path, releases: list[dict], threads: int) -> Path:
    source = path.with_suffix(".jsonl")
    source.write_text("".join(json.dumps(item) + "\n" for item in releases))
    with Workspace.open(load_settings(db=path, workers=1, threads=threads)) as workspace:
        workspace.load([str(source)])
        workspace.flags()
    return path


def test_results_do_not_depend_on_row_order_or_threads(tmp_path: Path, synthetic: list[dict]) -> None:
    shuffled = synthetic[:]
    random.Random(5).shuffle(shuffled)  # noqa: S311 - test data
    first = _store(tmp_path / "ordered.duckdb", synthetic, threads=1)
    second = _store(tmp_path / "shuffled.duckdb", shuffled, threads=2)
    tables = ["flags", "flag_meta", "process_scores", "organisation_scores"]
    ours, theirs = table_contents(first, tables), table_contents(second, tables)
    assert ours["flags"], "the synthetic data raised no flags at all"
    for table in tables:
        assert ours[table] == theirs[table], table


def test_flags_are_stored_with_evidence_and_scores(tmp_path: Path, synthetic: list[dict]) -> None:
    db = _store(tmp_path / "store.duckdb", synthetic[:3000], threads=1)
    runs = dict(query(db, "SELECT code, evaluated FROM flag_runs"))
    assert set(runs) == set(INDICATORS)
    flag = query(db, "SELECT code, evidence, sentence FROM flags WHERE code = 'R018' LIMIT 1")[0]
    assert json.loads(flag[1])["bids"] == 1 and flag[2].startswith("Only one bid")
    score = query(
        db,
        "SELECT flags_raised, flags_applicable, score FROM process_scores "
        "WHERE flags_raised > 0 ORDER BY ocid LIMIT 1",
    )[0]
    assert 0 < score[2] <= 1 and score[0] <= score[1]
    buyers = query(db, "SELECT count(*) FROM organisation_scores WHERE subject = 'buyer' AND flagged_processes > 0")
    assert buyers[0][0] > 0


def test_flags_command_formats(tmp_path: Path, synthetic: list[dict]) -> None:
    db = _store(tmp_path / "store.duckdb", synthetic[:3000], threads=1)
    table = run_cli("flags", "-i", "R018", db=db)
    assert table.returncode == 0, table.stderr
    assert "R018" in table.stdout and "Only one bid" in table.stdout
    assert "flagged/evaluated: R018" in table.stderr

    as_csv = run_cli("flags", "-i", "R018", "--format", "csv", db=db)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows and {row["code"] for row in rows} == {"R018"}
    assert json.loads(rows[0]["evidence"])["bids"] == 1

    cardinal = json.loads(run_cli("flags", "-i", "R018", "--format", "cardinal", db=db).stdout)
    ocid = rows[0]["ocid"]
    assert cardinal["OCID"][ocid] == {"R018": 1.0}
    assert "Meta" in cardinal

    out = tmp_path / "flags.json"
    assert run_cli("flags", "-i", "R003", "--format", "json", "--out", str(out), db=db).returncode == 0
    assert {item["code"] for item in json.loads(out.read_text())["indicators"]} == {"R003"}

    # every format is written as the flags are read, in the same order, with the same flags
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        whole = workspace.flags(["R018", "R003"])
        handed: list = []
        streamed = workspace.flags(["R018", "R003"], each=handed.append)
    assert len(whole.flags) > 10 and handed == whole.flags and streamed.count == len(handed) and not streamed.flags
    as_json = json.loads(run_cli("flags", "-i", "R018", "-i", "R003", "--format", "json", db=db).stdout)
    assert as_json["flags"] == [json.loads(json.dumps(flag.__dict__, default=str)) for flag in whole.flags]
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["R018"] * len(rows)
    empty = run_cli("flags", "-i", "R048", "--format", "json", db=db)  # the generated awards have no items
    assert json.loads(empty.stdout)["flags"] == [] and run_cli("flags", "-i", "R048", db=db).stdout == (
        "no flags raised\n"
    )
    # with progress bars drawn on standard error (a terminal), the flags still go to standard output
    drawn = run_cli("flags", "-i", "R018", db=db, env={"TENDERWATCH_PROGRESS": "always"})
    assert drawn.stdout == table.stdout and "Only one bid" not in drawn.stderr
    # a run that fails leaves no file, whole or in part
    failed = tmp_path / "failed.csv"
    refused = run_cli("flags", "--buyer", "nobody", "--format", "csv", "--out", str(failed), db=db)
    assert refused.returncode == 1 and "no buyer in the data has the id 'nobody'" in refused.stderr
    assert sorted(item.name for item in tmp_path.iterdir() if "failed" in item.name or ".part" in item.name) == []


def test_flags_for_one_buyer(tmp_path: Path, synthetic: list[dict]) -> None:
    db = _store(tmp_path / "store.duckdb", synthetic[:3000], threads=1)
    buyer = query(db, "SELECT p.buyer_id FROM flags JOIN processes AS p USING (ocid) WHERE code = 'R018' LIMIT 1")[0][
        0
    ]
    result = run_cli("flags", "-i", "R018", "--buyer", buyer, "--format", "csv", db=db)
    ocids = {row["ocid"] for row in csv.DictReader(io.StringIO(result.stdout))}
    expected = {row[0] for row in query(db, "SELECT ocid FROM processes WHERE buyer_id = ?", [buyer])}
    assert ocids and ocids <= expected
    # a mistyped id is one line saying so, not "no flags raised", which would clear a buyer no one looked at
    for option, role in (("--buyer", "buyer"), ("--supplier", "supplier")):
        typo = run_cli("flags", "-i", "R018", option, buyer + "x", "--format", "cardinal", db=db)
        assert typo.returncode == 1
        assert typo.stderr.strip() == (
            f"error: no {role} in the data has the id '{buyer}x': find the organisation's id with "
            "`tenderwatch org show NAME`, or give its party id as published"
        )
    # a buyer the store names, without a flag of the indicator asked for, is no error
    unflagged = query(
        db,
        """SELECT buyer_id FROM processes WHERE buyer_id IS NOT NULL AND buyer_id NOT IN (
               SELECT p.buyer_id FROM flags JOIN processes AS p USING (ocid) WHERE code = 'R018'
               AND p.buyer_id IS NOT NULL) LIMIT 1""",
    )[0][0]
    quiet = run_cli("flags", "-i", "R018", "--buyer", unflagged, db=db)
    assert quiet.returncode == 0 and "error" not in quiet.stderr, quiet.stderr


def test_unknown_indicator_is_one_line(tmp_path: Path, synthetic: list[dict]) -> None:
    db = _store(tmp_path / "store.duckdb", synthetic[:200], threads=1)
    result = run_cli("flags", "-i", "R999", db=db)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown indicator 'R999'")


def test_coverage_names_missing_fields(tmp_path: Path, real: Path) -> None:
    db = tmp_path / "cf.duckdb"
    assert run_cli("load", str(real / "uk_cf_2020_tenders_openopps.jsonl"), db=db).returncode == 0
    result = run_cli("coverage", db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    r018 = next(index for index, line in enumerate(lines) if line.startswith("R018"))
    r003 = next(line for line in lines if line.startswith("R003"))
    assert "supported" in r003
    assert any("missing" in line or "supported" in line for line in lines[r018 : r018 + 2])
    assert "processes" in lines[0]
    # the columns line up, also after the longest title and field name
    heads = [line for line in lines[1:] if line[:1].isalnum()]
    assert len({line.index(" supported" if " supported" in line else " NOT SUPPORTED") for line in heads}) == 1
    counted = [line for line in lines if " processes (" in line]
    assert len({line.index(" in ") for line in counted}) == 1, counted


def _flag_rows(flags: list) -> list[tuple]:
    return sorted((flag.code, flag.subject, flag.subject_id, flag.sentence) for flag in flags)


def test_kept_results_are_reused_until_the_data_or_the_settings_change(tmp_path: Path, synthetic: list[dict]) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(json.dumps(item) + "\n" for item in synthetic[:2000]))
    second.write_text("".join(json.dumps(item) + "\n" for item in synthetic[2000:4000]))
    settings = load_settings(db=tmp_path / "store.duckdb", workers=1, analyse_after_load=False)
    with Workspace.open(settings) as workspace:
        workspace.load([str(first)])
        ran = workspace.flags(["R018", "R003", "TW102"])
        assert not any(run.reused for run in ran.run.runs), "nothing had been run on this data yet"
        # TW102 reads the contract lifecycle, which no analysis built here: the run builds it first
        assert {run.code: run.evaluated for run in ran.run.runs}["TW102"] > 0
        again = workspace.flags(["R018", "R003", "TW102"])
        assert all(run.reused for run in again.run.runs)
        assert _flag_rows(again.flags) == _flag_rows(ran.flags) and again.flags
        assert [(run.evaluated, run.flagged) for run in again.run.runs] == [
            (run.evaluated, run.flagged) for run in ran.run.runs
        ]

        # another setting for one indicator: that one runs again, the other keeps its results
        changed = tmp_path / "flags.toml"
        changed.write_text("[flags.R003]\nthreshold = 2\n")
        other = workspace.flags(["R018", "R003"], settings_path=changed)
        assert {run.code: run.reused for run in other.run.runs} == {"R018": True, "R003": False}

        # new data: nothing is reused, and the results are those of a run from scratch
        workspace.load([str(second)])
        fresh = workspace.flags(["R018"])
        assert not fresh.run.runs[0].reused
        forced = workspace.flags(["R018"], recompute=True)
        assert not forced.run.runs[0].reused
        assert _flag_rows(fresh.flags) == _flag_rows(forced.flags)
        assert len(fresh.flags) > len([flag for flag in ran.flags if flag.code == "R018"]), "the new data's flags"

        # another time zone can move a date without an offset to another day: nothing is reused
        assert workspace.flags(["R018"]).run.runs[0].reused
        workspace.store.con.execute("SET TimeZone = 'Pacific/Auckland'")
        assert not workspace.flags(["R018"]).run.runs[0].reused


def test_the_statement_kept_from_the_last_run_is_run_only_while_it_is_the_same(
    tmp_path: Path, synthetic: list[dict]
) -> None:
    source = tmp_path / "releases.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in synthetic[:2000]))
    settings = load_settings(db=tmp_path / "store.duckdb", workers=1, analyse_after_load=False)
    with Workspace.open(settings) as workspace:
        workspace.load([str(source)])
        first = workspace.flags(["R018"])
        assert first.flags
        key, _, text = workspace.store.meta("flags_statement:R018").partition("\n")
        assert "ELSE NULL END AS evidence" in text, "kept as it ran: evidence worked out for flags only"

        # kept for another statement (other settings, another version of DuckDB): rewritten again, not run
        workspace.store.set_meta("flags_statement:R018", "another hash\nSELECT 1")
        again = workspace.flags(["R018"], recompute=True)
        assert _flag_rows(again.flags) == _flag_rows(first.flags)
        assert workspace.store.meta("flags_statement:R018") == f"{key}\n{text}"

        # kept for this statement: run as kept (here changed so that it flags nothing, to show it is what ran)
        changed = f"SELECT subject, subject_id, ocid, FALSE AS flagged, value, evidence, sentence FROM ({text})"
        workspace.store.set_meta("flags_statement:R018", f"{key}\n{changed}")
        assert not workspace.flags(["R018"], recompute=True).flags


def test_flags_command_says_when_it_shows_kept_results(tmp_path: Path, synthetic: list[dict]) -> None:
    db = _store(tmp_path / "store.duckdb", synthetic[:1000], threads=1)
    kept = run_cli("flags", "-i", "R018", "--format", "csv", db=db)
    assert kept.returncode == 0, kept.stderr
    assert "kept results shown for R018" in kept.stderr
    again = run_cli("flags", "-i", "R018", "--format", "csv", "--recompute", db=db)
    assert again.returncode == 0, again.stderr
    assert "kept results" not in again.stderr
    assert again.stdout == kept.stdout


def test_a_party_id_of_many_organisations_is_warned_of(tmp_path: Path, real_store: Path) -> None:
    # Contracts Finder numbers the parties of each notice 0, 1, 2…: "--supplier 0" is hundreds of suppliers
    db = tmp_path / "real.duckdb"
    shutil.copyfile(real_store, db)
    every = run_cli("flags", "-i", "R004", "--supplier", "0", "--format", "csv", db=db)
    assert every.returncode == 0, every.stderr
    warning = next(line for line in every.stderr.splitlines() if line.startswith("warning: the supplier id '0'"))
    assert "party id of 50 or more different organisations" in warning
    named = warning.split("e.g. ")[1].split(" (")[0].split(", ")
    assert len(named) == 3
    # one of the organisations it names, by its own id: its flags only, and no warning
    one = run_cli("flags", "-i", "R004", "--supplier", named[0], "--format", "csv", db=db)
    assert one.returncode == 0 and "warning" not in one.stderr, one.stderr
    flagged = {row["ocid"] for row in csv.DictReader(io.StringIO(one.stdout))}
    assert flagged < {row["ocid"] for row in csv.DictReader(io.StringIO(every.stdout))}
    supplied = {
        row[0]
        for row in query(
            db,
            "SELECT s.ocid FROM award_suppliers AS s JOIN organisation_parties AS o "
            "ON o.ocid = s.ocid AND o.party_id = s.party_id WHERE o.organisation_id = ?",
            [named[0]],
        )
    }
    assert flagged <= supplied


def test_scores_by_organisation_count_each_one_once_and_keep_others_apart(real_store: Path) -> None:
    def scores(where: str) -> list[tuple]:
        return query(
            real_store,
            "SELECT subject_id, name, processes, flagged_processes, value_at_risk FROM organisation_scores "
            f"WHERE {where} ORDER BY subject_id",
        )

    # Contracts Finder numbers the parties of each notice 0, 1, 2...: those numbers are no organisation's key
    assert scores("regexp_full_match(subject_id, '[0-9]{1,4}')") == []
    assert max(row[2] for row in scores("subject = 'supplier'")) < 20
    # Cambridgeshire's two notices name it without an id, and bluetail republished one of them under another ocid:
    # one organisation, two processes, the £300,000,000 home-care system at stake once
    [cambridgeshire] = scores("subject = 'buyer' AND name = 'Cambridgeshire County Council'")
    assert cambridgeshire[0].startswith("TW-") and cambridgeshire[2:] == (2, 1, 300_000_000)
