"""The demo stories, as a user meets them: the Barnet-style children's therapies story shows the duty at risk, the
provider's exit, the urgency award and a high continuity score with its evidence; the assignment of each story to
its service area names its rule; corrections survive a rebuild; the weights come from the settings file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tenderwatch import Workspace
from tenderwatch.services import build_services
from tests.services.conftest import analyse_services, services_settings


def test_each_story_is_assigned_to_its_service_area_by_a_named_rule(stories_store: Path) -> None:
    with duckdb.connect(str(stories_store), read_only=True) as con:
        found = {
            (ocid, area): (method, rule, evidence)
            for ocid, area, method, rule, evidence in con.execute(
                "SELECT ocid, area_id, method, rule_id, evidence FROM service_assignments"
            ).fetchall()
        }

    assert found[("ocds-twdemo-000008", "childrens_therapies")] == (
        "text",
        "therapy-for-children",
        '"Integrated therapies", "children"',
    )
    assert ("ocds-twdemo-000009", "childrens_therapies") in found
    assert found[("ocds-twdemo-000002", "contact_tracing")][1] == "contact-tracing"
    assert found[("ocds-twdemo-000001", "offender_services")][2] == '"Electronic monitoring"'
    assert found[("ocds-twdemo-000007", "hospital_services")][0] == "text"
    assert ("ocds-twdemo-000006", "cancer_end_of_life") in found
    assert ("ocds-twdemo-000010", "public_health_nursing") in found
    # therapy written into EHC plans is the children's therapies service, not a second (SEND) service
    assert ("ocds-twdemo-000008", "send") not in found


def test_the_barnet_story_shows_the_duty_the_exit_the_urgency_award_and_a_high_score(stories_store: Path) -> None:
    with duckdb.connect(str(stories_store), read_only=True) as con:
        columns = [row[0] for row in con.execute("DESCRIBE service_continuity").fetchall()]
        row = dict(
            zip(
                columns,
                con.execute(
                    "SELECT * FROM service_continuity "
                    "WHERE commissioner_name = 'Ravensholt Borough Council' AND area_id = 'childrens_therapies'"
                ).fetchone(),
                strict=True,
            )
        )
    evidence = json.loads(row["evidence"])

    assert row["band"] == "high" and row["score"] >= 75
    assert row["duties"][0] == "Children and Families Act 2014, section 42"
    assert evidence["duties"][0]["url"] == "https://www.legislation.gov.uk/ukpga/2014/6/section/42"
    exits = {(event["event_type"], event["organisation_name"]) for event in evidence["events"]}
    assert ("provider_exit", "Tresswyn Therapy Services Ltd") in exits
    assert ("terminated_early", "Tresswyn Therapy Services Ltd") in exits
    assert [award["ocid"] for award in evidence["urgency_awards"]] == ["ocds-twdemo-000009"]
    assert "32(2)(c)" in evidence["urgency_awards"][0]["sentence"]
    assert row["top_provider_name"] == "Tresswyn Therapy Services Ltd" and row["top_share"] == 0.8
    assert row["part_provider_exits"] == 1 and row["part_urgency_awards"] == 1 and row["part_time_left"] == 1
    assert not row["in_force"] and evidence["dates"]["latest_possible_end"] == "2023-08-31"
    assert [provider["public"] for provider in evidence["providers"]] == [False, True]
    assert row["sentence"].startswith(
        "Children's therapies for Ravensholt Borough Council: continuity risk 80 of 100 (high): Tresswyn Therapy "
        "Services Ltd holds 80% of it; 2 exits or early ends in its providers' record;"
    )
    assert row["sentence"].endswith("it was bought without competition on grounds of urgency.")


def test_the_weights_of_the_settings_file_change_the_score(stories: Workspace, tmp_path: Path) -> None:
    weights = {"dominant_provider": 0, "no_public_provider": 0, "provider_exits": 0, "market_concentration": 0,
               "time_left": 0, "urgency_awards": 0, "provider_warnings": 1}  # fmt: skip
    settings = services_settings(tmp_path, weights=weights)

    build_services(stories.store.con, settings)

    score, evidence = stories.store.con.execute(
        "SELECT score, evidence FROM service_continuity WHERE commissioner_name = 'Ravensholt Borough Council'"
    ).fetchone()
    assert score == 0
    assert json.loads(evidence)["weights"]["provider_warnings"] == 1


def test_a_correction_survives_a_rebuild(stories: Workspace, tmp_path: Path) -> None:
    settings = services_settings(tmp_path)
    settings.overrides_file.write_text(
        "overrides:\n"
        "  - ocid: ocds-twdemo-000010\n"
        "    area: childrens_social_care\n"
        "    action: unassign\n"
        "    reason: The early help lots were withdrawn before the award.\n"
        "  - ocid: ocds-twdemo-000011\n"
        "    area: childrens_therapies\n"
        "    reason: The service includes paediatric physiotherapy.\n",
        encoding="utf-8",
    )

    stories.rebuild()
    result = analyse_services(stories, settings)

    con = stories.store.con
    areas = {row[0] for row in con.execute("SELECT area_id FROM service_assignments WHERE ocid = 'ocds-twdemo-000010'")
             .fetchall()}  # fmt: skip
    assert "childrens_social_care" not in areas and "public_health_nursing" in areas
    method, evidence = con.execute(
        "SELECT method, evidence FROM service_assignments "
        "WHERE ocid = 'ocds-twdemo-000011' AND area_id = 'childrens_therapies'"
    ).fetchone()
    assert method == "override" and evidence == "The service includes paediatric physiotherapy."
    assert result.overrides == 2 and result.by_method["override"] == 1


def test_a_performance_failure_in_the_notices_is_a_warning_about_the_provider(
    stories: Workspace, tmp_path: Path
) -> None:
    # a contract performance notice (UK9) for the children's therapies contract, before it ended
    notice = {
        "ocid": "ocds-twdemo-000008", "id": "ocds-twdemo-000008-uk9", "date": "2020-11-02T09:00:00Z",
        "tag": ["implementation"],
        "contracts": [{"id": "RBC-2018-CIT-C1", "awardID": "RBC-2018-CIT-A1",
                       "documents": [{"id": "n9", "documentType": "implementationNotice", "noticeType": "UK9"}],
                       "implementation": {"performanceFailures": [{
                           "requirement": "Assessments within 18 weeks", "description": "Waiting lists doubled",
                           "suppliers": [{"id": "GB-COH-98203318", "name": "Tresswyn Therapy Services Ltd"}]}]}}],
    }  # fmt: skip
    path = tmp_path / "uk9.jsonl"
    path.write_text(json.dumps(notice) + "\n")
    settings = services_settings(tmp_path)
    before = stories.store.con.execute(
        "SELECT part_provider_warnings FROM service_continuity WHERE area_id = 'childrens_therapies' "
        "AND commissioner_name = 'Ravensholt Borough Council'"
    ).fetchone()
    stories.load([str(path)])
    analyse_services(stories, settings)

    part, events, sentence = stories.store.con.execute(
        "SELECT part_provider_warnings, evidence->'events', sentence FROM service_continuity "
        "WHERE area_id = 'childrens_therapies' AND commissioner_name = 'Ravensholt Borough Council'"
    ).fetchone()
    assert before == (0.0,) and part == 1
    found = {(event["event_type"], event["organisation_name"]) for event in json.loads(events)}
    assert ("performance_failure", "Tresswyn Therapy Services Ltd") in found
    assert "1 warning" in sentence
