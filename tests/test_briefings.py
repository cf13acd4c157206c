"""Briefing packs for every demo story, in HTML, Markdown and a real PDF checked with poppler's tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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
    missing = run_cli("brief", "supplier", "nobody", db=demo_store)
    assert missing.returncode == 1 and missing.stderr.startswith("error: the store holds no supplier 'nobody'")
    assert "`tenderwatch org show NAME`" in missing.stderr  # where to find the id


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
