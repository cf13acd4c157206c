"""The compiled release must be exactly what the OCDS reference merge (ocdsmerge) gives."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import orjson
import pytest
from ocdsmerge import Merger
from ocdsmerge.exceptions import OCDSMergeError
from ocdsmerge.rules import get_merge_rules

from tenderwatch.compiler import Compiler, packaged_rules
from tenderwatch.exceptions import CompileError
from tests import query


@pytest.fixture(scope="module")
def reference(release_schema: Path) -> Merger:
    return Merger(merge_rules=get_merge_rules(str(release_schema)))


@pytest.fixture(scope="module")
def release_schema() -> Path:  # module-scoped copy of the conftest fixture
    from tests import SCHEMA

    path = SCHEMA / "1.1.5" / "release-schema.json"
    if not path.is_file():
        pytest.skip("the OCDS schema in ../shared/data/schema is not here")
    return path


def test_shipped_merge_rules_are_those_of_the_schema(release_schema: Path) -> None:
    assert packaged_rules() == get_merge_rules(str(release_schema))


def test_every_real_process_compiles_exactly_as_ocdsmerge(real_store: Path, reference: Merger) -> None:
    rows = query(
        real_store,
        """
        SELECT c.ocid, c.data, list(r.data ORDER BY r.seq)
        FROM compiled_releases AS c JOIN raw_releases AS r ON r.ocid = c.ocid AND r.kind = 'release'
        WHERE c.method = 'merge'
        GROUP BY c.ocid, c.data
        """,
    )
    assert len(rows) > 1500  # every real process with releases, UK and beyond
    multi = 0
    for ocid, compiled, releases in rows:
        expected = reference.create_compiled_release([json.loads(release) for release in releases])
        ours = json.loads(compiled)
        assert ours == expected, ocid
        # Same key order too, so the stored JSON text is what ocdsmerge would have written.
        assert json.dumps(ours) == json.dumps(expected), ocid
        multi += len(releases) > 1
    assert multi >= 20  # processes with several releases, where merging really happens


def _random_value(rng: random.Random, depth: int) -> object:
    choice = rng.random()
    if depth > 2 or choice < 0.35:
        return rng.choice([None, "", "x", "y", 0, 1, 2.5, True, False])
    if choice < 0.55:
        return {key: _random_value(rng, depth + 1) for key in rng.sample(["a", "b", "id", "c"], rng.randint(0, 3))}
    if choice < 0.7:
        return [rng.choice(["s", 1, None]) for _ in range(rng.randint(0, 2))]
    items = []
    for _ in range(rng.randint(0, 3)):
        item = {key: _random_value(rng, depth + 1) for key in rng.sample(["a", "b", "c"], rng.randint(0, 2))}
        if rng.random() < 0.8:
            item["id"] = rng.choice(["1", "2", 1, "3"])
        items.append(item)
    return items


def _random_release(rng: random.Random, index: int) -> dict:
    release = {"ocid": "ocds-x", "id": str(index), "date": f"2020-01-0{rng.randint(1, 3)}", "tag": ["tender"]}
    for key in rng.sample(["tender", "awards", "parties", "buyer", "x_ext", "contracts"], 3):
        if key in ("awards", "parties", "contracts"):
            release[key] = [
                {
                    "id": rng.choice(["a", "b", 1]),
                    "title": _random_value(rng, 2),
                    "items": _random_value(rng, 1),
                    "roles": rng.choice([["buyer"], [], None, ["supplier", "payer"]]),
                }
                for _ in range(rng.randint(0, 3))
            ]
        else:
            release[key] = {
                "id": rng.choice(["t", None]),
                "title": _random_value(rng, 1),
                "items": _random_value(rng, 1),
                "value": _random_value(rng, 1),
                "submissionMethod": rng.choice([["written"], [], None, "electronic"]),
                "additionalProcurementCategories": rng.choice([[], None, ["goods"], [{"id": 1}]]),
            }
    return release


def test_tricky_releases_compile_as_ocdsmerge(reference: Merger) -> None:
    """Nulls, empty containers, whole-list fields, id clashes and type clashes, in thousands of combinations."""
    rng = random.Random(20261122)  # noqa: S311 - test data, not secrets
    compiler = Compiler()
    failures_agreed = 0
    for case in range(3000):
        releases = [_random_release(rng, index) for index in range(rng.randint(1, 4))]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = reference.create_compiled_release(releases)
        except (OCDSMergeError, TypeError, AttributeError):
            with pytest.raises(CompileError):
                compiler.compile(releases)
            failures_agreed += 1
            continue
        ours = compiler.compile(releases)
        assert orjson.dumps(ours) == orjson.dumps(expected), (case, releases)
    assert failures_agreed > 0  # some cases really are contradictory, and both refuse them


def test_null_keeps_its_parent_and_empty_values_change_nothing() -> None:
    releases = [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"title": "Old", "value": {"amount": 5}}},
        {"ocid": "o", "id": "2", "date": "2020-01-02", "tender": {"title": None, "items": [], "value": {}}},
    ]
    compiled = Compiler().compile(releases)
    assert compiled == {
        "tag": ["compiled"],
        "id": "o-2020-01-02",
        "date": "2020-01-02",
        "ocid": "o",
        "tender": {"value": {"amount": 5}},
    }


def test_objects_in_arrays_merge_by_id_and_whole_lists_are_replaced() -> None:
    releases = [
        {
            "ocid": "o",
            "id": "1",
            "date": "2020-01-01",
            "awards": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
            "parties": [{"id": "p", "roles": ["buyer", "payer"]}],
        },
        {
            "ocid": "o",
            "id": "2",
            "date": "2020-01-02",
            "awards": [{"id": "b", "value": {"amount": 2}}, {"title": "no id"}],
            "parties": [{"id": "p", "roles": ["buyer"]}],
        },
    ]
    compiled = Compiler().compile(releases)
    assert compiled["awards"] == [
        {"id": "a", "title": "A"},
        {"id": "b", "title": "B", "value": {"amount": 2}},
        {"title": "no id"},
    ]
    assert compiled["parties"] == [{"id": "p", "roles": ["buyer"]}]


def test_releases_are_merged_in_date_order_not_arrival_order() -> None:
    later = {"ocid": "o", "id": "2", "date": "2021-01-01", "tender": {"status": "complete"}}
    earlier = {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"status": "active"}}
    assert Compiler().compile([later, earlier])["tender"]["status"] == "complete"


def test_contradictory_releases_are_refused_with_a_reason() -> None:
    releases = [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"value": 5}},
        {"ocid": "o", "id": "2", "date": "2020-01-02", "tender": {"value": {"amount": 5}}},
    ]
    with pytest.raises(CompileError, match="shape of a field"):
        Compiler().compile(releases)
