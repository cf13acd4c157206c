"""Measuring the service-area assignment against processes a person labelled by reading them.

The labelled file is a CSV with the columns ``ocid``, ``areas`` (area ids separated by ``;``, empty when the
process buys no statutory service of the taxonomy), and optionally ``split`` and ``stratum``. Precision and recall
are counted per area and over all areas (each process and area is one decision), on the processes of the file
that are in the store.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tenderwatch.services.files import ServicesFileError, read_text


@dataclass
class AreaScore:
    """Counts and rates for one area (or for all of them)."""

    area_id: str
    labelled: int = 0
    assigned: int = 0
    correct: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        """Return the share of assignments that are right (None when nothing was assigned)."""
        return self.correct / self.assigned if self.assigned else None

    @property
    def recall(self) -> float | None:
        """Return the share of labelled assignments that were found (None when nothing is labelled)."""
        return self.correct / self.labelled if self.labelled else None


@dataclass
class AccuracyReport:
    """Precision and recall of the assignment on a labelled sample."""

    processes: int
    missing: int
    overall: AreaScore
    areas: dict[str, AreaScore]

    def lines(self) -> list[str]:
        """Return a plain-text table: one line per area, then the overall line."""

        def rate(value: float | None) -> str:
            return "   -  " if value is None else f"{value:6.1%}"

        rows = [f"{'area':<24} {'labelled':>8} {'assigned':>8} {'correct':>7} {'precision':>9} {'recall':>7}"]
        for score in [*sorted(self.areas.values(), key=lambda item: item.area_id), self.overall]:
            rows.append(
                f"{score.area_id:<24} {score.labelled:>8} {score.assigned:>8} {score.correct:>7} "
                f"{rate(score.precision):>9} {rate(score.recall):>7}"
            )
        rows.append(f"{self.processes} labelled processes in the store ({self.missing} of the file are not)")
        return rows


def read_labels(path: Path, split: str | None = None) -> dict[str, set[str]]:
    """Return {ocid: areas} from a labelled CSV file (only the rows of ``split`` when given).

    :raises ServicesFileError: if a row has no ocid or the file has no ocid and areas columns
    """
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    if not {"ocid", "areas"} <= set(reader.fieldnames or []):
        raise ServicesFileError([f"{path.name}: the file needs the columns ocid and areas"])
    labels: dict[str, set[str]] = {}
    for number, row in enumerate(reader, start=1):
        if split and row.get("split") != split:
            continue
        ocid = (row.get("ocid") or "").strip()
        if not ocid:
            raise ServicesFileError([f"{path.name}: row {number}: ocid is missing"])
        labels[ocid] = {area.strip() for area in (row.get("areas") or "").split(";") if area.strip()}
    return labels


def measure(con: duckdb.DuckDBPyConnection, labels: dict[str, set[str]]) -> AccuracyReport:
    """Compare ``service_assignments`` with the labels; return the report."""
    present = {
        row[0]
        for row in con.execute("SELECT ocid FROM processes WHERE list_contains(?, ocid)", [list(labels)]).fetchall()
    }
    assigned: dict[str, set[str]] = {ocid: set() for ocid in present}
    for ocid, area in con.execute(
        "SELECT ocid, area_id FROM service_assignments WHERE list_contains(?, ocid)", [list(present)]
    ).fetchall():
        assigned[ocid].add(area)
    areas: dict[str, AreaScore] = {}
    overall = AreaScore("all areas")
    for ocid in sorted(present):
        truth, found = labels[ocid], assigned[ocid]
        for area in truth | found:
            score = areas.setdefault(area, AreaScore(area))
            for item in (score, overall):
                item.labelled += area in truth
                item.assigned += area in found
                item.correct += area in truth and area in found
            if area in found and area not in truth:
                score.false_positives.append(ocid)
                overall.false_positives.append(f"{ocid} {area}")
            if area in truth and area not in found:
                score.false_negatives.append(ocid)
                overall.false_negatives.append(f"{ocid} {area}")
    return AccuracyReport(len(present), len(labels) - len(present), overall, areas)
