"""Benchmark: Cardinal's eleven indicators with `tenderwatch flags`, on generated compiled releases.

    python bench/flags.py                # 1,000,000 compiled releases
    python bench/flags.py --n 100000

It generates N compiled releases (the synthetic population of tenderwatch.demo.generator, each process's
releases merged), writes them as JSON lines, and measures (a) `tenderwatch flags` with a settings file
naming Cardinal's eleven indicators, on a store already loaded, and (b) `tenderwatch load` of the JSON lines
file (with the analysis after a load turned off) followed by the same `tenderwatch flags`, from an empty store,
and the same command straight from the file (`tenderwatch flags --from`), which, as Cardinal does, builds
no store.
It also times the same `tenderwatch flags` once more: nothing has changed, so it shows the results the first
run kept instead of working them out again (not a figure to compare with Cardinal, which always recomputes).
For each it prints wall time, releases per second, megabytes per second and peak memory of the whole process
tree. (a) and the command straight from the file run three times (`--runs`), and their median is shown: the
machine is noisy. The load runs once.

Cardinal itself (`ocdscardinal indicators`) is run side by side when an `ocdscardinal` binary is on PATH;
its Python package has no command (it exposes only the coverage function), and building it needs the crates
registry. Without it, the script prints the figure measured for Cardinal 0.0.8 on this machine kind (21.4 s for
1,000,000 such releases) as the reference.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import compile_package, measure

CARDINAL_REFERENCE_SECONDS_PER_MILLION = 21.4
CARDINAL_SETTINGS = """\
[R003]
[R018]
[R024]
[R025]
[R028]
[R030]
[R035]
[R036]
[R038]
[R048]
[R058]
"""


def write_compiled(path: Path, n: int, seed: int) -> int:
    """Write n compiled releases; return how many were written."""
    from tenderwatch.compiler import Compiler  # noqa: PLC0415
    from tenderwatch.demo.generator import generate_releases  # noqa: PLC0415

    compiler = Compiler()
    written = 0
    pending: dict[str, list[dict]] = {}
    with path.open("wb") as handle:
        # The generator keeps a process's releases together (at most two processes interleave), so a process
        # is complete once three others have started after it.
        order: list[str] = []
        for release in generate_releases(n * 3, seed):
            ocid = release["ocid"]
            if ocid not in pending:
                pending[ocid] = []
                order.append(ocid)
            pending[ocid].append(release)
            while len(order) > 3:
                done = order.pop(0)
                handle.write(orjson.dumps(compiler.compile(pending.pop(done))) + b"\n")
                written += 1
                if written >= n:
                    return written
        for done in order:
            if written >= n:
                break
            handle.write(orjson.dumps(compiler.compile(pending.pop(done))) + b"\n")
            written += 1
    return written


def median_of(runs: list[tuple[float, int]]) -> tuple[float, int]:
    """Return the median wall time of some runs of a command, with the largest peak memory of them."""
    return statistics.median(elapsed for elapsed, _ in runs), max(peak for _, peak in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="compiled releases (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of (a) and of --from, whose median is shown (default 3)"
    )
    args = parser.parse_args()
    compile_package()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tenderwatch-flags-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"compiled-{args.n}-{args.seed}.jsonl"
    if not source.exists():
        print(f"generating {args.n:,} compiled releases ...", flush=True)
        write_compiled(source, args.n, args.seed)
    megabytes = source.stat().st_size / 1e6
    settings = workdir / "cardinal-eleven.ini"
    settings.write_text(CARDINAL_SETTINGS)
    print(f"input: {args.n:,} compiled releases, {megabytes:,.1f} MB ({source})")

    tenderwatch = [sys.executable, "-m", "tenderwatch"]
    env = {"TENDERWATCH_PROGRESS": "never"}
    store = workdir / "flags.duckdb"
    for path in (store, Path(f"{store}.wal")):
        path.unlink(missing_ok=True)
    # The load only stores, compiles and normalises: the analysis that follows a load by default (organisations,
    # lifecycle, services, every indicator, the web snapshot) is not part of what Cardinal does.
    load_env = {**env, "TENDERWATCH_ANALYSE_AFTER_LOAD": "false", "TENDERWATCH_PUBLISH_AFTER_LOAD": "false"}
    loaded = measure([*tenderwatch, "load", str(source), "--db", str(store)], env=load_env)
    flags_command = [
        *tenderwatch,
        "flags",
        "--settings",
        str(settings),
        "--format",
        "cardinal",
        "--out",
        str(workdir / "flags.json"),
        "--db",
        str(store),
    ]
    # The first run works every indicator out; the runs after it are told to work them out again. The same
    # command again without that finds its results kept (nothing changed).
    flags = median_of(
        [measure(flags_command, env=env)]
        + [measure([*flags_command, "--recompute"], env=env) for _ in range(args.runs - 1)]
    )
    again = measure(flags_command, env=env)
    # Straight from the file, as Cardinal works: no store, nothing kept.
    from_file_command = [
        *tenderwatch,
        "flags",
        "--from",
        str(source),
        "--settings",
        str(settings),
        "--format",
        "cardinal",
        "--out",
        str(workdir / "flags-from-file.json"),
    ]
    from_file = median_of([measure(from_file_command, env=env) for _ in range(args.runs)])
    print(f"(a) and --from: the median of {args.runs} runs each (the largest peak); the load: one run")
    rows = [
        ("(a) tenderwatch flags, store loaded", flags[0], flags[1]),
        ("(b) tenderwatch load + flags", loaded[0] + flags[0], max(loaded[1], flags[1])),
        ("(b) tenderwatch flags --from the file", from_file[0], from_file[1]),
    ]
    cardinal = shutil.which("ocdscardinal")
    if cardinal:
        elapsed, peak = measure([cardinal, "indicators", "--settings", str(settings), str(source)])
        rows.append(("ocdscardinal indicators", elapsed, peak))
    rows.append(("(a) again, kept results shown", again[0], again[1]))
    print()
    print(f"{'run':<40} {'wall s':>8} {'releases/s':>11} {'MB/s':>7} {'peak mem MB':>12}")
    for name, elapsed, peak in rows:
        print(
            f"{name:<40} {elapsed:>8.2f} {args.n / elapsed:>11,.0f} {megabytes / elapsed:>7.1f} {peak / 1e6:>12,.0f}"
        )
    reference = rows[3][1] if cardinal else CARDINAL_REFERENCE_SECONDS_PER_MILLION * args.n / 1_000_000
    label = "measured here" if cardinal else "reference figure for this machine kind, scaled to N"
    print(f"\nCardinal: {reference:.1f} s ({label})")
    print(
        f"ratio (a): {reference / rows[0][1]:.2f}x Cardinal's speed; ratio (b): {reference / rows[1][1]:.2f}x "
        f"through a store, {reference / rows[2][1]:.2f}x straight from the file"
    )
    flagged = json.loads((workdir / "flags.json").read_text())
    print("processes flagged:", len(flagged.get("OCID", {})))
    same = json.loads((workdir / "flags-from-file.json").read_text()) == flagged
    print("straight from the file, the same output:", "yes" if same else "NO")
    print(f"\nreproduce: python bench/flags.py --n {args.n} --seed {args.seed} --runs {args.runs}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
