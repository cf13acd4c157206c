"""Which indicators the data in a store can support, and which fields are missing for the others.

Each indicator lists the ``table.column`` values it reads (``needs``; ``a|b`` when either will do). A field is
*present* when at least one row holds a value (a non-empty list, for list columns). An indicator is
``supported`` when every need is present, ``not supported`` otherwise, with the missing fields named; the
share of processes holding each field is reported too, and how many subjects the last run evaluated and
flagged, so an indicator never goes quiet without anyone seeing why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from tenderwatch.indicators import INDICATORS


@dataclass
class FieldCoverage:
    """How much of the store holds one field."""

    field: str
    rows: int
    processes: int
    per_process: bool = True  # False for a table outside the processes, such as loaded ownership statements


@dataclass
class IndicatorCoverage:
    """Whether one indicator can run on the store."""

    code: str
    title: str
    supported: bool
    missing: list[str]
    fields: list[FieldCoverage] = field(default_factory=list)
    evaluated: int | None = None
    flagged: int | None = None


def coverage(con: duckdb.DuckDBPyConnection) -> tuple[int, list[IndicatorCoverage]]:
    """Return the number of processes and the coverage of every indicator."""
    processes = con.execute("SELECT count(*) FROM processes").fetchall()[0][0]
    types = {
        (table, column): data_type
        for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal"
        ).fetchall()
    }
    cache: dict[str, FieldCoverage] = {}

    def measure(name: str) -> FieldCoverage:
        if name not in cache:
            table, _, column = name.partition(".")
            data_type = types.get((table, column))
            # a table outside the processes (such as loaded ownership statements) counts rows only
            per_process = (table, "ocid") in types
            if data_type is None:
                cache[name] = FieldCoverage(name, 0, 0, per_process=per_process)
            else:
                present = f'"{column}" IS NOT NULL' + (f' AND len("{column}") > 0' if data_type.endswith("[]") else "")
                counted = f"count(DISTINCT ocid) FILTER (WHERE {present})" if per_process else "0"
                sql = f"SELECT count(*) FILTER (WHERE {present}), {counted}"
                rows, with_field = con.execute(f"{sql} FROM {table}").fetchall()[0]
                cache[name] = FieldCoverage(name, rows, with_field, per_process=per_process)
        return cache[name]

    last_runs = {
        code: (evaluated, flagged)
        for code, evaluated, flagged in con.execute("SELECT code, evaluated, flagged FROM flag_runs").fetchall()
    }
    report = []
    for code, indicator in INDICATORS.items():
        measured = []
        missing = []
        for need in indicator.needs:
            options = [measure(option) for option in need.split("|")]
            measured.extend(options)
            if not any(option.rows for option in options):
                missing.append(" or ".join(option.field for option in options))
        evaluated, flagged = last_runs.get(code, (None, None))
        report.append(IndicatorCoverage(code, indicator.title, not missing, missing, measured, evaluated, flagged))
    return processes, report
