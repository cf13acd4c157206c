"""The library API: one store and its settings. Every CLI command (and, later, every page) calls this.

    with Workspace.open(load_settings(db="my.duckdb")) as workspace:
        result = workspace.load(["releases.jsonl.gz"])
        print(workspace.status().processes)

A load runs in three steps, each crash-safe:

1. read and check releases, then store them in batches; each batch is one transaction that also records
   its rejects and marks its processes as pending;
2. compile every pending process (in worker processes), replacing its compiled release;
3. normalise the pending processes and clear them from ``pending``, in one transaction.

A run killed at any point leaves the store as the last commit left it; the next run skips what is stored
(same content hash), finishes the pending processes, and ends with the same store as one clean run.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

import orjson
import pyarrow as pa

from tenderwatch import __version__
from tenderwatch.compiler import Compiler, packaged_rules, rules_from_schema
from tenderwatch.exceptions import CompileError, InputError, SettingsError
from tenderwatch.ingest.checks import Checked, Checker, Rejection
from tenderwatch.ingest.inputs import Input, expand_inputs
from tenderwatch.ingest.reader import Broken, Candidate, read_input
from tenderwatch.normalise import normalise
from tenderwatch.settings import Settings, load_settings
from tenderwatch.store import NORMALISED_TABLES, Store
from tenderwatch.util import no_cyclic_gc, ordered_map

# Processes handed to a worker at once, and releases at most in one hand-over.
COMPILE_CHUNK_PROCESSES = 256
COMPILE_CHUNK_RELEASES = 2048


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

    def task(self, description: str, total: int | None = None, unit: str = "") -> Task:  # noqa: ARG002
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

    def line(self) -> str:
        """Return the one-line summary printed after each input."""
        if self.error:
            return f"error: {self.error}"
        text = f"{self.label}: {self.loaded:,} loaded, {self.already_stored:,} already stored, {self.rejected:,} rejected"
        if self.set_aside:
            text += f" ({self.set_aside:,} bad values set aside in stored releases)"
        return text


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


@dataclass
class RejectRow:
    """One recorded reject, as ``status --rejects`` shows it."""

    scope: str
    code: str
    location: str
    reason: str


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
        checker = Checker(self.settings.max_amount, self.settings.min_year, self.settings.max_year)
        for item in inputs:
            if isinstance(item, InputError):
                summary = FileSummary(label="", error=str(item))
                result.files.append(summary)
                reporter.file_done(summary)
                continue
            summary = self._load_input(item, checker, writer, reporter)
            result.files.append(summary)
            reporter.file_done(summary)
        result.processes, result.compile_errors = self.process_pending(reporter=reporter, run=run)
        self._end_run(run)
        return result

    def _load_input(self, source: Input, checker: Checker, writer: _BatchWriter, reporter: Reporter) -> FileSummary:
        summary = FileSummary(label=source.label)
        writer.start_file(source, summary)
        task = reporter.task(f"reading {Path(source.label).name}", total=None, unit="releases")
        keep = self.settings.reject_keep_bytes
        for candidate in read_input(source, self.settings.document_in_memory_limit):
            if isinstance(candidate, Broken):
                scope = "file" if candidate.line is None and not candidate.pointer else ("line" if not candidate.pointer else "release")
                writer.reject(scope, candidate.code, candidate.reason, candidate.line, candidate.byte_offset,
                              candidate.pointer, data=candidate.data[:keep])
                summary.rejected += 1
                continue
            checked = checker.check(candidate.value)
            if isinstance(checked, Rejection):
                writer.reject("release", checked.code, checked.reason, candidate.line, candidate.byte_offset,
                              candidate.pointer, value=candidate.value, keep=keep)
                summary.rejected += 1
                continue
            writer.add(checked, candidate)
            task.advance()
        writer.flush()
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

    def process_pending(self, *, reporter: Reporter | None = None, run: int | None = None) -> tuple[int, int]:
        """Compile and normalise every pending process; return how many were processed and how many failed."""
        reporter = reporter or SilentReporter()
        con = self.store.con
        if self.store.needs_rebuild():
            reporter.note("the normalised tables were made by another version of tenderwatch: rebuilding them")
            self._reset_derived()
        total = con.execute("SELECT count(DISTINCT ocid) FROM pending").fetchall()[0][0]
        if not total:
            return 0, 0
        own_run = run is None
        if own_run:
            run = self._begin_run("compile")
        rules = self._compiler_rules()
        task = reporter.task("compiling", total=total, unit="processes")
        errors = 0
        reader = self.store.cursor()
        try:
            groups = _read_groups(reader)
            chunks = _chunk_groups(groups)
            results = ordered_map(_compile_chunk, chunks, self.settings.worker_count(), _init_compiler, (rules,))
            batch: list[tuple[Any, ...]] = []
            for chunk_result in results:
                batch.extend(chunk_result)
                if len(batch) >= self.settings.batch_size:
                    errors += _write_compiled(con, batch, run)
                    task.advance(len(batch))
                    batch = []
            if batch:
                errors += _write_compiled(con, batch, run)
                task.advance(len(batch))
        finally:
            reader.close()
        task.done()
        task = reporter.task("normalising", total=None, unit="")
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_ocids AS SELECT DISTINCT ocid FROM pending")
        normalise(con, "tmp_ocids")
        con.execute("DELETE FROM pending WHERE ocid IN (SELECT ocid FROM tmp_ocids)")
        con.execute("DROP TABLE tmp_ocids")
        con.execute("COMMIT")
        task.done()
        if own_run:
            self._end_run(run)
        return total, errors

    def _reset_derived(self) -> None:
        """Empty the compiled and normalised tables and mark every process pending (a crash-safe restart point)."""
        con = self.store.con
        self.store.create_normalised_tables()
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM compiled_releases")
        con.execute("DELETE FROM rejects WHERE scope = 'process'")
        con.execute("DELETE FROM pending")
        con.execute("INSERT INTO pending SELECT DISTINCT ocid FROM raw_releases")
        con.execute("COMMIT")

    def rebuild(self, *, reporter: Reporter | None = None) -> tuple[int, int]:
        """Recompile and renormalise every process from the raw store, without reading any source again."""
        run = self._begin_run("rebuild")
        self._reset_derived()
        with no_cyclic_gc():
            result = self.process_pending(reporter=reporter, run=run)
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
                       count(DISTINCT r.ocid), count(*)
                FROM raw_releases AS r LEFT JOIN packages AS p USING (package_hash)
                GROUP BY ALL ORDER BY 4 DESC, 1, 2
                """
            ).fetchall()
        ]
        first, last = con.execute(
            "SELECT min(tw_ts(release_date))::VARCHAR, max(tw_ts(release_date))::VARCHAR FROM raw_releases"
        ).fetchall()[0]
        rejects = dict(con.execute("SELECT scope, count(*) FROM rejects GROUP BY scope ORDER BY 2 DESC").fetchall())
        codes = con.execute(
            "SELECT scope, code, count(*) FROM rejects GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        ).fetchall()
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

    def export_compiled_releases(self, out: IO[bytes], *, reporter: Reporter | None = None) -> int:
        """Write every compiled release as one JSON line, ordered by ocid; return how many were written."""
        reporter = reporter or SilentReporter()
        con = self.store.cursor()
        total = con.execute("SELECT count(*) FROM compiled_releases").fetchall()[0][0]
        task = reporter.task("exporting", total=total, unit="processes")
        written = 0
        try:
            con.execute("SELECT data FROM compiled_releases ORDER BY ocid")
            while rows := con.fetchmany(5000):
                out.write(b"".join(row[0].encode() + b"\n" for row in rows))
                written += len(rows)
                task.advance(len(rows))
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
    """Collects checked releases and rejects, and stores them a batch at a time, one transaction per batch."""

    RELEASE_SCHEMA = pa.schema(
        [
            ("seq", pa.int64()),
            ("hash", pa.string()),
            ("ocid", pa.string()),
            ("release_id", pa.string()),
            ("release_date", pa.string()),
            ("kind", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("source", pa.string()),
            ("member", pa.string()),
            ("line", pa.int64()),
            ("byte_offset", pa.int64()),
            ("pointer", pa.string()),
            ("package_hash", pa.string()),
            ("data", pa.string()),
        ]
    )
    REJECT_FIELDS = (
        "reject_key", "scope", "code", "source", "member", "line", "byte_offset", "pointer",
        "ocid", "release_id", "field", "value", "reason", "data",
    )

    def __init__(self, store: Store, run: int, settings: Settings) -> None:
        self.store = store
        self.run = run
        self.batch_size = settings.batch_size
        self.next_seq = store.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM raw_releases").fetchall()[0][0]
        self.columns: dict[str, list[Any]] = {name: [] for name in self.RELEASE_SCHEMA.names}
        self.rejects: list[tuple[Any, ...]] = []
        self.packages: dict[str, str] = {}
        self._last_package: dict[str, Any] | None = None
        self._last_hash: str | None = None
        self.source: Input | None = None
        self.summary: FileSummary | None = None

    def start_file(self, source: Input, summary: FileSummary) -> None:
        self.flush()
        self.source = source
        self.summary = summary
        self._last_package = None

    def _package_hash(self, package: dict[str, Any] | None) -> str | None:
        if package is None:
            return None
        # The releases of one package arrive one after another and share the package object.
        if package is not self._last_package:
            text = orjson.dumps(package, option=orjson.OPT_NON_STR_KEYS)
            self._last_hash = hashlib.sha256(text).hexdigest()
            self._last_package = package
            self.packages.setdefault(self._last_hash, text.decode())
        return self._last_hash

    def add(self, checked: Checked, candidate: Candidate) -> None:
        columns = self.columns
        columns["seq"].append(self.next_seq)
        self.next_seq += 1
        columns["hash"].append(checked.hash)
        columns["ocid"].append(checked.ocid)
        columns["release_id"].append(checked.release_id)
        columns["release_date"].append(checked.date)
        columns["kind"].append(candidate.kind)
        columns["tags"].append(checked.tags)
        columns["source"].append(self.source.source)
        columns["member"].append(self.source.member)
        columns["line"].append(candidate.line)
        columns["byte_offset"].append(candidate.byte_offset)
        columns["pointer"].append(candidate.pointer)
        columns["package_hash"].append(self._package_hash(candidate.package))
        columns["data"].append(checked.canonical.decode())
        for problem in checked.problems:
            self._reject_row(
                "field", problem.code, problem.reason, candidate.line, candidate.byte_offset, candidate.pointer,
                ocid=checked.ocid, release_id=checked.release_id, field=problem.field, value=problem.value, data=b"",
            )
            self.summary.set_aside += 1
        if len(columns["seq"]) >= self.batch_size:
            self.flush()

    def reject(
        self,
        scope: str,
        code: str,
        reason: str,
        line: int | None,
        offset: int | None,
        pointer: str,
        *,
        value: Any = None,
        keep: int = 0,
        data: bytes | None = None,
    ) -> None:
        if data is None:
            try:
                data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)[:keep]
            except orjson.JSONEncodeError:
                data = repr(value).encode()[:keep]
        ocid = value.get("ocid") if isinstance(value, dict) and isinstance(value.get("ocid"), str) else None
        release_id = value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), (str, int)) else None
        self._reject_row(scope, code, reason, line, offset, pointer, ocid=ocid,
                         release_id=None if release_id is None else str(release_id), data=data)
        if len(self.rejects) >= self.batch_size:
            self.flush()

    def _reject_row(self, scope: str, code: str, reason: str, line: int | None, offset: int | None, pointer: str,
                    *, ocid: str | None = None, release_id: str | None = None, field: str | None = None,
                    value: str | None = None, data: bytes = b"") -> None:
        source = self.source.source if self.source else None
        member = self.source.member if self.source else None
        key_parts = (scope, code, source, member, line, offset, pointer, ocid, release_id, field, value, reason)
        key = hashlib.sha256(orjson.dumps(key_parts) + data).hexdigest()
        text = data.decode("utf-8", errors="replace")
        self.rejects.append((key, scope, code, source, member, line, offset, pointer, ocid, release_id, field, value,
                             reason, text))

    def flush(self) -> None:
        """Store the collected releases and rejects in one transaction."""
        columns = self.columns
        if not columns["seq"] and not self.rejects:
            return
        con = self.store.con
        con.execute("BEGIN TRANSACTION")
        try:
            if self.packages:
                packages = pa.table({"package_hash": list(self.packages), "metadata": list(self.packages.values())})
                con.register("tmp_packages", packages)
                con.execute(
                    """
                    INSERT INTO packages
                    SELECT DISTINCT package_hash, metadata FROM tmp_packages AS b
                    WHERE NOT EXISTS (SELECT 1 FROM packages AS p WHERE p.package_hash = b.package_hash)
                    """
                )
                con.unregister("tmp_packages")
            if columns["seq"]:
                first_seq = columns["seq"][0]
                batch = pa.table(columns, schema=self.RELEASE_SCHEMA)
                con.register("tmp_batch", batch)
                inserted = con.execute(
                    """
                    INSERT INTO raw_releases
                    SELECT b.*, ? AS load_id, now() AS loaded_at FROM tmp_batch AS b
                    WHERE NOT EXISTS (SELECT 1 FROM raw_releases AS r WHERE r.hash = b.hash)
                    QUALIFY row_number() OVER (PARTITION BY b.hash ORDER BY b.seq) = 1
                    """,
                    [self.run],
                ).fetchall()[0][0]
                con.unregister("tmp_batch")
                con.execute("INSERT INTO pending SELECT DISTINCT ocid FROM raw_releases WHERE seq >= ?", [first_seq])
                self.summary.loaded += inserted
                self.summary.already_stored += len(columns["seq"]) - inserted
            if self.rejects:
                rejects = pa.table(
                    {name: [row[i] for row in self.rejects] for i, name in enumerate(self.REJECT_FIELDS)},
                    schema=pa.schema(
                        [(name, pa.int64() if name in ("line", "byte_offset") else pa.string())
                         for name in self.REJECT_FIELDS]
                    ),
                )
                con.register("tmp_rejects", rejects)
                con.execute(
                    """
                    INSERT INTO rejects
                    SELECT b.*, ? AS load_id, now() AS rejected_at FROM tmp_rejects AS b
                    WHERE NOT EXISTS (SELECT 1 FROM rejects AS r WHERE r.reject_key = b.reject_key)
                    QUALIFY row_number() OVER (PARTITION BY b.reject_key) = 1
                    """,
                    [self.run],
                )
                con.unregister("tmp_rejects")
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
        self.columns = {name: [] for name in self.RELEASE_SCHEMA.names}
        self.rejects = []
        self.packages = {}


# ----------------------------------------------------------------------------------------- compile workers

_COMPILER: Compiler | None = None


def _init_compiler(rules: dict[tuple[str, ...], str]) -> None:
    global _COMPILER  # noqa: PLW0603 - one compiler per worker process
    _COMPILER = Compiler(rules)
    gc.disable()  # a worker only ever holds acyclic parsed JSON (see util.no_cyclic_gc)


def _read_groups(con: Any) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Yield (ocid, rows) for every pending process, rows in order of arrival."""
    reader = con.sql(
        """
        SELECT r.ocid, r.kind, r.data, r.release_id, r.release_date, r.tags, r.package_hash
        FROM raw_releases AS r
        WHERE r.ocid IN (SELECT ocid FROM pending)
        ORDER BY r.ocid, r.seq
        """
    ).to_arrow_reader(10_000)
    for ocid, rows in itertools.groupby(_rows(reader), key=lambda row: row[0]):
        yield ocid, list(rows)


def _rows(reader: Any) -> Iterator[tuple[Any, ...]]:
    for batch in reader:
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _chunk_groups(groups: Iterator[tuple[str, list[tuple[Any, ...]]]]) -> Iterator[list[tuple[str, list[tuple[Any, ...]]]]]:
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


def _compile_chunk(chunk: list[tuple[str, list[tuple[Any, ...]]]]) -> list[tuple[Any, ...]]:
    """Compile a chunk of processes; runs in a worker process."""
    results = []
    for ocid, rows in chunk:
        releases = [row for row in rows if row[1] == "release"]
        error = None
        if releases:
            method = "merge"
            ordered = sorted(releases, key=lambda row: row[4]) if len(releases) > 1 else releases
            try:
                compiled = _COMPILER.compile([orjson.loads(row[2]) for row in ordered])
                data = orjson.dumps(compiled).decode()
            except CompileError as exc:
                data = None
                error = str(exc)
        else:
            method = "publisher"
            ordered = sorted(rows, key=lambda row: row[4])
            data = ordered[-1][2]
        tags: dict[str, None] = {}
        for row in ordered:
            for tag in row[5] or ():
                tags.setdefault(tag, None)
        latest = ordered[-1]
        results.append(
            (ocid, method, len(rows), [row[3] for row in ordered], ordered[0][4], latest[4], latest[3], latest[6],
             list(tags), data, error)
        )
    return results


def _write_compiled(con: Any, batch: list[tuple[Any, ...]], run: int) -> int:
    """Replace the compiled releases of a batch of processes; return how many could not be compiled."""
    names = ("ocid", "method", "release_count", "release_ids", "first_release_date", "last_release_date",
             "latest_release_id", "latest_package_hash", "release_tags", "data", "error")
    schema = pa.schema(
        [(name, pa.list_(pa.string()) if name in ("release_ids", "release_tags")
          else pa.int32() if name == "release_count" else pa.string()) for name in names]
    )
    table = pa.table({name: [row[i] for row in batch] for i, name in enumerate(names)}, schema=schema)
    con.register("tmp_compiled", table)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM compiled_releases WHERE ocid IN (SELECT ocid FROM tmp_compiled)")
    con.execute(
        """
        INSERT INTO compiled_releases
        SELECT ocid, method, release_count, release_ids, first_release_date, last_release_date,
               latest_release_id, latest_package_hash, release_tags, data
        FROM tmp_compiled WHERE error IS NULL
        """
    )
    con.execute(
        """
        INSERT INTO rejects
        SELECT sha256(concat_ws('|', 'process', ocid, error)), 'process', 'compile', NULL, NULL, NULL, NULL, NULL,
               ocid, NULL, NULL, NULL, 'the releases of this process cannot be merged: ' || error, NULL, ?, now()
        FROM tmp_compiled AS c WHERE error IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM rejects AS r WHERE r.reject_key = sha256(concat_ws('|', 'process', c.ocid, c.error)))
        """,
        [run],
    )
    con.execute("COMMIT")
    con.unregister("tmp_compiled")
    return sum(1 for row in batch if row[-1] is not None)
