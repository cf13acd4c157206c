"""Corporate groups: the shipped groups file, and beneficial-ownership statements from the real UK register."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tenderwatch.resolve import OrganisationSettings, load_ownership, resolve_organisations
from tenderwatch.resolve.groups import GroupsFileError, read_groups_file, shipped_groups_file
from tests import REAL, query

BODS = REAL / "uk_bods_openownership_suppliers.jsonl"


def test_every_fact_of_the_shipped_groups_file_has_an_identifier_and_a_source() -> None:
    groups, relations = read_groups_file(shipped_groups_file())

    assert {group["group_id"] for group in groups} >= {"capita", "serco", "carillion"}
    for relation in relations:
        assert relation.child_id.startswith("GB-COH-")
        assert relation.source_url.startswith("https://")
        assert relation.as_of


def test_a_groups_file_without_a_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "groups:\n  - id: x\n    name: X\n    ultimate_parent: {name: X plc, source_url: 'https://example.org'}\n"
        "    companies:\n      - {name: X Ltd, identifier: GB-COH-1, relation: subsidiary, as_of: 2024-01-01}\n"
    )

    with pytest.raises(GroupsFileError, match="'source_url' is missing"):
        read_groups_file(path)


def test_a_groups_file_of_the_users_places_a_company_in_a_group(writable_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "groups:\n  - id: bfs\n    name: BFS\n"
        "    ultimate_parent: {name: Bid Corporation Limited, source_url: 'https://example.org/report'}\n"
        "    companies:\n      - {name: BFS Group Limited, identifier: GB-COH-239718, relation: test fact,"
        " source_url: 'https://example.org/report', source_title: test, as_of: 2024-01-01}\n"
    )
    con = duckdb.connect(str(writable_store))
    resolve_organisations(con, OrganisationSettings(groups_files=[path], overrides_file=tmp_path / "x.yaml"))
    con.close()

    row = query(
        writable_store,
        "SELECT group_id, group_source, parent_name FROM organisations WHERE organisation_id = 'GB-COH-00239718'",
    )
    totals = query(writable_store, "SELECT role, count(*) FROM group_totals WHERE group_id = 'bfs' GROUP BY role")
    assert row == [("bfs", "groups file", "Bid Corporation Limited")]
    assert totals and totals[0][0] == "supplier"


def test_ownership_statements_give_parents_and_groups(writable_store: Path, tmp_path: Path) -> None:
    if not BODS.is_file():
        pytest.skip("the real ownership data is not here")
    con = duckdb.connect(str(writable_store))
    stored, already, people = load_ownership(con, BODS)
    again = load_ownership(con, BODS)
    resolve_organisations(con, OrganisationSettings(overrides_file=tmp_path / "x.yaml"))
    con.close()

    assert stored > 600 and already == 0 and people > 100
    assert again[0] == 0
    assert (
        query(writable_store, "SELECT count(*) FROM ownership_statements WHERE statement_type = 'personStatement'")[0][
            0
        ]
        == 0
    )
    rows = dict(
        query(
            writable_store,
            "SELECT organisation_id, parent_name FROM organisations WHERE organisation_id IN "
            "('GB-COH-00239718', 'GB-COH-00551336', 'GB-COH-00806906')",
        )
    )
    # Bid Corporation controls BFS Group; Paragon Graphics replaced Paragon Transaction as parent in 2019.
    assert rows == {
        "GB-COH-00239718": "Bid Corporation Limited",
        "GB-COH-00551336": "PARAGON GRAPHICS LIMITED",
        "GB-COH-00806906": "OLDHAM SEALS GROUP LIMITED",
    }
    relation = query(
        writable_store,
        "SELECT source, source_url FROM corporate_relations WHERE child_id = 'GB-COH-00806906'",
    )
    assert relation == [
        (
            "ownership data",
            "https://find-and-update.company-information.service.gov.uk/company/00806906/persons-with-significant-control",
        )
    ]
    assert query(writable_store, "SELECT count(*) FROM group_totals WHERE role = 'supplier'")[0][0] > 0
