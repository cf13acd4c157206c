"""Helpers for indicator tests: build a store from a few releases and run indicators on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tenderwatch import Workspace, load_settings
from tenderwatch.indicators.engine import FlagRun, read_flags, run_indicators
from tenderwatch.indicators.settings import from_toml
from tenderwatch.resolve import load_ownership


def release(ocid: str, date: str = "2024-01-01T00:00:00Z", release_id: str | None = None, **sections: Any) -> dict:
    """Return a compiled-release-like OCDS release (ocid, id, date, tag) with the given sections."""
    return {
        "ocid": ocid,
        "id": release_id or f"{ocid}-1",
        "date": date,
        "tag": ["tender"],
        "initiationType": "tender",
        **sections,
    }


def evaluate(
    tmp_path: Path,
    releases: list[dict],
    codes: list[str],
    flags: dict[str, Any] | None = None,
    *,
    ownership: Path | None = None,
) -> tuple[dict[tuple[str, str, str], Any], FlagRun]:
    """Load ``releases`` into a fresh store (and the beneficial-ownership file ``ownership``, if given), run
    ``codes`` with the ``[flags]`` settings given, and return {(code, subject, subject_id): flag} for the flags
    raised, and the run (counts and meta)."""
    path = tmp_path / "fixture.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in releases))
    db = tmp_path / "fixture.duckdb"
    # The load stores and normalises only; the facts indicators read are built here, and only the indicators
    # under test run (no organisation matching, no web snapshot).
    settings = load_settings(db=db, workers=1, analyse_after_load=False, publish_after_load=False)
    with Workspace.open(settings) as workspace:
        result = workspace.load([str(path)])
        assert result.rejected == 0, "a fixture release was rejected"
        if ownership is not None:
            load_ownership(workspace.store.con, ownership)
        workspace.build_facts(organisations=False)
        con = workspace.store.con
        run = run_indicators(con, from_toml({"flags": flags or {}}, "test"), codes)
        found = {(flag.code, flag.subject, flag.subject_id): flag for flag in read_flags(con, codes=codes)}
    return found, run
