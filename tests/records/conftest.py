"""Stores for the track-record tests: real DuckDB stores, loaded through the library."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings


@pytest.fixture(autouse=True)
def _no_starter_register(monkeypatch: pytest.MonkeyPatch) -> None:
    """New stores start with an empty register here, so each test sees only the events it imports."""
    monkeypatch.setenv("TENDERWATCH_STARTER_REGISTER", "false")


@pytest.fixture
def workspace(db: Path) -> Iterator[Workspace]:
    """An empty store."""
    with Workspace.open(load_settings(db=db, workers=1)) as opened:
        yield opened


@pytest.fixture
def stories(db: Path) -> Iterator[Workspace]:
    """A store holding the four demo stories (fictional organisations)."""
    path = Path(str(resources.files("tenderwatch.demo").joinpath("stories/stories.jsonl")))
    with Workspace.open(load_settings(db=db, workers=1)) as opened:
        opened.load([str(path)])
        yield opened


@pytest.fixture
def real_copy(real_store: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A writable copy of the store holding all the real data."""
    path = tmp_path / "real-copy.duckdb"
    shutil.copyfile(real_store, path)
    with Workspace.open(load_settings(db=path, workers=1)) as opened:
        yield opened
