"""Reading the files people edit for the statutory-services analysis, and the error that lists their problems."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb
import yaml

from tenderwatch.exceptions import InputError, TenderwatchError


class ServicesFileError(TenderwatchError):
    """Raised when a service-areas, overrides or subcontracting file has entries that cannot be used; ``problems``
    lists each in one line naming the entry and the field. Nothing is read from a file with a problem."""

    hint = "fix the entries named and try again (see docs/statutory-services.md)"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = problems[0]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problems)"
        super().__init__(message)


class _TextLoader(yaml.SafeLoader):
    """YAML without implicit dates, so a date stays text and is checked like any other value."""


_TextLoader.yaml_implicit_resolvers = {
    key: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_text(path: Path) -> str:
    """Return a file's text.

    :raises InputError: if it cannot be read
    :raises ServicesFileError: if it is not UTF-8
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"{path}: is a folder, not a file") from error
    except UnicodeDecodeError as error:
        raise ServicesFileError([f"{path.name}: is not UTF-8 text (save it as UTF-8 and try again)"]) from error
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from error


def load_yaml(path: Path, text: str) -> Any:
    """Parse YAML text, reporting a syntax error as one line with its line number."""
    try:
        return yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader without implicit dates
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ServicesFileError([f"{path.name}: {where}not valid YAML ({problem})"]) from error


def read_entries(path: Path, key: str, fields: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Return (label, values) for each entry of a CSV file, or of the list under ``key`` in a YAML file.

    :raises ServicesFileError: if the file is not valid or names unknown fields
    """
    text = read_text(path)
    suffix = path.suffix.lower()
    problems: list[str] = []
    entries: list[tuple[str, dict[str, Any]]] = []
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        problems += [
            f"{path.name}: column {column!r} is not a field (the fields are {', '.join(fields)})"
            for column in header
            if column not in fields
        ]
        try:
            for number, row in enumerate(reader, start=1):
                label = f"{path.name}: row {number} (line {reader.line_num})"
                if None in row:
                    problems.append(f"{label}: the row has more cells than the header has columns")
                    continue
                values = {name: value.strip() for name, value in row.items() if value is not None and value.strip()}
                if values:
                    entries.append((label, values))
        except csv.Error as error:
            problems.append(f"{path.name}: line {reader.line_num}: not valid CSV ({error})")
    elif suffix in (".yaml", ".yml"):
        document = load_yaml(path, text)
        if isinstance(document, dict):
            unknown = [name for name in document if name != key]
            problems += [
                f"{path.name}: {name}: is not a section of this file (write entries under {key}:)" for name in unknown
            ]
            document = document.get(key)
        if document is None:
            document = []
        if not isinstance(document, list):
            raise ServicesFileError([f"{path.name}: the file must hold a list of entries under `{key}:`"])
        for number, item in enumerate(document, start=1):
            label = f"{path.name}: entry {number}"
            if not isinstance(item, dict):
                problems.append(f"{label}: is not a set of `field: value` lines")
                continue
            problems += [
                f"{label}: {name}: is not a field (the fields are {', '.join(fields)})"
                for name in item
                if name not in fields
            ]
            entries.append(
                (label, {name: value for name, value in item.items() if name in fields and value is not None})
            )
    else:
        raise ServicesFileError([f"{path.name}: the file name must end in .yaml, .yml or .csv, which says its format"])
    if problems:
        raise ServicesFileError(problems)
    return entries


def text_value(value: Any) -> str | None:
    """Return a value as one line of text, or None when it is empty.

    :raises ValueError: if it is not text or a number
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be text, not yes/no")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be text")
    return " ".join(value.split()) or None


_REGEX_CHECK: duckdb.DuckDBPyConnection | None = None


def regex_problem(pattern: str) -> str | None:
    """Return why ``pattern`` is not a regular expression DuckDB (RE2) accepts, or None when it is fine."""
    global _REGEX_CHECK  # noqa: PLW0603 - one small in-memory database serves every check
    if _REGEX_CHECK is None:
        _REGEX_CHECK = duckdb.connect()
    try:
        _REGEX_CHECK.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as error:
        return str(error).splitlines()[0]
    return None
