"""Names and postcodes are normalised so that spellings of one name compare equal."""

from __future__ import annotations

import pytest

from tenderwatch.resolve import name_key, normalise_name, normalise_postcode


@pytest.mark.parametrize(
    ("name", "normalised", "key"),
    [
        ("The Serco Limited.", "SERCO LTD", "SERCO"),
        ("SERCO LTD", "SERCO LTD", "SERCO"),
        ("Serco Group plc", "SERCO GROUP PLC", "SERCO GROUP"),
        ("Korvale Care Public Limited Company", "KORVALE CARE PLC", "KORVALE CARE"),
        ("Spence &amp; Partners Limited", "SPENCE AND PARTNERS LTD", "SPENCE AND PARTNERS"),
        ("The Queen Elizabeth Hospital King&#039;s Lynn", "QUEEN ELIZABETH HOSPITAL KINGS LYNN", None),
        ("Children's Society", "CHILDRENS SOCIETY", "CHILDRENS SOCIETY"),
        ("Acme Care Ltd t/a Best Care", "ACME CARE LTD", "ACME CARE"),
        ("Kent County Council (t/a KCS)", "KENT COUNTY COUNCIL", "KENT COUNTY COUNCIL"),
        ("ARCADIS (UK) LIMITED", "ARCADIS UK LTD", "ARCADIS UK"),
        ("Société Générale SA", "SOCIETE GENERALE SA", "SOCIETE GENERALE"),
        ("Bristow & Sutor", "BRISTOW AND SUTOR", "BRISTOW AND SUTOR"),
        ("   ", None, None),
    ],
)
def test_names_are_normalised(name: str, normalised: str | None, key: str | None) -> None:
    assert normalise_name(name) == normalised
    assert name_key(name) == (key if key is not None or normalised is None else normalised)


def test_trading_standards_is_not_a_trading_name() -> None:
    assert normalise_name("Trading Standards Service") == "TRADING STANDARDS SERVICE"


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("rg279xb", "RG27 9XB"),
        ("RG27 9XB", "RG27 9XB"),
        ("TS104RF", "TS10 4RF"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("14200", "14200"),
        ("", None),
        (None, None),
    ],
)
def test_postcodes_are_normalised(postcode: str | None, expected: str | None) -> None:
    assert normalise_postcode(postcode) == expected
