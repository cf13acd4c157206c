"""Identifiers are normalised per scheme, so one registration gives one key whatever the spelling."""

from __future__ import annotations

import pytest

from tenderwatch.resolve import normalise_identifier, parse_org_id


@pytest.mark.parametrize(
    ("scheme", "identifier", "expected"),
    [
        ("GB-COH", "242246", "GB-COH-00242246"),
        ("GB-COH", "00242246", "GB-COH-00242246"),
        ("GB-COH", " 0024 2246 ", "GB-COH-00242246"),
        ("gb-coh", "sc 1234", "GB-COH-SC001234"),
        ("GB-COH", "Oc309409", "GB-COH-OC309409"),
        ("GB-COH", "NI037760", "GB-COH-NI037760"),
        ("GB-COH", "GB-COH-00242246", "GB-COH-00242246"),
        ("Companies House", "101073", "GB-COH-00101073"),
        ("GB-CHC", "01109792", "GB-CHC-1109792"),
        ("GB-CHC", "1109792-1", "GB-CHC-1109792-1"),
        ("GB-SC", "12345", "GB-SC-SC012345"),
        ("GB-SC", "sc012345", "GB-SC-SC012345"),
        ("GB-NIC", "NIC100002", "GB-NIC-100002"),
        ("GB-NHS", "00l", "GB-NHS-00L"),
        ("GB-GOR", "pb189", "GB-GOR-PB189"),
        ("GB-LAE", " der ", "GB-LAE-DER"),
        ("GB-PPON", "ppcx-7855-vxbt", "GB-PPON-PPCX-7855-VXBT"),
        ("GB-CQC", "1-2175084325", "GB-CQC-1-2175084325"),
        ("GB-UKPRN", "10006341", "GB-UKPRN-10006341"),
        ("GB-SRS", "sid4gov.cabinetoffice.gov.uk/au8q6EUc", "GB-SRS-sid4gov.cabinetoffice.gov.uk/au8q6EUc"),
        ("UA-EDR", " 00131564 ", "UA-EDR-00131564"),
        ("RFC", "abc  123", "RFC-ABC 123"),
    ],
)
def test_identifiers_are_normalised_per_scheme(scheme: str, identifier: str, expected: str) -> None:
    assert normalise_identifier(scheme, identifier) == expected


@pytest.mark.parametrize(
    ("scheme", "identifier"),
    [
        ("GB-COH", "0"),
        ("GB-COH", "00000000"),
        ("GB-COH", "N/A"),
        ("GB-COH", "06th April 2016"),  # seen in the real ownership data
        ("GB-COH", "6k925n"),
        ("GB-COH", "123456789"),
        ("GB-CHC", "12"),
        ("GB-SRS", ""),
        ("GB-LAE", "unknown"),
        (None, "02366678"),  # an id without a scheme cannot be read
        ("", "02366678"),
    ],
)
def test_placeholders_and_impossible_ids_are_unusable(scheme: str | None, identifier: str) -> None:
    assert normalise_identifier(scheme, identifier) is None


def test_an_org_id_written_out_is_parsed() -> None:
    assert parse_org_id("gb-coh-242246") == "GB-COH-00242246"
    assert parse_org_id("Serco Ltd") is None
