"""The library API: one store and its settings. Every CLI command (and, later, every page) calls this.

    with Workspace.open(load_settings(db="my.duckdb")) as workspace:
        result = workspace.load(["releases.jsonl.gz"])
        print(workspace.status().processes)

A load runs in three steps, each crash-safe:

1. worker processes parse and check the releases, and compile each run of consecutive releases of one
   process straight away (see :mod:`tenderwatch.pipeline`); the releases are stored in batches, each batch
   one transaction that also records its rejects, its provisional compiled releases and its processes as
   pending;
2. every pending process whose provisional compiled release is not known to be complete is compiled again
   from the store, in the workers;
3. the pending processes are normalised and cleared from ``pending``, one transaction per slice.

A run killed at any point leaves the store as the last commit left it; the next run skips what is stored
(same content hash), finishes the pending processes, and ends with the same store as one clean run.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import importlib
import io
import itertools
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

import duckdb
import orjson

from tenderwatch import __version__
from tenderwatch.compiler import packaged_rules, rules_from_schema
from tenderwatch.exceptions import InputError, SettingsError, StoreError
from tenderwatch.ingest.inputs import Input, expand_inputs
from tenderwatch.ingest.reader import Broken, Candidate, LineChunk, read_input
from tenderwatch.normalise import normalise
from tenderwatch.pipeline import (
    COMPILED_FIELDS,
    REJECT_FIELDS,
    RELEASE_FIELDS,
    ChunkResult,
    add_broken,
    compile_chunk,
    init_worker,
    process_candidates,
    process_lines,
)
from tenderwatch.settings import Settings, load_settings
from tenderwatch.store import (
    ALL_COMPILED_TEXTS,
    ANALYSIS_DUE,
    NORMALISED_TABLES,
    Store,
    data_changed,
    derived_tables,
    pending_positions,
    rows_of,
)
from tenderwatch.util import WorkerPool, give_back_freed_memory, no_cyclic_gc

# Processes handed to a worker at once, and releases at most in one hand-over.
COMPILE_CHUNK_PROCESSES = 256
COMPILE_CHUNK_RELEASES = 2048
# Processes normalised per transaction.
NORMALISE_SLICE = 10_000
# Compiled releases an export sorts in memory at a time (see _write_sorted).
EXPORT_BUCKET = 10_000
_COMMIT = object()  # tells the writing thread to commit
# Releases handed to DuckDB at a time (a transaction holds batch_size of them, in several hand-overs).
HAND_OVER_ROWS = 5_000


class Task(Protocol):
    """A unit of long work that reports progress."""

    def advance(self, amount: int = 1) -> None:
        """Record that ``amount`` more units are done."""

    def set_total(self, total: int | None) -> None:
        """Change the expected total."""

    def done(self) -> None:
        """Mark the task finished."""


class Reporter(Protocol):
    """Receives progress and per-file summaries; the CLI draws them, the library stays silent by default."""

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        """Start a task."""

    def file_done(self, summary: FileSummary) -> None:
        """Report that one input has been read."""

    def note(self, message: str) -> None:
        """Report a notable event in one line."""


class _SilentTask:
    def advance(self, amount: int = 1) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass

    def done(self) -> None:
        pass


class SilentReporter:
    """A reporter that reports nothing."""

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:
        return _SilentTask()

    def file_done(self, summary: FileSummary) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class FileSummary:
    """What one input gave."""

    label: str
    loaded: int = 0
    already_stored: int = 0
    rejected: int = 0
    set_aside: int = 0
    error: str | None = None
    # per reject code: how many, and the reason given for the first of them
    reasons: dict[str, list[Any]] = field(default_factory=dict)

    def line(self) -> str:
        """Return the one-line summary printed after each input. When nothing of the input could be stored, it
        ends with the most common reason, so that a file of the wrong kind says what it is at once."""
        if self.error:
            return f"error: {self.error}"
        text = (
            f"{self.label}: {self.loaded:,} loaded, {self.already_stored:,} already stored, {self.rejected:,} rejected"
        )
        if self.set_aside:
            text += f" ({self.set_aside:,} bad values set aside in stored releases)"
        if self.rejected and not self.loaded and not self.already_stored and self.reasons:
            count, reason = max(self.reasons.values(), key=lambda pair: pair[0])
            text += f" ({'all' if count == self.rejected else f'{count:,} of them'}: {reason})"
        return text

    def count_reject(self, code: str, reason: str) -> None:
        """Note one reject of this input."""
        if code in self.reasons:
            self.reasons[code][0] += 1
        else:
            self.reasons[code] = [1, reason]


@dataclass
class LoadResult:
    """What a load did."""

    files: list[FileSummary] = field(default_factory=list)
    processes: int = 0
    compile_errors: int = 0

    @property
    def loaded(self) -> int:
        """Return the number of releases newly stored."""
        return sum(summary.loaded for summary in self.files)

    @property
    def already_stored(self) -> int:
        """Return the number of releases that were already in the store."""
        return sum(summary.already_stored for summary in self.files)

    @property
    def rejected(self) -> int:
        """Return the number of inputs, lines and releases refused."""
        return sum(summary.rejected for summary in self.files)

    @property
    def set_aside(self) -> int:
        """Return the number of bad values set aside from stored releases."""
        return sum(summary.set_aside for summary in self.files)

    @property
    def input_errors(self) -> list[str]:
        """Return the inputs that could not be opened at all."""
        return [summary.error for summary in self.files if summary.error]


@dataclass
class PublisherCount:
    """Releases and processes of one publisher and ocid prefix."""

    ocid_prefix: str | None
    publisher: str | None
    processes: int
    releases: int
    is_demo: bool


@dataclass
class Status:
    """What the store holds."""

    path: str
    releases: int
    compiled_releases: int
    processes: int
    pending: int
    publishers: list[PublisherCount]
    first_release_date: str | None
    last_release_date: str | None
    rejects: dict[str, int]
    reject_codes: list[tuple[str, str, int]]
    table_rows: dict[str, int]
    loads: int
    needs_rebuild: bool
    # processes that copy another process's notices (``process_copies``), counted once, as their originals
    copies: int = 0


@dataclass
class RejectRow:
    """One recorded reject, as ``status --rejects`` shows it."""

    scope: str
    code: str
    location: str
    reason: str


class IngestSession:
    """Stores documents one at a time for :meth:`Workspace.session`."""

    def __init__(self, writer: _BatchWriter, reporter: Reporter) -> None:
        self.writer = writer
        self.reporter = reporter
        self.files: list[FileSummary] = []
        self.processes = 0
        self.compile_errors = 0

    def add_document(
        self,
        source: str,
        data: bytes,
        statements: list[tuple[str, list[Any]]] | None = None,
        *,
        member: str | None = None,
    ) -> FileSummary:
        """Parse one JSON document (a release or record package, a release, an array, or JSON lines), check and
        store its releases, run ``statements`` in the same transaction, and commit. Returns its summary.

        ``source`` is what is stored as the releases' source (a URL for the live sources).
        """
        summary = FileSummary(label=source)
        item = Input(source, member, lambda: io.BufferedReader(io.BytesIO(data)), len(data))  # type: ignore[arg-type]
        self.writer.start_file(item, summary)
        candidates: list[Candidate] = []
        for part in read_input(item, max(len(data), 1)):
            if isinstance(part, LineChunk):
                self.writer.add(process_lines(part.lines))
            elif isinstance(part, Broken):
                broken = ChunkResult()
                add_broken(broken, part)
                self.writer.add(broken)
            else:
                candidates.append(part)
        if candidates:
            self.writer.add(process_candidates(candidates, ChunkResult()))
        self.writer.commit(statements)
        self.files.append(summary)
        self.reporter.file_done(summary)
        return summary


@dataclass
class FlagsResult:
    """Flags raised by a run of the indicators, and how each indicator fared."""

    flags: list[Any]
    run: Any
    cardinal_shape: dict[str, Any] | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    """Straight from a file: the indicators left out, each with what it needs that only a store holds."""
    reading: Any = None
    """Straight from a file: what reading it found (:class:`tenderwatch.normalise.FileReading`)."""
    count: int | None = None
    """How many flags were found: those in ``flags``, or those handed one by one to the caller's ``each``."""

    def cardinal(self) -> dict[str, Any]:
        """Return the flags in the shape of Cardinal's output."""
        if self.cardinal_shape is not None:
            return self.cardinal_shape
        from tenderwatch.indicators.engine import cardinal_output  # noqa: PLC0415

        return cardinal_output(self.flags, self.run.meta)


class Workspace:
    """One tenderwatch store with its settings: the façade every command uses."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings

    @classmethod
    def open(cls, settings: Settings | None = None, *, read_only: bool = False) -> Workspace:
        """Open (and, unless ``read_only``, create or upgrade) the store named by the settings."""
        settings = settings or load_settings()
        return cls(Store(Path(settings.db), settings, read_only=read_only))

    def drain(self) -> None:
        """Hand over what is collected and wait until it is stored (without committing)."""
        self.flush()
        self._queue.join()
        self._raise_failure()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------------- load

    def load(
        self,
        paths: Iterable[str],
        *,
        stdin: BinaryIO | None = None,
        reporter: Reporter | None = None,
    ) -> LoadResult:
        """Read, check and store every release in ``paths`` (files, folders or ``-``), then compile and normalise."""
        return self.load_inputs(expand_inputs(list(paths), stdin), reporter=reporter)

    def load_inputs(self, inputs: Iterable[Input | InputError], *, reporter: Reporter | None = None) -> LoadResult:
        """Read, check and store every release of ``inputs``, then compile and normalise what changed."""
        with no_cyclic_gc():
            return self._load_inputs(inputs, reporter or SilentReporter())

    def _load_inputs(self, inputs: Iterable[Input | InputError], reporter: Reporter) -> LoadResult:
        result = LoadResult()
        run = self._begin_run("load")
        writer = _BatchWriter(self.store, run, self.settings)
        with self._pool() as pool, contextlib.closing(writer):
            for item in inputs:
                if isinstance(item, InputError):
                    summary = FileSummary(label="", error=str(item))
                else:
                    summary = self._load_input(item, pool, writer, reporter)
                result.files.append(summary)
                reporter.file_done(summary)
            writer.commit()
            result.processes, result.compile_errors = self._process_pending(pool, reporter, run, provisional=True)
        if result.processes or self._analysis_due():
            self.analyse(reporter=reporter)
        self._end_run(run)
        return result

    def analyse(self, *, reporter: Reporter | None = None) -> None:
        """Build the facts (organisations, contract lifecycle, derived events; see :meth:`build_facts`), run every
        indicator with the settings file's [flags] table, then publish a read snapshot for the web app (the first
        two when ``analyse_after_load`` is on, the last when ``publish_after_load`` is)."""
        reporter = reporter or SilentReporter()
        with self._analysis_limit():
            self._analyse(reporter)

    @contextlib.contextmanager
    def _analysis_limit(self) -> Iterator[None]:
        """Hold DuckDB to ``analysis_memory_limit`` (raised by :meth:`_with_memory` when a step needs more), then
        back to ``memory_limit``."""
        self._analysis_memory = _size_in_bytes(self.settings.analysis_memory_limit)
        self.store.con.execute(f"SET memory_limit = '{self.settings.analysis_memory_limit}'")
        try:
            yield
        finally:
            self.store.con.execute(f"SET memory_limit = '{self.settings.memory_limit}'")
            self._analysis_memory = None

    def _analyse(self, reporter: Reporter) -> None:
        if self.settings.analyse_after_load and not self.store.read_only:
            self.build_facts(reporter=reporter)
            task = reporter.task("finding red flags", total=None, unit="")
            self._with_memory(reporter, "finding red flags", lambda: self._run_flags(None, None, lifecycle=False))
            task.done()
        if self.settings.analyse_after_load and not self.store.read_only:
            # With analysis off, `tenderwatch alerts send` finds the changes before it sends.
            from tenderwatch.alerts import update_alerts  # noqa: PLC0415

            task = reporter.task("finding changes for alerts", total=None, unit="")
            # in its own transaction: changes, matches and the outbox commit together
            self._with_memory(reporter, "finding changes for alerts", lambda: update_alerts(self.store.con))
            task.done()
        if self.settings.publish_after_load:
            task = reporter.task("publishing for the web app", total=None, unit="")
            self._with_memory(reporter, "publishing for the web app", self.publish)
            task.done()
        if self.settings.analyse_after_load and not self.store.read_only:
            self.store.set_meta(ANALYSIS_DUE, "no")

    def _analysis_due(self) -> bool:
        """Whether processes were normalised since the last complete analysis (as when a load was killed after
        normalising but before its analysis finished: the next load, with nothing new to store, still analyses)."""
        return self.store.meta(ANALYSIS_DUE) == "yes"

    _analysis_memory: int | None = None

    def _with_memory(self, reporter: Reporter, label: str, step: Any) -> Any:
        """Run one step of the analysis (a step that commits or rolls back as a whole). If it runs out of memory
        within the analysis memory limit, run it again with twice the limit, up to half the machine's memory; the
        raised limit holds for the rest of this analysis."""
        while True:
            try:
                return step()
            except duckdb.OutOfMemoryException:
                current = self._analysis_memory
                ceiling = _physical_memory() // 2
                if current is None or current * 2 > ceiling:
                    raise
                self._analysis_memory = current * 2
                megabytes = self._analysis_memory // 1_000_000
                reporter.note(
                    f"warning: {label} needed more memory than {current // 1_000_000}MB; trying again with "
                    f"{megabytes}MB (set analysis_memory_limit to start there)"
                )
                self.store.con.execute(f"SET memory_limit = '{megabytes}MB'")

    def build_facts(self, *, reporter: Reporter | None = None, organisations: bool = True) -> None:
        """Rebuild the facts the red flags, the web app and the alerts read, each step in its own transaction:
        the processes that copy another (``process_copies``), the canonical organisations and corporate groups
        (unless ``organisations`` is False), the contract lifecycle, the events found in the notices (early ends,
        cancellations, provider exits), and the statutory services with their continuity risk and subcontracting
        chains."""
        reporter = reporter or SilentReporter()
        self._with_memory(
            reporter,
            "finding copies of processes",
            lambda: self._in_transaction("tenderwatch.analysis.copies", "build_copies"),
        )
        if organisations:
            task = reporter.task("matching organisations", total=None, unit="")
            self._with_memory(reporter, "matching organisations", lambda: self._resolve_organisations(reporter))
            task.done()
        task = reporter.task("finding contract events", total=None, unit="")
        self._with_memory(reporter, "the contract lifecycle", self._build_lifecycle)
        self._with_memory(
            reporter,
            "finding contract events",
            lambda: self._in_transaction("tenderwatch.records.derived", "build_derived_events"),
        )
        task.done()
        from tenderwatch.services import build_services  # noqa: PLC0415

        task = reporter.task("assessing statutory services", total=None, unit="")
        # in its own transaction; its files are checked before anything is written
        self._with_memory(reporter, "assessing statutory services", lambda: build_services(self.store.con))
        task.done()

    def publish(self) -> Path:
        """Publish a read snapshot of the store for the web app; return its path."""
        from tenderwatch.store.snapshot import publish_snapshot  # noqa: PLC0415

        return publish_snapshot(self.store.con, self.store.path)

    @contextlib.contextmanager
    def session(self, command: str = "sync", *, reporter: Reporter | None = None) -> Iterator[IngestSession]:
        """Open a session that stores documents one at a time, each committed with its own extra statements (such
        as a sync checkpoint), then compiles, normalises and analyses what changed when it closes.

        Used by the live sources: a page of an API is one document, and its releases and the checkpoint that says
        it was read commit together, so an interrupted sync resumes exactly where it stopped.
        """
        reporter = reporter or SilentReporter()
        run = self._begin_run(command)
        writer = _BatchWriter(self.store, run, self.settings)
        with no_cyclic_gc(), self._pool() as pool, contextlib.closing(writer):
            session = IngestSession(writer, reporter)
            yield session
            writer.commit()
            session.processes, session.compile_errors = self._process_pending(pool, reporter, run, provisional=True)
        if session.processes or self._analysis_due():
            self.analyse(reporter=reporter)
        self._end_run(run)

    def _pool(self) -> WorkerPool:
        settings = self.settings
        return WorkerPool(
            settings.worker_count(),
            init_worker,
            (
                settings.max_amount,
                settings.min_year,
                settings.max_year,
                self._compiler_rules(),
                settings.reject_keep_bytes,
            ),
        )

    def _load_input(self, source: Input, pool: WorkerPool, writer: _BatchWriter, reporter: Reporter) -> FileSummary:
        summary = FileSummary(label=source.label)
        writer.start_file(source, summary)
        task = reporter.task(f"reading {Path(source.label).name}", total=None, unit="releases")

        def units() -> Iterator[LineChunk | ChunkResult]:
            # JSON lines go to the workers; a document's releases (already parsed) are checked here.
            candidates: list[Candidate] = []
            for item in read_input(source, self.settings.document_in_memory_limit):
                if isinstance(item, LineChunk):
                    yield item
                elif isinstance(item, Broken):
                    broken = ChunkResult()
                    add_broken(broken, item)
                    yield broken
                else:
                    candidates.append(item)
                    if len(candidates) >= 1000:
                        yield process_candidates(candidates, ChunkResult())
                        candidates = []
            if candidates:
                yield process_candidates(candidates, ChunkResult())

        for chunk in pool.map(_process_unit, units(), done=ChunkResult):
            writer.add(chunk)
            task.advance(len(chunk.releases))
        writer.drain()  # the summary counts are complete once the last rows are stored
        task.done()
        return summary

    # ---------------------------------------------------------------------------------- compile, normalise

    def _compiler_rules(self) -> dict[tuple[str, ...], str]:
        schema = self.settings.release_schema
        if schema is None:
            return packaged_rules()
        if not Path(schema).is_file():
            raise SettingsError(f"release_schema {schema} does not exist", "give the path of an OCDS release schema")
        try:
            return rules_from_schema(Path(schema))
        except (ValueError, KeyError, OSError) as error:
            raise SettingsError(f"release_schema {schema} is not a usable OCDS release schema ({error})") from error

    def process_pending(self, *, reporter: Reporter | None = None) -> tuple[int, int]:
        """Compile and normalise every pending process; return how many were processed and how many failed."""
        with no_cyclic_gc(), self._pool() as pool:
            run = self._begin_run("compile")
            result = self._process_pending(pool, reporter or SilentReporter(), run, provisional=False)
            self._end_run(run)
            return result

    def _process_pending(
        self, pool: WorkerPool, reporter: Reporter, run: int, *, provisional: bool
    ) -> tuple[int, int]:
        con = self.store.con
        if self.store.needs_rebuild():
            reporter.note("the normalised tables were made by another version of tenderwatch: rebuilding them")
            self._reset_derived()
            provisional = False
        total = con.execute("SELECT count(DISTINCT ocid) FROM pending").fetchall()[0][0]
        if not total:
            return 0, 0
        # The provisional compiled releases made while reading are right where their run of releases was all
        # the process has: one run, as many releases as the store holds, all stored by this load.
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_valid (ocid VARCHAR)")
        if provisional:
            con.execute(
                """
                INSERT INTO tmp_valid
                SELECT g.ocid
                FROM (SELECT ocid, count(*) AS runs, any_value(n) AS n, bool_or(failed) AS failed
                      FROM tmp_runs GROUP BY ocid) AS g
                JOIN (SELECT ocid, count(*) AS n, bool_and(load_id = ?) AS fresh
                      FROM raw_releases WHERE ocid IN (SELECT ocid FROM tmp_runs) GROUP BY ocid) AS r USING (ocid)
                WHERE g.runs = 1 AND g.n = r.n AND r.fresh AND NOT g.failed
                """,
                [run],
            )
        remaining = con.execute(
            "SELECT count(*) FROM (SELECT ocid FROM pending EXCEPT SELECT ocid FROM tmp_valid)"
        ).fetchall()[0][0]
        errors = 0
        if remaining:
            task = reporter.task("compiling", total=remaining, unit="processes")
            writer = self.store.cursor()
            try:
                batch: list[tuple[Any, ...]] = []
                for chunk_result in pool.map(compile_chunk, _chunk_groups(_read_groups(con))):
                    batch.extend(chunk_result)
                    if len(batch) >= self.settings.batch_size:
                        errors += _write_compiled(writer, batch, run)
                        task.advance(len(batch))
                        batch = []
                if batch:
                    errors += _write_compiled(writer, batch, run)
                    task.advance(len(batch))
            finally:
                writer.close()
            task.done()
        # The workers are done: their memory, and what reading freed here, go back before normalising.
        pool.release()
        give_back_freed_memory()
        # Normalise in slices, one transaction each, so memory stays flat however many processes are pending.
        # A slice is processes whose compiled releases lie together in the table, so each slice reads only its
        # part of the table (processes without a compiled release, which a compile error leaves, come last).
        task = reporter.task("normalising", total=total, unit="processes")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE tmp_slices AS
            SELECT p.ocid, row_number() OVER (ORDER BY c.position NULLS LAST, p.ocid) - 1 AS number
            FROM (SELECT DISTINCT ocid FROM pending) AS p
            LEFT JOIN {pending_positions("compiled_releases")} AS c USING (ocid)
            """
        )
        start, size = 0, NORMALISE_SLICE
        next_slice = "SELECT ocid FROM tmp_slices WHERE number >= ? AND number < ? ORDER BY number"
        while ocids := [row[0] for row in con.execute(next_slice, [start, start + size]).fetchall()]:
            fitted = self._normalise_slice(ocids, task)
            start += len(ocids)
            # After a slice had to be halved, go on with pieces of the size that fitted, doubling again with each
            # slice that fits whole (one huge process must not leave the rest of the run in tiny slices).
            size = min(NORMALISE_SLICE, fitted * 2) if fitted == len(ocids) else fitted
        con.execute("DROP TABLE tmp_slices")
        task.done()
        return total, errors

    def _normalise_slice(self, ocids: list[str], task: Task) -> int:
        """Normalise these processes in one transaction. Processes with unusually large releases can need more
        memory than ``memory_limit`` allows for a whole slice: the slice is then done again in halves. Return the
        size of the smallest piece that had to be made (the whole slice's size when it fitted)."""
        con = self.store.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE tmp_ocids AS SELECT unnest(?::VARCHAR[]) AS ocid", [ocids])
            normalise(con, "tmp_ocids")
            con.execute("DELETE FROM pending WHERE ocid IN (SELECT ocid FROM tmp_ocids)")
            self.store.set_meta(ANALYSIS_DUE, "yes")
            data_changed(con)
            con.execute("DROP TABLE tmp_ocids")
            con.execute("COMMIT")
        except duckdb.OutOfMemoryException:
            con.execute("ROLLBACK")
            if len(ocids) <= 1:
                raise StoreError(
                    f"normalising process {ocids[0]} needs more memory than memory_limit "
                    f"({self.settings.memory_limit}) allows",
                    "raise TENDERWATCH_MEMORY_LIMIT and run the command again: what is stored is kept, and the "
                    "processes not yet normalised are finished then",
                ) from None
            half = len(ocids) // 2
            return min(self._normalise_slice(ocids[:half], task), self._normalise_slice(ocids[half:], task))
        task.advance(len(ocids))
        return len(ocids)

    def _reset_derived(self) -> None:
        """Empty the compiled and normalised tables and mark every process pending (a crash-safe restart point)."""
        con = self.store.con
        self.store.create_normalised_tables()
        self.store.create_tables(tuple(name for name in derived_tables() if name not in NORMALISED_TABLES))
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM compiled_releases")
        con.execute("DELETE FROM rejects WHERE scope = 'process'")
        con.execute("DELETE FROM pending")
        con.execute("INSERT INTO pending SELECT DISTINCT ocid FROM raw_releases")
        data_changed(con)
        con.execute("COMMIT")

    def rebuild(self, *, reporter: Reporter | None = None) -> tuple[int, int]:
        """Recompile and renormalise every process from the raw store, without reading any source again."""
        run = self._begin_run("rebuild")
        self._reset_derived()
        with no_cyclic_gc(), self._pool() as pool:
            result = self._process_pending(pool, reporter or SilentReporter(), run, provisional=False)
        self.analyse(reporter=reporter)
        self._end_run(run)
        return result

    # ------------------------------------------------------------------------------------ status, export

    def status(self) -> Status:
        """Describe what the store holds."""
        con = self.store.con
        one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
        publishers = [
            PublisherCount(*row)
            for row in con.execute(
                """
                SELECT nullif(regexp_extract(r.ocid, '^(ocds-[0-9a-z]{6})', 1), '') AS prefix,
                       json_extract_string(p.metadata, '$.publisher.name') AS publisher,
                       count(DISTINCT r.ocid), count(*),
                       bool_and(r.ocid LIKE 'ocds-twdemo-%' OR r.ocid LIKE 'ocds-twsynth-%')
                FROM raw_releases AS r LEFT JOIN packages AS p USING (package_hash)
                GROUP BY ALL ORDER BY 4 DESC, 1, 2
                """
            ).fetchall()
        ]
        first, last = con.execute(
            "SELECT min(tw_ts(release_date))::VARCHAR, max(tw_ts(release_date))::VARCHAR FROM raw_releases"
        ).fetchall()[0]
        rejects = dict(con.execute("SELECT scope, count(*) FROM rejects GROUP BY scope ORDER BY 2 DESC").fetchall())
        codes = con.execute("SELECT scope, code, count(*) FROM rejects GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()
        return Status(
            path=str(self.store.path),
            releases=one("SELECT count(*) FROM raw_releases"),
            compiled_releases=one("SELECT count(*) FROM raw_releases WHERE kind = 'compiled'"),
            processes=one("SELECT count(DISTINCT ocid) FROM raw_releases"),
            pending=one("SELECT count(DISTINCT ocid) FROM pending"),
            publishers=publishers,
            first_release_date=first,
            last_release_date=last,
            rejects=rejects,
            reject_codes=codes,
            table_rows={name: one(f"SELECT count(*) FROM {name}") for name in NORMALISED_TABLES},
            loads=one("SELECT count(*) FROM loads"),
            needs_rebuild=self.store.needs_rebuild(),
            copies=one("SELECT count(*) FROM process_copies") if "process_copies" in self.store.table_names() else 0,
        )

    def rejects(self, limit: int = 50) -> list[RejectRow]:
        """Return the most recent rejects with where they were and why."""
        rows = self.store.con.execute(
            """
            SELECT scope, code, source, member, line, byte_offset, pointer, ocid, release_id, field, reason
            FROM rejects ORDER BY rejected_at DESC, source, line, pointer, field LIMIT ?
            """,
            [limit],
        ).fetchall()
        result = []
        for scope, code, source, member, line, offset, pointer, ocid, release_id, field_, reason in rows:
            where = [source or "?"]
            if member:
                where[0] += f"!{member}"
            if line is not None:
                where.append(f"line {line}")
            elif offset:
                where.append(f"byte {offset}")
            if pointer:
                where.append(pointer)
            if ocid and scope in ("field", "process"):
                where.append(ocid + (f" release {release_id}" if release_id else ""))
            if field_:
                where.append(field_)
            result.append(RejectRow(scope, code, ", ".join(where), reason))
        return result

    # ------------------------------------------------------------------------------------------ red flags

    def flags(
        self,
        codes: list[str] | None = None,
        *,
        settings_path: Path | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        ocid: str | None = None,
        reporter: Reporter | None = None,
        recompute: bool = False,
        cardinal: bool = False,
        each: Callable[[Any], None] | None = None,
    ) -> FlagsResult:
        """Run the indicators (all, those named, or those a Cardinal settings file names), keep the results in the
        store, and return the flags, filtered by buyer, supplier or process, with each indicator's counts.

        With ``each``, the flags are not returned but handed to it one by one, in order, as they are read (a few
        thousand at a time in memory, however many there are); the result's ``count`` says how many.

        An indicator whose stored results came from the same data, settings and day is not run again, unless
        ``recompute``. With ``cardinal``, only what Cardinal's output shape holds is read (no evidence, no
        sentences): the result's ``cardinal()`` gives it, and its ``flags`` are empty. They run within
        ``analysis_memory_limit``, with more if they need it, as the analysis after a load does."""
        from tenderwatch.indicators.engine import flag_batches, query_flags, read_cardinal  # noqa: PLC0415

        if self.store.needs_rebuild():  # the indicators read columns an older version did not make
            raise StoreError(
                "the normalised tables were made by another version of tenderwatch",
                "run `tenderwatch rebuild` first (it reads no source again), then this command",
            )
        reporter = reporter or SilentReporter()
        self._note_ambiguous(reporter, buyer, supplier)
        # reading the flags back sorts them all (1.6 million of every indicator at a million processes): that
        # needs the analysis memory too, and more if it runs out
        with self._analysis_limit():
            run = self._with_memory(
                reporter, "finding red flags", lambda: self._run_flags(codes, settings_path, reuse=not recompute)
            )
            chosen = [item.code for item in run.runs]
            if cardinal:
                shape = self._with_memory(
                    reporter,
                    "reading the red flags",
                    lambda: read_cardinal(
                        self.store.con, run.meta, codes=chosen, buyer=buyer, supplier=supplier, ocid=ocid
                    ),
                )
                if not any(group for name, group in shape.items() if name != "Meta"):
                    self._check_named(buyer, supplier)
                return FlagsResult([], run, shape)
            cursor = self._with_memory(
                reporter,
                "reading the red flags",
                lambda: query_flags(
                    self.store.con, {"codes": chosen, "buyer": buyer, "supplier": supplier, "ocid": ocid}
                ),
            )
            found: list[Any] = []
            count = 0
            for batch in flag_batches(cursor):
                if each is None:
                    found.extend(batch)
                else:
                    for flag in batch:
                        each(flag)
                count += len(batch)
        if not count:
            self._check_named(buyer, supplier)
        return FlagsResult(found, run, count=count)

    def _note_ambiguous(self, reporter: Reporter, buyer: str | None, supplier: str | None) -> None:
        """Warn when a buyer or supplier asked for by a party id as published is several organisations: Contracts
        Finder numbers the parties of each notice 0, 1, 2…, so ``--supplier 0`` names hundreds of them."""
        from tenderwatch.queries import PROFILE_CANDIDATES, profile_key  # noqa: PLC0415

        for role, value in (("buyer", buyer), ("supplier", supplier)):
            if not value:
                continue
            key, found = profile_key(self.store.con, role, value)
            if key is None:
                many = f"{len(found)} or more" if len(found) >= PROFILE_CANDIDATES else str(len(found))
                reporter.note(
                    f"warning: the {role} id {value!r} is the party id of {many} different organisations in this "
                    f"data (some publishers number each notice's parties 0, 1, 2…), and the flags of all of them "
                    f"are shown; for one of them, give its organisation id, e.g. {', '.join(found[:3])} "
                    "(`tenderwatch org show NAME` gives it)"
                )

    def _check_named(self, buyer: str | None, supplier: str | None) -> None:
        """Raise if a buyer or supplier asked for is named nowhere in the store: "no flags" would mislead."""
        from tenderwatch.queries import is_named  # noqa: PLC0415

        for role, value in (("buyer", buyer), ("supplier", supplier)):
            if value and not is_named(self.store.con, role, value):
                raise InputError(
                    f"no {role} in the data has the id {value!r}",
                    "find the organisation's id with `tenderwatch org show NAME`, or give its party id as published",
                )

    @classmethod
    def flags_from_files(
        cls,
        paths: list[Path],
        codes: list[str] | None = None,
        *,
        settings: Settings | None = None,
        settings_path: Path | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        reporter: Reporter | None = None,
        cardinal: bool = False,
        each: Callable[[Any], None] | None = None,
    ) -> FlagsResult:
        """Work out red flags straight from JSON lines files of compiled releases, as Cardinal does, without a store.

        The normalised tables the indicators read are filled in memory (spilling to a temporary folder beyond
        ``analysis_memory_limit``) from the files, each line read as a publisher's compiled release, and
        dropped at the end: nothing is kept, and no store is opened. An indicator that reads more than the
        normalised tables (a process's history of releases, the contract lifecycle built from it, ownership
        statements) is left out, with the reason, when all run; asked for by name, it is an error. ``each`` is
        as :meth:`flags` takes it.

        :raises InputError: if a file cannot be read as compiled releases (see :func:`normalise_file`)
        :raises SettingsError: if a code is unknown, or names an indicator that cannot run on a file
        """
        from tenderwatch.indicators.engine import plan_for_file  # noqa: PLC0415
        from tenderwatch.indicators.settings import load_flag_settings  # noqa: PLC0415
        from tenderwatch.normalise import normalise_file  # noqa: PLC0415
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        reporter = reporter or SilentReporter()
        settings = settings or load_settings()
        # the whole run is analysis: the tables read from the files stay in memory, so the limit is never lowered
        settings = settings.model_copy(
            update={"db": Path(":memory:"), "starter_register": False, "memory_limit": settings.analysis_memory_limit}
        )
        flag_settings = load_flag_settings(settings_path, read_settings_file() if settings_path is None else None)
        plan = plan_for_file(flag_settings, codes)
        spill = tempfile.mkdtemp(prefix="tenderwatch-flags-")
        try:
            with cls(Store(Path(":memory:"), settings)) as workspace:
                con = workspace.store.con
                con.execute("SET temp_directory = ?", [spill])

                def read() -> Any:
                    # not in a transaction: rows a transaction adds stay in its own storage until it commits, which
                    # made the million compiled releases slower to read by a quarter. A try that ran out of memory
                    # is tried again on empty tables.
                    workspace.store.create_tables(plan.tables, plan.columns)
                    # one step to read the files, then one for each table
                    task = reporter.task("reading compiled releases", total=1 + len(plan.tables), unit="steps")
                    try:
                        return normalise_file(
                            con,
                            paths,
                            plan.tables,
                            columns=plan.columns,
                            item_scopes=plan.item_scopes,
                            step=task.advance,
                        )
                    finally:
                        task.done()

                with workspace._analysis_limit():
                    reading = workspace._with_memory(reporter, "reading compiled releases", read)
                    if workspace._analysis_memory != _size_in_bytes(settings.analysis_memory_limit):
                        # reading needed more: the red flags start there too
                        raised = f"{workspace._analysis_memory // 1_000_000}MB"
                        workspace.settings = settings.model_copy(
                            update={"memory_limit": raised, "analysis_memory_limit": raised}
                        )
                result = workspace.flags(
                    plan.codes,
                    settings_path=settings_path,
                    buyer=buyer,
                    supplier=supplier,
                    reporter=reporter,
                    cardinal=cardinal,
                    each=each,
                )
        finally:
            shutil.rmtree(spill, ignore_errors=True)
        result.left_out = plan.left_out
        result.reading = reading
        return result

    def _run_flags(
        self, codes: list[str] | None, settings_path: Path | None, *, lifecycle: bool = True, reuse: bool = False
    ) -> Any:
        from tenderwatch.indicators.engine import run_indicators  # noqa: PLC0415
        from tenderwatch.indicators.settings import load_flag_settings  # noqa: PLC0415
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        flag_settings = load_flag_settings(settings_path, read_settings_file() if settings_path is None else None)

        def build_lifecycle(statements: list[str]) -> None:
            """Rebuild the contract lifecycle first when a statement about to run reads it."""
            if any("contract_lifecycle" in statement for statement in statements):
                self._build_lifecycle()

        return run_indicators(
            self.store.con,
            flag_settings,
            codes,
            store=not self.store.read_only,
            reuse=reuse,
            before=build_lifecycle if lifecycle and not self.store.read_only else None,
        )

    def _build_lifecycle(self) -> None:
        self._in_transaction("tenderwatch.analysis.lifecycle", "build_lifecycle")

    def _in_transaction(self, module: str, function: str) -> None:
        """Run ``module.function(con)`` in a transaction of its own (nothing when the module is not installed)."""
        try:
            step = getattr(importlib.import_module(module), function)
        except ImportError:
            return
        con = self.store.con
        con.execute("BEGIN TRANSACTION")
        try:
            step(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _resolve_organisations(self, reporter: Reporter) -> None:
        """Map every party to its canonical organisation and corporate group (runs in its own transaction)."""
        from tenderwatch.resolve import load_organisation_settings, resolve_organisations  # noqa: PLC0415

        result = resolve_organisations(self.store.con, load_organisation_settings())
        for label in result.unmatched_rules:
            reporter.note(f"warning: override {label} matches no party")

    def stored_flags(
        self,
        *,
        codes: list[str] | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        ocid: str | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """Return the flags kept by the last run, filtered by indicator, buyer, supplier or process."""
        from tenderwatch.indicators.engine import read_flags  # noqa: PLC0415

        return read_flags(self.store.con, codes=codes, buyer=buyer, supplier=supplier, ocid=ocid, limit=limit)

    def coverage(self) -> tuple[int, list[Any]]:
        """Return the number of processes and, per indicator, whether the data supports it."""
        from tenderwatch.indicators.coverage import coverage  # noqa: PLC0415

        return coverage(self.store.con)

    def brief(self, kind: str, key: str, output: str = "html") -> bytes:
        """Return the briefing pack of a process, buyer or supplier as HTML, PDF or Markdown.

        :raises InputError: if the store holds no such process or organisation, or the format is unknown
        """
        from tenderwatch.briefings import build_brief  # noqa: PLC0415
        from tenderwatch.briefings.render import FORMATS, to_html, to_markdown, to_pdf  # noqa: PLC0415

        if output not in FORMATS:
            raise InputError(f"unknown format {output!r}", f"use one of {', '.join(FORMATS)}")
        found = build_brief(self.store.con, kind, key)
        if found is None and kind != "process":
            found = self._brief_by_name(kind, key)
        if found is None:
            hint = (
                "give the process's ocid, as the web app's search or `tenderwatch flags` shows it"
                if kind == "process"
                else "give its name or a part of it, its organisation id (`tenderwatch org show NAME` finds it) or "
                "its party id as published"
            )
            raise InputError(f"the store holds no {kind} named {key!r} or with that id", hint)
        if output == "pdf":
            return to_pdf(found)
        return (to_markdown(found) if output == "md" else to_html(found)).encode()

    def _brief_by_name(self, kind: str, name: str) -> Any:
        """Return the pack of the one buyer or supplier a name (exact, or a part of it) stands for, as `tenderwatch
        org show` finds it; None when no organisation in that role has it. Raise when it fits several."""
        from tenderwatch.briefings import build_brief  # noqa: PLC0415
        from tenderwatch.queries import has_table  # noqa: PLC0415
        from tenderwatch.resolve import NAME_MATCHES_LISTED, OrganisationNotFoundError, find_organisation  # noqa: PLC0415

        con = self.store.con
        if not has_table(con, "organisations"):
            return None
        try:
            first, others = find_organisation(con, name)
        except OrganisationNotFoundError:
            return None
        fitting = con.execute(
            "SELECT organisation_id, name FROM organisations WHERE list_contains(?, organisation_id) "
            "AND list_contains(roles, ?) ORDER BY parties DESC, organisation_id",
            [[first, *(other["organisation_id"] for other in others)], kind],
        ).fetchall()
        if len(fitting) > 1:
            names = "; ".join(f"{label} ({org_id})" for org_id, label in fitting[:5])
            # a part of a name is looked for in the first organisations it fits only: there may be more
            count = f"{len(fitting)} or more" if 1 + len(others) >= NAME_MATCHES_LISTED else str(len(fitting))
            raise InputError(
                f"the name {name!r} fits {count} {kind}s: {names}{'; ...' if len(fitting) > 5 else ''}",
                "give the id of the one you mean",
            )
        return build_brief(con, kind, fitting[0][0]) if fitting else None

    def export_compiled_releases(
        self, out: IO[bytes], *, reporter: Reporter | None = None, bucket: int = EXPORT_BUCKET
    ) -> int:
        """Write every compiled release as one JSON line, ordered by ocid; return how many were written.

        Memory stays flat however many there are: at most ``bucket`` of them are sorted in memory at a time (see
        :func:`_write_sorted`)."""
        reporter = reporter or SilentReporter()
        con = self.store.cursor()
        try:
            columns = con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'compiled_releases'"
            ).fetchall()
            # a store of an earlier version, opened read-only (not upgraded), holds every text in data
            source = (
                ALL_COMPILED_TEXTS
                if ("data_hash",) in columns
                else "(SELECT ocid, data AS text FROM compiled_releases)"
            )
            total = con.execute("SELECT count(*) FROM compiled_releases").fetchall()[0][0]
            task = reporter.task("exporting", total=total, unit="processes")
            written = _write_sorted(con, source, total, out, task, self.store.path.parent, bucket)
        finally:
            con.close()
        task.done()
        return written

    # ------------------------------------------------------------------------------------------- runs

    def _begin_run(self, command: str) -> int:
        con = self.store.con
        run = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
        con.execute("INSERT INTO loads VALUES (?, ?, now(), NULL, ?)", [run, command, __version__])
        return run

    def _end_run(self, run: int) -> None:
        self.store.con.execute("UPDATE loads SET finished_at = now() WHERE load_id = ?", [run])


class _BatchWriter:
    """Stores the workers' results a batch at a time: releases, rejects, packages and provisional compiled releases,
    one transaction per batch."""

    def __init__(self, store: Store, run: int, settings: Settings) -> None:
        self.store = store
        self.run = run
        self.batch_size = settings.batch_size
        self.rows_in_transaction = 0
        self.next_seq = store.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM raw_releases").fetchall()[0][0]
        self.releases: list[tuple[Any, ...]] = []
        self.rejects: list[tuple[Any, ...]] = []
        self.packages: dict[str, str] = {}
        self.compiled: list[tuple[Any, ...]] = []
        self.source: Input | None = None
        self.summary: FileSummary | None = None
        store.con.execute("CREATE OR REPLACE TEMP TABLE tmp_runs (ocid VARCHAR, n INTEGER, failed BOOLEAN)")
        # Two batches may wait for the writing thread; more would only hold memory.
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tenderwatch-writer", daemon=True)
        self._thread.start()

    def start_file(self, source: Input, summary: FileSummary) -> None:
        self.flush()
        self.source = source
        self.summary = summary

    def commit(self, statements: list[tuple[str, list[Any]]] | None = None) -> None:
        """Commit what has been handed to the store so far, with ``statements`` (SQL and parameters, such as a
        sync checkpoint) run in the same transaction, and wait until it is done."""
        self.flush()
        self._queue.put((_COMMIT, statements or []))
        self._queue.join()
        self._raise_failure()

    def drain(self) -> None:
        """Hand over what is collected and wait until it is stored (without committing)."""
        self.flush()
        self._queue.join()
        self._raise_failure()

    def close(self) -> None:
        """Stop the writing thread (after a failure, without committing anything more)."""
        self._queue.put(None)
        self._thread.join()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        """The writing thread: DuckDB releases the interpreter while it works, so parsing goes on meanwhile."""
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._failure is not None:
                    continue  # after a failure, drop the rest; the caller raises it
                if item[0] is _COMMIT:
                    con = self.store.con
                    if item[1] and not self.rows_in_transaction:
                        con.execute("BEGIN TRANSACTION")
                        self.rows_in_transaction = 1
                    for sql, params in item[1]:
                        con.execute(sql, params)
                    if self.rows_in_transaction:
                        con.execute("COMMIT")
                        self.rows_in_transaction = 0
                else:
                    self._write(*item)
            except BaseException as error:
                self._failure = error
            finally:
                self._queue.task_done()

    def add(self, chunk: ChunkResult) -> None:
        source, member = self.source.source, self.source.member
        seq = self.next_seq
        for row in chunk.releases:
            self.releases.append((seq, source, member, *row))
            seq += 1
        self.next_seq = seq
        for row in chunk.rejects:
            key = hashlib.sha256(orjson.dumps((source, member, *row))).hexdigest()
            self.rejects.append((key, source, member, *row))
            self.summary.count_reject(row[1], row[9])
        self.packages.update(chunk.packages)
        self.compiled.extend(chunk.compiled)
        self.summary.rejected += chunk.rejected
        self.summary.set_aside += chunk.set_aside
        if len(self.releases) >= HAND_OVER_ROWS or len(self.rejects) >= HAND_OVER_ROWS:
            self.flush()

    def flush(self) -> None:
        """Hand the collected releases, rejects and provisional compiled releases to the writing thread."""
        self._raise_failure()
        if not self.releases and not self.rejects:
            return
        self._queue.put((self.releases, self.rejects, self.packages, self.compiled, self.summary))
        self.releases = []
        self.rejects = []
        self.packages = {}
        self.compiled = []

    def _write(
        self,
        releases: list[tuple[Any, ...]],
        rejects: list[tuple[Any, ...]],
        packages: dict[str, str],
        compiled: list[tuple[Any, ...]],
        summary: FileSummary,
    ) -> None:
        """Store a batch in the open transaction, and commit it once it holds ``batch_size`` rows (or more)."""
        con = self.store.con
        if not self.rows_in_transaction:
            con.execute("BEGIN TRANSACTION")
        self.rows_in_transaction += len(releases) + len(rejects)
        try:
            if packages:
                import pyarrow as pa  # noqa: PLC0415 - imported when a load first needs it

                con.register(
                    "tmp_packages",
                    pa.table({"package_hash": list(packages), "metadata": list(packages.values())}),
                )
                con.execute(
                    """
                    INSERT INTO packages
                    SELECT DISTINCT package_hash, metadata FROM tmp_packages AS b
                    WHERE NOT EXISTS (SELECT 1 FROM packages AS p WHERE p.package_hash = b.package_hash)
                    """
                )
                con.unregister("tmp_packages")
            if releases:
                # The first of several copies of a release in this batch is the one stored.
                seen: set[str] = set()
                hash_at = 3  # seq, source, member, then the RELEASE_FIELDS
                unique = [row for row in releases if not (row[hash_at] in seen or seen.add(row[hash_at]))]
                con.register("tmp_batch", _arrow_table(unique, "releases"))
                inserted = con.execute(
                    """
                    INSERT INTO raw_releases BY NAME
                    SELECT b.*, ? AS load_id, now() AS loaded_at FROM tmp_batch AS b
                    WHERE NOT EXISTS (SELECT 1 FROM raw_releases AS r WHERE r.hash = b.hash)
                    """,
                    [self.run],
                ).fetchall()[0][0]
                con.unregister("tmp_batch")
                con.execute(
                    "INSERT INTO pending SELECT DISTINCT ocid FROM raw_releases WHERE seq >= ?", [releases[0][0]]
                )
                summary.loaded += inserted
                summary.already_stored += len(releases) - inserted
            if compiled:
                _replace_compiled(con, compiled, pending_only=True)
                con.execute("INSERT INTO tmp_runs SELECT ocid, release_count, error IS NOT NULL FROM tmp_compiled")
                con.unregister("tmp_compiled")
            if rejects:
                con.register("tmp_rejects", _arrow_table(rejects, "rejects"))
                con.execute(
                    """
                    INSERT INTO rejects BY NAME
                    SELECT b.*, ? AS load_id, now() AS rejected_at FROM tmp_rejects AS b
                    WHERE NOT EXISTS (SELECT 1 FROM rejects AS r WHERE r.reject_key = b.reject_key)
                    QUALIFY row_number() OVER (PARTITION BY b.reject_key) = 1
                    """,
                    [self.run],
                )
                con.unregister("tmp_rejects")
            if self.rows_in_transaction >= self.batch_size:
                con.execute("COMMIT")
                self.rows_in_transaction = 0
        except BaseException:
            self.rows_in_transaction = 0
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise


def _write_sorted(
    con: Any, source: str, total: int, out: IO[bytes], task: Task, folder: Path, bucket: int = EXPORT_BUCKET
) -> int:
    """Write the ``text`` of every row of ``source`` (a subquery with ``ocid`` and ``text``), one per line, in order
    of ocid; return how many were written.

    DuckDB cannot sort a million compiled releases within a small ``memory_limit`` (the sort of their texts runs
    out of memory at once), so only the ocids are sorted, to find every ``bucket``-th one. The texts are then
    read once, in the order the store holds them, into one temporary file per range of ocids between two of those
    (next to the store, as DuckDB's own spill files are, else in the system's temporary folder), and each file is
    sorted in memory and written out in turn.
    """
    size = max(bucket, -(-total // 500))  # at most 500 files open at once
    bounds = [
        row[0]
        for row in con.execute(
            f"""
            SELECT ocid FROM (SELECT ocid, row_number() OVER (ORDER BY ocid) - 1 AS place FROM compiled_releases)
            WHERE place % {int(size)} = 0 ORDER BY ocid
            """
        ).fetchall()
    ]
    try:
        spill = tempfile.TemporaryDirectory(prefix=".tenderwatch-export-", dir=folder)
    except OSError:
        spill = tempfile.TemporaryDirectory(prefix="tenderwatch-export-")
    written = 0
    with spill as name:
        paths = [Path(name, f"{number}.tsv") for number in range(len(bounds))]
        with contextlib.ExitStack() as opened:
            files = [opened.enter_context(path.open("wb")) for path in paths]
            for batch in con.sql(f"SELECT ocid, text FROM {source}").to_arrow_reader(5000):
                for ocid, text in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                    # the ocid as a JSON string, then a tab: compact JSON holds no raw tab or line break
                    files[bisect.bisect_right(bounds, ocid) - 1].write(
                        orjson.dumps(ocid) + b"\t" + text.encode() + b"\n"
                    )
        for path in paths:
            lines = path.read_bytes().split(b"\n")[:-1]
            path.unlink()
            # Python orders text by code point, as DuckDB orders VARCHAR by its UTF-8 bytes
            lines.sort(key=lambda line: orjson.loads(line[: line.index(b"\t")]))
            out.write(b"".join(line[line.index(b"\t") + 1 :] + b"\n" for line in lines))
            written += len(lines)
            task.advance(len(lines))
    return written


def _process_unit(unit: LineChunk) -> ChunkResult:
    """Parse and check a chunk of JSON lines; runs in a worker process."""
    return process_lines(unit.lines)


def _read_groups(con: Any, slice_size: int = 10_000) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Yield (ocid, rows) for every pending process still to compile, rows in order of arrival.

    Processes are read a slice at a time, so the sort by process never holds more than one slice's releases. A
    slice is processes whose first releases lie together in the raw store, and it reads only the range of rows its
    releases occupy (see :func:`tenderwatch.store.rows_of`).
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_compile AS
        SELECT p.ocid, (row_number() OVER (ORDER BY r.position NULLS LAST, p.ocid) - 1) // ? AS slice
        FROM (SELECT ocid FROM pending EXCEPT SELECT ocid FROM tmp_valid) AS p
        LEFT JOIN {pending_positions("raw_releases")} AS r USING (ocid)
        """,
        [slice_size],
    )
    slices = con.execute("SELECT coalesce(max(slice), -1) + 1 FROM tmp_compile").fetchall()[0][0]
    for number in range(slices):
        chosen = rows_of(con, "raw_releases", f"(SELECT ocid FROM tmp_compile WHERE slice = {int(number)})", "r")
        reader = con.sql(
            f"""
            SELECT r.ocid, r.kind, CASE WHEN r.kind = 'release' THEN r.data END, r.release_id, r.release_date, r.tags,
                   r.package_hash, r.hash
            FROM raw_releases AS r
            WHERE {chosen}
            ORDER BY r.ocid, r.seq
            """
        ).to_arrow_reader(10_000)
        for ocid, rows in itertools.groupby(_rows(reader), key=lambda row: row[0]):
            yield ocid, [row[1:] for row in rows]
    con.execute("DROP TABLE IF EXISTS tmp_compile")


def _rows(reader: Any) -> Iterator[tuple[Any, ...]]:
    for batch in reader:
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _chunk_groups(
    groups: Iterator[tuple[str, list[tuple[Any, ...]]]],
) -> Iterator[list[tuple[str, list[tuple[Any, ...]]]]]:
    chunk: list[tuple[str, list[tuple[Any, ...]]]] = []
    releases = 0
    for group in groups:
        chunk.append(group)
        releases += len(group[1])
        if len(chunk) >= COMPILE_CHUNK_PROCESSES or releases >= COMPILE_CHUNK_RELEASES:
            yield chunk
            chunk = []
            releases = 0
    if chunk:
        yield chunk


@cache
def _arrow_schemas() -> dict[str, Any]:
    """Return the Arrow schema of each kind of batch a load hands DuckDB (pyarrow is imported when a load first
    needs it, not by every command)."""
    import pyarrow as pa  # noqa: PLC0415

    def columns(names: Iterable[str], numbers: dict[str, Any], lists: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
        """Each column as text, unless it is one of ``numbers`` (with its type) or of ``lists`` (of text)."""
        return [(name, pa.list_(pa.string()) if name in lists else numbers.get(name, pa.string())) for name in names]

    positions = {"line": pa.int64(), "byte_offset": pa.int64()}
    return {
        "releases": pa.schema(
            [("seq", pa.int64()), *columns(["source", "member", *RELEASE_FIELDS], positions, ("tags",))]
        ),
        "rejects": pa.schema(columns(["reject_key", "source", "member", *REJECT_FIELDS], positions)),
        "compiled": pa.schema(
            columns(COMPILED_FIELDS, {"release_count": pa.int32()}, ("release_ids", "release_tags"))
        ),
    }


def _arrow_table(rows: list[tuple[Any, ...]], kind: str) -> Any:
    """Return rows (tuples in the order of the schema of ``kind``) as an Arrow table of that schema."""
    import pyarrow as pa  # noqa: PLC0415

    schema = _arrow_schemas()[kind]
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, schema, strict=True)], schema=schema
    )


def _replace_compiled(con: Any, batch: list[tuple[Any, ...]], *, pending_only: bool = False) -> None:
    """Replace the compiled releases of a batch of processes (in the caller's transaction); leaves tmp_compiled.

    With ``pending_only``, only processes waiting in ``pending`` are touched: a provisional compile of a
    process that gained nothing new must not replace its compiled release.
    """
    con.register("tmp_compiled", _arrow_table(batch, "compiled"))
    chosen = "tmp_compiled" + (" WHERE ocid IN (SELECT ocid FROM pending)" if pending_only else "")
    con.execute(f"DELETE FROM compiled_releases WHERE ocid IN (SELECT ocid FROM {chosen})")
    con.execute(
        f"""
        INSERT INTO compiled_releases BY NAME
        SELECT * EXCLUDE (error) FROM {chosen} {"AND" if pending_only else "WHERE"} error IS NULL
        """
    )


def _write_compiled(con: Any, batch: list[tuple[Any, ...]], run: int) -> int:
    """Replace the compiled releases of a batch of processes; return how many could not be compiled."""
    con.execute("BEGIN TRANSACTION")
    _replace_compiled(con, batch)
    con.execute(
        """
        INSERT INTO rejects
        SELECT sha256(concat_ws('|', 'process', ocid, error)), 'process', 'compile', NULL, NULL, NULL, NULL, NULL,
               ocid, NULL, NULL, NULL, 'the releases of this process cannot be merged: ' || error, NULL, ?, now()
        FROM tmp_compiled AS c WHERE error IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM rejects AS r WHERE r.reject_key = sha256(concat_ws('|', 'process', c.ocid, c.error))
          )
        """,
        [run],
    )
    con.execute("COMMIT")
    con.unregister("tmp_compiled")
    return sum(1 for row in batch if row[-1] is not None)


_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_UNITS["TIB"] = 1024**4


def _size_in_bytes(text: str) -> int:
    """Return a size such as 768MB or 2GiB (as the settings check it) in bytes."""
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * _UNITS[unit])
    raise ValueError(f"not a size: {text!r}")


def _physical_memory() -> int:
    """Return the machine's memory in bytes (8 GB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1000**3
