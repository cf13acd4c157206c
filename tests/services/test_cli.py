"""The `services` commands, run through Typer as a user runs them (the lead registers the sub-app as
`tenderwatch services`), on a copy of the demo stories store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenderwatch.cli.services import app
from tenderwatch.exceptions import InputError

runner = CliRunner()


@pytest.fixture
def db(stories_store: Path, tmp_path: Path) -> str:
    path = tmp_path / "stories.duckdb"
    shutil.copyfile(stories_store, path)
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_risk_shows_the_score_its_parts_and_their_evidence(db: str) -> None:
    code, out, _ = run("risk", "--buyer", "Ravensholt", "--db", db)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Children's therapies for Ravensholt Borough Council: continuity risk 80 of 100 (high)")
    assert (
        "    duties at stake: Children and Families Act 2014, section 42; National Health Service Act 2006, section 3"
        in lines
    )
    assert "    Providers' exits and early ends: 1.00 (weight 1.0)" in lines
    assert "      provider: Tresswyn Therapy Services Ltd, 80% of the service (not public)" in lines
    assert any(
        line.startswith("      2021-07-12 provider_exit: Tresswyn Therapy Services Ltd's contract") for line in lines
    )
    assert any(
        line.startswith("      urgency award ocds-twdemo-000009: The contract was awarded without") for line in lines
    )
    assert lines[-1] == "1 services"


def test_exit_lists_the_services_duties_and_other_providers_nearby(db: str) -> None:
    code, out, _ = run("exit", "Tresswyn Therapy Services", "--db", db)

    assert code == 0
    assert out.splitlines()[0] == (
        "If Tresswyn Therapy Services Ltd walked away, 2 statutory services of 2 public bodies would lose a provider "
        "(0 with a contract in force today), £9,600,000 of contracts, with 2 statutory duties at stake."
    )
    assert (
        "Ravensholt Borough Council: Children's therapies — 80% of the service, £9,600,000 (no contract in force)"
        in out
    )
    assert (
        "    duty at stake: Children and Families Act 2014, section 42 <https://www.legislation.gov.uk/ukpga/2014/6/section/42>"
        in out
    )
    assert "    other providers nearby: Vennmoor Community Health NHS Trust (public)" in out

    code, out, _ = run("exit", "GB-COH-98203318", "--json", "--db", db)
    data = json.loads(out)
    assert data["label"] == "Tresswyn Therapy Services Ltd" and len(data["services"]) == 2
    assert data["totals"] == [{"currency": "GBP", "amount": 9600000.0, "text": "£9,600,000"}]


def test_exit_of_an_unknown_or_ambiguous_supplier_is_a_one_line_error(db: str) -> None:
    with pytest.raises(InputError, match="the store holds no supplier or corporate group 'Nobody Ltd'"):
        run("exit", "Nobody Ltd", "--db", db)
    with pytest.raises(InputError, match="'Ltd' matches several suppliers: "):
        run("exit", "Ltd", "--db", db)


def test_exit_of_a_corporate_group_adds_up_its_companies(db: str) -> None:
    # Organisations as resolution makes them: the therapy provider belongs to a (fictional) group.
    with duckdb.connect(db) as con:
        con.execute("INSERT INTO corporate_groups (group_id, name) VALUES ('tresswyn', 'Tresswyn Care Group')")
        con.execute(
            "INSERT INTO organisations (organisation_id, name, group_id, group_name) VALUES "
            "('GB-COH-98203318', 'Tresswyn Therapy Services Ltd', 'tresswyn', 'Tresswyn Care Group'), "
            "('GB-COH-98311647', 'Quorvale Health Partners Ltd', 'tresswyn', 'Tresswyn Care Group')"
        )

    code, out, _ = run("exit", "tresswyn", "--db", db)

    assert code == 0
    assert out.startswith("If the Tresswyn Care Group group walked away, 3 statutory services of 3 public bodies")
    assert (
        "Coastal Westmarch Clinical Commissioning Group: Community and primary health services — 100% of the service"
        in out
    )


def test_assign_and_unassign_keep_their_corrections_in_the_overrides_file(db: str, tmp_path: Path) -> None:
    code, _, err = run("assign", "ocds-twdemo-000011", "childrens_therapies", "--reason", "paediatric MSK", "--db", db)
    assert code == 0, err
    assert "ocds-twdemo-000011 assigned to childrens_therapies in tenderwatch-services.yaml" in err
    code, _, err = run("unassign", "ocds-twdemo-000009", "childrens_therapies", "--reason", "test", "--db", db)
    assert code == 0, err

    text = (tmp_path / "tenderwatch-services.yaml").read_text(encoding="utf-8")
    assert (
        "- ocid: ocds-twdemo-000011\n  area: childrens_therapies\n  action: assign\n  reason: paediatric MSK\n" in text
    )
    code, out, _ = run("list", "--area", "childrens_therapies", "--db", db)
    assert "ocds-twdemo-000011  Children's therapies  Musculoskeletal services (lead provider)" in out
    assert "    assigned by a correction in the overrides file (override): paediatric MSK (" in out
    assert "ocds-twdemo-000009" not in out

    code, _, err = run("assign", "ocds-twdemo-000011", "childrens_theraphies", "--reason", "typo", "--db", db)
    assert code == 1
    assert err.splitlines()[0].startswith("error: 'childrens_theraphies' is not a service area (one of ")
    assert err.splitlines()[-1] == (
        "tenderwatch-services.yaml was not changed: fix the entries above and try again (docs/statutory-services.md)"
    )


def test_chain_prints_every_link_with_its_source_and_draws_the_graph(db: str, tmp_path: Path) -> None:
    code, out, err = run("chain", "ocds-twdemo-000004", "--svg", str(tmp_path / "chain.svg"), "--db", db)

    assert code == 0
    assert out.splitlines()[:2] == [
        "ocds-twdemo-000002 National contact-tracing service (bought by National Infection Response Agency)",
        "subcontracted 3 levels below the prime contractor",
    ]
    assert (
        "  Sub-sub-subcontractor (level 4): Ashvane Payroll Services Ltd, for Dovrane Staffing Ltd, £11,800,000" in out
    )
    svg = (tmp_path / "chain.svg").read_text(encoding="utf-8")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img"') and "Keystack Contact" in svg
    assert "graph written to" in err


def test_check_and_areas(db: str) -> None:
    code, out, _ = run("check")
    assert code == 0 and out.strip().endswith(": all valid")

    code, out, _ = run("areas", "--json", "--db", db)
    found = {area["area_id"]: area for area in json.loads(out)}
    assert found["childrens_therapies"]["processes"] == 2 and found["childrens_therapies"]["high_risk"] == 2
    assert found["waste"]["duties"][0]["url"] == "https://www.legislation.gov.uk/ukpga/1990/43/section/45"


def test_a_buyer_the_notices_name_without_an_id_is_the_commissioner_of_its_services(
    real_services_store: Path,
) -> None:
    # Contracts Finder's award notices for North Lincolnshire's school taxis name the council with no id
    code, out, _ = run("risk", "--buyer", "North Lincolnshire", "--db", str(real_services_store))

    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Home-to-school transport for North Lincolnshire Council: continuity risk ")
    assert "    duties at stake: Education Act 1996, section 508B" in lines
    assert any(line.startswith("      provider: Premier Cars, ") for line in lines)
    assert any(line.startswith("      provider: Ash Taxis, ") for line in lines)
    with duckdb.connect(str(real_services_store), read_only=True) as con:
        commissioners = con.execute(
            "SELECT DISTINCT commissioner_name, commissioner_id LIKE 'TW-%' FROM service_contracts "
            "WHERE area_id = 'school_transport' AND commissioner_name LIKE 'North Lincolnshire%'"
        ).fetchall()
    assert commissioners == [("North Lincolnshire Council", True)]  # its organisation, as its profile shows it
