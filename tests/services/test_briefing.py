"""Briefing packs (as `tenderwatch brief` and the web app make them) with the statutory-services facts: the duties at
stake (cited to legislation.gov.uk), the continuity risk, the exit scenario and the subcontracting chain, with the
questions they raise."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tenderwatch.briefings import build_brief
from tenderwatch.briefings.render import to_markdown


def test_a_process_pack_cites_the_duty_at_stake_and_asks_about_contingency(stories_store: Path) -> None:
    with duckdb.connect(str(stories_store), read_only=True) as con:
        brief = build_brief(con, "process", "ocds-twdemo-000008")

    facts = {fact.label: fact for fact in brief.facts}
    duty = next(fact for fact in brief.facts if fact.label == "Statutory duty at stake")
    assert duty.text.startswith("Children and Families Act 2014, section 42: The local authority must secure")
    assert brief.sources[duty.source - 1].url == "https://www.legislation.gov.uk/ukpga/2014/6/section/42"
    assert facts["Continuity risk"].text.startswith("Children's therapies for ")
    assert facts["If the supplier walked away"].text.startswith("If Tresswyn Therapy Services Ltd walked away")
    assert any(
        question.text.startswith("If the provider of children's therapies for Ravensholt Borough Council stopped")
        for question in brief.questions
    )
    markdown = to_markdown(brief)
    assert "Children and Families Act 2014, section 42 (legislation.gov.uk)" in markdown


def test_a_supplier_pack_holds_the_exit_scenario_and_a_process_pack_the_chain(stories_store: Path) -> None:
    with duckdb.connect(str(stories_store), read_only=True) as con:
        supplier = build_brief(con, "supplier", "GB-COH-98203318")
        tracing = build_brief(con, "process", "ocds-twdemo-000002")

    depends = [fact.text for fact in supplier.facts if fact.label == "Depends on it"]
    assert depends == [
        "Children's therapies for Greyvale Clinical Commissioning Group: 80% of it; other providers nearby: Vennmoor "
        "Community Health NHS Trust",
        "Children's therapies for Ravensholt Borough Council: 80% of it; other providers nearby: Vennmoor Community "
        "Health NHS Trust",
    ]
    chain = next(fact for fact in tracing.facts if fact.label == "Subcontracting chain")
    assert chain.text.startswith("3 levels below the prime contractor: Orbitant Public Services plc → Keystack")
    assert any(question.text.startswith("Who actually delivers this service") for question in tracing.questions)
