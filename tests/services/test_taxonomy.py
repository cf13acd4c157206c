"""The taxonomy shipped with tenderwatch, and how a bad service-areas, overrides or subcontracting file is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tenderwatch.exceptions import SettingsError
from tenderwatch.services import ServicesFileError, load_services_settings, load_taxonomy
from tenderwatch.services.assign import NORMALISE_MACRO, fill_texts
from tenderwatch.services.overrides import read_overrides
from tenderwatch.services.subcontracting import read_subcontracting_file
from tests import ROOT

ISSUE_AREAS = (
    "childrens_therapies",
    "send",
    "adult_social_care",
    "childrens_social_care",
    "public_health_nursing",
    "cancer_end_of_life",
    "community_health",
    "contact_tracing",
    "offender_services",
    "waste",
    "housing",
)


def test_the_shipped_taxonomy_names_each_duty_with_its_provision_on_legislation_gov_uk() -> None:
    taxonomy = load_taxonomy()

    assert set(ISSUE_AREAS) <= {area.area_id for area in taxonomy.areas}
    for area in taxonomy.areas:
        assert area.rules and area.duty_ids, area.area_id
        for duty in taxonomy.duties_of(area.area_id):
            assert duty.url.startswith("https://www.legislation.gov.uk/"), duty.duty_id
    citations = {duty.citation for duty in taxonomy.duties.values()}
    assert {
        "Children and Families Act 2014, section 42",
        "Care Act 2014, section 5",
        "Care Act 2014, sections 48 to 57",
        "Children Act 1989, section 17",
        "National Health Service Act 2006, section 3",
        "Health and Social Care Act 2012, section 12",
    } <= citations
    assert next(duty.citation for duty in taxonomy.duties_of("childrens_therapies")) == (
        "Children and Families Act 2014, section 42"
    )


def test_a_bad_service_areas_file_is_refused_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "areas.yaml"
    path.write_text(
        "duties:\n"
        "  - {id: d1, legislation: Some Act, provision: section 1, summary: A duty., url: not-a-url}\n"
        "areas:\n"
        "  - id: area_one\n"
        "    name: Area one\n"
        "    description: An area.\n"
        "    duties: [d1, d2]\n"
        "    rules:\n"
        "      - {id: r1, text: '(unclosed'}\n"
        "      - {id: r2}\n"
        "colour: blue\n",
        encoding="utf-8",
    )

    with pytest.raises(ServicesFileError) as caught:
        load_taxonomy(path)

    problems = caught.value.problems
    assert "areas.yaml: colour: is not a section of a service-areas file" in problems
    assert "areas.yaml: duty 1: url 'not-a-url' is not a web address" in problems
    assert "areas.yaml: area area_one: duties: 'd2' is not a duty of the file" in problems
    assert any(
        problem.startswith("areas.yaml: area area_one: rule r1: text: /(unclosed/ is not a valid")
        for problem in problems
    )
    assert "areas.yaml: area area_one: rule r2: give a cpv, text or title condition" in problems


def test_an_overrides_file_with_unknown_areas_or_no_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(
        "overrides:\n"
        "  - {ocid: ocds-twdemo-000008, area: childrens_theraphies, reason: typo in the area}\n"
        "  - {ocid: ocds-twdemo-000009, area: send, action: remove, reason: wrong action}\n"
        "  - {ocid: ocds-twdemo-000010, area: send}\n",
        encoding="utf-8",
    )

    with pytest.raises(ServicesFileError) as caught:
        read_overrides(path, load_taxonomy())

    problems = caught.value.problems
    assert problems[0].startswith(
        "overrides.yaml: entry 1: area: 'childrens_theraphies' is not a service area (one of "
    )
    assert problems[1] == "overrides.yaml: entry 2: action: 'remove' must be assign or unassign"
    assert problems[2] == "overrides.yaml: entry 3: reason is missing: say why, so the next reader can check it"
    assert "fix the entries named and try again" in str(caught.value)


def test_a_subcontracting_link_needs_a_public_source(tmp_path: Path) -> None:
    path = tmp_path / "subcontracts.csv"
    path.write_text(
        "ocid,contractor,subcontractor,contractor_id,source_url,source_title,value\n"
        "ocds-twdemo-000002,Orbitant Public Services plc,Keystack Contact Solutions Ltd,GB-COH-98314276,,,12\n"
        "ocds-twdemo-000002,Keystack,Dovrane,COH 123,https://example.org/report,A report,\n",
        encoding="utf-8",
    )

    with pytest.raises(ServicesFileError) as caught:
        read_subcontracting_file(path)

    assert caught.value.problems == [
        "subcontracts.csv: row 1 (line 2): source_url is missing: every link needs a public source",
        "subcontracts.csv: row 1 (line 2): source_title is missing: give the title of the source, so it can be found "
        "again",
        "subcontracts.csv: row 1 (line 2): currency is missing: give the currency of the value, such as GBP",
        "subcontracts.csv: row 2 (line 3): contractor_id: 'COH123' is not in org-id form (scheme, then the number, "
        "such as GB-COH-01234567)",
    ]


def test_settings_of_the_services_table_are_checked() -> None:
    assert load_services_settings({"services": {"weights": {"urgency_awards": 3}}}).weights.urgency_awards == 3

    with pytest.raises(SettingsError, match=r"unknown setting 'services.weights.urgency'"):
        load_services_settings({"services": {"weights": {"urgency": 3}}})
    with pytest.raises(SettingsError, match=r"setting 'services' is invalid: hhi_low must not be above hhi_high"):
        load_services_settings({"services": {"hhi_low": 3000, "hhi_high": 2000}})


def test_the_documentation_lists_every_area_and_links_every_duty() -> None:
    page = (ROOT / "docs" / "statutory-services.md").read_text(encoding="utf-8")
    taxonomy = load_taxonomy()

    for area in taxonomy.areas:
        assert f"(`{area.area_id}`)" in page, area.area_id
    for duty in taxonomy.duties.values():
        assert duty.url in page, duty.duty_id


def test_the_texts_rules_read_are_the_same_gathered_in_slices_as_at_once(real_store: Path, tmp_path: Path) -> None:
    # a large store gathers its texts a slice of processes at a time, to stay within the memory limit
    copy = tmp_path / "real.duckdb"
    shutil.copyfile(real_store, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(NORMALISE_MACRO)
        fill_texts(con, size=10**9)
        con.execute("CREATE TEMP TABLE whole AS SELECT * FROM tmp_sv_text")
        assert con.execute("SELECT count(*) FROM whole").fetchall() == [(1616,)]
        assert con.execute("SELECT count(*) FROM whole WHERE body <> ''").fetchall()[0][0] > 1500
        for size in (97, 1615, 1616):  # 17 slices of the 1,616 processes; 2, the last of one process; 1
            fill_texts(con, size=size)
            sliced = "SELECT * FROM tmp_sv_text"
            assert con.execute(f"SELECT * FROM whole EXCEPT ALL {sliced}").fetchall() == []
            assert con.execute(f"{sliced} EXCEPT ALL SELECT * FROM whole").fetchall() == []
    finally:
        con.close()
