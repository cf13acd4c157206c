"""Pairwise precision and recall on the labelled pairs of real UK parties (docs/organisations.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tenderwatch.resolve import OrganisationSettings, resolve_organisations
from tenderwatch.resolve.accuracy import PRECISION_FLOOR, evaluate, read_labelled_pairs
from tests import ROOT

PAIRS = ROOT / "tests" / "fixtures" / "resolve" / "labelled_pairs.csv"


def test_the_labelled_set_is_large_and_balanced_enough() -> None:
    pairs = read_labelled_pairs(PAIRS)
    bases = {pair.basis for pair in pairs}

    assert len(pairs) >= 300
    assert sum(pair.label for pair in pairs) >= 150
    assert sum(not pair.label for pair in pairs) >= 150
    assert bases == {
        "shared identifier, names checked",
        "judged by hand",
        "different registered identifiers, names checked",
    }


def test_precision_stays_above_the_documented_floor(resolved_store: Path) -> None:
    con = duckdb.connect(str(resolved_store), read_only=True)
    accuracy = evaluate(con, read_labelled_pairs(PAIRS))
    con.close()

    assert accuracy.missing == 0
    assert accuracy.precision >= PRECISION_FLOOR, accuracy.line()
    assert accuracy.recall >= 0.90, accuracy.line()


def test_names_alone_still_find_most_matches(writable_store: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(writable_store))
    resolve_organisations(con, OrganisationSettings(overrides_file=tmp_path / "x.yaml"), use_identifiers=False)
    accuracy = evaluate(con, read_labelled_pairs(PAIRS))
    con.close()

    # Without identifiers, same-named bodies in different places cannot all be told apart (docs/organisations.md).
    assert accuracy.precision >= 0.95, accuracy.line()
    assert accuracy.recall >= 0.85, accuracy.line()
