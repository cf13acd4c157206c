"""Accuracy of organisation matching, measured on a labelled set of pairs of parties from real UK data.

The labelled set (``tests/fixtures/resolve/labelled_pairs.csv``) names two parties per row, each by the file of
``../shared/data/real`` it comes from, its ocid and its party key (as ``organisation_parties`` has them), with
``label`` 1 when they are the same organisation and 0 when not, the ``basis`` of the label and a note. How the
pairs were chosen and labelled is written down in docs/organisations.md.

:func:`evaluate` compares the labels with a resolution: a pair is *predicted* a match when both parties are in
one organisation. Pairwise precision is the share of predicted matches that are true, recall the share of true
matches that are predicted. Run it twice to see each part's worth: with identifiers (the whole method) and
without them (names, postcodes and the model alone, as for a publisher that gives no identifiers).

:func:`candidate_pairs` lists the pairs worth labelling in a store of the real data: parties that share a
normalised identifier, parties with different identifiers of one scheme whose names look alike (near misses),
and parties whose name keys are equal or close whichever identifiers they have.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

# The floor that tests/resolve/test_accuracy.py holds pairwise precision above (goal: 0.98).
PRECISION_FLOOR = 0.98
RECALL_GOAL = 0.90
UK_OCID_PATTERN = "^ocds-(b5fd17|0c46vo|h6vhtk)"
FIELDS = (
    "left_ocid",
    "left_party_key",
    "right_ocid",
    "right_party_key",
    "label",
    "basis",
    "left_name",
    "right_name",
    "note",
)


@dataclass(frozen=True)
class LabelledPair:
    """Two parties and whether they are the same organisation."""

    left_ocid: str
    left_party_key: str
    right_ocid: str
    right_party_key: str
    label: bool
    basis: str
    left_name: str = ""
    right_name: str = ""
    note: str = ""


@dataclass(frozen=True)
class Accuracy:
    """Pairwise counts and rates."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    missing: int

    @property
    def precision(self) -> float:
        """Share of predicted matches that are true (1.0 when nothing is predicted)."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of true matches that are predicted."""
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    def line(self) -> str:
        """Return the figures in one line."""
        return (
            f"precision {self.precision:.3f} ({self.true_positives}/{self.true_positives + self.false_positives}), "
            f"recall {self.recall:.3f} ({self.true_positives}/{self.true_positives + self.false_negatives}), "
            f"{self.true_negatives} true non-matches, {self.missing} pairs not found"
        )


def read_labelled_pairs(path: Path) -> list[LabelledPair]:
    """Read the labelled pairs CSV."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            LabelledPair(
                row["left_ocid"],
                row["left_party_key"],
                row["right_ocid"],
                row["right_party_key"],
                row["label"].strip() == "1",
                row["basis"],
                row.get("left_name", ""),
                row.get("right_name", ""),
                row.get("note", ""),
            )
            for row in csv.DictReader(handle)
        ]


def write_labelled_pairs(path: Path, pairs: list[LabelledPair]) -> None:
    """Write labelled pairs as CSV."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for pair in pairs:
            writer.writerow(
                [
                    pair.left_ocid,
                    pair.left_party_key,
                    pair.right_ocid,
                    pair.right_party_key,
                    int(pair.label),
                    pair.basis,
                    pair.left_name,
                    pair.right_name,
                    pair.note,
                ]
            )


def evaluate(con: duckdb.DuckDBPyConnection, pairs: list[LabelledPair]) -> Accuracy:
    """Compare the labels with the organisations of the store's last resolution."""
    lookup = {
        (ocid, key): organisation
        for ocid, key, organisation in con.execute(
            "SELECT ocid, party_key, organisation_id FROM organisation_parties"
        ).fetchall()
    }
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "missing": 0}
    for pair in pairs:
        left = lookup.get((pair.left_ocid, pair.left_party_key))
        right = lookup.get((pair.right_ocid, pair.right_party_key))
        if left is None or right is None:
            counts["missing"] += 1
            continue
        predicted = left == right
        key = ("tp" if pair.label else "fp") if predicted else ("fn" if pair.label else "tn")
        counts[key] += 1
    return Accuracy(counts["tp"], counts["fp"], counts["fn"], counts["tn"], counts["missing"])


def candidate_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return pairs of UK parties worth labelling, one per distinct pair of spellings and identifiers.

    Each row: (kind, left ocid, left key, left name, left identifiers, right ocid, right key, right name, right
    identifiers, Jaro-Winkler similarity of the name keys). ``kind`` is ``shared identifier``, ``different
    identifiers`` (same scheme, names alike) or ``similar names`` (at least one side without an identifier).
    """
    return con.execute(
        f"""
        WITH uk AS (
            SELECT ocid, party_key, name, name_key, identifiers,
                   list_transform(identifiers, lambda i: split_part(i, '-', 1) || '-' || split_part(i, '-', 2))
                       AS schemes
            FROM organisation_parties WHERE regexp_matches(ocid, '{UK_OCID_PATTERN}') AND name_key IS NOT NULL
        ),
        profiles AS (
            SELECT name, identifiers, any_value(schemes) AS schemes, any_value(name_key) AS name_key,
                   min({{"o": ocid, "k": party_key}}) AS pick
            FROM uk GROUP BY name, identifiers
        ),
        pairs AS (
            SELECT l.*, r.name AS r_name, r.identifiers AS r_identifiers, r.schemes AS r_schemes,
                   r.name_key AS r_name_key, r.pick AS r_pick,
                   jaro_winkler_similarity(l.name_key, r.name_key) AS similarity
            FROM profiles AS l JOIN profiles AS r
              ON (l.name, l.identifiers::VARCHAR) < (r.name, r.identifiers::VARCHAR)
        )
        SELECT CASE
                   WHEN list_has_any(identifiers, r_identifiers) THEN 'shared identifier'
                   WHEN list_has_any(schemes, r_schemes) THEN 'different identifiers'
                   ELSE 'similar names'
               END AS kind,
               pick.o, pick.k, name, identifiers, r_pick.o, r_pick.k, r_name, r_identifiers,
               round(similarity, 3)
        FROM pairs
        WHERE list_has_any(identifiers, r_identifiers)
           OR similarity >= 0.88
           OR split_part(name_key, ' ', 1) = split_part(r_name_key, ' ', 1)
              AND length(split_part(name_key, ' ', 1)) > 3
              AND similarity >= 0.8
        ORDER BY kind, similarity DESC, name
        """
    ).fetchall()
