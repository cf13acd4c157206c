"""Benchmark: resolving the organisations of generated releases.

    python bench/organisations.py                 # 100,000 releases
    python bench/organisations.py --n 1000000     # a million (goal: within 10 minutes, peak under 4 GiB)
    python bench/organisations.py --n 1000000 --keep /tmp/orgs   # keep the store to rerun the resolution

The script generates the synthetic releases of :mod:`tenderwatch.demo.generator` (suppliers under several
spellings, company numbers with and without their leading zeros, parties without identifiers), loads them with
`tenderwatch load` (with the analysis after loading turned off), then runs the resolution alone in a fresh
process: every party to an organisation (identifiers, names and postcodes, the Splink model), corporate groups
and group totals. It prints the resolution's wall time and the peak resident memory of its process, how many
parties and organisations it made and how they were linked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 600
GOAL_BYTES = 4 * 1024**3

RESOLVE = """
import json, resource, sys, time
import duckdb
from tenderwatch.resolve import resolve_organisations, OrganisationSettings
con = duckdb.connect(sys.argv[1])
con.execute("SET memory_limit = '768MB'")  # as Workspace.analyse() sets it (analysis_memory_limit)
started = time.perf_counter()
result = resolve_organisations(con, OrganisationSettings())
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak, "parties": result.parties,
                  "organisations": result.organisations, "by_method": result.by_method,
                  "model_links": result.model_links}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="releases to generate (default 100,000)")
    parser.add_argument("--keep", type=Path, help="folder to keep the input and store in (reused if present)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tw-orgs-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / f"orgs-{args.n}.duckdb"
    try:
        loaded = folder / f"orgs-{args.n}.loaded"
        if not loaded.exists():
            from tenderwatch.demo.generator import write_release_packages  # noqa: PLC0415

            source = folder / f"releases-{args.n}.jsonl"
            if not source.exists():
                started = time.perf_counter()
                write_release_packages(source, args.n)
                print(f"generated {args.n:,} releases in {time.perf_counter() - started:.0f} s", flush=True)
            env = {
                **os.environ,
                "TENDERWATCH_ANALYSE_AFTER_LOAD": "false",
                "TENDERWATCH_PUBLISH_AFTER_LOAD": "false",
                "TENDERWATCH_PROGRESS": "never",
                "TENDERWATCH_MEMORY_LIMIT": "1GB",
            }
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "tenderwatch", "load", str(source), "--db", str(store)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            print(f"loaded them in {time.perf_counter() - started:.0f} s (not part of the figure below)", flush=True)
            loaded.touch()
            source.unlink()
        output = subprocess.run(
            [sys.executable, "-c", RESOLVE, str(store)], check=True, capture_output=True, text=True
        ).stdout
        figures = json.loads(output.strip().splitlines()[-1])
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    seconds, peak = figures["seconds"], figures["peak"]
    print(
        f"resolved {figures['parties']:,} parties of {args.n:,} releases into {figures['organisations']:,} "
        f"organisations ({figures['model_links']:,} model links)"
    )
    print("linked by: " + ", ".join(f"{method} {count:,}" for method, count in figures["by_method"].items()))
    print(f"wall time {seconds:.1f} s (goal {GOAL_SECONDS} s: {'met' if seconds <= GOAL_SECONDS else 'NOT met'})")
    print(f"peak resident memory {peak / 1024**2:,.0f} MiB (goal 4 GiB: {'met' if peak < GOAL_BYTES else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
