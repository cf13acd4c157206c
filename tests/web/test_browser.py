"""The web app in a real headless Chromium (Debian's chromium package, driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (CI installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def test_search_open_a_supplier_and_follow_a_flag_to_its_evidence(browser, server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    blocked = []
    page.on("request", lambda request: blocked.append(request.url) if not request.url.startswith(server) else None)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(server + "/")
    page.fill("#q", "contact tracing")
    page.click(".search-big button")
    page.click("text=National contact-tracing service")
    assert page.locator("h1").inner_text() == "National contact-tracing service"
    page.click("a[href^='/suppliers/']:has-text('Orbitant Public Services plc')")
    assert "Orbitant Public Services plc" in page.locator("h1").inner_text()

    page.goto(server + "/flags?code=R018")
    page.locator("ol.results a").first.click()
    flag = page.locator("li.flag", has_text="Only one bid was received").first
    assert "R018" in flag.inner_text()
    flag.locator("summary").click()
    assert "counted from" in flag.locator("dl").inner_text()

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    from PIL import Image

    colours = Image.open(shot).convert("L").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20, "the screenshot is blank"
    assert not blocked, f"the page asked another site for {blocked[:3]}"
    assert not errors, errors


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_filter_forms_keep_each_control_in_its_own_place(browser, server: str) -> None:
    # a long option (a service area's name) once widened its list over the next control
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    for path in ("/services/risk", "/search?q=care"):
        page.goto(server + path)
        boxes = [
            box
            for control in page.locator("form.filters input, form.filters select, form.filters button").all()
            if (box := control.bounding_box()) is not None
        ]
        assert len(boxes) >= 4, path
        for i, first in enumerate(boxes):
            for second in boxes[i + 1 :]:
                assert not _overlap(first, second), (path, first, second)


def test_a_fact_of_where_a_contract_stands_leads_to_its_notice(browser, server: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(server + "/processes/ocds-twdemo-000008")
    page.locator("section.lifecycle a", has_text="contractTermination").click()
    assert page.url.endswith("#notice-ocds-twdemo-000008-04-contractTermination")
    target = page.locator("li:target")
    assert "ocds-twdemo-000008-04-contractTermination" in target.inner_text()
    assert target.is_visible()
