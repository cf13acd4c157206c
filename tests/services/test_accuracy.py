"""The assignment measured on real UK notices labelled by hand (tests/fixtures/services/labelled_notices.csv, see
docs/statutory-services.md): precision and recall stay above the documented floors."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tenderwatch.services import load_taxonomy
from tenderwatch.services.accuracy import measure, read_labels
from tests import ROOT

LABELS = ROOT / "tests" / "fixtures" / "services" / "labelled_notices.csv"
# The floors docs/statutory-services.md states: the whole sample, and the held-out half the rules were not tuned on.
FLOORS = {None: (0.80, 0.88), "test": (0.78, 0.85)}
HOME_TO_SCHOOL = "ocds-0c46vo-0001-4be580b0-37da-4996-a08d-447eecfe6a13"  # Cumbria: home to school transport

pytestmark = pytest.mark.realdata


def test_the_labelled_sample_is_well_formed() -> None:
    rows = list(csv.DictReader(LABELS.open(encoding="utf-8")))
    known = {area.area_id for area in load_taxonomy().areas}

    assert len(rows) >= 150 and len({row["ocid"] for row in rows}) == len(rows)
    assert {row["split"] for row in rows} == {"dev", "test"} and {row["stratum"] for row in rows} == {
        "screened",
        "random",
    }
    for row in rows:
        assert set(filter(None, row["areas"].split(";"))) <= known, row["ocid"]


@pytest.mark.parametrize("split", [None, "test"])
def test_precision_and_recall_stay_above_the_floor(real_services_store: Path, split: str | None) -> None:
    with duckdb.connect(str(real_services_store), read_only=True) as con:
        report = measure(con, read_labels(LABELS, split))

    precision, recall = FLOORS[split]
    assert report.missing == 0
    assert report.overall.precision >= precision, "\n".join(report.lines())
    assert report.overall.recall >= recall, "\n".join(report.lines())
    school = report.areas["school_transport"]
    assert school.precision == 1 and school.recall == 1


def test_real_notices_get_assignments_scores_and_no_chain(real_services_store: Path) -> None:
    with duckdb.connect(str(real_services_store), read_only=True) as con:
        methods = dict(con.execute("SELECT method, count(*) FROM service_assignments GROUP BY method").fetchall())
        evidence = con.execute("SELECT evidence FROM service_assignments WHERE ocid = ?", [HOME_TO_SCHOOL]).fetchall()
        scored = con.execute("SELECT count(*), min(score), max(score) FROM service_continuity").fetchone()
        chains = con.execute("SELECT count(*) FROM subcontract_chains").fetchone()[0]

    assert methods["text"] > 100
    assert evidence == [('"Home to School"',)]
    assert scored[0] > 10 and 0 <= scored[1] <= scored[2] <= 100
    assert chains == 0  # no UK notice in the sample publishes subcontracting
