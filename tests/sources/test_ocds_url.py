"""The generic source reads any OCDS URL: packages, JSON lines, gzip, zip bulk files and APIs paging with
links.next, from a real HTTP server on 127.0.0.1, and stores what `tenderwatch load` stores from the same files."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.sources import runner, sync
from tenderwatch.sources.runner import SilentSyncReporter, WindowProgress
from tenderwatch.sources.settings import SourcesSettings
from tests import table_contents
from tests.sources import FakeApis

Settings = Callable[..., SourcesSettings]


def publish_files(apis: FakeApis, real: Path, folder: Path) -> list[str]:
    """Serve real data as a publisher would: a package, gzipped JSON lines, a zip bulk file and a paged API;
    write the same bytes to ``folder`` for `tenderwatch load`. Returns the URLs."""
    bulk = io.BytesIO()
    with zipfile.ZipFile(bulk, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("records/paraguay.jsonl", (real / "paraguay_dncp_2017_record_packages.jsonl").read_bytes())
        archive.writestr("portugal.json", (real / "portugal_base_2019_release_packages.json").read_bytes())
        archive.writestr(
            "colombia.jsonl.gz", gzip.compress((real / "colombia_secop_2011-2016_releases.jsonl").read_bytes())
        )
    files = {
        "/files/armenia.json": (real / "armenia_2018_release_package.json").read_bytes(),
        "/files/paraguay.jsonl.gz": gzip.compress((real / "paraguay_dncp_2017_releases.jsonl").read_bytes()),
        "/files/bulk.zip": bulk.getvalue(),
    }
    apis.files.update(files)
    releases = [json.loads(line) for line in (real / "mexico_inai_2017_releases.jsonl").read_text().splitlines()]
    apis.feed_pages = [
        {"version": "1.1", "releases": releases[start : start + 30]} for start in range(0, len(releases), 30)
    ]
    for path, data in files.items():
        (folder / Path(path).name).write_bytes(data)
    for number, page in enumerate(apis.feed_pages, 1):
        (folder / f"feed-{number}.json").write_text(json.dumps(page))
    return [apis.url + path for path in files] + [apis.url + "/feed?page=1"]


def hashes(workspace: Workspace) -> set[str]:
    return {row[0] for row in workspace.store.con.execute("SELECT hash FROM raw_releases").fetchall()}


def test_every_shape_of_url_is_read_and_stores_what_load_stores_from_the_same_files(
    apis: FakeApis, sources_settings: Settings, workspace: Workspace, real: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    urls = publish_files(apis, real, folder)

    result = sync(workspace, ["ocds-url"], urls=urls, settings=sources_settings())
    again = sync(workspace, ["ocds-url"], urls=urls, settings=sources_settings())

    with Workspace.open(
        load_settings(db=tmp_path / "loaded.duckdb", workers=1, analyse_after_load=False, publish_after_load=False)
    ) as loaded:
        loaded.load([str(folder)])
        assert hashes(workspace) == hashes(loaded)
    summary = result.sources[0]
    assert (summary.error, summary.windows_done, summary.quarantined_pages) == (None, 4, 0)
    assert summary.new == len(hashes(workspace))
    pieces = workspace.store.con.execute(
        "SELECT member FROM sync_pages WHERE url LIKE '%bulk.zip' ORDER BY page"
    ).fetchall()
    assert pieces == [("colombia.jsonl.gz",), ("portugal.json",), ("records/paraguay.jsonl",)]
    # The files have not changed: one conditional request each, answered 304; the paged API is read again.
    assert again.sources[0].line().startswith("ocds-url: 0 new, 0 changed, 88 unchanged, 0 quarantined releases")
    last = apis.seen[-6:]
    assert [seen.headers.get("if-none-match") is not None for seen in last] == [True, True, True, False, False, False]


class _Stop(Exception):
    """Stands for the process being killed."""


class _StopAfter(SilentSyncReporter):
    def __init__(self, pieces: int) -> None:
        self.left = pieces

    def window_progress(self, progress: WindowProgress) -> None:
        self.left -= 1
        if self.left == 0:
            raise _Stop


def test_a_large_file_is_stored_in_pieces_and_a_stopped_sync_resumes_after_the_last_piece(
    apis: FakeApis, sources_settings: Settings, real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PIECE_BYTES", 100_000)
    apis.files["/files/paraguay.jsonl"] = (real / "paraguay_dncp_2017_releases.jsonl").read_bytes()
    url = apis.url + "/files/paraguay.jsonl"
    stores = {}
    for name, stops in (("straight", None), ("stopped", 3)):
        settings = load_settings(
            db=tmp_path / f"{name}.duckdb", workers=1, analyse_after_load=False, publish_after_load=False
        )
        with Workspace.open(settings) as workspace:
            if stops:
                with pytest.raises(_Stop):
                    sync(workspace, ["ocds-url"], urls=[url], settings=sources_settings(), reporter=_StopAfter(stops))
                done = workspace.store.con.execute("SELECT position FROM sync_windows").fetchall()
                assert done == [(3,)]
            result = sync(workspace, ["ocds-url"], urls=[url], settings=sources_settings())
            assert result.errors == []
        stores[name] = settings.db

    straight = table_contents(stores["straight"], ["raw_releases", "rejects", "compiled_releases", "processes"])
    assert straight == table_contents(stores["stopped"], ["raw_releases", "rejects", "compiled_releases", "processes"])
    pages = table_contents(stores["stopped"], ["sync_pages"])["sync_pages"]
    members = sorted(row[6] for row in pages)
    assert len(members) == len(set(members)) > 5
    assert "lines 1–" in members[0]
