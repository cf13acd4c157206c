"""The documentation cannot drift from the code: every column, setting and command is documented."""

from __future__ import annotations

from pathlib import Path

from tenderwatch import docgen
from tenderwatch.store import NORMALISED_TABLES, RAW_TABLES, tables
from tests import ROOT, query


def test_generated_pages_are_up_to_date() -> None:
    stale = docgen.write_all(ROOT / "docs", check=True)
    assert not stale, f"run `python manage.py docs`: {[path.name for path in stale]} are out of date"


def test_every_column_of_every_table_in_a_store_is_documented(real_store: Path) -> None:
    documented = tables()
    page = (ROOT / "docs" / "data-model.md").read_text()
    names = {row[0] for row in query(real_store, "SELECT table_name FROM duckdb_tables()")} - {"meta"}
    assert names == set(documented)
    assert set(NORMALISED_TABLES) | set(RAW_TABLES) <= names
    for name in names:
        columns = query(
            real_store,
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [name],
        )
        described = documented[name].columns
        assert [column for column, _ in columns] == [column.name for column in described], name
        for column in described:
            assert len(column.description) > 10, f"{name}.{column.name} has no real description"
            assert f"| `{column.name}` |" in page
        assert f"### `{name}`" in page


def test_every_command_is_in_the_reference() -> None:
    from tenderwatch.cli import build_app

    page = (ROOT / "docs" / "cli.md").read_text()
    for name in [*(command.name for command in build_app().registered_commands), "export compiled-releases"]:
        assert f"## `tenderwatch {name}`" in page


def test_documents_linked_from_the_readme_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for part in readme.split("](")[1:]:
        target = part.split(")")[0]
        if not target.startswith("http"):
            assert (ROOT / target).is_file(), target
