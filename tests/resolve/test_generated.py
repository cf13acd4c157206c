"""The synthetic population: suppliers under several spellings and company numbers are one organisation each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.demo.generator import write_jsonl
from tenderwatch.resolve import OrganisationSettings, resolve_organisations


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("generated")
    source = folder / "releases.jsonl"
    write_jsonl(source, 6000, seed=3)
    workspace = Workspace.open(
        load_settings(db=folder / "store.duckdb", workers=1, analyse_after_load=False, publish_after_load=False)
    )
    workspace.load([str(source)])
    resolve_organisations(workspace.store.con, OrganisationSettings(overrides_file=Path(folder / "none.yaml")))
    yield workspace
    workspace.close()


def test_a_company_number_belongs_to_one_organisation(generated: Workspace) -> None:
    con = generated.store.con
    spread = con.execute(
        """
        SELECT identifier, count(DISTINCT organisation_id) FROM organisation_identifiers
        GROUP BY identifier HAVING count(DISTINCT organisation_id) > 1
        """
    ).fetchall()
    stripped = con.execute(
        "SELECT count(*) FROM award_suppliers WHERE identifier_scheme = 'GB-COH' AND length(identifier_id) < 8 "
        "AND identifier_id NOT LIKE 'SC%'"
    ).fetchall()[0][0]

    assert stripped > 0  # the generator drops leading zeros now and then
    assert spread == []


def test_spellings_of_one_supplier_are_one_organisation(generated: Workspace) -> None:
    con = generated.store.con
    spellings = con.execute(
        """
        SELECT organisation_id, count(DISTINCT name) FROM organisation_names
        GROUP BY organisation_id ORDER BY 2 DESC LIMIT 1
        """
    ).fetchall()[0]
    keys = con.execute(
        "SELECT count(DISTINCT name_key) FROM organisation_parties WHERE organisation_id = ?", [spellings[0]]
    ).fetchall()[0][0]

    assert spellings[1] >= 3
    assert keys == 1


def test_parties_without_identifiers_join_by_name_and_postcode(generated: Workspace) -> None:
    con = generated.store.con
    local = con.execute(
        """
        SELECT link_method, count(*) FROM organisation_parties
        WHERE party_id LIKE 'GB-CFS-%' AND roles = ['supplier'] GROUP BY 1
        """
    ).fetchall()
    methods = dict(local)

    assert methods.get("exact name and postcode", 0) > 0
    assert set(methods) <= {"exact name and postcode", "exact name", "model score", "alone"}
