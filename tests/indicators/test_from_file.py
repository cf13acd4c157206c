"""Red flags straight from a file of compiled releases (``tenderwatch flags --from``), without a store: the same
normalised rows and the same flags, with the same evidence, as a store of the same releases gives; the lines it
cannot read left out and counted; the indicators that need a store left out with the reason, or refused when
asked for by name; nothing kept."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.exceptions import InputError, SettingsError
from tenderwatch.indicators.engine import plan_for_file
from tenderwatch.indicators.settings import from_cardinal_ini, from_toml
from tenderwatch.normalise import normalise_file, structure, table_statements
from tenderwatch.store import NORMALISED_TABLES, Store, tables
from tenderwatch.workspace import SilentReporter
from tests import VOLATILE_COLUMNS, run_cli
from tests.indicators import release

CARDINAL = ("R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058")
# Columns of ``processes`` that describe how a store compiled the process (how many releases it merged, from
# which package), which a file holding only the compiled release cannot tell.
COMPILE_COLUMNS = {
    "compile_method",
    "release_count",
    "first_release_date",
    "last_release_date",
    "latest_release_id",
    "release_tags",
    "publisher_name",
    "package_uri",
}


def rows(
    con: duckdb.DuckDBPyConnection, table: str, only: tuple[str, ...] | None = None, where: str = ""
) -> list[tuple]:
    """Return every row of a table (or those ``where`` keeps), sorted, without volatile columns nor, in processes,
    the compile columns (or with ``only`` those columns)."""
    columns = only or [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal ORDER BY column_index",
            [table],
        ).fetchall()
        if row[0] not in VOLATILE_COLUMNS and not (table == "processes" and row[0] in COMPILE_COLUMNS)
    ]
    quoted = ", ".join(f'"{column}"::VARCHAR' for column in columns)
    found = con.execute(f"SELECT {quoted} FROM {table}{where}").fetchall()
    return sorted(found, key=lambda row: tuple(str(value) for value in row))


class Notes(SilentReporter):
    """A reporter that keeps the notes it is given."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def scratch_store() -> Store:
    """Return an empty store in memory."""
    return Store(Path(":memory:"), load_settings(db=Path(":memory:"), starter_register=False))


def flag_set(flags: list[Any]) -> Counter:
    """Return the flags as a multiset of everything a user sees of each."""
    return Counter(
        (
            flag.code,
            flag.subject,
            flag.subject_id,
            flag.ocid,
            flag.value,
            json.dumps(flag.evidence, sort_keys=True),
            flag.sentence,
        )
        for flag in flags
    )


@pytest.fixture(scope="module")
def real_copy(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A writable copy of the store of the real data, and its compiled releases exported as JSON lines."""
    folder = tmp_path_factory.mktemp("from-file")
    db = folder / "real.duckdb"
    shutil.copyfile(real_store, db)
    exported = folder / "compiled.jsonl"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace, exported.open("wb") as out:
        assert workspace.export_compiled_releases(out) > 1000
    return db, exported


def test_a_file_fills_the_tables_a_store_of_it_holds(real_copy: tuple[Path, Path]) -> None:
    db, exported = real_copy
    scratch = scratch_store()
    store = duckdb.connect(str(db), read_only=True)
    store.execute("SET TimeZone = ?", [scratch.settings.naive_timezone])  # timestamps written as the scratch's are
    try:
        reading = normalise_file(scratch.con, [exported], NORMALISED_TABLES)
        assert reading.processes == store.execute("SELECT count(*) FROM processes").fetchall()[0][0]
        assert reading.left_out == {}
        for table in NORMALISED_TABLES:
            assert rows(scratch.con, table) == rows(store, table), table
        # filling only the tables Cardinal's indicators read parses less of each line, with the same rows
        plan = plan_for_file(from_cardinal_ini("".join(f"[{code}]\n" for code in CARDINAL), "test"), None)
        chosen = plan.tables
        assert len(chosen) < len(NORMALISED_TABLES)
        fewer = scratch_store()
        try:
            normalise_file(fewer.con, [exported], chosen)
            for table in chosen:
                assert rows(fewer.con, table) == rows(store, table), table
        finally:
            fewer.close()
        # and filling only the columns their statements name leaves the others empty, the named ones the same; of
        # the items, only those of awards (all that R048 reads)
        assert "tender_period_end" in plan.columns["tenders"] and "description" not in plan.columns["tenders"]
        assert plan.item_scopes == ("award",)
        narrow = scratch_store()
        try:
            normalise_file(narrow.con, [exported], chosen, columns=plan.columns, item_scopes=plan.item_scopes)
            for table in chosen:
                kept = " WHERE scope = 'award'" if table == "items" else ""
                assert rows(narrow.con, table, plan.columns[table]) == rows(store, table, plan.columns[table], kept), (
                    table
                )
            described = narrow.con.execute("SELECT count(description) FROM tenders").fetchall()[0][0]
            assert described == 0 < store.execute("SELECT count(description) FROM tenders").fetchall()[0][0]
            scopes = narrow.con.execute("SELECT DISTINCT scope FROM items").fetchall()
            assert scopes == [("award",)] and {"tender", "award"} <= {
                scope for (scope,) in store.execute("SELECT DISTINCT scope FROM items").fetchall()
            }
        finally:
            narrow.close()
        # a statement narrowed to every column of its table, as DuckDB writes it back, fills the same rows
        every = scratch_store()
        try:
            columns = {name: [column.name for column in tables()[name].columns] for name in NORMALISED_TABLES}
            normalise_file(every.con, [exported], NORMALISED_TABLES, columns=columns)
            for table in NORMALISED_TABLES:
                assert rows(every.con, table) == rows(store, table), table
        finally:
            every.close()
    finally:
        store.close()
        scratch.close()


def test_the_flags_straight_from_a_file_are_those_of_a_store_of_it(real_copy: tuple[Path, Path]) -> None:
    db, exported = real_copy
    from_file = Workspace.flags_from_files([exported], settings=load_settings(workers=1))
    chosen = [run.code for run in from_file.run.runs]
    assert "R018" in chosen and "TW106" in chosen  # every indicator the normalised tables support runs
    assert set(from_file.left_out) == {"TW101", "TW102", "TW103", "TW104", "TW105", "TW107", "TW108", "TW109"}
    assert from_file.left_out["TW101"] == "each process's history of releases"
    assert from_file.left_out["TW107"] == "each process's history of releases"  # it counts a process's notices
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        from_store = workspace.flags(chosen, recompute=True)
    assert sum(run.flagged for run in from_store.run.runs) > 100
    assert [(run.code, run.evaluated, run.flagged) for run in from_file.run.runs] == [
        (run.code, run.evaluated, run.flagged) for run in from_store.run.runs
    ]
    assert flag_set(from_file.flags) == flag_set(from_store.flags)
    assert from_file.run.meta == from_store.run.meta
    # a buyer's flags, by its party id as published
    store = duckdb.connect(str(db), read_only=True)
    try:
        buyer_of = dict(store.execute("SELECT ocid, buyer_id FROM processes").fetchall())
    finally:
        store.close()
    flagged = Counter(buyer_of[flag.ocid] for flag in from_file.flags if flag.code == "R003" and buyer_of[flag.ocid])
    buyer = flagged.most_common(1)[0][0]
    only = Workspace.flags_from_files([exported], ["R003"], settings=load_settings(workers=1), buyer=buyer)
    expected = [flag for flag in from_file.flags if flag.code == "R003" and buyer_of[flag.ocid] == buyer]
    assert len(expected) >= 2
    assert flag_set(only.flags) == flag_set(expected)
    # a mistyped id is an error, not "no flags"
    with pytest.raises(InputError, match=f"no buyer in the data has the id '{buyer}x'"):
        Workspace.flags_from_files([exported], ["R003"], settings=load_settings(workers=1), buyer=buyer + "x")


def test_a_process_given_again_is_read_as_a_store_reads_it(tmp_path: Path) -> None:
    first = release(
        "ocds-x-again", "2024-01-01T00:00:00Z", "r1", tag=["compiled"], tender={"id": "t", "title": "Early title"}
    )
    later = release(
        "ocds-x-again", "2024-03-01T00:00:00Z", "r2", tag=["compiled"], tender={"id": "t", "title": "Later title"}
    )
    other = release("ocds-x-other", tag=["compiled"], tender={"id": "t", "title": "Other"})
    path = tmp_path / "compiled.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in (later, other, first)))
    scratch = scratch_store()
    try:
        reading = normalise_file(scratch.con, [path], ("processes", "tenders"))
        titles = scratch.con.execute("SELECT ocid, title FROM tenders ORDER BY ocid").fetchall()
    finally:
        scratch.close()
    assert reading.processes == 2 and reading.left_out == {"earlier": 1}
    db = tmp_path / "store.duckdb"
    with Workspace.open(load_settings(db=db, workers=1, analyse_after_load=False)) as workspace:
        workspace.load([str(path)])
        assert workspace.store.con.execute("SELECT ocid, title FROM tenders ORDER BY ocid").fetchall() == titles
    assert titles == [("ocds-x-again", "Later title"), ("ocds-x-other", "Other")]


def test_lines_that_are_not_compiled_releases_are_counted_and_left_out(tmp_path: Path) -> None:
    good = release("ocds-x-good", tag=["compiled"], tender={"id": "t", "status": "active"})
    path = tmp_path / "mixed.jsonl.gz"
    lines = [json.dumps(good), "{not json", "[1, 2]", json.dumps({"id": "no-ocid"}), '"text"']
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    result = run_cli("flags", "--from", str(path), "--format", "json", db=tmp_path / "store.duckdb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--db" in result.stderr and "is not used with --from" in result.stderr
    assert (
        "read 1 compiled releases; 4 lines left out (1 not JSON, 2 not JSON objects, 1 without an ocid)"
        in result.stderr
    )
    assert "`tenderwatch load` records each bad line with its reason" in result.stderr
    assert "TW102 left out: it needs the contract lifecycle" in result.stderr
    assert json.loads(result.stdout)["flags"] == []
    assert sorted(item.name for item in tmp_path.iterdir()) == ["mixed.jsonl.gz"]  # no store was made


def test_a_file_that_starts_with_a_byte_order_mark_is_one_line_saying_to_load_it(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(release("ocds-x-1", tag=["compiled"])).encode() + b"\n")
    result = run_cli("flags", "--from", str(path), cwd=tmp_path)
    assert result.returncode != 0
    assert "starts with a byte order mark" in result.stderr and "tenderwatch load" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_in_another_encoding_than_utf8_is_one_line_saying_how_to_mend_it(tmp_path: Path) -> None:
    line = json.dumps(release("ocds-x-1", tag=["compiled"], tender={"title": "Café"}), ensure_ascii=False) + "\n"
    unicode = tmp_path / "unicode.jsonl"
    unicode.write_bytes(line.encode("utf-16"))
    result = run_cli("flags", "--from", str(unicode), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {unicode} is UTF-16 text, not UTF-8 (as some Windows programs save 'Unicode' text): save it as UTF-8"
    )
    windows = tmp_path / "windows-1252.jsonl"
    windows.write_bytes(line.encode("cp1252"))
    result = run_cli("flags", "--from", str(windows), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {windows} is not UTF-8 text (byte 0xE9 at byte {line.index('é')})")
    assert "save it as UTF-8, or load it with `tenderwatch load`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_line_with_a_field_of_another_shape_is_read_with_that_field_empty(tmp_path: Path) -> None:
    good = release("ocds-x-good", tag=["compiled"], tender={"id": "t", "status": "active", "title": "Home care"})
    odd = release("ocds-x-odd", tag=["compiled"], tender="a tender given as text", awards={"id": "a1"})
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in (good, odd)) + "\n")
    scratch = scratch_store()
    try:
        reading = normalise_file(scratch.con, [path], ("processes", "tenders", "awards"))
        assert (reading.processes, reading.left_out) == (2, {})
        assert scratch.con.execute("SELECT ocid FROM processes ORDER BY ocid").fetchall() == [
            ("ocds-x-good",),
            ("ocds-x-odd",),
        ]
        # as a store reads it: the text where a tender should be gives a tender with nothing in it
        assert scratch.con.execute("SELECT ocid, title, status FROM tenders ORDER BY ocid").fetchall() == [
            ("ocds-x-good", "Home care", "active"),
            ("ocds-x-odd", None, None),
        ]
        assert scratch.con.execute("SELECT count(*) FROM awards").fetchall() == [(0,)]
    finally:
        scratch.close()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [release("ocds-x-1", release_id="a"), release("ocds-x-1", release_id="b")],
            "gives the process ocds-x-1 on 2 lines, not as compiled releases: it holds releases",
        ),
        ([{"uri": "https://example.org", "releases": [release("ocds-x-1")]}], "holds no compiled releases"),
    ],
)
def test_a_file_that_is_not_compiled_releases_is_one_line_saying_to_load_it(
    tmp_path: Path, lines: list[dict], message: str
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in lines))
    with pytest.raises(InputError, match=message):
        Workspace.flags_from_files([path], settings=load_settings(workers=1))
    result = run_cli("flags", "--from", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "tenderwatch load" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_indicator_that_needs_a_store_or_a_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    settings = from_toml({}, "test")
    assert plan_for_file(settings, ["R018", "R003"]).codes == ["R018", "R003"]
    with pytest.raises(SettingsError, match="TW102 cannot run straight from a file"):
        plan_for_file(settings, ["R018", "TW102"])
    path = tmp_path / "compiled.jsonl"
    path.write_text(json.dumps(release("ocds-x-1", tag=["compiled"])) + "\n")
    result = run_cli("flags", "--from", str(path), "-i", "TW105", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: TW105 cannot run straight from a file: it needs each process's history")
    missing = run_cli("flags", "--from", str(tmp_path / "missing.jsonl"), cwd=tmp_path)
    assert missing.returncode == 1 and "missing.jsonl: no such file" in missing.stderr
    (tmp_path / "broken.jsonl.gz").write_bytes(path.read_bytes())  # named gzip, but not gzipped
    broken = run_cli("flags", "--from", str(tmp_path / "broken.jsonl.gz"), cwd=tmp_path)
    assert broken.returncode == 1 and broken.stderr.startswith("error: cannot read")
    assert "not a GZIP stream" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1


def test_only_the_tables_the_chosen_indicators_read_are_filled() -> None:
    cardinal = plan_for_file(from_cardinal_ini("[R018]\n[R028]\n", "test"), None)
    assert cardinal.codes == ["R018", "R028"]
    assert {"processes", "tenders", "bids", "awards", "award_suppliers", "bid_statistics"} <= set(cardinal.tables)
    assert "documents" not in cardinal.tables and "milestones" not in cardinal.tables
    # R028 names a common table expression of its own "tenderers": that is not the table
    assert "tenderers" not in cardinal.tables
    assert "documents" in plan_for_file(from_toml({}, "test"), ["R004"]).tables  # R004 reads tender notices


def test_each_statement_makes_parsed_only_the_fields_of_the_parts_of_a_release_it_reads() -> None:
    plan = plan_for_file(from_cardinal_ini("".join(f"[{code}]\n" for code in CARDINAL), "test"), None)
    parsed = json.loads(structure(tuple(table_statements(plan.tables, plan.columns).values())))
    # the tenders' deadline is read past Contracts Finder's milestones, which are parsed for it; no statement of
    # these tables reads the contracts' milestones, though "milestones" is a word of the tenders' statement
    assert set(parsed["tender"]["milestones"][0]) >= {"title", "dueDate"}
    assert "milestones" not in parsed.get("contracts", [{}])[0]
    assert "description" not in parsed["tender"]


def test_a_file_too_big_for_the_memory_limit_is_read_again_with_more(real_copy: tuple[Path, Path]) -> None:
    _, exported = real_copy
    ample = Workspace.flags_from_files([exported], ["R003", "R018"], settings=load_settings(workers=1))
    # 16MB is too little for the real data: reading runs out, is tried again with twice as much on empty tables
    # (no row read twice), and so on; the red flags then start at the limit that sufficed
    notes = Notes()
    tight = Workspace.flags_from_files(
        [exported], ["R003", "R018"], settings=load_settings(workers=1, analysis_memory_limit="16MB"), reporter=notes
    )
    assert any(note.startswith("warning: reading compiled releases needed more memory") for note in notes.notes)
    assert tight.reading == ample.reading
    assert [(run.evaluated, run.flagged) for run in tight.run.runs] == [
        (run.evaluated, run.flagged) for run in ample.run.runs
    ]
    assert flag_set(tight.flags) == flag_set(ample.flags)
