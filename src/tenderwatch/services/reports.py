"""Reading the services tables for people: the assignments with their rules, the continuity scores with their
parts, the areas and their duties, and a contract's subcontracting chain. The CLI and the web app both use these;
they read the store or a web snapshot alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from tenderwatch.queries import Page, clamp_page, evidence_of, has_table, rows
from tenderwatch.services.settings import PARTS

PART_LABELS = {
    "dominant_provider": "One provider holds most of the service",
    "no_public_provider": "No in-house or public provider",
    "provider_exits": "Providers' exits and early ends",
    "market_concentration": "Market concentration (HHI)",
    "time_left": "Time left, extension options included",
    "urgency_awards": "Urgency direct awards",
    "provider_warnings": "Warnings in the providers' record",
}


def _page(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], order: str, page: int, per_page: int) -> Page:
    page, per_page = clamp_page(page, per_page)
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    items = rows(con, f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", [*params, per_page, (page - 1) * per_page])
    return Page(items=items, page=page, per_page=per_page, total=total)


def _buyer_filter(column_id: str, column_name: str, buyer: str | None) -> tuple[str, list[Any]]:
    if not buyer:
        return "", []
    return f" AND ({column_id} = ? OR {column_name} ILIKE ?)", [buyer, f"%{buyer.strip()}%"]


def areas(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return every service area with its duties and how many processes and outsourced services it has."""
    if not has_table(con, "service_areas"):
        return []
    found = rows(
        con,
        """
        SELECT a.area_id, a.name, a.description, a.rules,
               (SELECT count(*) FROM service_assignments AS s WHERE s.area_id = a.area_id) AS processes,
               (SELECT count(*) FROM service_continuity AS c WHERE c.area_id = a.area_id) AS services,
               (SELECT count(*) FROM service_continuity AS c WHERE c.area_id = a.area_id AND c.band = 'high')
                   AS high_risk
        FROM service_areas AS a ORDER BY a.name
        """,
    )
    duties: dict[str, list[dict[str, Any]]] = {}
    for row in rows(con, "SELECT * FROM service_duties ORDER BY area_id, position"):
        duties.setdefault(row["area_id"], []).append(row)
    for area in found:
        area["duties"] = duties.get(area["area_id"], [])
    return found


def assignments(
    con: duckdb.DuckDBPyConnection,
    *,
    buyer: str | None = None,
    area: str | None = None,
    ocid: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Return the assignments (process, area, the rule that made it and what it matched), filtered by buyer (party
    id, or part of the name), area or process."""
    if not has_table(con, "service_assignments"):
        return Page(items=[], page=1, per_page=per_page, total=0)
    where, params = _buyer_filter("buyer_id", "buyer_name", buyer)
    if area:
        where += " AND area_id = ?"
        params.append(area)
    if ocid:
        where += " AND ocid = ?"
        params.append(ocid)
    sql = f"SELECT * FROM service_assignments WHERE TRUE{where}"
    return _page(con, sql, params, "buyer_name NULLS LAST, area_id, ocid", page, per_page)


def continuity(
    con: duckdb.DuckDBPyConnection,
    *,
    buyer: str | None = None,
    area: str | None = None,
    band: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Return the continuity scores, highest first, filtered by commissioner (id, or part of the name), area and
    band; each with its parts and its evidence (parsed)."""
    if not has_table(con, "service_continuity"):
        return Page(items=[], page=1, per_page=per_page, total=0)
    where, params = _buyer_filter("commissioner_id", "commissioner_name", buyer)
    if area:
        where += " AND area_id = ?"
        params.append(area)
    if band:
        where += " AND band = ?"
        params.append(band)
    sql = f"SELECT * FROM service_continuity WHERE TRUE{where}"
    found = _page(con, sql, params, "score DESC, commissioner_name, area_id", page, per_page)
    for item in found.items:
        _expand(item)
    return found


def _expand(item: dict[str, Any]) -> None:
    """Parse the evidence and list the parts with their labels, values and weights."""
    item["evidence"] = evidence_of(item.get("evidence"))
    weights = item["evidence"].get("weights", {})
    item["parts"] = [
        {
            "part": part,
            "label": PART_LABELS[part],
            "value": item.get(f"part_{part}"),
            "weight": weights.get(part),
        }
        for part in PARTS
    ]


def buyer_continuity(con: duckdb.DuckDBPyConnection, buyer: str) -> dict[str, Any] | None:
    """Return a commissioner's outsourced statutory services with their scores, or None when it has none.

    ``buyer`` is a commissioner id (organisation id or party id) or a buyer party id of the web app's pages.
    """
    if not has_table(con, "service_continuity"):
        return None
    ids = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT commissioner_id FROM service_contracts WHERE commissioner_id = ? "
            "OR commissioner_id IN (SELECT commissioner_id FROM service_contracts AS s JOIN processes AS p "
            "ON p.ocid = s.ocid WHERE p.buyer_id = ? AND s.commissioner_role = 'buyer')",
            [buyer, buyer],
        ).fetchall()
    ]
    if not ids:
        return None
    services = rows(
        con,
        "SELECT * FROM service_continuity WHERE list_contains(?, commissioner_id) ORDER BY score DESC, area_id",
        [ids],
    )
    for item in services:
        _expand(item)
    public = rows(
        con,
        """
        SELECT area_id, min(a.name) AS area_name, count(*) AS contracts
        FROM service_contracts AS s JOIN service_areas AS a USING (area_id)
        WHERE list_contains(?, commissioner_id) AND in_service
        GROUP BY area_id HAVING bool_and(public_provider) ORDER BY area_name
        """,
        [ids],
    )
    name = con.execute(
        "SELECT min(commissioner_name) FROM service_contracts WHERE list_contains(?, commissioner_id)", [ids]
    ).fetchall()[0][0]
    return {"commissioner_ids": ids, "name": name, "services": services, "public_services": public}


@dataclass
class ChainView:
    """A contract's subcontracting chain: the chain row, its links and its organisations by level."""

    ocid: str
    title: str | None
    buyer_name: str | None
    depth: int
    path: str | None
    declared: bool
    description: str | None
    sources: list[str]
    links: list[dict[str, Any]]
    nodes: list[dict[str, Any]] = field(default_factory=list)


def chain(con: duckdb.DuckDBPyConnection, ocid: str) -> ChainView | None:
    """Return the subcontracting chain a process belongs to (as its root, or as one of its subcontracts), or None
    when no subcontracting is known for it."""
    if not has_table(con, "subcontract_chains"):
        return None
    root = con.execute(
        "SELECT ocid FROM subcontract_chains WHERE ocid = ? UNION SELECT root_ocid FROM subcontract_links "
        "WHERE ocid = ? LIMIT 1",
        [ocid, ocid],
    ).fetchall()
    if not root:
        return None
    row = rows(con, "SELECT * FROM subcontract_chains WHERE ocid = ?", [root[0][0]])[0]
    links = rows(
        con,
        "SELECT * FROM subcontract_links WHERE root_ocid = ? ORDER BY level, contractor_name, subcontractor_name",
        [row["ocid"]],
    )
    levels: dict[str, int] = {}
    names: dict[str, str] = {}
    for link in links:
        levels[link["subcontractor_id"]] = min(levels.get(link["subcontractor_id"], link["level"]), link["level"])
        names[link["subcontractor_id"]] = link["subcontractor_name"]
    for link in links:
        names.setdefault(link["contractor_id"], link["contractor_name"])
        if link["contractor_id"] not in levels:
            levels[link["contractor_id"]] = max(link["level"] - 1, 1)
    nodes = [{"id": node, "name": names[node], "level": level} for node, level in levels.items()]
    named = {node["name"] for node in nodes}
    nodes += [{"id": f"prime:{name}", "name": name, "level": 1} for name in row["primes"] or [] if name not in named]
    return ChainView(
        ocid=row["ocid"],
        title=row["title"],
        buyer_name=row["buyer_name"],
        depth=row["depth"],
        path=row["path"],
        declared=bool(row["declared_subcontracting"]),
        description=row["subcontracting_description"],
        sources=list(row["sources"] or []),
        links=links,
        nodes=sorted(nodes, key=lambda node: (node["level"], node["name"] or "")),
    )
