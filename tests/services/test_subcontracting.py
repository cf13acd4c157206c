"""Subcontracting chains: the contact-tracing story four levels of suppliers deep, the OCDS subcontracting fields,
the links people add with their sources, and the red flag for a deep chain."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tenderwatch import Workspace
from tenderwatch.indicators.engine import read_flags, run_indicators
from tenderwatch.indicators.settings import from_toml
from tenderwatch.services import build_services
from tenderwatch.store import tables
from tests.services.conftest import analyse_services, quiet_settings, services_settings

TRACING = "ocds-twdemo-000002"
PATH = " → ".join(
    (
        "Orbitant Public Services plc",
        "Keystack Contact Solutions Ltd",
        "Dovrane Staffing Ltd",
        "Ashvane Payroll Services Ltd",
    )
)


def test_the_tracing_story_is_subcontracted_three_levels_below_the_prime(stories_store: Path) -> None:
    with duckdb.connect(str(stories_store), read_only=True) as con:
        depth, organisations, path, sources, declared = con.execute(
            "SELECT depth, organisations, path, sources, declared_subcontracting FROM subcontract_chains "
            "WHERE ocid = ?",
            [TRACING],
        ).fetchone()
        links = con.execute(
            "SELECT ocid, contractor_name, subcontractor_name, level, source_detail FROM subcontract_links "
            "WHERE root_ocid = ? ORDER BY level",
            [TRACING],
        ).fetchall()

    assert (depth, organisations, path, sources, declared) == (3, 4, PATH, ["related process"], True)
    assert [(link[1], link[2], link[3]) for link in links] == [
        ("Orbitant Public Services plc", "Keystack Contact Solutions Ltd", 2),
        ("Keystack Contact Solutions Ltd", "Dovrane Staffing Ltd", 3),
        ("Dovrane Staffing Ltd", "Ashvane Payroll Services Ltd", 4),
    ]
    assert links[0][4] == "notice ocds-twdemo-000003-02-contract of ocds-twdemo-000003, a subcontract of " + TRACING


def test_links_from_the_subcontracting_file_extend_the_chain_with_their_sources(
    stories: Workspace, tmp_path: Path
) -> None:
    settings = services_settings(tmp_path)
    settings.subcontracting_file.write_text(
        "links:\n"
        "  - ocid: ocds-twdemo-000004\n"
        "    contractor: ASHVANE PAYROLL SERVICES LIMITED\n"
        "    subcontractor: Corrowmouth Umbrella Company Ltd\n"
        "    description: Holds the tracers' employment contracts\n"
        "    source_url: https://example.org/scrutiny-report\n"
        "    source_title: Scrutiny committee report on the tracing service\n"
        "  - ocid: ocds-twdemo-000002\n"
        "    contractor: Halvering Analytics Ltd\n"
        "    subcontractor: Quillmouth Data Ltd\n"
        "    source_url: https://example.org/answer\n"
        "    source_title: Answer to a parliamentary question\n",
        encoding="utf-8",
    )

    result = build_services(stories.store.con, settings)

    con = stories.store.con
    assert result.file_links == 2 and result.deepest_chain == 4
    assert con.execute("SELECT depth, path FROM subcontract_chains WHERE ocid = ?", [TRACING]).fetchone() == (
        4,
        PATH + " → Corrowmouth Umbrella Company Ltd",
    )
    added = con.execute(
        "SELECT subcontractor_name, level, source, source_detail, source_url FROM subcontract_links "
        "WHERE source = 'subcontracting file' ORDER BY level DESC"
    ).fetchall()
    assert added[0] == (
        "Corrowmouth Umbrella Company Ltd",
        5,
        "subcontracting file",
        "Scrutiny committee report on the tracing service",
        "https://example.org/scrutiny-report",
    )
    assert added[1][:2] == ("Quillmouth Data Ltd", 2)
    assert added[1][3].endswith("(the contractor is not in the chain published for this contract: placed under the "
                                "prime contractor)")  # fmt: skip


SUBCONTRACTED = {
    "ocid": "ocds-twtest-000001",
    "id": "1",
    "date": "2024-02-01T10:00:00Z",
    "tag": ["award"],
    "buyer": {"id": "GB-LAE-X1", "name": "Exbury Council"},
    "parties": [
        {"id": "GB-LAE-X1", "name": "Exbury Council", "roles": ["buyer"]},
        {"id": "GB-COH-11111111", "name": "Primeworks Ltd", "roles": ["supplier"]},
        {"id": "GB-COH-22222222", "name": "Kerbside Crews Ltd", "roles": ["subcontractor"]},
        {"id": "GB-COH-33333333", "name": "Depot Services Ltd", "roles": ["subcontractor"]},
    ],
    "tender": {"id": "t", "title": "Household waste and recycling collection", "procurementMethod": "open"},
    "awards": [
        {
            "id": "a",
            "status": "active",
            "date": "2024-02-01T10:00:00Z",
            "value": {"amount": 4000000, "currency": "GBP"},
            "suppliers": [{"id": "GB-COH-11111111", "name": "Primeworks Ltd"}],
            "hasSubcontracting": True,
            "subcontracting": {
                "description": "Collection rounds in the north of the district.",
                "value": {"amount": 900000, "currency": "GBP"},
                "subcontracts": [
                    {
                        "id": "1",
                        "subcontractor": {"id": "GB-COH-22222222", "name": "Kerbside Crews Ltd"},
                        "tenderers": [{"id": "GB-COH-11111111", "name": "Primeworks Ltd"}],
                    }
                ],
            },
        }
    ],
}


def test_the_ocds_subcontracting_fields_give_links_one_level_below_the_supplier(tmp_path: Path) -> None:
    source = tmp_path / "release.json"
    source.write_text(json.dumps(SUBCONTRACTED), encoding="utf-8")
    with Workspace.open(quiet_settings(tmp_path / "store.duckdb")) as workspace:
        workspace.load([str(source)])
        analyse_services(workspace, services_settings(tmp_path))
        con = workspace.store.con
        links = con.execute(
            "SELECT contractor_name, subcontractor_name, level, source, value_amount, description "
            "FROM subcontract_links ORDER BY subcontractor_name"
        ).fetchall()
        chain = con.execute(
            "SELECT depth, declared_subcontracting, subcontracting_description FROM subcontract_chains"
        )

        assert links == [
            ("Primeworks Ltd", "Depot Services Ltd", 2, "subcontractor party", None, None),
            ("Primeworks Ltd", "Kerbside Crews Ltd", 2, "award subcontract", 900000, "Collection rounds in the "
             "north of the district."),
        ]  # fmt: skip
        assert chain.fetchone() == (1, True, "Collection rounds in the north of the district.")


@pytest.mark.skipif(
    "subcontract_chains" not in tables(), reason="the services tables are not registered in the store's table groups"
)
def test_a_chain_deeper_than_the_setting_raises_tw109(stories: Workspace) -> None:
    con = stories.store.con

    run = run_indicators(con, from_toml({"flags": {}}, "test"), ["TW109"])
    flags = {flag.subject_id: flag for flag in read_flags(con, codes=["TW109"])}
    assert [(item.evaluated, item.flagged) for item in run.runs] == [(1, 1)]
    assert flags[TRACING].value == 3 and flags[TRACING].evidence["path"] == PATH
    assert flags[TRACING].sentence.startswith(
        "The work is subcontracted 3 levels below the prime contractor (Orbitant"
    )

    run = run_indicators(con, from_toml({"flags": {"TW109": {"max_depth": 3}}}, "test"), ["TW109"])
    assert [(item.evaluated, item.flagged) for item in run.runs] == [(1, 0)]


@pytest.mark.skipif(
    "subcontract_chains" not in tables(), reason="the services tables are not registered in the store's table groups"
)
def test_a_chain_lengthened_by_the_subcontracting_file_is_flagged_afresh(stories: Workspace, tmp_path: Path) -> None:
    first = stories.flags(["TW109"])
    assert stories.flags(["TW109"]).run.runs[0].reused, "nothing changed, so the kept result stands"
    assert [flag.value for flag in first.flags if flag.subject_id == TRACING] == [3]

    settings = services_settings(tmp_path)
    settings.subcontracting_file.write_text(
        "links:\n"
        "  - ocid: ocds-twdemo-000004\n"
        "    contractor: Ashvane Payroll Services Ltd\n"
        "    subcontractor: Corrowmouth Umbrella Company Ltd\n"
        "    source_url: https://example.org/scrutiny-report\n"
        "    source_title: Scrutiny committee report on the tracing service\n",
        encoding="utf-8",
    )
    build_services(stories.store.con, settings)

    after = stories.flags(["TW109"])
    assert not after.run.runs[0].reused, "the chains changed, so TW109 must run again"
    assert [flag.value for flag in after.flags if flag.subject_id == TRACING] == [4]
