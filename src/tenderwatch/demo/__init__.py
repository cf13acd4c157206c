"""The demo: the four stories, modelled with fictional organisations, and a seeded synthetic population.

Everything here is fictional and marked as such: every release has ``"x_demo": true`` and an ocid starting
``ocds-twdemo-`` (the stories) or ``ocds-twsynth-`` (the synthetic population); ``processes.is_demo`` is true.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import BinaryIO

from tenderwatch.exceptions import StoreError
from tenderwatch.ingest.inputs import Input
from tenderwatch.workspace import LoadResult, Reporter, Workspace

STORY_OCID_PREFIX = "ocds-twdemo-"
DEFAULT_SIZE = 30_000
DEFAULT_SEED = 1


@dataclass
class Story:
    """One of the four stories, as a process in the demo store."""

    ocid: str
    title: str
    buyer: str | None


class _GeneratedStream(io.RawIOBase):
    """A read-only byte stream fed by a generator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _stream(chunks: Callable[[], Iterator[bytes]]) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return io.BufferedReader(_GeneratedStream(chunks()), buffer_size=1 << 20)  # type: ignore[return-value]

    return opener


def _story_lines() -> Iterator[bytes]:
    yield resources.files("tenderwatch.demo").joinpath("stories/stories.jsonl").read_bytes()


def _synthetic_lines(size: int, seed: int) -> Iterator[bytes]:
    import orjson  # noqa: PLC0415

    from tenderwatch.demo.generator import generate_releases  # noqa: PLC0415 (slow to import)

    for release in generate_releases(size, seed):
        yield orjson.dumps(release) + b"\n"


def demo_inputs(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> list[Input]:
    """Return the demo's two inputs: the stories and ``size`` synthetic releases from ``seed``."""
    return [
        Input("tenderwatch demo: the four stories (fictional organisations)", None, _stream(_story_lines)),
        Input(
            f"tenderwatch demo: synthetic population (n={size}, seed={seed})",
            None,
            _stream(lambda: _synthetic_lines(size, seed)),
        ),
    ]


def build_demo(
    workspace: Workspace, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, reporter: Reporter | None = None
) -> LoadResult:
    """Load the demo data into ``workspace``, refusing a store that holds real (non-demo) data."""
    from tenderwatch.demo.generator import DEMO_OCID_PREFIX  # noqa: PLC0415

    real = workspace.store.con.execute(
        "SELECT count(*) FROM raw_releases WHERE ocid NOT LIKE ? AND ocid NOT LIKE ?",
        [STORY_OCID_PREFIX + "%", DEMO_OCID_PREFIX + "%"],
    ).fetchall()[0][0]
    if real:
        raise StoreError(
            f"the store {workspace.store.path} already holds {real:,} real releases, and demo data must not mix "
            "with them",
            "give another store, e.g. `tenderwatch demo --db demo.duckdb`",
        )
    return workspace.load_inputs(demo_inputs(size, seed), reporter=reporter)


def stories(workspace: Workspace) -> list[Story]:
    """Return the story processes in the store, in ocid order."""
    rows = workspace.store.con.execute(
        "SELECT ocid, title, buyer_name FROM processes WHERE ocid LIKE ? ORDER BY ocid", [STORY_OCID_PREFIX + "%"]
    ).fetchall()
    return [Story(*row) for row in rows]
