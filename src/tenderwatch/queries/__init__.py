"""What the pages, the JSON API, the CLI and the briefings show: one module per subject, each returning plain
dataclasses (the "context" of a page), computed with parameterised SQL over a store or a read snapshot.

Nothing here builds SQL from user input: filters are bound as parameters, and the few identifiers that vary
(sort columns) come from fixed lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import duckdb
import orjson

T = TypeVar("T")

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


@dataclass
class Page(Generic[T]):
    """One page of a list, in a stable order."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """Return the number of pages."""
        return max((self.total + self.per_page - 1) // self.per_page, 1)


@dataclass
class Money:
    """An amount with its currency."""

    amount: float | None
    currency: str | None

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: Any, currency: str | None) -> str:
    """Format an amount for people: £1,234,567 for pounds, else 1,234,567 EUR.

    Zero is said to be as published: publishers (Open Opportunities, Contracts Finder) give 0 where a notice
    states no value, and "£0.00" would read as a contract worth nothing."""
    if amount is None:
        return "not published"
    value = float(amount)
    text = f"{value:,.0f}" if abs(value) >= 100 or value == 0 else f"{value:,.2f}"
    text = f"£{text}" if currency == "GBP" else f"{text} {currency}" if currency else text
    return f"{text} {ZERO_AS_PUBLISHED}" if value == 0 else text


# What follows an amount of zero (see format_money).
ZERO_AS_PUBLISHED = "(as published: often means no value was given)"


def with_tax(text: str | None, includes_tax: bool | None) -> str | None:
    """Return an amount's text, saying so where it is the amount including taxes (a notice that gives only that:
    see the ``value_includes_tax`` columns)."""
    return f"{text} including taxes" if text and includes_tax else text


def has_table(con: duckdb.DuckDBPyConnection, name: str, tables: frozenset[str] | None = None) -> bool:
    """Return whether the store or snapshot holds a table (``tables``, when known, saves a query).

    The name is resolved as a query would resolve it; this costs a tenth of a look in ``duckdb_tables()``, which
    matters on a web page, and a missing table does not spoil an open transaction.
    """
    if tables is not None:
        return name in tables
    try:
        con.execute(f'SELECT 1 FROM "{name}" LIMIT 0')
    except duckdb.CatalogException:
        return False
    return True


def copies_table(con: duckdb.DuckDBPyConnection, tables: frozenset[str] | None = None) -> str:
    """Return what to read the processes that copy another from (``process_copies``: an aggregator's copy of a
    notice is counted once, as its original): the table, or no rows for a store or snapshot made before it (read
    only, so that it cannot be added)."""
    if has_table(con, "process_copies", tables):
        return "process_copies"
    return "(SELECT NULL::VARCHAR AS ocid, NULL::VARCHAR AS original_ocid, NULL::VARCHAR AS release_id WHERE FALSE)"


def matched_parties(con: duckdb.DuckDBPyConnection) -> str:
    """Return what to read the organisation each party was matched to from, for :func:`buyer_organisation` and
    :func:`supplier_organisation`: ``organisation_parties``, or no rows in a store whose organisations are not
    resolved (such as the one ``tenderwatch flags --from`` makes)."""
    if has_table(con, "organisation_parties"):
        return "organisation_parties"
    return "(SELECT NULL::VARCHAR AS ocid, NULL::VARCHAR AS party_key, NULL::VARCHAR AS organisation_id WHERE FALSE)"


def not_a_copy(con: duckdb.DuckDBPyConnection, column: str, tables: frozenset[str] | None = None) -> str:
    """Return a condition (to follow AND) that leaves out the processes that copy another."""
    return f"{column} NOT IN (SELECT ocid FROM {copies_table(con, tables)})"


def evidence_of(value: Any) -> dict[str, Any]:
    """Return a flag's or a score's evidence as a dict, whether it comes as JSON text (a JSON column) or parsed
    already (a page kept as JSON text)."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:  # a number beyond the range of a double, which the standard library reads
            value = json.loads(value)
    return value or {}


# The value awarded in each process: its awards that are not cancelled or unsuccessful, added up.
AWARDED_VALUE = """
    SELECT ocid, sum(value_amount) AS value_amount, any_value(value_currency) AS value_currency
    FROM awards WHERE status IS DISTINCT FROM 'cancelled' AND status IS DISTINCT FROM 'unsuccessful'
    GROUP BY ocid
"""


def table_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Return the names of the tables of the store or snapshot open on ``con``."""
    return frozenset(
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    )


def rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dictionaries."""
    result = con.execute(sql, params or [])
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def clamp_page(page: int, per_page: int) -> tuple[int, int]:
    """Return a valid page number and page size."""
    return min(max(page, 1), MAX_PAGE), min(max(per_page, 1), MAX_PER_PAGE)


@dataclass
class Chart:
    """A chart: a Vega-Lite spec, and the same numbers as a table."""

    title: str
    spec: dict[str, Any]
    columns: list[str]
    table: list[list[Any]] = field(default_factory=list)


# Profiles are keyed by the canonical organisation a party was matched to (``organisation_parties``), else, before
# organisations are resolved, by the party id as published. Publishers such as Contracts Finder number the parties
# of each notice 0, 1, 2…, so a published id alone can name a different firm in every notice. These give the join
# and the key for the buyer of a process ``p`` and for an award supplier ``s``.
def buyer_organisation(parties: str = "organisation_parties") -> str:
    """Return the join of a process ``p`` with its buyer's organisation, from ``parties`` (the table, or a subquery
    of it that keeps only the processes a query reads)."""
    return (
        f"LEFT JOIN {parties} AS ob "
        "ON ob.ocid = p.ocid AND ob.party_key = coalesce(p.buyer_id, '~buyer:' || p.buyer_name)"
    )


BUYER_ORGANISATION = buyer_organisation()
BUYER_KEY = "coalesce(ob.organisation_id, p.buyer_id)"


def supplier_organisation(parties: str = "organisation_parties") -> str:
    """Return the join of an award supplier ``s`` with its organisation, from ``parties`` (as
    :func:`buyer_organisation`)."""
    return (
        f"LEFT JOIN {parties} AS os "
        "ON os.ocid = s.ocid AND os.party_key = coalesce(s.party_id, '~supplier:' || s.name)"
    )


SUPPLIER_ORGANISATION = supplier_organisation()
SUPPLIER_KEY = "coalesce(os.organisation_id, s.party_id)"
# Flags and scores about a buyer or supplier name it by party id, registered identifier or ``name:`` key: each of
# these that leads to exactly one organisation, with that organisation's id as ``profile_key``.
SUBJECT_KEYS = """
    SELECT subject_id, min(profile_key) AS profile_key FROM (
        SELECT party_id AS subject_id, organisation_id AS profile_key FROM organisation_parties
        WHERE party_id IS NOT NULL
        UNION ALL
        SELECT identifier, organisation_id FROM organisation_identifiers
        UNION ALL
        SELECT 'name:' || upper(trim(regexp_replace(name, '\\s+', ' ', 'g'))), organisation_id FROM organisation_names
    )
    GROUP BY subject_id HAVING count(DISTINCT profile_key) = 1
"""


def _named_as(role: str) -> tuple[str, str]:
    """Return, for a buyer (``role`` "buyer") or a supplier, the flag subjects that stand for it and the query of the
    processes that name it by its party id as published."""
    if role == "buyer":
        return "('buyer', 'procuring_entity')", "SELECT ocid FROM processes WHERE buyer_id = ?"
    return "('supplier', 'tenderer')", "SELECT ocid FROM award_suppliers WHERE party_id = ?"


def flags_about(role: str, value: str) -> tuple[str, list[str]]:
    """Return a condition on ``flags AS f``, with its parameters, keeping the flags about one buyer (``role``
    "buyer") or supplier: the flags its profile counts. ``value`` is a profile key (an organisation id): the flags
    of the processes it is the buyer or a supplier of, and the flags whose subject leads to it. A party id as
    published that is no organisation's id keeps the flags of every process that names it, and about it."""
    subjects, published = _named_as(role)
    if role == "buyer":
        keyed = f"SELECT p.ocid FROM processes AS p {BUYER_ORGANISATION} WHERE {BUYER_KEY} = ?"
    else:
        keyed = f"SELECT s.ocid FROM award_suppliers AS s {SUPPLIER_ORGANISATION} WHERE {SUPPLIER_KEY} = ?"
    condition = f"""(f.ocid IN ({keyed})
        OR (f.subject IN {subjects}
            AND f.subject_id IN (SELECT subject_id FROM ({SUBJECT_KEYS}) WHERE profile_key = ?))
        OR (f.subject IN {subjects} AND f.subject_id = ?
            AND f.subject_id NOT IN (SELECT subject_id FROM ({SUBJECT_KEYS})))
        OR (NOT EXISTS (SELECT 1 FROM organisation_parties WHERE organisation_id = ?)
            AND (f.ocid IN ({published}) OR (f.subject IN {subjects} AND f.subject_id = ?))))"""
    return condition, [value] * 6


def is_named(con: duckdb.DuckDBPyConnection, role: str, value: str) -> bool:
    """Return whether the store names ``value`` where :func:`flags_about` looks for a buyer (``role`` "buyer") or a
    supplier: as an organisation id, a party id as published, or the subject of a flag."""
    subjects, published = _named_as(role)
    return bool(
        con.execute(
            f"""
            SELECT EXISTS ({published})
                OR EXISTS (SELECT 1 FROM organisation_parties WHERE organisation_id = ? OR party_id = ?)
                OR EXISTS (SELECT 1 FROM flags WHERE subject IN {subjects} AND subject_id = ?)
            """,
            [value] * 4,
        ).fetchall()[0][0]
    )


# At most this many organisations are given for an id that leads to several.
PROFILE_CANDIDATES = 50


def profile_key(con: duckdb.DuckDBPyConnection, kind: str, given: str) -> tuple[str | None, list[str]]:
    """Return the profile key a party id, registered identifier or organisation id leads to for a buyer or a
    supplier, with the organisations it could mean when it leads to several (then the key is None)."""
    role = "buyer" if kind == "buyer" else "supplier"
    found = [
        row[0]
        for row in con.execute(
            """
            SELECT DISTINCT organisation_id FROM organisation_parties
            WHERE list_contains(roles, ?) AND (organisation_id = ? OR party_id = ? OR list_contains(identifiers, ?))
            ORDER BY 1 LIMIT ?
            """,
            [role, given, given, given, PROFILE_CANDIDATES],
        ).fetchall()
    ]
    if given in found or not found:
        return given, []
    if len(found) == 1:
        return found[0], []
    return None, found
