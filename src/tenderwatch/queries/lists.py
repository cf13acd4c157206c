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
    evidence_of,
    flags_about,
    format_money,
    has_table,
    rows,
)


@dataclass
class FlagCount:
    """How often one indicator fired."""

    code: str
    title: str
    flags: int
    processes: int


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
    return [FlagCount(code, indicator.title, *counted.get(code, (0, 0))) for code, indicator in INDICATORS.items()]


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
    """Return contracts that end, or reach their last possible extension, within ``months`` from today."""
    page, per_page = clamp_page(page, per_page)
    buyer_clause = f"AND ({BUYER_KEY} = ? OR p.buyer_id = ?)" if buyer else ""
    params: list[Any] = [months, months]
    if buyer:
        params += [buyer, buyer]
    found = rows(
        con,
        f"""
        SELECT c.ocid, c.contract_id, p.title, p.buyer_id, {BUYER_KEY} AS buyer_profile, p.buyer_name, p.is_demo,
               c.period_end::DATE::VARCHAR AS ends, c.period_max_extent::DATE::VARCHAR AS max_extent,
               c.value_amount, c.value_currency,
               CASE WHEN c.period_end BETWEEN now() AND now() + to_months(?) THEN 'ends'
                    ELSE 'last extension ends' END AS what,
               (SELECT string_agg(s.name, '; ' ORDER BY s.position) FROM award_suppliers AS s
                WHERE s.ocid = c.ocid AND s.award_id IS NOT DISTINCT FROM c.award_id) AS suppliers,
               count(*) OVER () AS total
        FROM contracts AS c JOIN processes AS p USING (ocid) {BUYER_ORGANISATION}
        WHERE c.status IS DISTINCT FROM 'terminated' AND c.status IS DISTINCT FROM 'cancelled'
          AND (c.period_end BETWEEN now() AND now() + to_months(?)
               OR c.period_max_extent BETWEEN now() AND now() + to_months({int(months)}))
          {buyer_clause}
        ORDER BY coalesce(c.period_end, c.period_max_extent), c.ocid, c.contract_id
        LIMIT ? OFFSET ?
        """,
        [*params, per_page, (page - 1) * per_page],
    )
    total = found[0]["total"] if found else 0
    for row in found:
        row.pop("total")
        row["value"] = format_money(row.pop("value_amount"), row.pop("value_currency"))
    return Page(found, page, per_page, total)


def stories(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the demo stories in the store (empty for real data)."""
    return rows(
        con,
        "SELECT ocid, title, buyer_name FROM processes WHERE ocid LIKE 'ocds-twdemo-%' ORDER BY ocid",
    )


def store_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return what the store holds, in a few numbers, for the home page."""
    summary = rows(
        con,
        """
        SELECT (SELECT count(*) FROM processes) AS processes,
               (SELECT count(*) FROM processes WHERE is_demo) AS demo_processes,
               (SELECT count(DISTINCT buyer_id) FROM processes) AS buyers,
               (SELECT count(DISTINCT party_id) FROM award_suppliers) AS suppliers,
               (SELECT count(*) FROM flags) AS flags,
               (SELECT max(last_release_date)::DATE::VARCHAR FROM processes) AS latest
        """,
    )[0]
    summary["has_lifecycle"] = has_table(con, "contract_lifecycle")
    return summary
