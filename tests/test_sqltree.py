"""Statements rewritten through DuckDB's parser are written back only when they keep their meaning."""

from __future__ import annotations

import duckdb

from tenderwatch import sqltree


def test_a_statement_comes_back_as_it_was_given() -> None:
    node = sqltree.parse("SELECT a.k, b.v AS value FROM a JOIN b USING (k) WHERE b.v > 1")
    assert node is not None
    assert [sqltree.output_name(entry) for entry in node["select_list"]] == ["k", "value"]
    text = sqltree.render(node)
    assert text is not None
    con = duckdb.connect()
    con.execute("CREATE TABLE a AS SELECT 1 AS k UNION ALL SELECT 2")
    con.execute("CREATE TABLE b AS SELECT 1 AS k, 5 AS v UNION ALL SELECT 2, 0")
    assert con.execute(text).fetchall() == [(1, 5)]


def test_a_statement_duckdb_would_write_back_with_another_meaning_is_not_written() -> None:
    # DuckDB writes the cross join as a comma, which binds looser than the LEFT JOIN that follows
    node = sqltree.parse("SELECT * FROM a CROSS JOIN b LEFT JOIN c USING (k)")
    assert node is not None and sqltree.render(node) is None


def test_a_case_is_added_in_a_select_list_and_each_branch_of_a_union_is_found() -> None:
    node = sqltree.parse("SELECT x > 1 AS flagged, x AS shown FROM t UNION ALL SELECT x > 2, x FROM u")
    assert node is not None
    parts = sqltree.branches(node)
    assert parts is not None and len(parts) == 2
    for part in parts:
        entries = part["select_list"]
        entries[1] = sqltree.case_when(entries[0], entries[1], sqltree.output_name(entries[1]))
    text = sqltree.render(node)
    assert text is not None
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest([1, 2, 3]) AS x")
    con.execute("CREATE TABLE u AS SELECT unnest([2, 3]) AS x")
    assert sorted(con.execute(text).fetchall(), key=str) == sorted(
        [(False, None), (True, 2), (True, 3), (False, None), (True, 3)], key=str
    )
    assert sqltree.branches(sqltree.parse("SELECT 1 UNION SELECT 2")) is None  # a union without ALL is left alone
