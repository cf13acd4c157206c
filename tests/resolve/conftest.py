"""Fixtures of the organisation tests: a writable copy of the real store, resolved."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tenderwatch.resolve import OrganisationSettings, resolve_organisations


@pytest.fixture(scope="session")
def resolved_store(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real store with its organisations resolved (no overrides); read it, never write to it."""
    path = tmp_path_factory.mktemp("orgs") / "resolved.duckdb"
    shutil.copy(real_store, path)
    con = duckdb.connect(str(path))
    try:
        resolve_organisations(con, OrganisationSettings(overrides_file=path.parent / "none.yaml"))
    finally:
        con.close()
    return path


@pytest.fixture
def writable_store(real_store: Path, tmp_path: Path) -> Path:
    """A private copy of the real store, to resolve with overrides or ownership data."""
    path = tmp_path / "store.duckdb"
    shutil.copy(real_store, path)
    return path
