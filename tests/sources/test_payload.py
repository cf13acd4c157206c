"""Pages are parsed strictly first; the known repairs are tried only when that fails, and never touch text."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from tenderwatch.sources.payload import PageError, find_next_link, read_page


def test_a_page_that_parses_is_stored_byte_for_byte(real: Path) -> None:
    raw = (real / "uk_fts_2026-09-03_page1_excerpt.json").read_bytes()

    page = read_page(raw)

    assert page.data is raw
    assert page.repairs == []
    assert len(page.value["releases"]) == 5


def test_the_1e9999_find_a_tender_sent_is_written_as_9999999_and_text_is_left_alone(real: Path) -> None:
    raw = (real / "uk_fts_2026-09-03_page5_excerpt.json").read_bytes()
    damaged = raw.replace(b'"tender": {', b'"tender": {"maximumLotsBidPerSupplier": 1e9999, "note": "1e9999 000",', 1)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(damaged)

    page = read_page(damaged)

    tender = next(
        release["tender"]
        for release in page.value["releases"]
        if "maximumLotsBidPerSupplier" in release.get("tender", {})
    )
    assert tender["maximumLotsBidPerSupplier"] == 9999999
    assert tender["note"] == "1e9999 000"
    assert page.repairs == ["1 number(s) too large for JSON (such as 1e9999) written as 9999999"]
    assert not any(isinstance(value, float) and not math.isfinite(value) for value in _numbers(page.value))


def test_numbers_with_leading_zeros_lose_them() -> None:
    page = read_page(b'{"releases": [{"id": "1", "value": {"amount": 000, "other": -007.50}, "text": " 000,"}]}')

    release = page.value["releases"][0]
    assert release["value"] == {"amount": 0, "other": -7.5}
    assert release["text"] == " 000,"
    assert page.repairs == ["leading zeros removed from 2 number(s)"]


def test_bytes_that_are_not_utf8_are_read_as_windows_1252() -> None:
    raw = '{"title": "Café services, £5,000 “fees”"}'.encode("cp1252")

    page = read_page(raw)

    assert page.value["title"] == "Café services, £5,000 “fees”"
    assert page.repairs == ["bytes that are not UTF-8 read as Windows-1252"]


def test_a_page_cut_short_still_fails_with_the_parsers_message_and_its_next_link_can_be_found(real: Path) -> None:
    raw = (real / "uk_fts_2026-09-03_page1_excerpt.json").read_bytes()
    cut = raw[:1000] + raw[-400:]

    with pytest.raises(PageError, match="invalid JSON"):
        read_page(cut)
    assert find_next_link(cut).startswith("https://www.find-tender.service.gov.uk/api/1.0/ocdsReleasePackages?")
    assert find_next_link(raw[:1000]) is None


def _numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [number for item in value.values() for number in _numbers(item)]
    if isinstance(value, list):
        return [number for item in value for number in _numbers(item)]
    return [value] if isinstance(value, (int, float)) else []
