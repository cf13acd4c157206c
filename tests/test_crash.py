"""A load killed with SIGKILL at any moment, then run again, leaves exactly the store one clean load gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenderwatch.demo.generator import write_jsonl
from tests import table_contents

ENV = {"TENDERWATCH_BATCH_SIZE": "500", "TENDERWATCH_PROGRESS": "never"}


def _start_load(source: Path, db: Path, workers: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV, "TENDERWATCH_WORKERS": workers}
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "tenderwatch", "load", str(source), "--db", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so the kill takes the worker processes too
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "synthetic.jsonl"
    write_jsonl(path, 12_000, seed=7)
    return path


@pytest.fixture(scope="module")
def clean(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, float]:
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    started = time.monotonic()
    process = _start_load(source, db, "2")
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()
    return table_contents(db), time.monotonic() - started


@pytest.mark.parametrize("fraction", [0.15, 0.35, 0.55, 0.75, 0.85])
def test_a_killed_load_run_again_gives_the_same_store(
    source: Path, clean: tuple[dict, float], tmp_path: Path, fraction: float
) -> None:
    expected, duration = clean
    db = tmp_path / "killed.duckdb"
    process = _start_load(source, db, "2")
    time.sleep(duration * fraction)
    assert process.poll() is None, "the load finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    rerun = _start_load(source, db, "2")
    _, stderr = rerun.communicate(timeout=600)

    assert rerun.returncode == 0, stderr.decode()
    assert table_contents(db) == expected
