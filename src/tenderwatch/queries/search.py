"""Search across contracts (titles and descriptions), buyers and suppliers, with filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from tenderwatch.queries import AWARDED_VALUE, Page, clamp_page, format_money, has_table, not_a_copy, rows


@dataclass
class SearchFilters:
    """What a search may be narrowed by. Every filter is optional."""

    q: str = ""
    kind: str | None = None
    buyer: str | None = None
    supplier: str | None = None
    cpv: str | None = None
    region: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    value_min: float | None = None
    value_max: float | None = None
    procedure: str | None = None
    flag: str | None = None


@dataclass
class Hit:
    """One search result."""

    kind: str
    key: str
    title: str
    detail: str | None
    date: str | None
    value: str | None
    flags: list[str]
    is_demo: bool
    url: str


KINDS = ("process", "buyer", "supplier", "group")


def _process_filters(filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses = []
    params: list[Any] = []
    # a buyer or supplier by its profile key (organisation id) or its party id as published
    if filters.buyer:
        clauses.append(
            "(p.buyer_id = ? OR p.ocid IN (SELECT ocid FROM organisation_parties WHERE organisation_id = ?"
            " AND list_contains(roles, 'buyer')))"
        )
        params += [filters.buyer, filters.buyer]
    if filters.supplier:
        clauses.append(
            "p.ocid IN (SELECT ocid FROM award_suppliers WHERE party_id = ? UNION SELECT ocid"
            " FROM organisation_parties WHERE organisation_id = ? AND list_contains(roles, 'supplier'))"
        )
        params += [filters.supplier, filters.supplier]
    if filters.cpv:
        clauses.append("p.ocid IN (SELECT ocid FROM item_classifications WHERE starts_with(cpv_code, ?))")
        params.append(filters.cpv.strip())
    if filters.region:
        clauses.append("p.ocid IN (SELECT ocid FROM parties WHERE list_contains(roles, 'buyer') AND region ILIKE ?)")
        params.append(f"%{filters.region.strip()}%")
    if filters.date_from:
        clauses.append("p.last_release_date >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("p.first_release_date < ? + INTERVAL 1 DAY")
        params.append(filters.date_to)
    if filters.value_min is not None:
        clauses.append("v.value_amount >= ?")
        params.append(filters.value_min)
    if filters.value_max is not None:
        clauses.append("v.value_amount <= ?")
        params.append(filters.value_max)
    if filters.procedure:
        clauses.append("(t.procurement_method = ? OR t.procurement_method_details = ?)")
        params += [filters.procedure, filters.procedure]
    if filters.flag:
        clauses.append("p.ocid IN (SELECT ocid FROM flags WHERE code = ?)")
        params.append(filters.flag.upper())
    return (" AND ".join(clauses) or "TRUE"), params


def search(
    con: duckdb.DuckDBPyConnection,
    filters: SearchFilters,
    page: int = 1,
    per_page: int = 25,
    tables: frozenset[str] | None = None,
) -> Page[Hit]:
    """Search processes, buyers and suppliers; results in a stable order (relevance, then key)."""
    page, per_page = clamp_page(page, per_page)
    text = filters.q.strip()
    fts = text and has_table(con, "search_documents", tables) and _fts_loaded(con)
    postings = bool(fts) and has_table(con, "search_postings", tables)
    if text and fts:
        scored = (
            f"SELECT d.kind, d.key, s.score FROM ({_scores(postings)}) AS s JOIN search_documents AS d USING (doc_id)"
        )
        score_params: list[Any] = [text, list(KINDS)]
    elif text:
        scored = "SELECT kind, key, 1.0 AS score FROM search_documents WHERE title ILIKE ? OR body ILIKE ?"
        score_params = [f"%{text}%", f"%{text}%"]
        if not has_table(con, "search_documents", tables):
            scored = """
                SELECT 'process' AS kind, ocid AS key, 1.0 AS score FROM processes
                WHERE title ILIKE ? OR description ILIKE ? OR buyer_name ILIKE ?
            """
            score_params = [f"%{text}%"] * 3
    else:
        scored = "SELECT 'process' AS kind, ocid AS key, 0.0 AS score FROM processes"
        score_params = []
    where, params = _process_filters(filters)
    process_filtered = where != "TRUE"
    kinds = (
        [filters.kind] if filters.kind in KINDS else (["process"] if (process_filtered or not text) else list(KINDS))
    )
    if postings and not process_filtered:
        return _ranked(con, text, kinds, page, per_page)
    sql = f"""
        WITH scored AS ({scored}),
        value AS (
            SELECT * FROM ({AWARDED_VALUE})
            WHERE ocid IN (SELECT key FROM scored WHERE kind = 'process' AND score IS NOT NULL)
        ),
        processes_found AS (
            SELECT 'process' AS kind, p.ocid AS key, coalesce(p.title, p.ocid) AS title, p.buyer_name AS detail,
                   p.last_release_date::DATE::VARCHAR AS date, v.value_amount, v.value_currency, p.is_demo, s.score
            FROM scored AS s
            JOIN processes AS p ON s.kind = 'process' AND p.ocid = s.key
            LEFT JOIN tenders AS t ON t.ocid = p.ocid
            LEFT JOIN value AS v ON v.ocid = p.ocid
            WHERE s.score IS NOT NULL AND {where} AND {not_a_copy(con, "p.ocid", tables)}
        ),
        -- buyers, suppliers and groups: each a document of its own, keyed as its page is
        others_found AS (
            SELECT s.kind, s.key, any_value(d.title), any_value(d.detail), NULL, NULL, NULL, bool_and(d.is_demo),
                   any_value(s.score)
            FROM scored AS s JOIN {
        "search_documents"
        if has_table(con, "search_documents", tables)
        else "(SELECT NULL AS kind, NULL AS key, NULL AS title, NULL AS detail, NULL AS is_demo)"
    } AS d
                 ON s.kind <> 'process' AND d.kind = s.kind AND d.key = s.key
            WHERE s.score IS NOT NULL GROUP BY s.kind, s.key
        ),
        found AS (
            SELECT * FROM processes_found WHERE list_contains(?, 'process')
            UNION ALL SELECT * FROM others_found WHERE list_contains(?, kind)
        )
        SELECT f.*, count(*) OVER () AS total,
               (SELECT list(DISTINCT code ORDER BY code) FROM flags AS g WHERE g.ocid = f.key) AS flag_codes
        FROM found AS f
        ORDER BY {"f.score DESC," if text else "f.date DESC NULLS LAST,"} f.kind, f.key
        LIMIT ? OFFSET ?
    """
    found = rows(con, sql, [*score_params, *params, kinds, kinds, per_page, (page - 1) * per_page])
    return Page([_hit(row) for row in found], page, per_page, found[0]["total"] if found else 0)


def _ranked(con: duckdb.DuckDBPyConnection, text: str, kinds: list[str], page: int, per_page: int) -> Page[Hit]:
    """A search by words alone in a read snapshot: the documents are ranked first, then only the page's are read.

    The cost follows the words' postings, not how many processes match; the results and their order are those of
    the general query (``doc_id`` numbers the documents in the order of kind and key). Each process document keeps
    what its result shows (date, value awarded, red flags).
    """
    ranked = con.execute(
        f"SELECT doc_id, count(*) OVER () AS total FROM ({_scores(True)}) "
        "ORDER BY score DESC, doc_id LIMIT ? OFFSET ?",
        [text, kinds, per_page, (page - 1) * per_page],
    ).fetchall()
    if not ranked:
        return Page([], page, per_page, 0)
    # the numbers come from the query above, never from the request; a literal list lets the scan skip to them
    numbers = ", ".join(str(int(doc_id)) for doc_id, _ in ranked)
    found = {
        row["doc_id"]: row
        for row in rows(
            con,
            "SELECT doc_id, kind, key, title, detail, date, value_amount, value_currency, is_demo, flag_codes "
            f"FROM search_documents WHERE doc_id IN ({numbers})",
        )
    }
    return Page([_hit(found[doc_id]) for doc_id, _ in ranked], page, per_page, ranked[0][1])


def _scores(postings: bool) -> str:
    """Return a SELECT of (doc_id, score) for the documents of the kinds in the second parameter that match the
    words of the first, scored by BM25. A read snapshot keeps each word's weight in each document
    (``search_postings``), so a search adds up a few postings instead of scoring every document."""
    if postings:
        return """
            SELECT doc_id, sum(weight) AS score FROM search_postings
            WHERE termid IN (SELECT termid FROM fts_main_search_documents.dict
                             WHERE term IN (SELECT stem(unnest(fts_main_search_documents.tokenize(?)), 'porter')))
              AND list_contains(?, kind)
            GROUP BY doc_id"""
    return """
        SELECT doc_id, score FROM (
            SELECT doc_id, kind, fts_main_search_documents.match_bm25(doc_id, ?) AS score FROM search_documents)
        WHERE score IS NOT NULL AND list_contains(?, kind)"""


# A profile's count as the snapshot keeps it, in the singular where the count is one.
_ONE = {"1 processes": "1 process", "1 contracts won": "1 contract won"}


def _hit(row: dict[str, Any]) -> Hit:
    return Hit(
        kind=row["kind"],
        key=row["key"],
        title=row["title"],
        detail=_ONE.get(row["detail"], row["detail"]),
        date=row["date"],
        value=format_money(row["value_amount"], row["value_currency"]) if row["value_amount"] is not None else None,
        flags=row["flag_codes"] or [],
        is_demo=bool(row["is_demo"]),
        url=url_for(row["kind"], row["key"]),
    )


def url_for(kind: str, key: str) -> str:
    """Return the page of a process, buyer or supplier."""
    from urllib.parse import quote  # noqa: PLC0415

    prefix = {"process": "/processes/", "buyer": "/buyers/", "supplier": "/suppliers/", "group": "/groups/"}[kind]
    return prefix + quote(key, safe="")


def _fts_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'fts' AND loaded").fetchall()[0][
            0
        ]
    )
