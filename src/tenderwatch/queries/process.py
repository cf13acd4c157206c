"""One contracting process: how it was bought, who bid and won, what it costs now, every notice, its red flags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tenderwatch.queries import Chart, format_money, has_table, rows


@dataclass
class Notice:
    """One release (notice) of the process, with where it came from."""

    release_id: str
    date: str | None
    tags: list[str]
    source: str | None
    pointer: str | None
    package_uri: str | None
    url: str | None


@dataclass
class ProcessView:
    """Everything the contract page shows."""

    ocid: str
    title: str
    description: str | None
    is_demo: bool
    buyer_id: str | None
    buyer_name: str | None
    publisher: str | None
    procurement_method: str | None
    procurement_method_details: str | None
    rationale: str | None
    rationale_classifications: list[str]
    legal_basis: str | None
    tender_status: str | None
    tender_value: str | None
    tender_period: tuple[str | None, str | None]
    number_of_tenderers: int | None
    tenderers: list[dict[str, Any]]
    bid_statistics: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    awards: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    amendments: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    related: list[dict[str, Any]]
    notices: list[Notice]
    flags: list[dict[str, Any]]
    score: dict[str, Any] | None
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


def notice_url(ocid: str, release_id: str, source: str | None) -> str | None:
    """Return the public page of a notice, where the publisher is known (Find a Tender, Contracts Finder)."""
    if ocid.startswith("ocds-h6vhtk-"):
        return f"https://www.find-tender.service.gov.uk/Notice/{release_id}"
    if ocid.startswith("ocds-b5fd17-"):
        notice = release_id.removeprefix("ocds-b5fd17-").split("-", 5)
        return "https://www.contractsfinder.service.gov.uk/Notice/" + "-".join(notice[:5])
    if source and source.startswith(("http://", "https://")):
        return source
    return None


def process_view(con: duckdb.DuckDBPyConnection, ocid: str) -> ProcessView | None:
    """Return the contract page of one process, or None if the store has no such process."""
    found = rows(
        con,
        """
        SELECT p.*, t.description AS tender_description, t.procurement_method, t.procurement_method_details,
               t.procurement_method_rationale, t.procurement_method_rationale_classifications,
               t.legal_basis_scheme, t.legal_basis_id, t.status AS tender_status, t.value_amount AS tender_value,
               t.value_currency AS tender_currency, t.tender_period_start, t.tender_period_end, t.number_of_tenderers
        FROM processes AS p LEFT JOIN tenders AS t USING (ocid) WHERE p.ocid = ?
        """,
        [ocid],
    )
    if not found:
        return None
    p = found[0]
    awards = rows(
        con,
        """
        SELECT a.award_id, a.title, a.status, a.date::DATE::VARCHAR AS date, a.value_amount, a.value_currency,
               a.contract_period_start::DATE::VARCHAR AS start, a.contract_period_end::DATE::VARCHAR AS "end",
               coalesce((SELECT list({'id': s.party_id, 'name': s.name} ORDER BY s.position) FROM award_suppliers AS s
                         WHERE s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id), []) AS suppliers
        FROM awards AS a WHERE a.ocid = ? ORDER BY a.position
        """,
        [ocid],
    )
    for award in awards:
        award["value"] = format_money(award["value_amount"], award["value_currency"])
    contracts = rows(
        con,
        """
        SELECT contract_id, award_id, title, status, period_start::DATE::VARCHAR AS start,
               period_end::DATE::VARCHAR AS "end", period_max_extent::DATE::VARCHAR AS max_extent,
               value_amount, value_currency, date_signed::DATE::VARCHAR AS signed, amendment_count
        FROM contracts WHERE ocid = ? ORDER BY position
        """,
        [ocid],
    )
    for contract in contracts:
        contract["value"] = format_money(contract["value_amount"], contract["value_currency"])
    notices = [
        Notice(
            release_id=row["release_id"],
            date=row["release_date"],
            tags=row["tags"] or [],
            source=row["source"],
            pointer=row["pointer"],
            package_uri=row["package_uri"],
            url=notice_url(ocid, row["release_id"], row["source"]),
        )
        for row in rows(
            con,
            """
            SELECT r.release_id, r.release_date, r.tags, r.source, r.pointer,
                   json_extract_string(k.metadata, '$.uri') AS package_uri
            FROM raw_releases AS r LEFT JOIN packages AS k USING (package_hash)
            WHERE r.ocid = ? ORDER BY r.release_date, r.seq
            """,
            [ocid],
        )
    ]
    flags = rows(
        con,
        "SELECT code, subject, subject_id, value, evidence, sentence FROM flags WHERE ocid = ? ORDER BY code, subject",
        [ocid],
    )
    for flag in flags:
        flag["evidence"] = json.loads(flag["evidence"]) if flag["evidence"] else {}
    score = rows(con, "SELECT flags_raised, flags_applicable, score, codes FROM process_scores WHERE ocid = ?", [ocid])
    lifecycle = (
        rows(con, "SELECT * EXCLUDE (ocid) FROM contract_lifecycle WHERE ocid = ?", [ocid])
        if has_table(con, "contract_lifecycle")
        else []
    )
    events = (
        rows(con, "SELECT * FROM derived_events WHERE ocid = ? ORDER BY event_date", [ocid])
        if has_table(con, "derived_events")
        else []
    )
    view = ProcessView(
        ocid=ocid,
        title=p["title"] or ocid,
        description=p["description"],
        is_demo=bool(p["is_demo"]),
        buyer_id=p["buyer_id"],
        buyer_name=p["buyer_name"],
        publisher=p["publisher_name"],
        procurement_method=p["procurement_method"],
        procurement_method_details=p["procurement_method_details"],
        rationale=p["procurement_method_rationale"],
        rationale_classifications=p["procurement_method_rationale_classifications"] or [],
        legal_basis=" ".join(x for x in (p["legal_basis_scheme"], p["legal_basis_id"]) if x) or None,
        tender_status=p["tender_status"],
        tender_value=format_money(p["tender_value"], p["tender_currency"]) if p["tender_value"] is not None else None,
        tender_period=(
            p["tender_period_start"].date().isoformat() if p["tender_period_start"] else None,
            p["tender_period_end"].date().isoformat() if p["tender_period_end"] else None,
        ),
        number_of_tenderers=p["number_of_tenderers"],
        tenderers=rows(con, "SELECT party_id, name FROM tenderers WHERE ocid = ? ORDER BY position", [ocid]),
        bid_statistics=rows(
            con, "SELECT measure, value, related_lot FROM bid_statistics WHERE ocid = ? ORDER BY position", [ocid]
        ),
        lots=rows(
            con,
            "SELECT lot_id, title, status, value_amount, value_currency FROM lots WHERE ocid = ? ORDER BY position",
            [ocid],
        ),
        awards=awards,
        contracts=contracts,
        amendments=rows(
            con,
            """
            SELECT scope, parent_id, date::DATE::VARCHAR AS date, rationale, description, release_id
            FROM amendments WHERE ocid = ? ORDER BY date NULLS LAST, position
            """,
            [ocid],
        ),
        documents=rows(
            con,
            """
            SELECT scope, document_type, notice_type, title, url, date_published::DATE::VARCHAR AS published
            FROM documents WHERE ocid = ? ORDER BY date_published NULLS LAST, scope, position
            """,
            [ocid],
        ),
        related=rows(
            con,
            "SELECT relationship, title, scheme, identifier, uri FROM related_processes "
            "WHERE ocid = ? ORDER BY position",
            [ocid],
        ),
        notices=notices,
        flags=flags,
        score=score[0] if score else None,
        lifecycle=lifecycle,
        events=events,
    )
    view.charts = _value_chart(view, (p["tender_value"], p["tender_currency"]))
    return view


def _value_chart(view: ProcessView, tender: tuple[Any, Any]) -> list[Chart]:
    """The value of the process at each stage: estimate, awards, contracts now (in one currency)."""
    points = []
    if tender[0] is not None:
        points.append(("tender estimate", tender[0], tender[1]))
    points += [
        (f"award {award['award_id'] or ''}".strip(), award["value_amount"], award["value_currency"])
        for award in view.awards
    ]
    points += [
        (f"contract {contract['contract_id'] or ''}".strip(), contract["value_amount"], contract["value_currency"])
        for contract in view.contracts
    ]
    points = [point for point in points if point[1] is not None]
    currencies = {point[2] for point in points}
    if len(points) < 2 or len(currencies) != 1:
        return []
    currency = currencies.pop()
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 420,
        "height": 30 * len(points),
        "data": {"values": [{"stage": label, "amount": float(amount)} for label, amount, _ in points]},
        "mark": {"type": "bar", "color": "#1d4f91"},
        "encoding": {
            "y": {"field": "stage", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "amount", "type": "quantitative", "title": f"value ({currency})", "axis": {"format": "~s"}},
        },
    }
    table = [[label, format_money(amount, currency)] for label, amount, _ in points]
    return [Chart("Value at each stage", spec, ["stage", "value"], table)]
