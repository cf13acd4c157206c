"""R003 (short submission period) and R018 (single bid): a few processes each, the exact processes flagged with their
evidence, and one run per setting changed from its default.

R018 counts the bids from the tender's ``numberOfTenderers`` first, else from the published bid statistics, else
from the distinct tenderers of the submitted bids: each source has a process here, and so has each reason not to
count (a lot's statistics, an invited or withdrawn bid, a method not looked at).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.indicators import evaluate, release


def tender(ocid: str, method: str = "open", **fields: Any) -> dict:
    """Return a release with a tender of ``method`` and the given tender fields."""
    return release(ocid, tender={"id": f"{ocid}-t", "procurementMethod": method, **fields})


def with_bids(item: dict, statistics: list[dict] | None = None, details: list[tuple[str, str]] = ()) -> dict:
    """Add bids to a release: statistics as given, details as (tenderer id, status) pairs."""
    bids: dict[str, Any] = {}
    if statistics is not None:
        bids["statistics"] = [{"id": str(n), **entry} for n, entry in enumerate(statistics, 1)]
    if details:
        bids["details"] = [
            {"id": f"b{n}", "status": status, "tenderers": [{"id": who, "name": f"{who} Ltd"}]}
            for n, (who, status) in enumerate(details, 1)
        ]
        item["parties"] = [{"id": who, "name": f"{who} Ltd", "roles": ["tenderer"]} for who, _ in details]
    item["bids"] = bids
    return item


SINGLE_BID = [
    # the tender says one: flagged, whatever the bid statistics say
    with_bids(tender("ocds-r018-1", numberOfTenderers=1), [{"measure": "bids", "value": 3}]),
    # the tender says three: not flagged, though the statistics say one
    with_bids(tender("ocds-r018-2", numberOfTenderers=3), [{"measure": "bids", "value": 1}]),
    # no number in the tender: the statistics say one (a lot's own statistics are not the process's)
    with_bids(
        tender("ocds-r018-3"),
        [{"measure": "bids", "value": 1}, {"measure": "bids", "value": 4, "relatedLot": "lot-1"}],
    ),
    # neither: two valid bids by one tenderer, and an invited one and a withdrawn one by others, are one tenderer
    with_bids(tender("ocds-r018-4"), details=[("A", "valid"), ("A", "valid"), ("B", "invited"), ("C", "withdrawn")]),
    # neither: two tenderers submitted bids
    with_bids(tender("ocds-r018-5"), details=[("A", "valid"), ("B", "disqualified")]),
    # a limited procedure with one bid: not looked at by default
    with_bids(tender("ocds-r018-6", method="limited", numberOfTenderers=1)),
    # nothing to count from: not evaluated
    tender("ocds-r018-7"),
]


def test_r018_counts_bids_from_the_tender_then_the_statistics_then_the_bids(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, SINGLE_BID, ["R018"])
    flagged = {subject_id: flag.evidence for (_, _, subject_id), flag in found.items()}
    assert set(flagged) == {"ocds-r018-1", "ocds-r018-3", "ocds-r018-4"}
    assert flagged["ocds-r018-1"]["counted_from"] == "tender.numberOfTenderers"
    assert flagged["ocds-r018-3"]["counted_from"] == "bids.statistics"
    assert flagged["ocds-r018-4"]["counted_from"] == "bids.details"
    assert all(evidence["bids"] == 1 and evidence["procurement_method"] == "open" for evidence in flagged.values())
    sentence = found["R018", "process", "ocds-r018-4"].sentence
    assert sentence == "Only one bid was received in this open procedure (from bids.details)."
    assert (run.runs[0].evaluated, run.runs[0].flagged) == (5, 3)  # processes 1 to 5


def test_r018_procurement_methods_setting(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, SINGLE_BID, ["R018"], {"R018": {"procurement_methods": ["limited"]}})
    assert {subject_id for _, _, subject_id in found} == {"ocds-r018-6"}
    assert (run.runs[0].evaluated, run.runs[0].flagged) == (1, 1)


def period(ocid: str, start: str, end: str, method: str = "open", details: str | None = None) -> dict:
    """Return a release whose tender's submission period runs from ``start`` to ``end``."""
    fields: dict[str, Any] = {"tenderPeriod": {"startDate": start, "endDate": end}}
    if details is not None:
        fields["procurementMethodDetails"] = details
    return tender(ocid, method, **fields)


SHORT_PERIODS = [
    # 9 days and 3 hours: 9 whole days, under 15
    period("ocds-r003-1", "2024-03-01T09:00:00Z", "2024-03-10T12:00:00Z"),
    # 14 days and 23 hours count as 14: flagged
    period("ocds-r003-2", "2024-03-01T00:00:00Z", "2024-03-15T23:00:00Z"),
    # exactly 15 days: not flagged
    period("ocds-r003-3", "2024-03-01T00:00:00Z", "2024-03-16T00:00:00Z"),
    # a selective procedure of 20 days, named
    period("ocds-r003-4", "2024-03-01T00:00:00Z", "2024-03-21T00:00:00Z", "selective", "Restricted procedure"),
    # a limited procedure of 5 days
    period("ocds-r003-5", "2024-03-01T00:00:00Z", "2024-03-06T00:00:00Z", "limited"),
    # no end date: not evaluated
    tender("ocds-r003-6", tenderPeriod={"startDate": "2024-03-01T00:00:00Z"}),
]


def test_r003_flags_periods_shorter_than_the_threshold_in_whole_days(tmp_path: Path) -> None:
    found, run = evaluate(tmp_path, SHORT_PERIODS, ["R003"])
    assert {subject_id for _, _, subject_id in found} == {"ocds-r003-1", "ocds-r003-2", "ocds-r003-5"}
    first = found["R003", "process", "ocds-r003-1"]
    assert first.evidence["submission_period_days"] == 9 and first.evidence["threshold_days"] == 15
    assert first.sentence == "Bidders had 9 days to submit, fewer than the 15 days expected."
    assert (run.runs[0].evaluated, run.runs[0].flagged) == (5, 3)


@pytest.mark.parametrize(
    ("settings", "expected", "evaluated"),
    [
        # a lower threshold: only the 5 and the 9 days remain under 10
        ({"threshold": 10}, {"ocds-r003-1", "ocds-r003-5"}, 5),
        # only open procedures looked at
        ({"procurement_methods": ["open"]}, {"ocds-r003-1", "ocds-r003-2"}, 3),
        # a threshold of its own for the restricted procedure: its 20 days are now too few
        (
            {"procurement_method_details": {"Restricted procedure": 30}},
            {"ocds-r003-1", "ocds-r003-2", "ocds-r003-4", "ocds-r003-5"},
            5,
        ),
    ],
)
def test_r003_settings(tmp_path: Path, settings: dict, expected: set, evaluated: int) -> None:
    found, run = evaluate(tmp_path, SHORT_PERIODS, ["R003"], {"R003": settings})
    assert {subject_id for _, _, subject_id in found} == expected
    assert run.runs[0].evaluated == evaluated
    if "procurement_method_details" in settings:
        restricted = found["R003", "process", "ocds-r003-4"].sentence
        assert (
            restricted == 'Bidders had 20 days to submit, fewer than the 30 days expected for "Restricted procedure".'
        )
