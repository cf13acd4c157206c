"""Benchmark: `tenderwatch load` end to end against `ocdskit compile`, on the same synthetic input, in one run.

    python bench/load.py                 # 100,000 releases
    python bench/load.py --n 1000000     # a million

Both tools read the same file: JSON lines of release packages of 1,000 releases each, the shape of a bulk
download. tenderwatch stores every release, compiles and
normalises them; ocdskit compile (the OCDS reference merge) only compiles them. The script prints, for each,
the wall time, releases per second, megabytes per second and the peak memory of the whole process tree (the
command and any worker processes, as proportional set size, so pages shared after a fork count once), and
then the ratio of throughputs.

It also times, in the same run and on the same file, the two cheapest things a load into a DuckDB store can do,
as DuckDB's own native readers do them with nothing else: storing each line's text in a table (the floor of
keeping every release verbatim), and reading each line into typed columns (the floor of normalising). Their ratios
to ``ocdskit compile`` bound what any load into a DuckDB store could reach on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT.parent / "shared" / "data" / "schema" / "1.1.5" / "release-schema.json"


def _tree_rss(pid: int) -> int:
    """Return the memory (bytes) of a process and all its descendants, from /proc.

    Proportional set size (Pss): pages shared between processes (as forked workers share their parent's) are
    split between them instead of counted once per process, so the sum is what the tree really occupies.
    """
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as handle:  # noqa: PTH123
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as handle:  # noqa: PTH123
                stack.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(command: list[str], stdin: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run a command; return its wall time in seconds and the peak memory of its process tree in bytes."""
    peak = 0
    stop = threading.Event()
    stdin_handle = stdin.open("rb") if stdin else subprocess.DEVNULL
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=stdin_handle,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.25)  # reading smaps_rollup walks page tables: sampling often would slow the run

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if stdin:
        stdin_handle.close()
    if process.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed: {stderr.decode()[-2000:]}")
    return elapsed, peak


# The floors: DuckDB alone, in a file of the store's format, with its native readers and both cores.
FLOOR = """
import sys, duckdb
path, store, step = sys.argv[1:4]
con = duckdb.connect(store, config={"storage_compatibility_version": "v1.5.0"})
if step == "store":
    con.execute("CREATE TABLE lines (data VARCHAR USING COMPRESSION zstd)")
    con.execute("INSERT INTO lines SELECT json FROM read_ndjson_objects(?)", [path])
else:
    con.execute("CREATE TABLE parsed AS SELECT * FROM read_json(?, format='newline_delimited', "
                "maximum_object_size=1000000000)", [path])
con.execute("CHECKPOINT")
con.close()
"""


def floor(source: Path, workdir: Path, step: str) -> tuple[float, int]:
    """Time one floor (``store`` or ``parse``) on a new DuckDB file; return its wall time and peak memory."""
    store = workdir / f"floor-{step}.duckdb"
    for path in (store, Path(f"{store}.wal")):
        path.unlink(missing_ok=True)
    measured = measure([sys.executable, "-c", FLOOR, str(source), str(store), step])
    store.unlink(missing_ok=True)
    return measured


def compile_package() -> None:
    """Byte-compile tenderwatch's modules, as installing the package does. Python only reads compiled modules it
    finds: from a source tree (an editable install) with ``PYTHONDONTWRITEBYTECODE`` set, every timed run would
    otherwise compile each module it imports from its source first (about 0.05 s a command)."""
    import compileall  # noqa: PLC0415

    import tenderwatch  # noqa: PLC0415

    compileall.compile_dir(Path(tenderwatch.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="releases to generate (default 100,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic data")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="OCDS release schema for ocdskit")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the input and the store")
    parser.add_argument("--skip-ocdskit", action="store_true", help="measure tenderwatch only")
    parser.add_argument("--skip-floors", action="store_true", help="do not time DuckDB's readers alone")
    args = parser.parse_args()
    compile_package()

    from tenderwatch.demo.generator import write_release_packages  # noqa: PLC0415

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tenderwatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"release-packages-{args.n}-{args.seed}.jsonl"
    if not source.exists():
        print(f"generating {args.n:,} releases ...", flush=True)
        write_release_packages(source, args.n, args.seed, per_package=1000)
    megabytes = source.stat().st_size / 1e6
    print(f"input: {args.n:,} releases, {megabytes:,.1f} MB ({source})")

    store = workdir / "bench.duckdb"
    for path in (store, Path(f"{store}.wal")):
        path.unlink(missing_ok=True)
    # What the goal measures: store, compile and normalise. The analysis a load runs after that by default
    # (organisations, lifecycle, red flags, the web app's snapshot) is timed by the other benchmarks.
    ours = measure(
        [sys.executable, "-m", "tenderwatch", "load", str(source), "--db", str(store)],
        env={
            "TENDERWATCH_PROGRESS": "never",
            "TENDERWATCH_ANALYSE_AFTER_LOAD": "false",
            "TENDERWATCH_PUBLISH_AFTER_LOAD": "false",
        },
    )
    rows = [("tenderwatch load (store, compile, normalise)", *ours)]

    if not args.skip_ocdskit:
        if not args.schema.is_file():
            sys.exit(f"error: {args.schema} does not exist: give --schema PATH to an OCDS 1.1 release schema")
        ocdskit = Path(sys.executable).parent / "ocdskit"
        theirs = measure([str(ocdskit), "compile", "--schema", str(args.schema)], stdin=source)
        rows.append(("ocdskit compile (compile only)", *theirs))
    if not args.skip_floors:
        rows.append(("floor: DuckDB stores each line, nothing else", *floor(source, workdir, "store")))
        rows.append(("floor: DuckDB reads lines into typed columns", *floor(source, workdir, "parse")))

    print()
    print(f"{'tool':<46} {'wall s':>8} {'releases/s':>11} {'MB/s':>7} {'peak mem MB':>12}")
    for name, elapsed, peak in rows:
        print(
            f"{name:<46} {elapsed:>8.2f} {args.n / elapsed:>11,.0f} {megabytes / elapsed:>7.1f} {peak / 1e6:>12,.0f}"
        )
    if not args.skip_ocdskit:
        ocdskit_time = rows[1][1]
        print(f"\nthroughput ratio, tenderwatch / ocdskit: {ocdskit_time / rows[0][1]:.2f}x")
        for name, elapsed, _ in rows[2:]:
            print(f"throughput ratio, {name.removeprefix('floor: ')} / ocdskit: {ocdskit_time / elapsed:.2f}x")
        print(f"the goal, 20 times ocdskit, is {ocdskit_time / 20:.2f} s for this input")
    print(f"\nreproduce: python bench/load.py --n {args.n} --seed {args.seed}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
