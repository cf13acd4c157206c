"""Manual corrections: a plain YAML file, checked, applied at every resolution, kept across rebuilds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.resolve import OrganisationSettings, OverridesError, add_rule, read_overrides, resolve_organisations
from tests import query


def _organisations(path: Path, names: tuple[str, ...]) -> set[str]:
    placeholders = ", ".join("?" for _ in names)
    return {
        row[0]
        for row in query(
            path,
            f"SELECT DISTINCT organisation_id FROM organisation_parties WHERE name_normalised IN ({placeholders})",
            list(names),
        )
    }


def test_a_merge_joins_two_organisations_and_says_why(writable_store: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.yaml"
    settings = OrganisationSettings(overrides_file=overrides)
    con = duckdb.connect(str(writable_store))
    resolve_organisations(con, settings)
    con.close()
    assert len(_organisations(writable_store, ("CROYDON", "CROYDON COUNCIL"))) == 2

    add_rule(overrides, "merge", [{"name": "Croydon"}, {"name": "Croydon Council"}], "the council, named by its town")
    con = duckdb.connect(str(writable_store))
    result = resolve_organisations(con, settings)
    con.close()

    assert len(_organisations(writable_store, ("CROYDON", "CROYDON COUNCIL"))) == 1
    assert result.unmatched_rules == []
    details = query(
        writable_store,
        "SELECT DISTINCT link_method, link_detail FROM organisation_parties WHERE name_normalised = 'CROYDON'",
    )
    assert details == [("override", "merge 1: the council, named by its town")]


def test_a_split_takes_parties_out_and_survives_a_rebuild(writable_store: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.yaml"
    settings = OrganisationSettings(overrides_file=overrides)
    add_rule(overrides, "split", [{"name": "Deloittte LLP"}], "test: keep the misspelling apart")

    con = duckdb.connect(str(writable_store))
    resolve_organisations(con, settings)
    con.close()
    first = _organisations(writable_store, ("DELOITTTE LLP", "DELOITTE LLP"))
    with Workspace.open(load_settings(db=writable_store, workers=1, publish_after_load=False)) as workspace:
        workspace.rebuild()  # rebuilds every derived table, the organisations too (with the default settings)
        resolve_organisations(workspace.store.con, settings)
    second = _organisations(writable_store, ("DELOITTTE LLP", "DELOITTE LLP"))

    assert len(first) == 2
    assert second == first
    assert query(
        writable_store, "SELECT DISTINCT link_method FROM organisation_parties WHERE name_normalised = 'DELOITTTE LLP'"
    ) == [("override",)]


def test_a_rule_that_matches_nothing_is_reported(writable_store: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.yaml"
    add_rule(overrides, "merge", [{"name": "No Such Body"}, {"identifier": "GB-COH-99999998"}], "nothing")
    con = duckdb.connect(str(writable_store))
    result = resolve_organisations(con, OrganisationSettings(overrides_file=overrides))
    con.close()

    assert result.unmatched_rules == ["merge 1: nothing"]


def test_adding_a_rule_keeps_the_users_comments(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(
        "# our corrections\nmerge:\n  # checked by the branch\n  - parties: [{name: A Ltd}, {name: B Ltd}]\n"
    )

    add_rule(path, "merge", [{"identifier": "GB-COH-242246"}, {"name": "Serco Ltd"}], "same company")

    text = path.read_text()
    assert "# checked by the branch" in text
    rules = read_overrides(path).merge
    assert [rule.number for rule in rules] == [1, 2]
    assert rules[1].selectors[0].identifier == "GB-COH-00242246"
    assert rules[1].selectors[1].name == "SERCO LTD"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("merge: [\n", "is not valid YAML"),
        ("join: []\n", "unknown section 'join'"),
        ("merge:\n  - parties: [{name: A}]\n", "a merge names at least two parties"),
        ("split:\n  - parties: []\n", "'parties' must list at least one party"),
        ("split:\n  - parties: [{colour: red}]\n", "unknown field 'colour'"),
        ("split:\n  - parties: [{postcode: AB1 2CD}]\n", "give an identifier, a name"),
        ("split:\n  - parties: [{identifier: 'GB-COH-N/A'}]\n", "is not a usable identifier"),
        ("split:\n  - parties: [{ocid: ocds-1}]\n", "ocid and party_id go together"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(text)

    with pytest.raises(OverridesError, match=message):
        read_overrides(path)
