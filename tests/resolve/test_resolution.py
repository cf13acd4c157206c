"""Resolution on the real UK data: every party gets one organisation, and each link says how it was made."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tenderwatch import Workspace, load_settings
from tenderwatch.resolve import OrganisationSettings, resolve_organisations
from tests import query


def test_every_party_of_every_process_has_an_organisation(resolved_store: Path) -> None:
    parties = query(resolved_store, "SELECT count(*) FROM parties")[0][0]
    resolved_from_parties = query(
        resolved_store,
        "SELECT count(*) FROM organisation_parties AS o "
        "JOIN parties AS p ON p.ocid = o.ocid AND p.party_id = o.party_key",
    )[0][0]
    missing = query(resolved_store, "SELECT count(*) FROM organisation_parties WHERE organisation_id IS NULL")[0][0]

    assert resolved_from_parties == parties
    assert missing == 0


def test_suppliers_named_only_in_awards_are_resolved(resolved_store: Path) -> None:
    # Old Contracts Finder data has no parties array: its suppliers are only in the awards.
    unmatched = query(
        resolved_store,
        """
        SELECT count(*) FROM award_suppliers AS s
        WHERE NOT EXISTS (SELECT 1 FROM organisation_parties AS o
                          WHERE o.ocid = s.ocid AND o.party_key = coalesce(s.party_id, '~supplier:' || s.name))
        """,
    )[0][0]
    referenced_only = query(resolved_store, "SELECT count(*) FROM organisation_parties WHERE party_key LIKE '~%'")[0][
        0
    ]

    assert unmatched == 0
    assert referenced_only > 100


def test_a_company_number_with_and_without_leading_zeros_is_one_organisation(resolved_store: Path) -> None:
    rows = query(
        resolved_store,
        "SELECT DISTINCT organisation_id FROM organisation_parties "
        "WHERE list_contains(identifiers, 'GB-COH-03424752')",
    )
    published = query(
        resolved_store, "SELECT DISTINCT identifier_id FROM award_suppliers WHERE name = 'Worldpay Limited'"
    )

    assert ("3424752",) in published  # published without its leading zero
    assert rows == [("GB-COH-03424752",)]


def test_organisations_never_hold_two_company_numbers_joined_by_a_name(resolved_store: Path) -> None:
    rows = query(
        resolved_store,
        """
        SELECT organisation_id FROM organisation_identifiers WHERE scheme = 'GB-COH'
        GROUP BY organisation_id HAVING count(*) > 1
        """,
    )
    # Where a party itself carries two numbers the data joins them; names alone never do.
    for (organisation_id,) in rows:
        methods = query(
            resolved_store,
            "SELECT DISTINCT link_method FROM organisation_parties WHERE organisation_id = ?",
            [organisation_id],
        )
        assert methods == [("identifier",)], organisation_id


def test_each_link_records_its_method(resolved_store: Path) -> None:
    methods = dict(query(resolved_store, "SELECT link_method, count(*) FROM organisation_parties GROUP BY 1"))
    model = query(
        resolved_store,
        "SELECT min(link_score), max(link_score) FROM organisation_parties WHERE link_method = 'model score'",
    )[0]
    links = query(resolved_store, "SELECT count(*), min(match_probability) FROM organisation_links")[0]

    assert {"identifier", "exact name", "exact name and postcode", "model score", "alone"} <= set(methods)
    assert model[0] >= 0.99
    assert links[0] > 0
    assert links[1] >= 0.99


def test_parties_with_no_name_and_no_identifier_are_never_one_organisation(resolved_store: Path) -> None:
    # Open Opps gives some suppliers an empty name, and another publisher names a tenderer nowhere: nothing says
    # any two of them are the same organisation (they were once all one, of 55 parties in two publishers' data)
    nameless = query(
        resolved_store,
        """
        SELECT count(*), count(DISTINCT organisation_id), count(DISTINCT split_part(ocid, '-', 2)),
               count(*) FILTER (WHERE link_method <> 'alone')
        FROM organisation_parties WHERE name_normalised IS NULL AND len(identifiers) = 0
        """,
    )[0]
    parties, organisations, publishers, linked = nameless

    assert parties > 10 and publishers > 1  # the real data does hold such parties
    assert organisations == parties
    assert linked == 0


def test_the_typo_deloittte_is_the_same_firm(resolved_store: Path) -> None:
    rows = query(
        resolved_store,
        "SELECT DISTINCT organisation_id FROM organisation_parties WHERE name_normalised IN ('DELOITTE LLP', "
        "'DELOITTTE LLP')",
    )

    assert rows == [("GB-COH-OC303675",)]


def test_resolution_is_deterministic(resolved_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.duckdb"
    shutil.copy(resolved_store, copy)
    before = query(
        copy, "SELECT ocid, party_key, organisation_id, link_method FROM organisation_parties ORDER BY 1, 2"
    )
    con = duckdb.connect(str(copy))
    resolve_organisations(con, OrganisationSettings(overrides_file=tmp_path / "none.yaml"))
    con.close()

    after = query(copy, "SELECT ocid, party_key, organisation_id, link_method FROM organisation_parties ORDER BY 1, 2")
    assert after == before


def test_names_alone_link_less_without_the_model(writable_store: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(writable_store))
    without = resolve_organisations(con, OrganisationSettings(probabilistic=False, overrides_file=tmp_path / "x"))
    with_model = resolve_organisations(con, OrganisationSettings(overrides_file=tmp_path / "x"))
    con.close()

    assert without.model_links == 0
    assert with_model.model_links > 0
    assert with_model.organisations < without.organisations


def test_a_rebuild_empties_the_tables_and_resolving_again_gives_the_same(resolved_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "rebuilt.duckdb"
    shutil.copy(resolved_store, copy)
    before = query(copy, "SELECT count(*), count(DISTINCT organisation_id) FROM organisation_parties")
    with Workspace.open(load_settings(db=copy, workers=1, publish_after_load=False)) as workspace:
        workspace.rebuild()
        resolve_organisations(workspace.store.con, OrganisationSettings(overrides_file=tmp_path / "none.yaml"))

    assert query(copy, "SELECT count(*), count(DISTINCT organisation_id) FROM organisation_parties") == before
