"""Fixtures shared by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tests import REAL, SCHEMA


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Run one worker per core, up to four: each test already keeps DuckDB's threads busy, and a worker may hold a
    store of a gigabyte."""
    return max(1, min(os.cpu_count() or 1, 4))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep each test away from the user's environment and working folder."""
    for name in ("TENDERWATCH_DB", "TENDERWATCH_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENDERWATCH_WORKERS", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def real() -> Path:
    """The real OCDS data shipped beside the project (CI always has it; a fresh clone may not)."""
    if not REAL.is_dir():
        pytest.skip("the real data in ../shared/data/real is not here")
    return REAL


@pytest.fixture
def release_schema() -> Path:
    """The OCDS 1.1.5 release schema, for running the reference merge offline."""
    path = SCHEMA / "1.1.5" / "release-schema.json"
    if not path.is_file():
        pytest.skip("the OCDS schema in ../shared/data/schema is not here")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A path for a fresh store."""
    return tmp_path / "store.duckdb"


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding all the real data, loaded once for the session (read it, never write to it)."""
    if not REAL.is_dir():
        pytest.skip("the real data in ../shared/data/real is not here")
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    with Workspace.open(load_settings(db=path, workers=1)) as workspace:
        workspace.load([str(REAL)])
    return path
