"""Lists: the red flags explorer and the contracts reaching their end (the window to argue for insourcing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from tenderwatch.queries import (
    BUYER_KEY,
    BUYER_ORGANISATION,
    Page,
    clamp_page,
    copies_table,
    evidence_of,
    flags_about,
    format_money,
    has_table,
    not_a_copy,
    rows,
    with_tax,
)
from tenderwatch.util import listed


@dataclass
class FlagCount:
    """How often one indicator fired."""

    code: str
    title: str
    flags: int
    processes: int
    # what the indicator flags, in words ("processes", "buyers", "processes and tenderers")
    flags_what: str = "processes"


FLAG_TOTALS_SQL = "SELECT code, count(*) AS flags, count(DISTINCT ocid) AS processes FROM flags GROUP BY code"


def flag_counts(con: duckdb.DuckDBPyConnection) -> list[FlagCount]:
    """Return every indicator with how many flags it raised in the last run."""
    from tenderwatch.indicators import INDICATORS  # noqa: PLC0415

    # a read snapshot keeps the counts (``flag_totals``); on a store they are counted
    source = "flag_totals" if has_table(con, "flag_totals") else f"({FLAG_TOTALS_SQL})"
    counted = {
        code: (flags, processes)
        for code, flags, processes in con.execute(f"SELECT code, flags, processes FROM {source}").fetchall()
    }
    return [
        FlagCount(code, indicator.title, *counted.get(code, (0, 0)), flags_what=_subjects_in_words(indicator.subjects))
        for code, indicator in INDICATORS.items()
    ]


_SUBJECT_WORDS = {"process": "processes", "procuring_entity": "procuring entities"}


def _subjects_in_words(subjects: tuple[str, ...]) -> str:
    return listed([_SUBJECT_WORDS.get(subject, subject + "s") for subject in subjects])


def flag_list(
    con: duckdb.DuckDBPyConnection,
    *,
    code: str | None = None,
    buyer: str | None = None,
    supplier: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[dict[str, Any]]:
    """Return flags, newest processes first, filtered by indicator, buyer or supplier (profile keys or party ids)."""
    page, per_page = clamp_page(page, per_page)
    if not (buyer or supplier) and has_table(con, "flag_rows"):
        return _stored_flag_list(con, code, page, per_page)
    where = ["TRUE"]
    params: list[Any] = []
    if code:
        where.append("f.code = ?")
        params.append(code.upper())
    # a buyer or supplier is named by its profile key (organisation id) or a party id as published
    for role, value in (("buyer", buyer), ("supplier", supplier)):
        if value:
            condition, values = flags_about(role, value)
            where.append(condition)
            params += values
    found = rows(
        con,
        f"""
        SELECT f.code, f.subject, f.subject_id, f.ocid, f.value, f.evidence, f.sentence, p.title, p.buyer_id,
               p.buyer_name, p.is_demo, count(*) OVER () AS total
        FROM flags AS f LEFT JOIN processes AS p USING (ocid)
        WHERE {" AND ".join(where)}
        ORDER BY {FLAG_ORDER}
        LIMIT ? OFFSET ?
        """,
        [*params, per_page, (page - 1) * per_page],
    )
    for row in found:
        row["evidence"] = evidence_of(row["evidence"])
    total = found[0].pop("total") if found else 0
    for row in found[1:]:
        row.pop("total")
    return Page(found, page, per_page, total)


# The order of the red flags list, newest processes first; a read snapshot keeps the list in it (``flag_rows``).
FLAG_ORDER = "p.last_release_date DESC NULLS LAST, f.code, f.subject, f.subject_id, f.ocid"
FLAG_ROWS_SQL = f"""
    SELECT row_number() OVER (ORDER BY {FLAG_ORDER}) AS n,
           row_number() OVER (PARTITION BY f.code ORDER BY {FLAG_ORDER}) AS n_code,
           f.code, f.subject, f.subject_id, f.ocid, f.value, f.evidence, f.sentence, p.title, p.buyer_id,
           p.buyer_name, p.is_demo
    FROM flags AS f LEFT JOIN processes AS p USING (ocid)
    ORDER BY n
"""


def _stored_flag_list(
    con: duckdb.DuckDBPyConnection, code: str | None, page: int, per_page: int
) -> Page[dict[str, Any]]:
    """The red flags list from a read snapshot's ``flag_rows``: a page is a range of its numbers."""
    first, last = (page - 1) * per_page + 1, page * per_page
    if code:
        found = rows(
            con,
            "SELECT * EXCLUDE (n, n_code) FROM flag_rows WHERE code = ? AND n_code BETWEEN ? AND ? ORDER BY n_code",
            [code.upper(), first, last],
        )
        total = con.execute("SELECT count(*) FROM flag_rows WHERE code = ?", [code.upper()]).fetchall()[0][0]
    else:
        found = rows(
            con, "SELECT * EXCLUDE (n, n_code) FROM flag_rows WHERE n BETWEEN ? AND ? ORDER BY n", [first, last]
        )
        total = con.execute("SELECT count(*) FROM flag_rows").fetchall()[0][0]
    for row in found:
        row["evidence"] = evidence_of(row["evidence"])
    return Page(found, page, per_page, total)


def expiries(
    con: duckdb.DuckDBPyConnection, *, months: int = 12, buyer: str | None = None, page: int = 1, per_page: int = 50
) -> Page[dict[str, Any]]:
    """Return contracts that end, or reach their last possible extension, within ``months`` from today.

    Read from the contract lifecycle: each contract, and each award whose contract has not been published yet (a
    Find a Tender award notice gives the contract's dates before its contract details notice does), that was
    neither terminated nor cancelled; a process that copies another (``process_copies``) is left out, as its
    original is listed."""
    page, per_page = clamp_page(page, per_page)
    buyer_clause = f"AND ({BUYER_KEY} = ? OR p.buyer_id = ?)" if buyer else ""
    params: list[Any] = [months, months]
    if buyer:
        params += [buyer, buyer]
    found = rows(
        con,
        f"""
        SELECT l.ocid, coalesce(l.contract_id, l.award_id) AS contract_id, l.row_type AS kind, p.title, p.buyer_id,
               {BUYER_KEY} AS buyer_profile, p.buyer_name, p.is_demo,
               l.current_end_date::DATE::VARCHAR AS ends, l.max_extent_date::DATE::VARCHAR AS max_extent,
               l.current_value_amount AS value_amount, l.current_value_currency AS value_currency,
               l.current_value_includes_tax AS value_includes_tax,
               CASE WHEN l.current_end_date BETWEEN now() AND now() + to_months(?) THEN 'ends'
                    ELSE 'last extension ends' END AS what,
               nullif(array_to_string(l.supplier_names, '; '), '') AS suppliers,
               count(*) OVER () AS total
        FROM contract_lifecycle AS l JOIN processes AS p USING (ocid) {BUYER_ORGANISATION}
        WHERE l.row_type IN ('contract', 'award') AND NOT l.terminated AND l.status <> 'cancelled'
          AND {not_a_copy(con, "l.ocid")}  -- a republished copy is listed as its original
          AND (l.current_end_date BETWEEN now() AND now() + to_months(?)
               OR l.max_extent_date BETWEEN now() AND now() + to_months({int(months)}))
          {buyer_clause}
        ORDER BY coalesce(l.current_end_date, l.max_extent_date), l.ocid, coalesce(l.contract_id, l.award_id)
        LIMIT ? OFFSET ?
        """,
        [*params, per_page, (page - 1) * per_page],
    )
    total = found[0]["total"] if found else 0
    for row in found:
        row.pop("total")
        money = format_money(row.pop("value_amount"), row.pop("value_currency"))
        row["value"] = with_tax(money, row.pop("value_includes_tax"))
    return Page(found, page, per_page, total)


def stories(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the demo stories in the store (empty for real data)."""
    return rows(
        con,
        "SELECT ocid, title, buyer_name FROM processes WHERE ocid LIKE 'ocds-twdemo-%' ORDER BY ocid",
    )


# Buyers and suppliers counted as organisations, as their profiles are: a party id as published is no count of
# anything (Contracts Finder numbers the parties of each notice 0, 1, 2…, and most of its buyers have no id).
# Before organisations are resolved, each identifier, else each name, counts once.
_ORGANISATION_COUNTS = """
    (SELECT count(*) FILTER (WHERE list_contains(roles, 'buyer')) FROM organisations) AS buyers,
    (SELECT count(*) FILTER (WHERE list_contains(roles, 'supplier')) FROM organisations) AS suppliers
"""
_NAME_COUNTS = """
    (SELECT count(DISTINCT coalesce(upper(buyer_name), buyer_id)) FROM processes) AS buyers,
    (SELECT count(DISTINCT coalesce(identifier_scheme || '-' || identifier_id, upper(name), party_id))
     FROM award_suppliers) AS suppliers
"""


def store_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return what the store holds, in a few numbers, for the home page."""
    resolved = has_table(con, "organisations") and bool(con.execute("SELECT 1 FROM organisations LIMIT 1").fetchall())
    copies = copies_table(con)
    summary = rows(
        con,
        f"""
        SELECT (SELECT count(*) FROM processes) - (SELECT count(*) FROM {copies}) AS processes,
               (SELECT count(*) FROM {copies}) AS copies,
               (SELECT count(*) FROM processes WHERE is_demo) AS demo_processes,
               {_ORGANISATION_COUNTS if resolved else _NAME_COUNTS},
               (SELECT count(*) FROM flags) AS flags,
               (SELECT max(last_release_date)::DATE::VARCHAR FROM processes) AS latest
        """,
    )[0]
    summary["has_lifecycle"] = has_table(con, "contract_lifecycle")
    return summary
