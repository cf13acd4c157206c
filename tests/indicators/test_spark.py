"""The indicators on Apache Spark give the same flags as on DuckDB.

A demo store is analysed as usual (every indicator runs on DuckDB and its flags are stored); its tables are written
to Parquet and read into a local Spark session, and every indicator runs there from the same statements,
translated. Each indicator must flag the same subjects of the same processes, and evaluate as many.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.demo import build_demo
from tenderwatch.indicators import INDICATORS
from tenderwatch.indicators.settings import load_flag_settings
from tenderwatch.indicators.spark import run_on_spark, spark_evaluations, spark_sql

pyspark = pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (on Debian: apt install default-jre-headless)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tenderwatch-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "1g")
        # small data: compiling each query to Java code and re-planning it as it runs cost more than they save
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store of 3,000 synthetic releases and the stories, analysed: every indicator's flags stored."""
    path = tmp_path_factory.mktemp("spark-demo") / "demo.duckdb"
    with Workspace.open(load_settings(db=path, workers=1, publish_after_load=False)) as workspace:
        build_demo(workspace, size=3000)
    return path


def _to_parquet(store: Path, folder: Path) -> list[str]:
    """Write every table of the store to Parquet (TW105 reads the stored releases too); return their names."""
    folder.mkdir()
    con = duckdb.connect(str(store), read_only=True)
    names = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary"
        ).fetchall()
    ]
    for name in names:
        con.execute(f"COPY (SELECT * FROM {name}) TO '{folder / name}.parquet' (FORMAT parquet)")
    con.close()
    return names


@pytest.fixture(scope="module")
def tables(spark, analysed: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo store's tables, read from Parquet into the Spark session under their own names."""
    folder = tmp_path_factory.mktemp("parquet") / "tables"
    for name in _to_parquet(analysed, folder):
        spark.read.parquet(str(folder / f"{name}.parquet")).createOrReplaceTempView(name)


@pytest.mark.usefixtures("tables")
def test_every_indicator_flags_on_spark_what_it_flags_on_duckdb(spark, analysed: Path) -> None:
    con = duckdb.connect(str(analysed), read_only=True)
    stored = Counter(con.execute("SELECT code, subject, subject_id, ocid FROM flags").fetchall())
    evaluated_here = dict(con.execute("SELECT code, evaluated FROM flag_runs").fetchall())
    con.close()

    codes = sorted(INDICATORS)
    frames = spark_evaluations(spark, load_flag_settings(None, None))
    assert sorted(frames) == codes
    for code in codes:
        # every column, so that the evidence and sentence of each flag are worked out too
        rows = frames[code].collect()
        there = Counter((code, row["subject"], row["subject_id"], row["ocid"]) for row in rows if row["flagged"])
        for row in rows:
            if row["flagged"]:
                assert row["sentence"], (code, row)
                assert isinstance(json.loads(row["evidence"]), dict), (code, row)
        here = Counter({row: n for row, n in stored.items() if row[0] == code})
        assert there == here, (
            f"{code}: flagged only on Spark {list(there - here)[:3]}, only on DuckDB {list(here - there)[:3]}"
        )
        assert len(rows) == evaluated_here[code], code
    # the comparison means something: most indicators flag something in the demo data
    assert sum(1 for code in codes if any(row[0] == code for row in stored)) >= 25


@pytest.mark.usefixtures("tables")
def test_run_on_spark_gives_one_frame_with_the_code_of_each_row(spark) -> None:
    one = run_on_spark(spark, load_flag_settings(None, None), ["R018", "TW101"])
    assert one.columns == ["code", "subject", "subject_id", "ocid", "flagged", "value", "evidence", "sentence"]
    assert {row["code"] for row in one.select("code").distinct().collect()} == {"R018", "TW101"}


def test_the_translation_writes_out_macros_and_keeps_lists_in_order() -> None:
    translated = spark_sql("SELECT tw_r8(list(x ORDER BY x), 0.25) AS q, len(ids) AS n, ocids[1:50] AS some FROM t")
    assert "tw_r8" not in translated.lower()
    assert "ARRAY_SORT(COLLECT_LIST(x))" in translated
    assert "SIZE(ids)" in translated
    assert "SLICE(ocids, 1, 50 - 1 + 1)" in translated


def test_an_asof_join_filters_the_nearest_row_as_duckdb_does(spark) -> None:
    # DuckDB pairs each tender with the nearest later notice first, then applies the WHERE: a condition on the
    # notice may leave the tender with no match, even when a later notice would meet it
    tenders = [("t1", "north", 10), ("t2", "north", 30), ("t3", "south", 10)]
    notices = [
        ("n1", "north", 12, 500),
        ("n2", "north", 20, 90_000),
        ("n3", "north", 31, 80_000),
        ("n4", "south", 9, 1),
    ]
    statement = """
        SELECT t.id, n.id AS notice
        FROM tenders AS t ASOF JOIN notices AS n ON n.region = t.region AND n.day >= t.day
        WHERE t.region <> 'east' AND n.value >= 10000
    """
    con = duckdb.connect()
    con.execute("CREATE TABLE tenders (id VARCHAR, region VARCHAR, day INTEGER)")
    con.execute("CREATE TABLE notices (id VARCHAR, region VARCHAR, day INTEGER, value INTEGER)")
    con.executemany("INSERT INTO tenders VALUES (?, ?, ?)", tenders)
    con.executemany("INSERT INTO notices VALUES (?, ?, ?, ?)", notices)
    expected = sorted(con.execute(statement).fetchall())
    assert expected == [("t2", "n3")]  # t1's nearest notice (n1) is too small; t3 has none after it

    spark.createDataFrame(tenders, "id string, region string, day int").createOrReplaceTempView("tenders")
    spark.createDataFrame(notices, "id string, region string, day int, value int").createOrReplaceTempView("notices")
    translated = spark_sql(statement, {})
    assert sorted(tuple(row) for row in spark.sql(translated).collect()) == expected


def test_an_amount_published_as_text_is_not_a_number_on_spark_either(spark) -> None:
    # Spark reads a JSON value as text and drops a string's quotes, so "12" and 12 would look alike
    documents = [
        ("number", '{"amount": 12}'),
        ("text", '{"amount": "12"}'),
        ("decimal", '{"amount": 1.5}'),
        ("exponent", '{"amount": -1e10}'),
        ("null", '{"amount": null}'),
        ("missing", '{"value": 3}'),
        ("list", '{"amount": [1]}'),
        ("boolean", '{"amount": true}'),
    ]
    statement = """
        SELECT id, json_type(json_extract(data, '$.amount')) IN ('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE') AS number
        FROM documents
    """
    con = duckdb.connect()
    con.execute("CREATE TABLE documents (id VARCHAR, data VARCHAR)")
    con.executemany("INSERT INTO documents VALUES (?, ?)", documents)
    expected = sorted(con.execute(statement).fetchall())
    assert dict(expected) == {
        "number": True,
        "text": False,
        "decimal": True,
        "exponent": True,
        "null": False,
        "missing": None,
        "list": False,
        "boolean": False,
    }

    spark.createDataFrame(documents, "id string, data string").createOrReplaceTempView("documents")
    assert sorted(tuple(row) for row in spark.sql(spark_sql(statement, {})).collect()) == expected
