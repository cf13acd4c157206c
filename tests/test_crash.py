"""A load killed with SIGKILL at any moment, then run again, leaves exactly the store one clean load gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tenderwatch.demo.generator import write_jsonl
from tests import table_contents

# Small transactions, so a kill can land between many commits; progress bars on, to see which step is running.
ENV = {"TENDERWATCH_BATCH_SIZE": "500", "TENDERWATCH_PROGRESS": "always", "TENDERWATCH_WORKERS": "2"}


def _start_load(source: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "load", str(source), "--db", str(db)],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so the kill takes the worker processes too
    )


def _watch(process: subprocess.Popen[bytes], word: bytes, seen: threading.Event) -> None:
    """Set ``seen`` once ``word`` appears in the process's progress output."""
    tail = b""
    while chunk := process.stderr.read1(4096):
        tail = (tail + chunk)[-4096:]
        if word in tail:
            seen.set()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "synthetic.jsonl"
    write_jsonl(path, 16_000, seed=7)
    return path


@pytest.fixture(scope="module")
def clean(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    process = _start_load(source, db)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()
    return table_contents(db)


@pytest.mark.parametrize(
    ("step", "delay"),
    [
        ("reading", 0.2),
        ("reading", 2.0),
        ("normalising", 0.0),
        ("normalising", 0.3),
        # in the analysis after the load: the rerun has nothing new to store, and still finishes the analysis
        ("finding red flags", 0.0),
    ],
)
def test_a_killed_load_run_again_gives_the_same_store(
    source: Path, clean: dict, tmp_path: Path, step: str, delay: float
) -> None:
    db = tmp_path / "killed.duckdb"
    process = _start_load(source, db)
    seen = threading.Event()
    watcher = threading.Thread(target=_watch, args=(process, step.encode(), seen), daemon=True)
    watcher.start()
    assert seen.wait(timeout=300), f"the load never reached the {step} step"
    time.sleep(delay)
    assert process.poll() is None, "the load finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    rerun = _start_load(source, db)
    _, stderr = rerun.communicate(timeout=600)

    assert rerun.returncode == 0, stderr.decode()[-2000:]
    after = table_contents(db)
    assert set(after) == set(clean)
    differing = {
        name: (sorted(set(clean[name]) - set(after[name]))[:2], sorted(set(after[name]) - set(clean[name]))[:2])
        for name in clean
        if after[name] != clean[name]
    }
    assert not differing, f"tables that differ from a clean load (first rows only in each): {differing}"
