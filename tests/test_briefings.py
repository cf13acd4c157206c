"""Briefing packs for every demo story, in HTML, Markdown and a real PDF checked with poppler's tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.demo import build_demo
from tests import run_cli
from tests.records import load_releases
from tests.records.test_derived import performance_histories  # notices with UK9 failures

STORIES = [f"ocds-twdemo-{number:06d}" for number in range(1, 12)]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("briefs") / "demo.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        build_demo(workspace, size=300)
    return db


def test_every_story_has_a_pack_in_every_format(demo_store: Path, tmp_path: Path) -> None:
    for ocid in STORIES:
        for output in ("md", "html"):
            result = run_cli("brief", "process", ocid, "--format", output, db=demo_store)
            assert result.returncode == 0, result.stderr
            text = result.stdout
            assert "Questions to ask" in text and "Sources" in text and "Freedom of Information" in text
            assert "Demo data." in text
    md = run_cli("brief", "process", "ocds-twdemo-000009", "--format", "md", db=demo_store).stdout
    # Every citation points at a numbered source that exists.
    cited = {int(number) for number in re.findall(r"\[(\d+)\]", md)}
    listed = {int(number) for number in re.findall(r"^(\d+)\. ", md.split("## Sources")[1], re.MULTILINE)}
    assert cited and cited <= listed


def test_questions_come_from_the_facts(demo_store: Path) -> None:
    urgent = run_cli("brief", "process", "ocds-twdemo-000009", "--format", "md", db=demo_store).stdout
    assert "awarded without an open competition" in urgent
    assert "made the need so urgent" in urgent
    assert "extend the contract to 2023-08-31" in urgent
    assert "Section 1 of the Freedom of Information Act 2000".lower() in urgent.lower()
    assert "the records showing when the need first became known" in urgent
    terminated = run_cli("brief", "process", "ocds-twdemo-000008", "--format", "md", db=demo_store).stdout
    assert "Why did this contract end early" in terminated
    assert "notice given by the provider" in terminated
    open_tender = run_cli("brief", "process", "ocds-twdemo-000006", "--format", "md", db=demo_store).stdout
    assert "made the need so urgent" not in open_tender


def test_the_tracing_contract_pack_shows_the_award_the_winners_earlier_penalty_and_the_chain(
    demo_store: Path,
) -> None:
    # the first story: in one place, how the contract was awarded, the winner's record and who works below it
    md = run_cli("brief", "process", "ocds-twdemo-000002", "--format", "md", db=demo_store).stdout
    sources = md.split("## Sources")[1]
    assert "**How it was bought:** Award procedure without prior publication of a call for competition" in md
    assert "Keystack Contact Solutions Ltd → Dovrane Staffing Ltd → Ashvane Payroll Services Ltd" in md
    record = md.split("## Track record")[1].split("\n## ")[0]
    penalty = re.search(r"Orbitant Public Services plc paid Department for Courts and Rehabilitation £19,000,000 "
                        r"on 3 July 2019 .*\"Penalty of about £19m over fraud on the tagging contract\"\. \[(\d+)\]",
                        record)  # fmt: skip
    assert penalty, record
    # cited to the notice of the tagging contract that published it
    assert re.search(rf"^{penalty.group(1)}\. .*ocds-twdemo-000001", sources, re.MULTILINE), sources
    assert "How did the buyer take account of this event in the supplier's record" in md


def test_the_healthy_child_pack_brings_up_the_failed_musculoskeletal_contract_nearby(demo_store: Path) -> None:
    # the second story: the lessons of an earlier failure, a health commissioner's musculoskeletal contract in the
    # same county, belong in front of the councillors
    md = run_cli("brief", "process", "ocds-twdemo-000010", "--format", "md", db=demo_store).stdout
    section = md.split("## Failures of other contracts here and nearby")[1].split("\n## ")[0]
    assert "public bodies in the same region (Westmarch)" in section
    failure = re.search(r"^- 2018-03-29: Coastal Westmarch Clinical Commissioning Group published on 29 March 2018 "
                        r"that the contract \"Musculoskeletal services \(lead provider\)\" with Quorvale Health "
                        r"Partners Ltd was terminated.* \[(\d+)\]$", section, re.MULTILINE)  # fmt: skip
    assert failure, section
    sources = md.split("## Sources")[1]
    assert re.search(
        rf"^{failure.group(1)}\. notice ocds-twdemo-000011-03-contractTermination of ocds-twdemo-000011",
        sources,
        re.MULTILINE,
    ), sources
    assert "What lessons were drawn from earlier failures of outsourced contracts here" in md
    assert "lessons-learned report or risk assessment" in md.split("Freedom of Information request")[1]
    html = run_cli("brief", "process", "ocds-twdemo-000010", "--format", "html", db=demo_store).stdout
    assert "<h2>Failures of other contracts here and nearby</h2>" in html and "Quorvale Health Partners Ltd" in html
    # the children's therapies of Ravensholt: no other contract failed there, so no such section or question
    alone = run_cli("brief", "process", "ocds-twdemo-000008", "--format", "md", db=demo_store).stdout
    assert "other contracts here and nearby" not in alone and "What lessons were drawn" not in alone


def test_a_bidders_record_is_in_the_pack_of_the_tender_it_bids_for(tmp_path: Path) -> None:
    # the third story: campaigners put each bidder's record of failures in front of the public
    db = tmp_path / "stories.duckdb"
    stories = Path(str(resources.files("tenderwatch.demo").joinpath("stories/stories.jsonl")))
    assert run_cli("load", str(stories), db=db).returncode == 0
    register = tmp_path / "register.csv"
    register.write_text(
        "event_type,event_date,organisation_identifier,organisation_name,source_url,source_title,summary\n"
        "service_handed_back,2015-01-09,GB-COH-98126608,Lumenvale Healthcare Ltd,https://example.org/hand-back,"
        "Hand-back of a hospital (Example News),Lumenvale Healthcare Ltd handed a hospital back to the NHS.\n",
        encoding="utf-8",
    )
    assert run_cli("register", "import", str(register), db=db).returncode == 0

    md = run_cli("brief", "process", "ocds-twdemo-000006", "--format", "md", db=db).stdout

    record = md.split("## Track record")[1].split("\n## ")[0]
    event = re.search(r"^- 2015-01-09: Lumenvale Healthcare Ltd handed a hospital back to the NHS\. \[(\d+)\]$",
                      record, re.MULTILINE)  # fmt: skip
    assert event, record
    assert re.search(rf"^{event.group(1)}\. Hand-back of a hospital \(Example News\) — https://example.org/hand-back$",
                     md.split("## Sources")[1], re.MULTILINE)  # fmt: skip
    assert "How does the buyer weigh this event in the record of a bidder for this contract: Lumenvale" in md


def test_a_party_id_other_processes_also_use_brings_none_of_their_records(real_store: Path) -> None:
    # Contracts Finder numbers the parties of each notice 0, 1, 2…: its party "0" is a coach company in one process
    # and Serco Limited in another, and only the second may carry Serco's record
    coaches = "ocds-b5fd17-a26f2fdf-5348-4a78-bbaf-ff8954f9d4fd"
    serco = "ocds-0c46vo-0001-6a3ed9ea-3c34-4e76-badb-a6828f81b5bd"
    con = duckdb.connect(str(real_store), read_only=True)
    try:
        named = dict(con.execute(
            "SELECT ocid, name FROM award_suppliers WHERE party_id = '0' AND ocid IN (?, ?)", [coaches, serco]
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    assert named == {coaches: "A C Williams Coaches", serco: "SERCO LIMITED"}

    other = run_cli("brief", "process", coaches, "--format", "md", db=real_store)
    own = run_cli("brief", "process", serco, "--format", "md", db=real_store)

    assert other.returncode == 0 and own.returncode == 0, other.stderr + own.stderr
    assert "Serco" not in other.stdout and "## Track record" not in other.stdout
    assert "Serco agreed to repay the Ministry of Justice £68.5m" in own.stdout.split("## Track record")[1]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed (CI installs it)")
def test_pdf_is_a4_with_the_facts_and_sources_and_not_blank(demo_store: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "pack.pdf"
    result = run_cli("brief", "process", "ocds-twdemo-000002", "--format", "pdf", "--out", str(pdf), db=demo_store)
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info or "A4" in info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "National contact-tracing service" in text
    assert "£108,000,000" in text
    assert "Orbitant Public Services plc" in text
    assert "Sources" in text and "ocds-twdemo-000002-01-award" in text
    assert re.search(r"page 1 of \d", text)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    from PIL import Image

    page = next(tmp_path.glob("page*.png"))
    grey = Image.open(page).convert("L")
    dark = sum(count for count, value in grey.getcolors(1 << 16) if value < 128)
    assert dark > 500, "the first page is blank"


def test_buyer_and_supplier_packs(demo_store: Path) -> None:
    buyer = run_cli("brief", "buyer", "GB-GOR-D9802", "--format", "md", db=demo_store)
    assert buyer.returncode == 0, buyer.stderr
    assert "Department for Courts and Rehabilitation" in buyer.stdout and "Questions to ask" in buyer.stdout
    # the buyer's draft FOI request asks about its contracts with outside providers, naming its main suppliers;
    # a pack of an organisation has no "this contract" to ask about
    foi = buyer.stdout.split("## Freedom of Information request (draft)")[1].split("\n## ")[0]
    assert "To: the Freedom of Information officer, Department for Courts and Rehabilitation" in foi
    assert "information about your contracts with outside providers:" in foi
    assert "performance reports of your contracts with " in foi
    assert "this contract" not in foi
    with duckdb.connect(str(demo_store), read_only=True) as con:
        supplier_id, supplier_name, buyer_name = con.execute(
            "SELECT s.party_id, s.name, p.buyer_name FROM award_suppliers AS s JOIN processes AS p USING (ocid) "
            "WHERE ocid = 'ocds-twdemo-000002'"
        ).fetchall()[0]
    supplier = run_cli("brief", "supplier", supplier_id, "--format", "md", db=demo_store)
    assert supplier.returncode == 0, supplier.stderr
    foi = supplier.stdout.split("## Freedom of Information request (draft)")[1].split("\n## ")[0]
    # to its main buyer (the tracing contract's), about every contract with it
    assert f"To: the Freedom of Information officer, {buyer_name}" in foi
    assert f"information about your contracts with {supplier_name}:" in foi
    assert "notice of termination" in foi and "this contract" not in foi
    missing = run_cli("brief", "supplier", "nobody", db=demo_store)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: the store holds no supplier named 'nobody' or with that id")
    assert "`tenderwatch org show NAME`" in missing.stderr  # where to find the id


def test_a_buyer_is_found_by_its_name_and_a_name_that_fits_several_asks_which(real_store: Path) -> None:
    # Contracts Finder's notices name North Lincolnshire Council with no id
    pack = run_cli("brief", "buyer", "north lincolnshire", "--format", "md", db=real_store)
    assert pack.returncode == 0, pack.stderr
    assert pack.stdout.startswith("# North Lincolnshire Council\n") and "Premier Cars" in pack.stdout
    several = run_cli("brief", "buyer", "Cambridgeshire", "--format", "md", db=real_store)
    assert several.returncode == 1 and several.stdout == ""
    line = several.stderr.strip()
    assert line.startswith("error: the name 'Cambridgeshire' fits 2 buyers: ") and len(line.splitlines()) == 1
    assert "Cambridgeshire County Council (TW-" in line and line.endswith("give the id of the one you mean")
    # a supplier's name is no buyer
    supplier = run_cli("brief", "buyer", "Premier Cars", db=real_store)
    assert supplier.returncode == 1 and "holds no buyer named 'Premier Cars'" in supplier.stderr


def test_a_failure_under_the_contract_itself_asks_what_the_buyer_did_about_it(tmp_path: Path) -> None:
    db = tmp_path / "uk9.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        load_releases(workspace, tmp_path, performance_histories())
    md = run_cli("brief", "process", "ocds-t3st01-p13", "--format", "md", db=db).stdout
    assert (
        "What has the buyer done about this, and how has the service been delivered since: Axford Council published "
        'on 10 March 2025 a failure to perform the contract "Home care, north and south" by Sample Care Ltd.' in md
    )
    assert "Penalty: £25,000 (imposed)" in md
    assert "when it chose them" not in md  # the failures came after the award, under this contract
    assert ".?" not in md


def test_a_store_made_before_copies_were_recorded_gives_a_profiles_pack(demo_store: Path, tmp_path: Path) -> None:
    # a store of the version before has no process_copies table, and a pack reads the store without changing it
    older = tmp_path / "older.duckdb"
    shutil.copy(demo_store, older)
    with duckdb.connect(str(older)) as con:
        con.execute("DROP TABLE process_copies")

    pack = run_cli("brief", "buyer", "GB-GOR-D9802", "--format", "md", db=older)

    assert pack.returncode == 0, pack.stderr
    assert "Department for Courts and Rehabilitation" in pack.stdout
