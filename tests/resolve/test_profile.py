"""The organisation profile behind `tenderwatch org show`: group, identifiers, names, contracts, track record."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tenderwatch.resolve import OrganisationNotFoundError, organisation_profile
from tests import query


@pytest.fixture
def con(resolved_store: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    copy = tmp_path / "profile.duckdb"
    shutil.copy(resolved_store, copy)
    connection = duckdb.connect(str(copy))
    yield connection
    connection.close()


def test_a_profile_is_found_by_id_identifier_or_name(con: duckdb.DuckDBPyConnection) -> None:
    by_id = organisation_profile(con, "GB-COH-00239718")
    by_number = organisation_profile(con, "GB-COH-239718")
    by_name = organisation_profile(con, "bfs group ltd")

    assert by_id.organisation["organisation_id"] == "GB-COH-00239718"
    assert by_number.organisation["organisation_id"] == "GB-COH-00239718"
    assert by_name.organisation["organisation_id"] == "GB-COH-00239718"
    assert by_id.names[0]["name"] == "BFS GROUP LIMITED"
    assert by_id.identifiers[0]["identifier"] == "GB-COH-00239718"


def test_contracts_as_supplier_add_up_by_year(con: duckdb.DuckDBPyConnection, resolved_store: Path) -> None:
    profile = organisation_profile(con, "GB-COH-00239718")
    expected = query(
        resolved_store,
        """
        SELECT count(*) FROM award_suppliers AS s JOIN organisation_parties AS o
          ON o.ocid = s.ocid AND o.party_key = coalesce(s.party_id, '~supplier:' || s.name)
        JOIN awards AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
        WHERE o.organisation_id = 'GB-COH-00239718' AND a.status IS DISTINCT FROM 'cancelled'
          AND a.status IS DISTINCT FROM 'unsuccessful'
        """,
    )[0][0]

    assert expected > 0
    assert sum(row["awards"] for row in profile.supplier_totals) == expected
    assert profile.supplier_contracts and profile.supplier_contracts[0]["ocid"].startswith("ocds-")


def test_a_buyer_has_contracts_as_buyer(con: duckdb.DuckDBPyConnection) -> None:
    profile = organisation_profile(con, "Crown Commercial Service")

    assert profile.buyer_totals
    assert "buyer" in profile.organisation["roles"]


def test_the_timeline_is_empty_without_the_registers(con: duckdb.DuckDBPyConnection) -> None:
    assert organisation_profile(con, "GB-COH-00239718").timeline == []


def test_track_record_events_match_by_identifier_name_or_group(con: duckdb.DuckDBPyConnection) -> None:
    # The register's table (tenderwatch.records) is in every store; its columns are those used below.
    con.execute("DELETE FROM track_record")
    con.execute(
        """
        INSERT INTO track_record (event_id, event_type, event_date, organisation_identifier, organisation_name,
            group_name, buyer_name, ocid, amount, currency, source_url, source_title, summary) VALUES
          ('e1', 'fine or settlement', '2019-07-03', 'GB-COH-239718', NULL, NULL, NULL, NULL, 1, 'GBP',
           'https://example.org/1', 'one', 'matched by a number without its zeros'),
          ('e2', 'termination by buyer', '2018-01-01', NULL, 'Bfs Group Ltd', NULL, NULL, NULL, NULL, NULL,
           'https://example.org/2', 'two', 'matched by name'),
          ('e3', 'market exit', '2017-01-01', 'GB-COH-99999999', 'Someone Else Ltd', NULL, NULL, NULL, NULL, NULL,
           'https://example.org/3', 'three', 'not this organisation')
        """
    )
    con.execute("DELETE FROM derived_events")
    ocid = con.execute(
        "SELECT ocid, party_id FROM organisation_parties "
        "WHERE organisation_id = 'GB-COH-00239718' AND party_id IS NOT NULL LIMIT 1"
    ).fetchall()[0]
    con.execute(
        "INSERT INTO derived_events (event_id, ocid, event_type, event_date, party_id, release_id, summary) "
        "VALUES ('d1', ?, 'terminated_early', '2020-02-02', ?, 'r1', 'derived')",
        list(ocid),
    )

    timeline = organisation_profile(con, "GB-COH-00239718").timeline

    assert [(event["summary"], event["matched_by"]) for event in timeline] == [
        ("matched by name", "name"),
        ("matched by a number without its zeros", "identifier"),
        ("derived", "party"),
    ]


def test_an_unknown_name_is_a_clear_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(OrganisationNotFoundError, match="no organisation is named"):
        organisation_profile(con, "No Such Organisation Anywhere")
