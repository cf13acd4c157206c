"""The track-record register: fines, terminations, hand-backs, insolvencies and other events in an organisation's
record, each with the public source that reports it.

The register is the table ``track_record`` (group "register"): users curate it, rebuilds keep it. It is read from
and written to plain files a person can edit and review, CSV or YAML by the file's suffix:

    with Workspace.open(settings) as workspace:
        import_register(workspace.store.con, Path("my-register.yaml"))
        export_register(workspace.store.con, Path("register.csv"))

Every event is checked before anything is written (see :func:`validate_register`): a file with one bad row
imports nothing, and each problem is reported in one line naming the row and the field. Tenderwatch ships a
starter register of publicly reported events (:func:`starter_register_path`).

Events found in the notices themselves (early terminations, cancellations, provider exits) are in
:mod:`tenderwatch.records.derived`; :func:`track_record_for` returns both, for one organisation or group.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import yaml

from tenderwatch.exceptions import InputError, TenderwatchError, unwritable
from tenderwatch.queries import has_table
from tenderwatch.queries import rows as query_rows

# The types of event, with what each means (docs/track-record.md says the same at more length).
EVENT_TYPES = {
    "fine_or_settlement": "a fine, penalty, repayment or settlement paid or agreed, to a regulator, prosecutor, "
    "court or buyer",
    "termination_by_buyer": "the buyer ended a contract early, took the service back, or stepped in to run it",
    "termination_or_exit_by_supplier": "the supplier gave notice, withdrew or agreed to leave a contract early",
    "service_handed_back": "a service or franchise was handed back to the public sector before its planned end",
    "insolvency": "administration, liquidation, a company voluntary arrangement or another insolvency process",
    "exclusion_or_debarment": "the supplier was excluded or debarred from public contracts, or barred from bidding",
    "regulator_rating": "an inspectorate or regulator rated the service or organisation inadequate or failing",
    "court_judgment": "a court or tribunal decided a case against the organisation, or refused its challenge",
    "performance_failure_notice": "a formal notice of poor performance or breach, such as a warning notice, "
    "a step-in or a contract performance notice",
}

# How pages name an event type, where the type's own words (underscores read as spaces) would be unclear.
EVENT_LABELS = {"kpi_below": "KPIs below standard"}


def event_label(event_type: str | None) -> str:
    """Return the words a page shows for an event type, such as "KPIs below standard" for ``kpi_below``."""
    if not event_type:
        return ""
    return EVENT_LABELS.get(event_type, event_type.replace("_", " "))


# The fields of an event in a register file, in the order files are written.
FIELDS = (
    "event_id",
    "event_type",
    "event_date",
    "organisation_identifier",
    "organisation_name",
    "group_name",
    "buyer_name",
    "ocid",
    "amount",
    "currency",
    "source_url",
    "source_title",
    "summary",
    "notes",
)
SUMMARY_LIMIT = 1000
EARLIEST_YEAR = 1900

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_NUMBER = re.compile(r"\d+(\.\d+)?")
_GROUPED_NUMBER = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_ORG_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]+-[A-Za-z0-9][A-Za-z0-9./-]*")
_OCID = re.compile(r"ocds-[A-Za-z0-9]{6}-\S+")
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class RegisterEvent:
    """One checked event of the register."""

    event_id: str
    event_type: str
    event_date: date
    organisation_identifier: str | None
    organisation_name: str
    group_name: str | None
    buyer_name: str | None
    ocid: str | None
    amount: Decimal | None
    currency: str | None
    source_url: str
    source_title: str
    summary: str
    notes: str | None


@dataclass
class ImportResult:
    """What an import did."""

    added: int = 0
    updated: int = 0
    removed: int = 0

    def line(self) -> str:
        """Return the one-line summary the CLI prints."""
        text = f"{self.added:,} events added, {self.updated:,} updated"
        if self.removed:
            text += f", {self.removed:,} removed"
        return text


class RegisterError(TenderwatchError):
    """Raised when a register file has rows that cannot be imported; ``problems`` lists each, in one line."""

    hint = "fix the rows named and import again; nothing was imported (see docs/track-record.md)"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = problems[0]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problems)"
        super().__init__(message)


def starter_register_path() -> Path:
    """Return the path of the starter register shipped with tenderwatch (publicly reported events)."""
    return Path(str(resources.files("tenderwatch").joinpath("data/track_record.yaml")))


# ------------------------------------------------------------------------------------------------ reading


class _TextLoader(yaml.SafeLoader):
    """YAML without implicit dates: a date stays text, so an impossible one is reported, not a crash."""


_TextLoader.yaml_implicit_resolvers = {
    key: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise RegisterError([f"{path.name}: the file name must end in .csv, .yaml or .yml, which says its format"])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"{path}: is a folder, not a register file") from error
    except UnicodeDecodeError as error:
        raise RegisterError([f"{path.name}: is not UTF-8 text (save it as UTF-8 and try again)"]) from error
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from error


def _read_rows(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """Return (label, fields) for each event in the file, and the problems met reading it."""
    text = _read_text(path)
    if _file_format(path) == "csv":
        return _read_csv(path.name, text)
    return _read_yaml(path.name, text)


def _read_csv(name: str, text: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    problems = [
        f"{name}: column {column!r} is not a field of the register (the fields are {', '.join(FIELDS)})"
        for column in header
        if column not in FIELDS
    ]
    if not header:
        problems.append(f"{name}: the file is empty; the first line must name the columns")
    rows = []
    try:
        for number, row in enumerate(reader, start=1):
            label = f"{name}: row {number} (line {reader.line_num})"
            if None in row:
                problems.append(f"{label}: the row has more cells than the header has columns")
                continue
            values = {key: value for key, value in row.items() if key in FIELDS}
            if all(value is None or not value.strip() for value in values.values()):
                continue
            rows.append((label, values))
    except csv.Error as error:
        problems.append(f"{name}: line {reader.line_num}: not valid CSV ({error})")
    return rows, problems


def _read_yaml(name: str, text: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    try:
        document = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a SafeLoader without implicit dates
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [], [f"{name}: {where}not valid YAML ({problem})"]
    if isinstance(document, dict) and "events" in document:
        document = document["events"]
    if document is None:
        return [], []
    if not isinstance(document, list):
        return [], [f"{name}: the file must hold a list of events under `events:`"]
    rows, problems = [], []
    for number, item in enumerate(document, start=1):
        label = f"{name}: event {number}"
        if isinstance(item, dict) and isinstance(item.get("event_id"), str):
            label += f" ({item['event_id']})"
        if not isinstance(item, dict):
            problems.append(f"{label}: is not a set of `field: value` lines")
            continue
        unknown = [key for key in item if key not in FIELDS]
        problems += [f"{label}: {key}: is not a field of the register" for key in unknown]
        rows.append((label, {key: value for key, value in item.items() if key in FIELDS}))
    return rows, problems


# ------------------------------------------------------------------------------------------------ checking


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be text, not yes/no")
    if isinstance(value, int | float | Decimal):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be text")
    return " ".join(value.split()) or None


def slug(text: str) -> str:
    """Return a lower-case slug of ``text`` (letters, digits and hyphens)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _amount(written: Any) -> Decimal:
    """Return a written amount as an exact decimal, or raise ValueError saying what is wrong with it."""
    not_a_number = ValueError(
        "is not a number (write digits only, such as 19200000, with the currency in the currency column)"
    )
    if isinstance(written, bool):
        raise not_a_number
    if isinstance(written, int):
        amount = Decimal(written)
    elif isinstance(written, float):
        amount = Decimal(repr(written))
    elif isinstance(written, str) and (_PLAIN_NUMBER.fullmatch(written) or _GROUPED_NUMBER.fullmatch(written)):
        amount = Decimal(written.replace(",", ""))
    elif isinstance(written, str) and written.startswith("-") and _PLAIN_NUMBER.fullmatch(written[1:]):
        raise ValueError("is negative; give the sum as a positive number")
    else:
        raise not_a_number
    if not amount.is_finite():
        raise not_a_number
    if amount < 0:
        raise ValueError("is negative; give the sum as a positive number")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("has more than two decimal places")
    if amount >= Decimal(10) ** 36:
        raise ValueError("is too large")
    return amount


def _check_row(label: str, raw: dict[str, Any], today: date) -> tuple[RegisterEvent | None, list[str]]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    for field in FIELDS:
        try:
            values[field] = _text(raw.get(field)) if field != "amount" else raw.get(field)
        except ValueError as error:
            problems.append(f"{label}: {field}: {error}")
            values[field] = None

    def need(field: str, why: str) -> str | None:
        value = values[field]
        if value is None:
            problems.append(f"{label}: {field} is missing: {why}")
        return value

    event_type = need("event_type", f"give one of {', '.join(EVENT_TYPES)}")
    if event_type is not None and event_type not in EVENT_TYPES:
        problems.append(f"{label}: event_type: {event_type!r} is not a known type (one of {', '.join(EVENT_TYPES)})")
        event_type = None

    event_date = None
    written = need("event_date", "give the day as YYYY-MM-DD")
    if written is not None:
        try:
            if not _DATE.fullmatch(written):
                raise ValueError
            event_date = date.fromisoformat(written)
        except ValueError:
            problems.append(f"{label}: event_date: {written!r} is not a real date (write it as YYYY-MM-DD)")
        else:
            if event_date > today:
                problems.append(f"{label}: event_date: {written} is in the future")
                event_date = None
            elif event_date.year < EARLIEST_YEAR:
                problems.append(f"{label}: event_date: {written} is before {EARLIEST_YEAR}")
                event_date = None

    organisation = need("organisation_name", "name the organisation the event is about")
    source_url = need("source_url", "every event needs a public source that reports it")
    if source_url is not None:
        parts = urlsplit(source_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in source_url:
            problems.append(f"{label}: source_url: {source_url!r} is not a web address (http:// or https://)")
    need("source_title", "give the title of the source, so it can be found again")
    summary = need("summary", "say what happened in one or two neutral sentences")
    if summary is not None and len(summary) > SUMMARY_LIMIT:
        problems.append(f"{label}: summary: is {len(summary):,} characters; keep it under {SUMMARY_LIMIT:,}")

    identifier = values["organisation_identifier"]
    if identifier is not None:
        identifier = identifier.replace(" ", "")
        head, _, rest = identifier.partition("-")
        scheme, _, number = rest.partition("-")
        identifier = f"{head.upper()}-{scheme.upper()}-{number}" if number else identifier
        if not _ORG_ID.fullmatch(identifier):
            problems.append(
                f"{label}: organisation_identifier: {values['organisation_identifier']!r} is not in org-id form "
                "(scheme, then the number, such as GB-COH-01234567)"
            )

    ocid = values["ocid"]
    if ocid is not None and not _OCID.fullmatch(ocid):
        problems.append(f"{label}: ocid: {ocid!r} is not an ocid (ocds-, six characters, -, then the process id)")

    written_amount = raw.get("amount")
    if isinstance(written_amount, str):
        written_amount = written_amount.strip() or None
    amount = None
    if written_amount is not None:
        try:
            amount = _amount(written_amount)
        except ValueError as error:
            problems.append(f"{label}: amount: {written_amount!r} {error}")
    currency = values["currency"]
    if currency is not None:
        currency = currency.upper()
        if not _CURRENCY.fullmatch(currency):
            problems.append(f"{label}: currency: {values['currency']!r} is not a three-letter code such as GBP")
    elif written_amount is not None:
        problems.append(f"{label}: currency is missing: give the currency of the amount, such as GBP")

    event_id = values["event_id"]
    if event_id is not None and not _EVENT_ID.fullmatch(event_id):
        problems.append(
            f"{label}: event_id: {event_id!r} must be letters, digits, dots, hyphens or underscores (at most 100)"
        )
    if problems:
        return None, problems
    if event_id is None:
        event_id = f"{slug(organisation)[:60]}-{slug(event_type)}-{event_date.isoformat()}"
    event = RegisterEvent(
        event_id=event_id,
        event_type=event_type,
        event_date=event_date,
        organisation_identifier=identifier,
        organisation_name=organisation,
        group_name=values["group_name"],
        buyer_name=values["buyer_name"],
        ocid=ocid,
        amount=amount,
        currency=currency,
        source_url=source_url,
        source_title=values["source_title"],
        summary=summary,
        notes=values["notes"],
    )
    return event, []


def validate_register(path: Path, *, today: date | None = None) -> list[RegisterEvent]:
    """Read and check a register file (CSV or YAML by its suffix) and return its events.

    Raises :class:`RegisterError` listing every problem, one line each naming the row and the field, when any row
    has one: a missing source URL or title, an unknown event type, an impossible date, an amount that is not a
    number, an unknown column, or an event id used twice.
    """
    today = today or date.today()
    rows, problems = _read_rows(path)
    events = []
    seen: dict[str, str] = {}
    for label, raw in rows:
        event, row_problems = _check_row(label, raw, today)
        problems += row_problems
        if event is None:
            continue
        if event.event_id in seen:
            problems.append(f"{label}: event_id: {event.event_id!r} is used already by {seen[event.event_id]}")
            continue
        seen[event.event_id] = label.split(": ", 1)[1]
        events.append(event)
    if problems:
        raise RegisterError(problems)
    return events


# ------------------------------------------------------------------------------------------------ the store


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, *, in_transaction: bool) -> Iterator[None]:
    """Run in a transaction of our own, or in the caller's (DuckDB aborts an open one on a nested BEGIN)."""
    if in_transaction:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def import_events(
    con: duckdb.DuckDBPyConnection,
    events: Iterable[RegisterEvent],
    *,
    origin: str,
    replace: bool = False,
    in_transaction: bool = False,
) -> ImportResult:
    """Add checked events to ``track_record``, updating those whose event_id is there already.

    With ``replace``, events not in ``events`` are removed, so the table then holds exactly the given events. The
    import is one transaction; with ``in_transaction`` it runs in the one the caller has open.
    """
    events = list(events)
    result = ImportResult()
    with _transaction(con, in_transaction=in_transaction):
        existing = dict(con.execute("SELECT event_id, added_at FROM track_record").fetchall())
        ids = [event.event_id for event in events]
        if replace:
            result.removed = con.execute(
                "SELECT count(*) FROM track_record WHERE NOT list_contains(?, event_id)", [ids]
            ).fetchall()[0][0]
            con.execute("DELETE FROM track_record")
        else:
            con.execute("DELETE FROM track_record WHERE list_contains(?, event_id)", [ids])
        now = datetime.now().astimezone()
        rows = []
        for event in events:
            if event.event_id in existing:
                result.updated += 1
            else:
                result.added += 1
            rows.append([*astuple_event(event), existing.get(event.event_id) or now, origin])
        if rows:
            columns = ", ".join(FIELDS)
            con.executemany(
                f"INSERT INTO track_record ({columns}, added_at, imported_from) VALUES "
                f"({', '.join('?' for _ in range(len(FIELDS) + 2))})",
                rows,
            )
    return result


def astuple_event(event: RegisterEvent) -> list[Any]:
    """Return an event's values in the order of :data:`FIELDS`."""
    return [getattr(event, field) for field in FIELDS]


def import_register(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    replace: bool = False,
    in_transaction: bool = False,
    today: date | None = None,
) -> ImportResult:
    """Check a register file (CSV or YAML by its suffix) and import its events into ``track_record``.

    Nothing is imported when any row has a problem (:class:`RegisterError` lists them). An event whose event_id is
    in the store already is updated; with ``replace``, events that are not in the file are removed. With
    ``in_transaction``, it runs in the transaction the caller has open (such as when a store is created).
    """
    events = validate_register(path, today=today)
    return import_events(con, events, origin=path.name, replace=replace, in_transaction=in_transaction)


def import_starter_register(con: duckdb.DuckDBPyConnection, *, in_transaction: bool = False) -> ImportResult:
    """Import the starter register shipped with tenderwatch (events already there are updated, none removed)."""
    return import_register(con, starter_register_path(), in_transaction=in_transaction)


def register_events(con: duckdb.DuckDBPyConnection, organisation: str | None = None) -> list[RegisterEvent]:
    """Return the register's events by date, those of organisations or groups whose name contains ``organisation``
    (ignoring case) when it is given."""
    if not has_table(con, "track_record"):
        return []
    sql = f"SELECT {', '.join(FIELDS)} FROM track_record"
    params: list[Any] = []
    if organisation:
        sql += " WHERE organisation_name ILIKE ? OR group_name ILIKE ? OR organisation_identifier ILIKE ?"
        pattern = f"%{organisation.strip()}%"
        params = [pattern, pattern, pattern]
    sql += " ORDER BY event_date, event_id"
    return [RegisterEvent(*row) for row in con.execute(sql, params).fetchall()]


def _plain(event: RegisterEvent) -> dict[str, Any]:
    """Return an event as plain values for a file: dates as text, whole amounts as integers."""
    values = asdict(event)
    values["event_date"] = event.event_date.isoformat()
    if event.amount is not None:
        values["amount"] = int(event.amount) if event.amount == event.amount.to_integral_value() else str(event.amount)
    return values


_YAML_HEADER = """\
# Tenderwatch track-record register: one entry per event, each with the public source that reports it.
# Fields and rules: docs/track-record.md. Check it with `tenderwatch register validate FILE`.
"""


def dump_register(events: Iterable[RegisterEvent], file_format: str) -> str:
    """Return events as the text of a register file, ``csv`` or ``yaml``."""
    events = list(events)
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow({key: ("" if value is None else value) for key, value in _plain(event).items()})
        return buffer.getvalue()
    entries = [{key: value for key, value in _plain(event).items() if value is not None} for event in events]
    body = yaml.safe_dump({"events": entries}, sort_keys=False, allow_unicode=True, width=110)
    return _YAML_HEADER + body


def export_register(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write every event of ``track_record`` to ``path`` (CSV or YAML by its suffix); return how many."""
    file_format = _file_format(path)
    events = register_events(con)
    try:
        path.write_text(dump_register(events, file_format), encoding="utf-8")
    except OSError as error:
        raise unwritable(path, error) from error
    return len(events)


# ------------------------------------------------------------------------------------------------ matching

# Names are compared by a key: lower case, "&" read as "and", punctuation dropped, legal endings (Ltd, plc…) dropped.
_LEGAL_ENDINGS = "limited|ltd|plc|llp|lp|cic"


def name_key(name: str | None) -> str | None:
    """Return the key two spellings of one organisation's name share ("Serco Ltd" and "SERCO LIMITED": "serco")."""
    if not name:
        return None
    text = re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).strip()
    text = re.sub(rf"( ({_LEGAL_ENDINGS}))+$", "", text)
    return text.replace(" ", "") or None


def name_key_sql(column: str) -> str:
    """Return SQL computing :func:`name_key` of a column."""
    lowered = f"regexp_replace(lower(replace({column}, '&', ' and ')), '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(replace(regexp_replace(trim({lowered}), '( ({_LEGAL_ENDINGS}))+$', ''), ' ', ''), '')"


def identifier_key(identifier: str | None) -> str | None:
    """Return an org-id identifier in the form used for matching: capitals, no spaces, and Companies House numbers
    given without their leading zeros padded back to eight digits (GB-COH-9069326 → GB-COH-09069326)."""
    if not identifier:
        return None
    text = identifier.replace(" ", "").upper()
    match = re.fullmatch(r"GB-COH-(\d{1,7})", text)
    return f"GB-COH-{match.group(1).zfill(8)}" if match else text


def identifier_key_sql(column: str) -> str:
    """Return SQL computing :func:`identifier_key` of a column."""
    text = f"upper(replace({column}, ' ', ''))"
    return (
        f"CASE WHEN regexp_matches({text}, '^GB-COH-[0-9]{{1,7}}$') "
        f"THEN 'GB-COH-' || lpad(substr({text}, 8), 8, '0') ELSE nullif({text}, '') END"
    )


def track_record_keys_sql() -> str:
    """Return a SELECT of every key an event of the track record can be found by (origin, event_id, key): ``id:``
    and the identifier key, ``name:`` and the name key of the organisation (and, for register events, of the group),
    ``group:`` and the name key of a register event's group. A read snapshot keeps it as ``track_record_keys``, so
    a profile finds its events without working out the keys of every event again."""
    return f"""
        SELECT DISTINCT origin, event_id, key FROM (
            SELECT 'register' AS origin, event_id, 'id:' || {identifier_key_sql("organisation_identifier")} AS key
            FROM track_record
            UNION ALL SELECT 'register', event_id, 'name:' || {name_key_sql("organisation_name")} FROM track_record
            UNION ALL SELECT 'register', event_id, 'name:' || {name_key_sql("group_name")} FROM track_record
            UNION ALL SELECT 'register', event_id, 'group:' || {name_key_sql("group_name")} FROM track_record
            UNION ALL SELECT 'notices', event_id, 'id:' || {identifier_key_sql("organisation_identifier")}
            FROM derived_events
            UNION ALL SELECT 'notices', event_id, 'name:' || {name_key_sql("organisation_name")} FROM derived_events
        ) WHERE key IS NOT NULL
    """


def track_record_for(
    con: duckdb.DuckDBPyConnection,
    identifiers: Iterable[str] = (),
    names: Iterable[str] = (),
    group: str | None = None,
    *,
    include_derived: bool = True,
    tables: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Return the track record of one organisation or group, oldest first.

    An event belongs to it when its organisation identifier is one of ``identifiers`` (Companies House numbers
    match with or without leading zeros), its organisation name (or, for register events, group name) is one of
    ``names`` spelled any way that gives the same :func:`name_key`, or its group is ``group``. With
    ``include_derived``, events found in the notices (``derived_events``) are included, matched by identifier or
    name. Each event is a dict with ``origin`` ("register" or "notices") and the columns of its table. ``tables``,
    the names of the store's tables when known, saves looking for them.
    """
    id_keys = sorted({key for key in map(identifier_key, identifiers) if key})
    name_keys = sorted({key for key in map(name_key, names) if key})
    group_key = name_key(group)
    if not (id_keys or name_keys or group_key):
        return []
    if has_table(con, "track_record_keys", tables):
        # a read snapshot has every event's keys worked out (see track_record_keys_sql): one look finds the events
        # of both origins, and most organisations have none, so nothing more is read
        keys = [f"id:{key}" for key in id_keys] + [f"name:{key}" for key in name_keys]
        register_keys = [*keys, f"group:{group_key}"] if group_key else keys
        events = dict(
            con.execute(
                "SELECT origin, list(DISTINCT event_id) FROM track_record_keys "
                "WHERE list_contains(CASE origin WHEN 'register' THEN ?::VARCHAR[] ELSE ?::VARCHAR[] END, key) "
                "GROUP BY origin",
                [register_keys, keys],
            ).fetchall()
        )
        register_where, register_params = "list_contains(?, event_id)", [events.get("register", [])]
        notices_where, notices_params = "list_contains(?, event_id)", [events.get("notices", [])]
        look = {"register": "register" in events, "notices": "notices" in events}
    else:
        register_where = f"""list_contains(?, {identifier_key_sql("organisation_identifier")})
               OR list_contains(?, {name_key_sql("organisation_name")})
               OR list_contains(?, {name_key_sql("group_name")})
               OR {name_key_sql("group_name")} = ?"""
        register_params = [id_keys, name_keys, name_keys, group_key]
        notices_where = f"""list_contains(?, {identifier_key_sql("organisation_identifier")})
               OR list_contains(?, {name_key_sql("organisation_name")})"""
        notices_params = [id_keys, name_keys]
        look = {"register": True, "notices": True}
    found: list[dict[str, Any]] = []
    if look["register"] and has_table(con, "track_record", tables):
        select = f"SELECT 'register' AS origin, {', '.join(FIELDS)}, NULL AS release_id FROM track_record"
        found += query_rows(con, f"{select} WHERE {register_where}", register_params)
    if include_derived and (id_keys or name_keys) and look["notices"] and has_table(con, "derived_events", tables):
        select = """
            SELECT 'notices' AS origin, event_id, event_type, event_date, organisation_identifier,
                   organisation_name, NULL AS group_name, buyer_name, ocid, NULL AS amount, NULL AS currency,
                   NULL AS source_url, NULL AS source_title, summary, basis AS notes, release_id
            FROM derived_events"""
        found += query_rows(con, f"{select} WHERE {notices_where}", notices_params)
    found.sort(key=lambda event: (event["event_date"] or date.min, event["origin"], event["event_id"]))
    return found


__all__ = [
    "EVENT_TYPES",
    "FIELDS",
    "ImportResult",
    "RegisterError",
    "RegisterEvent",
    "dump_register",
    "export_register",
    "identifier_key",
    "import_events",
    "import_register",
    "import_starter_register",
    "name_key",
    "register_events",
    "starter_register_path",
    "track_record_for",
    "validate_register",
]
