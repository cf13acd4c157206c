"""`tenderwatch demo` builds a store from the four stories and a synthetic population, all marked as demo data."""

from __future__ import annotations

from pathlib import Path

from tests import query, run_cli


def test_demo_builds_the_stories_and_says_what_to_try_next(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = run_cli("demo", "--size", "3000", "--no-serve", db=db)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Demo store ready" in text and "fictional" in text
    assert "ocds-twdemo-000002" in text  # the national contact-tracing contract
    assert "What to try next" in text and "tenderwatch status" in text

    processes, all_demo = query(db, "SELECT count(*), bool_and(is_demo) FROM processes")[0]
    assert processes > 1000 and all_demo
    # The stories' facts are in the normalised tables, ready to query.
    tracing = query(
        db,
        """
        SELECT t.procurement_method, a.value_amount, a.value_currency FROM tenders AS t
        JOIN awards AS a USING (ocid) WHERE ocid = 'ocds-twdemo-000002'
        """,
    )
    assert tracing == [("limited", 108_000_000, "GBP")]
    cancer = query(db, "SELECT count(*) FROM tenderers WHERE ocid = 'ocds-twdemo-000006'")
    assert cancer == [(7,)]
    urgency = query(
        db,
        """
        SELECT procurement_method_rationale_classifications, contract_period_max_extent::DATE::VARCHAR
        FROM tenders WHERE ocid = 'ocds-twdemo-000009'
        """,
    )
    assert urgency[0][0] == ["TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY"]
    terminated = query(
        db, "SELECT count(*) FROM contracts WHERE ocid = 'ocds-twdemo-000008' AND status = 'terminated'"
    )
    assert terminated == [(1,)]
    scope_change = query(db, "SELECT count(*) FROM amendments WHERE ocid = 'ocds-twdemo-000010' AND scope = 'tender'")
    assert scope_change[0][0] >= 1


def test_the_same_seed_gives_the_same_store(tmp_path: Path) -> None:
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert run_cli("demo", "--size", "500", "--seed", "3", "--no-serve", db=first).returncode == 0
    assert run_cli("demo", "--size", "500", "--seed", "3", "--no-serve", db=second).returncode == 0
    sql = "SELECT hash FROM raw_releases ORDER BY hash"
    assert query(first, sql) == query(second, sql)


def test_status_marks_demo_data(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert run_cli("demo", "--size", "200", "--no-serve", db=db).returncode == 0
    status = run_cli("status", db=db)
    assert "DEMO DATA, fictional" in status.stdout


def test_demo_refuses_a_store_with_real_data(tmp_path: Path, real: Path) -> None:
    db = tmp_path / "real.duckdb"
    assert run_cli("load", str(real / "uk_fts_2026-09-03_page1_excerpt.json"), db=db).returncode == 0
    result = run_cli("demo", "--size", "100", "--no-serve", db=db)
    assert result.returncode == 1
    assert "already holds 5 real releases" in result.stderr
    assert "tenderwatch demo --db demo.duckdb" in result.stderr


def test_an_analysis_that_needs_more_memory_than_its_limit_tries_again_with_more(tmp_path: Path) -> None:
    normal = tmp_path / "normal.duckdb"
    small = tmp_path / "small.duckdb"
    assert run_cli("demo", "--size", "1500", "--no-serve", db=normal).returncode == 0

    result = run_cli(
        "demo", "--size", "1500", "--no-serve", db=small, env={"TENDERWATCH_ANALYSIS_MEMORY_LIMIT": "30MB"}
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "needed more memory than 30MB; trying again with 60MB" in output
    # the analysis that finally ran is the same as one that had enough memory from the start
    for sql in (
        "SELECT count(*), count(DISTINCT organisation_id) FROM organisation_parties",
        "SELECT code, count(*) FROM flags GROUP BY code ORDER BY code",
        "SELECT count(*) FROM contract_lifecycle",
        "SELECT event_type, count(*) FROM derived_events GROUP BY 1 ORDER BY 1",
    ):
        assert query(small, sql) == query(normal, sql), sql
