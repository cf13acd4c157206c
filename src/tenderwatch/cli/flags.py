"""``tenderwatch flags`` and ``tenderwatch coverage``: red flags with their evidence, and what the data supports."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import orjson
import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import ConsoleReporter, console, error_console
from tenderwatch.exceptions import unwritable
from tenderwatch.normalise import LEFT_OUT
from tenderwatch.workspace import FlagsResult, Workspace


class Format(StrEnum):
    """Output formats of ``flags``."""

    table = "table"
    json = "json"
    csv = "csv"
    cardinal = "cardinal"


def command(
    indicator: Annotated[
        list[str] | None,
        typer.Option("--indicator", "-i", help="Run only this indicator (repeat for several), e.g. -i R018 -i TW106."),
    ] = None,
    buyer: Annotated[
        str | None,
        typer.Option(
            "--buyer",
            help="Show only flags about this buyer (party id or organisation id, as `tenderwatch org show` gives it; "
            "an id the data does not name is an error).",
        ),
    ] = None,
    supplier: Annotated[
        str | None,
        typer.Option(
            "--supplier",
            help="Show only flags about this supplier or tenderer (party id or organisation id; an id the data does "
            "not name is an error, and a party id several organisations share, as Contracts Finder's 0, 1, 2…, is "
            "warned of).",
        ),
    ] = None,
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            help="table, json, csv, or cardinal (Cardinal's JSON shape: one compact line, as Cardinal writes it).",
        ),
    ] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the results to this file instead of standard output.")
    ] = None,
    flag_settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="Indicator settings: a TOML file with a [flags] table, or a Cardinal INI file (then only the "
            "indicators it names run, as in Cardinal). Default: the [flags] table of the main settings file.",
            dir_okay=False,
        ),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Run every indicator again, even those whose kept results came from the same data, settings and day.",
        ),
    ] = False,
    source: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            help="Work the flags out straight from this JSON lines file of compiled releases (plain or gzipped; "
            "repeat for several), as Cardinal does, without a store: nothing is kept and --db is not used. "
            "Indicators that need a store (a process's history of releases, ownership statements) are left out.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the red-flag indicators over the store, keep the results, and show the flags with their evidence.

    Every flag says what was compared, the threshold, and why it matters, in one sentence. The results are
    kept in the store (tables flags, flag_meta, flag_runs, process_scores, organisation_scores) for the web app.
    An indicator whose kept results came from the same data, the same settings and the same day is not run
    again (its results are shown as kept); --recompute runs it all the same.

    With --from, the flags come from a file of compiled releases instead, each line one process, and nothing
    is kept: the flags and evidence a store of the file would give (docs/indicators/index.md lists the
    indicators left out and the one difference).

    Example: tenderwatch flags -i R018 -i TW106 --format csv --out flags.csv

    Example: tenderwatch flags --from compiled.jsonl.gz --settings cardinal.ini --format cardinal
    """
    settings = settings_for(db, None)
    cardinal = output_format is Format.cardinal  # Cardinal's shape has no evidence nor sentences
    output = _Output(output_format, out)
    chosen = {"settings_path": flag_settings, "buyer": buyer, "supplier": supplier, "cardinal": cardinal}
    if not cardinal:  # the flags are written as they are read, not all held at once
        chosen["each"] = output.flag
    if source and db is not None:
        error_console.print(f"note: --db {db} is not used with --from (nothing is read from a store)", markup=False)
    try:
        with ConsoleReporter(settings) as reporter:
            if source:
                result = Workspace.flags_from_files(
                    source, indicator or None, settings=settings, reporter=reporter, **chosen
                )
            else:
                with open_workspace(settings) as workspace:
                    result = workspace.flags(indicator or None, reporter=reporter, recompute=recompute, **chosen)
        output.finish(result)
    finally:
        output.close()
    if result.reading is not None:
        _report_reading(result)
    counts = ", ".join(f"{run.code} {run.flagged:,}/{run.evaluated:,}" for run in result.run.runs)
    error_console.print(f"flagged/evaluated: {counts}", markup=False)
    kept = [run.code for run in result.run.runs if run.reused]
    if kept:
        error_console.print(
            f"kept results shown for {', '.join(kept)} (same data, settings and day); --recompute runs them again",
            markup=False,
        )


def _report_reading(result: FlagsResult) -> None:
    """Say on standard error what reading the files found, and which indicators were left out and why."""
    reading = result.reading
    line = f"read {reading.processes:,} compiled releases"
    if reading.left_out:
        parts = ", ".join(f"{count:,} {LEFT_OUT[reason]}" for reason, count in reading.left_out.items())
        line += f"; {sum(reading.left_out.values()):,} lines left out ({parts})"
        if set(reading.left_out) - {"earlier"}:
            line += "; `tenderwatch load` records each bad line with its reason"
    error_console.print(line, markup=False)
    for code, reason in result.left_out.items():
        error_console.print(
            f"{code} left out: it needs {reason}, which only a store holds (load the file to run it)", markup=False
        )


class _Output:
    """Writes the flags in one format as they come, to a file (moved into place once all is written, so that a
    failed run leaves no half-written file) or to standard output."""

    HEADER = ("code", "subject", "subject_id", "ocid", "value", "sentence", "evidence")

    def __init__(self, output_format: Format, out: Path | None) -> None:
        self.format = output_format
        self.out = out
        # a device or a pipe (/dev/stdout, a named pipe) is written straight
        self.part = None if out is None or (out.exists() and not out.is_file()) else out.with_name(f".{out.name}.part")
        self.stream: TextIO | None = None
        self.written = 0
        # standard output as it is before the progress bars start: while they are drawn, sys.stdout is theirs
        self.stdout = sys.stdout
        self._buffer = io.StringIO()  # one CSV writer for every row, its line taken from the buffer
        self._csv = csv.writer(self._buffer)

    def _open(self) -> TextIO:
        if self.stream is None:
            if self.out is None:
                self.stream = self.stdout
            else:
                try:
                    self.stream = (self.part or self.out).open("w", encoding="utf-8", newline="")
                except OSError as error:
                    raise unwritable(self.out, error) from error
            self._write(
                {Format.csv: self._csv_line(self.HEADER), Format.json: '{"flags": [\n'}.get(self.format, ""),
            )
        return self.stream

    def _write(self, text: str) -> None:
        stream = self._open()
        if self.out is None:
            stream.write(text)  # a closed pipe (| head) is the command line's to handle
            return
        try:
            stream.write(text)
        except OSError as error:
            raise unwritable(self.out, error) from error

    def _csv_line(self, values: Iterable[object]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(values)
        return self._buffer.getvalue()

    def flag(self, flag: Any) -> None:
        """Write one flag (in the order they come)."""
        if self.format is Format.csv:
            text = self._csv_line(
                (
                    flag.code,
                    flag.subject,
                    flag.subject_id,
                    flag.ocid,
                    flag.value,
                    flag.sentence,
                    json.dumps(flag.evidence, default=str),
                )
            )
        elif self.format is Format.json:
            text = ("" if not self.written else ",\n") + json.dumps(flag.__dict__, default=str)
        else:
            where = flag.subject_id if flag.subject == "process" else f"{flag.subject} {flag.subject_id}"
            if flag.ocid and flag.subject != "process":
                where += f" in {flag.ocid}"
            text = f"{flag.code:<6} {where}: {flag.sentence}\n"
        self._write(text)
        self.written += 1

    def finish(self, result: FlagsResult) -> None:
        """Write what follows the flags, and move the file into place."""
        if self.format is Format.cardinal:
            # compact, as Cardinal writes it (3.3 MB for the flags of a million processes: a seventh of the time)
            self._write(orjson.dumps(result.cardinal(), default=str).decode() + "\n")
        elif self.format is Format.json:
            runs = json.dumps([run.__dict__ for run in result.run.runs], default=str)
            self._write(
                f'{"" if not self.written else chr(10)}], "indicators": {runs}, "meta": '
                f"{json.dumps(result.run.meta, default=str)}}}\n"
            )
        elif self.format is Format.table and not self.written:
            self._write("no flags raised\n")
        else:
            self._open()  # the header of an empty CSV
        stream, self.stream = self.stream, None
        if stream is not None and stream is not self.stdout:
            try:
                stream.close()
                if self.part is not None:
                    self.part.replace(self.out)  # type: ignore[arg-type]
            except OSError as error:
                raise unwritable(self.out, error) from error
        elif stream is self.stdout:
            stream.flush()

    def close(self) -> None:
        """Drop a file left half-written by a failure."""
        if self.stream is not None and self.stream is not self.stdout:
            self.stream.close()
            self.stream = None
        if self.part is not None:
            self.part.unlink(missing_ok=True)


def coverage_command(db: DbOption = None, settings_file: SettingsOption = None) -> None:
    """Show, per indicator, whether the data in the store can support it and which fields are missing.

    Example: tenderwatch coverage
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        processes, report = workspace.coverage()
    out = console.print
    out(f"{processes:,} processes in the store", markup=False)
    # the columns line up after the longest title and field name
    title_width = max([36, *(len(item.title) for item in report)])
    field_width = max([48, *(len(measured.field) for item in report for measured in item.fields)])
    for item in report:
        state = "supported" if item.supported else "NOT SUPPORTED"
        ran = ""
        if item.evaluated is not None:
            ran = f"; last run evaluated {item.evaluated:,}, flagged {item.flagged:,}"
        out(f"{item.code:<6} {item.title:<{title_width}} {state}{ran}", markup=False)
        for missing in item.missing:
            out(f"         missing: {missing}", markup=False)
        for measured in item.fields:
            if not measured.per_process:
                out(
                    f"         {measured.field:<{field_width}} in {measured.rows:>9,} rows (not tied to a process)",
                    markup=False,
                )
                continue
            share = measured.processes / processes if processes else 0
            out(
                f"         {measured.field:<{field_width}} in {measured.processes:>9,} processes ({share:.0%})",
                markup=False,
            )
