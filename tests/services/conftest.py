"""Stores for the statutory-services tests: real DuckDB files, loaded through the library.

The stores are loaded without the red-flag run (``analyse_after_load`` off, which is slow and not needed here); the
tables the services analysis reads (contract lifecycle, derived events) are built, then the services tables, as the
analysis does after every load.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.analysis.lifecycle import build_lifecycle
from tenderwatch.records.derived import build_derived_events
from tenderwatch.services import ServicesSettings, build_services
from tests import serving

STORIES = Path(str(resources.files("tenderwatch.demo").joinpath("stories/stories.jsonl")))


def quiet_settings(db: Path) -> object:
    """Settings for a test store: one worker, no red-flag run and no web snapshot after a load."""
    return load_settings(db=db, workers=1, analyse_after_load=False, publish_after_load=False)


def services_settings(folder: Path, **values: object) -> ServicesSettings:
    """Services settings whose files live in ``folder`` (none of them exists until a test writes it)."""
    return ServicesSettings(
        overrides_file=folder / "overrides.yaml", subcontracting_file=folder / "subcontracts.yaml", **values
    )


def analyse_services(workspace: Workspace, settings: ServicesSettings) -> object:
    """Rebuild what the services analysis reads, then the services tables, as an analysis after a load does."""
    con = workspace.store.con
    con.execute("BEGIN TRANSACTION")
    build_lifecycle(con)
    build_derived_events(con)
    con.execute("COMMIT")
    return build_services(con, settings)


@pytest.fixture(scope="session")
def stories_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the demo stories (fictional organisations) with its services tables built; read it only."""
    folder = tmp_path_factory.mktemp("services-stories")
    path = folder / "stories.duckdb"
    with Workspace.open(quiet_settings(path)) as workspace:
        workspace.load([str(STORIES)])
        analyse_services(workspace, services_settings(folder))
    return path


@pytest.fixture
def stories(stories_store: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A writable copy of the stories store."""
    path = tmp_path / "stories.duckdb"
    shutil.copyfile(stories_store, path)
    with Workspace.open(quiet_settings(path)) as workspace:
        yield workspace


@pytest.fixture(scope="session")
def real_services_store(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the store holding all the real data, with its services tables built; read it only."""
    folder = tmp_path_factory.mktemp("services-real")
    path = folder / "real.duckdb"
    shutil.copyfile(real_store, path)
    with Workspace.open(quiet_settings(path)) as workspace:
        analyse_services(workspace, services_settings(folder))
    return path


HOSTILE_NAME = "<img src=x onerror=alert(1)> Homecare Ltd"
HOSTILE_SUBCONTRACTOR = "</text><script>alert(2)</script> Rounds Ltd"
HOSTILE = {
    "ocid": "ocds-twtest-900001",
    "id": "1",
    "date": "2024-03-01T10:00:00Z",
    "tag": ["award"],
    "buyer": {"id": "GB-LAE-H1", "name": "Harrowdene Council"},
    "parties": [
        {"id": "GB-LAE-H1", "name": "Harrowdene Council", "roles": ["buyer"], "address": {"region": "Greyvale"}},
        {"id": "GB-COH-90000001", "name": HOSTILE_NAME, "roles": ["supplier"]},
        {"id": "GB-COH-90000002", "name": HOSTILE_SUBCONTRACTOR, "roles": ["subcontractor"]},
    ],
    "tender": {"id": "t", "title": "Home care <b>for older people</b>", "procurementMethod": "open"},
    "awards": [
        {
            "id": "a",
            "status": "active",
            "date": "2024-03-01T10:00:00Z",
            "value": {"amount": 500000, "currency": "GBP"},
            "suppliers": [{"id": "GB-COH-90000001", "name": HOSTILE_NAME}],
            "contractPeriod": {"startDate": "2024-04-01T00:00:00Z", "endDate": "2099-03-31T00:00:00Z"},
        }
    ],
}


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def services_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `tenderwatch serve` on a free local port, over the demo stories and a release with hostile names,
    with the services tables built and published."""
    folder = tmp_path_factory.mktemp("services-web")
    hostile = folder / "hostile.json"
    hostile.write_text(json.dumps(HOSTILE), encoding="utf-8")
    path = folder / "web.duckdb"
    with Workspace.open(quiet_settings(path)) as workspace:
        workspace.load([str(STORIES), str(hostile)])
        analyse_services(workspace, services_settings(folder))
        workspace.publish()
    with serving(path, {"TENDERWATCH_WEB_WORKERS": "1"}) as url:
        yield url
