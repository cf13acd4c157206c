"""The work done on releases away from the store, in worker processes: parse, check, hash and compile.

A load sends chunks of JSON lines to the workers. Each worker parses them, checks every release, makes its
canonical text and hash, and compiles each run of consecutive releases of one ocid straight away. That
*provisional* compiled release is right whenever the run holds every release of its process, which the
store confirms in one query after the load (:meth:`tenderwatch.workspace.Workspace.process_pending`); any
other process is compiled again from the store. Bulk files list a process's releases together, so most
releases are parsed once and never read back.
"""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from tenderwatch.compiler import Compiler
from tenderwatch.exceptions import CompileError
from tenderwatch.ingest.checks import Checked, Checker, Rejection
from tenderwatch.ingest.reader import Broken, Candidate, expand, json_error

# Fields of a stored release as the workers hand them over (the store adds seq, source, member and run).
RELEASE_FIELDS = (
    "hash",
    "ocid",
    "release_id",
    "release_date",
    "kind",
    "tags",
    "line",
    "byte_offset",
    "pointer",
    "package_hash",
    "data",
)
# Fields of a reject as the workers hand them over (the store adds the key, source, member and run).
REJECT_FIELDS = (
    "scope",
    "code",
    "line",
    "byte_offset",
    "pointer",
    "ocid",
    "release_id",
    "field",
    "value",
    "reason",
    "data",
)
# Fields of a compiled release.
COMPILED_FIELDS = (
    "ocid",
    "method",
    "release_count",
    "release_ids",
    "first_release_date",
    "last_release_date",
    "latest_release_id",
    "latest_package_hash",
    "release_tags",
    "data",
    "data_hash",
    "error",
)


@dataclass(slots=True)
class ChunkResult:
    """What one chunk of input gave: releases to store, rejects, package metadata and provisional compiles."""

    releases: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: list[tuple[Any, ...]] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    compiled: list[tuple[Any, ...]] = field(default_factory=list)
    set_aside: int = 0
    rejected: int = 0


@dataclass
class WorkerState:
    """What each worker needs: the checks' limits, the merge rules and how much rejected input to keep."""

    checker: Checker
    compiler: Compiler
    keep: int


_STATE: WorkerState | None = None


def init_worker(max_amount: float, min_year: int, max_year: int, rules: dict[tuple[str, ...], str], keep: int) -> None:
    """Set up a worker process (or the main process, when there are no workers)."""
    global _STATE  # noqa: PLW0603 - one state per worker process
    _STATE = WorkerState(Checker(max_amount, min_year, max_year), Compiler(rules), keep)
    gc.disable()  # a worker only ever holds acyclic parsed JSON (see util.no_cyclic_gc)


def state() -> WorkerState:
    """Return this process's worker state."""
    if _STATE is None:
        raise RuntimeError("init_worker() was not called in this process")
    return _STATE


def process_lines(lines: list[tuple[int, int, bytes]]) -> ChunkResult:
    """Parse, check and provisionally compile a chunk of JSON lines, given as (line number, byte offset, text)."""
    result = ChunkResult()
    candidates: list[Candidate] = []
    for number, offset, text in lines:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            add_broken(result, Broken(number, offset, "", "invalid-json", json_error(error, text), text))
            continue
        for item in expand(value, ""):
            item.line = number
            item.byte_offset = offset
            if isinstance(item, Broken):
                add_broken(result, item)
            else:
                candidates.append(item)
    process_candidates(candidates, result)
    return result


def add_broken(result: ChunkResult, broken: Broken) -> None:
    """Record input that could not be read as a reject."""
    if broken.line is None and not broken.pointer:
        scope = "file"
    elif not broken.pointer:
        scope = "line"
    else:
        scope = "release"
    keep = state().keep
    result.rejects.append(
        (
            scope,
            broken.code,
            broken.line,
            broken.byte_offset,
            broken.pointer,
            None,
            None,
            None,
            None,
            broken.reason,
            broken.data[:keep].decode("utf-8", "replace"),
        )
    )
    result.rejected += 1


def process_candidates(candidates: list[Candidate], result: ChunkResult) -> ChunkResult:
    """Check candidate releases, and compile each run of consecutive releases of one ocid."""
    checker = state().checker
    keep = state().keep
    run: list[tuple[Checked, Candidate, str | None]] = []
    last_package: dict[str, Any] | None = None
    package_hash: str | None = None
    for candidate in candidates:
        checked = checker.check(candidate.value)
        if isinstance(checked, Rejection):
            value = candidate.value
            ocid = value.get("ocid") if isinstance(value, dict) and isinstance(value.get("ocid"), str) else None
            release_id = (
                value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), (str, int)) else None
            )
            try:
                data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)[:keep]
            except orjson.JSONEncodeError:
                data = repr(value).encode()[:keep]
            result.rejects.append(
                (
                    "release",
                    checked.code,
                    candidate.line,
                    candidate.byte_offset,
                    candidate.pointer,
                    ocid,
                    None if release_id is None else str(release_id),
                    None,
                    None,
                    checked.reason,
                    data.decode("utf-8", "replace"),
                )
            )
            result.rejected += 1
            continue
        package = candidate.package
        if package is None:
            package_hash = None
        elif package is not last_package:
            text = orjson.dumps(package, option=orjson.OPT_NON_STR_KEYS)
            package_hash = hashlib.sha256(text).hexdigest()
            result.packages.setdefault(package_hash, text.decode())
        last_package = package
        stored = checked.canonical.decode()
        result.releases.append(
            (
                checked.hash,
                checked.ocid,
                checked.release_id,
                checked.date,
                candidate.kind,
                checked.tags,
                candidate.line,
                candidate.byte_offset,
                candidate.pointer,
                package_hash,
                stored,
            )
        )
        for problem in checked.problems:
            result.rejects.append(
                (
                    "field",
                    problem.code,
                    candidate.line,
                    candidate.byte_offset,
                    candidate.pointer,
                    checked.ocid,
                    checked.release_id,
                    problem.field,
                    problem.value,
                    problem.reason,
                    "",
                )
            )
            result.set_aside += 1
        if run and run[-1][0].ocid != checked.ocid:
            result.compiled.append(_compile_run(run))
            run = []
        run.append((checked, candidate, package_hash))
    if run:
        result.compiled.append(_compile_run(run))
    return result


def _compile_run(run: list[tuple[Checked, Candidate, str | None]]) -> tuple[Any, ...]:
    """Compile a run of consecutive releases of one ocid, as the store would if they were all it held.

    A publisher's compiled release is named by the hash of the release stored for it (see
    :func:`compile_process`): its text is neither written out again nor sent back from a worker."""
    seen: set[str] = set()
    rows = []
    for checked, candidate, package_hash in run:
        if checked.hash in seen:
            continue
        seen.add(checked.hash)
        value = None if candidate.kind == "compiled" else candidate.value  # the text is named by its hash
        rows.append(
            (candidate.kind, value, checked.release_id, checked.date, checked.tags, package_hash, checked.hash)
        )
    return compile_process(run[0][0].ocid, rows)


def compile_process(ocid: str, rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Compile one process from its distinct stored releases, in order of arrival.

    Each row is (kind, release as dict or JSON text, release id, release date, tags, package hash, content hash
    of the stored release). Returns a tuple of :data:`COMPILED_FIELDS`.

    When no releases were given, the latest of the publisher's compiled releases is the compiled release. Its text
    is already in the raw store, so the result holds no ``data``, only ``data_hash``: that release's hash, by
    which readers find the text (see :func:`tenderwatch.store.compiled_with_text`). Keeping the text once halves what a
    load of compiled releases writes.
    """
    releases = [row for row in rows if row[0] == "release"]
    error = None
    data_hash = None
    if releases:
        method = "merge"
        ordered = sorted(releases, key=lambda row: row[3]) if len(releases) > 1 else releases
        try:
            parsed = [row[1] if isinstance(row[1], dict) else orjson.loads(row[1]) for row in ordered]
            data = orjson.dumps(state().compiler.compile(parsed)).decode()
        except CompileError as exc:
            data = None
            error = str(exc)
    else:
        method = "publisher"
        ordered = sorted(rows, key=lambda row: row[3])
        data = None
        data_hash = ordered[-1][6]
    tags: dict[str, None] = {}
    for row in ordered:
        for tag in row[4] or ():
            tags.setdefault(tag, None)
    latest_row = ordered[-1]
    return (
        ocid,
        method,
        len(rows),
        [row[2] for row in ordered],
        ordered[0][3],
        latest_row[3],
        latest_row[2],
        latest_row[5],
        list(tags),
        data,
        data_hash,
        error,
    )


def compile_chunk(chunk: list[tuple[str, list[tuple[Any, ...]]]]) -> list[tuple[Any, ...]]:
    """Compile a chunk of processes read back from the store."""
    return [compile_process(ocid, rows) for ocid, rows in chunk]
