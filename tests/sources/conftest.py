"""Fixtures of the live-source tests: the fake publishers on 127.0.0.1, fast settings, real stores."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.sources import load_source_settings
from tenderwatch.sources.settings import SourcesSettings
from tests.sources import FakeApis, cf_corpus, fts_corpus

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's source settings and proxies away: every request of these tests goes to 127.0.0.1."""
    for name in list(os.environ):
        if name.startswith("TENDERWATCH_SOURCES_") or name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def apis(real: Path) -> Iterator[FakeApis]:
    """The fake Find a Tender and Contracts Finder, publishing every real release of theirs in shared/data/real."""
    server = FakeApis()
    server.fts, server.fts_package = fts_corpus(real)
    server.cf, server.cf_package = cf_corpus(real)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sources_settings(apis: FakeApis) -> Callable[..., SourcesSettings]:
    """Settings pointing every source at the fake publishers, with tiny pauses so the tests stay fast.

    Keyword arguments override the shared settings; ``fts``, ``cf`` and ``url`` (dicts) a source's own."""

    def build(
        fts: dict[str, Any] | None = None,
        cf: dict[str, Any] | None = None,
        url: dict[str, Any] | None = None,
        **common: Any,
    ) -> SourcesSettings:
        table: dict[str, Any] = {
            "timeout": 5,
            "retry_after_default": 0.05,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            **common,
            "uk-find-a-tender": {"base_url": apis.url + "/api/1.0/", "min_interval": 0, **(fts or {})},
            "uk-contracts-finder": {"base_url": apis.url + "/", "min_interval": 0, **(cf or {})},
            "ocds-url": {"min_interval": 0, **(url or {})},
        }
        return load_source_settings({"sources": table})

    return build


@pytest.fixture
def workspace(db: Path) -> Iterator[Workspace]:
    """An empty store that compiles and normalises after a sync (the red flags are left out, for speed)."""
    settings = load_settings(db=db, workers=1, analyse_after_load=False, publish_after_load=False)
    with Workspace.open(settings) as opened:
        yield opened
