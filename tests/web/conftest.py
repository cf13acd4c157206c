"""A demo store with a few hostile names, published, and a real `tenderwatch serve` on a free local port."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.demo import demo_inputs
from tenderwatch.ingest.inputs import expand_inputs
from tests import serving

HOSTILE = {
    "ocid": "ocds-twdemo-900001",
    "id": "1",
    "date": "2024-03-01T10:00:00Z",
    "tag": ["award"],
    "x_demo": True,
    "buyer": {"id": "GB-DEMO-B1", "name": "Harrowdene <b>Council</b>"},
    "tender": {
        "id": "t",
        "title": "<script>alert('x')</script> cleaning",
        # markup written as character references: shown as the characters, which are escaped again
        "description": "&lt;script&gt;alert(2)&lt;/script&gt; windows &amp; doors",
        "procurementMethod": "open",
        "numberOfTenderers": 1,
    },
    "parties": [
        {"id": "GB-DEMO-B1", "name": "Harrowdene <b>Council</b>", "roles": ["buyer"]},
        {"id": "GB-DEMO-S1", "name": "<img src=x onerror=alert(1)> Ltd", "roles": ["supplier"]},
    ],
    "awards": [
        {
            "id": "a",
            "status": "active",
            "date": "2024-03-01T10:00:00Z",
            "value": {"amount": 12345, "currency": "GBP"},
            "suppliers": [{"id": "GB-DEMO-S1", "name": "<img src=x onerror=alert(1)> Ltd"}],
        }
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web")
    hostile = folder / "hostile.json"
    hostile.write_text(json.dumps(HOSTILE))
    db = folder / "web.duckdb"
    with Workspace.open(load_settings(db=db, workers=1)) as workspace:
        workspace.load_inputs([*demo_inputs(2500, 1), *expand_inputs([str(hostile)])])
    return db


@pytest.fixture(scope="session")
def server(web_store: Path) -> Iterator[str]:
    with serving(web_store, wait=60) as url:
        yield url
