"""Benchmark: latency of the web app's main pages and API calls under concurrent clients.

    python bench/web.py                    # a store of 1,000,000 generated releases, 16 clients
    python bench/web.py --n 100000 --clients 8

It loads N generated releases into a store (or reuses --db), starts `tenderwatch serve`, picks real ids of
processes, buyers and suppliers, and has each client request pages in turn for --seconds. It prints, per
page kind, the number of requests and the p50, p95 and p99 latency in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="generated releases (default 1,000,000)")
    parser.add_argument("--db", type=Path, default=None, help="an existing store to serve instead")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tenderwatch-web-"))
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the generated input and store


def run(args: argparse.Namespace, workdir: Path) -> None:
    db = args.db
    if db is None:
        from tenderwatch.demo.generator import write_release_packages  # noqa: PLC0415

        source = workdir / "releases.jsonl"
        print(f"generating and loading {args.n:,} releases ...", flush=True)
        write_release_packages(source, args.n, 1)
        db = workdir / "web.duckdb"
        subprocess.run(
            [sys.executable, "-m", "tenderwatch", "load", str(source), "--db", str(db)],
            check=True,
            env={**os.environ, "TENDERWATCH_PROGRESS": "never"},
        )
    from tenderwatch.store.snapshot import current_snapshot  # noqa: PLC0415

    snapshot = current_snapshot(db)
    con = duckdb.connect(str(snapshot), read_only=True)
    ocids = [row[0] for row in con.execute("SELECT ocid FROM processes USING SAMPLE 500 ROWS").fetchall()]
    # profiles are keyed by organisation: take the keys the snapshot's profiles have
    buyers = [
        row[0]
        for row in con.execute(
            "SELECT party_id FROM organisation_pages WHERE kind = 'buyer' USING SAMPLE 100 ROWS"
        ).fetchall()
    ]
    suppliers = [
        row[0]
        for row in con.execute(
            "SELECT party_id FROM organisation_pages WHERE kind = 'supplier' USING SAMPLE 200 ROWS"
        ).fetchall()
    ]
    con.close()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/login", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    kinds = {
        "contract page": lambda rng: f"/processes/{quote(rng.choice(ocids), safe='')}",
        "buyer page": lambda rng: f"/buyers/{quote(rng.choice(buyers), safe='')}",
        "supplier page": lambda rng: f"/suppliers/{quote(rng.choice(suppliers), safe='')}",
        "API contract": lambda rng: f"/api/processes/{quote(rng.choice(ocids), safe='')}",
        "API supplier": lambda rng: f"/api/suppliers/{quote(rng.choice(suppliers), safe='')}",
        "search": lambda rng: "/search?q=" + rng.choice(["care", "children", "cleaning", "software", "road"]),
        "red flags": lambda rng: f"/flags?page={rng.randint(1, 20)}",
    }
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    errors: list[str] = []
    stop = time.monotonic() + args.seconds

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - choosing pages, not secrets
        with httpx.Client(base_url=base, timeout=60) as http:
            names = list(kinds)
            while time.monotonic() < stop:
                kind = names[rng.randrange(len(names))]
                path = kinds[kind](rng)
                started = time.perf_counter()
                response = http.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {path}")
                timings[kind].append(elapsed)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.terminate()
    server.wait(timeout=30)

    print(f"\n{args.clients} clients for {args.seconds:.0f} s on {db}")
    print(f"{'page':<16} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, values in timings.items():
        if values:
            print(
                f"{kind:<16} {len(values):>9} {statistics.median(values):>8.0f} "
                f"{percentile(values, 0.95):>8.0f} {percentile(values, 0.99):>8.0f}"
            )
    if errors:
        print(f"{len(errors)} errors, e.g. {errors[:3]}")
    print(f"\nreproduce: python bench/web.py --n {args.n} --clients {args.clients} --seconds {args.seconds:.0f}")


if __name__ == "__main__":
    main()
