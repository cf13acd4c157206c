"""Pages and JSON API of the statutory-services analysis (see docs/statutory-services.md): the service areas and
their duties, the continuity risk of each buyer's outsourced services, the provider-exit scenario of each supplier,
and each contract's subcontracting chain drawn as a graph. ``add_routes(app)`` is called by the web app.

Every page reads the newest snapshot, like the rest of the app, and has a JSON twin under /api/services.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenderwatch.exceptions import InputError
from tenderwatch.queries import Page, has_table
from tenderwatch.services.exit import exit_scenario
from tenderwatch.services.graph import chain_svg, level_name
from tenderwatch.services.reports import areas, assignments, buyer_continuity, chain, continuity
from tenderwatch.web.app import Con

Format = Annotated[str, Query(pattern="^(json|csv)$")]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]
BandFilter = Annotated[str | None, Query(pattern="^(high|medium|low)$")]


def _plain(value: Any) -> Any:
    """Make dataclasses, decimals and dates JSON-ready."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _listed(found: Page, output: str, name: str) -> Any:
    items = [_plain(item) for item in found.items]
    if output == "csv":
        buffer = io.StringIO()
        if items:
            writer = csv.writer(buffer)
            writer.writerow(list(items[0]))
            for item in items:
                writer.writerow(
                    [
                        json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
                        for value in item.values()
                    ]
                )
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return {"items": items, "page": found.page, "per_page": found.per_page, "total": found.total, "pages": found.pages}


def _ready(con: Any) -> bool:
    """Whether the snapshot holds the statutory-services tables (one published before they existed does not)."""
    return has_table(con, "service_continuity")


def _query(request: Request) -> dict[str, str]:
    return {key: value for key, value in request.query_params.items() if key != "page"}


def add_routes(app: FastAPI) -> None:
    """Add the statutory-services pages and API routes to the web app."""

    def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        return request.app.state.render(request, name, context, status_code=status_code)

    def missing(request: Request, what: str, key: str) -> HTMLResponse:
        return render(request, "missing.html", {"what": what, "key": key}, status_code=404)

    # ------------------------------------------------------------------------------------------- pages

    @app.get("/services", response_class=HTMLResponse, include_in_schema=False)
    def services_page(request: Request, con: Con) -> HTMLResponse:
        if not _ready(con):
            return render(request, "services_index.html", {"areas": [], "risky": None, "ready": False})
        risky = continuity(con, band="high", per_page=20)
        return render(request, "services_index.html", {"areas": areas(con), "risky": risky, "ready": True})

    @app.get("/services/risk", response_class=HTMLResponse, include_in_schema=False)
    def risk_page(
        request: Request,
        con: Con,
        buyer: str | None = None,
        area: str | None = None,
        band: BandFilter = None,
        page: PageNumber = 1,
    ) -> HTMLResponse:
        found = continuity(con, buyer=buyer, area=area, band=band, page=page, per_page=25)
        context = {"found": found, "query": _query(request), "areas": areas(con), "buyer": buyer, "area": area}
        return render(request, "services_risk.html", {**context, "band": band})

    @app.get("/services/buyers/{party_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def buyer_page(request: Request, party_id: str, con: Con) -> HTMLResponse:
        found = buyer_continuity(con, party_id) if _ready(con) else None
        if found is None:
            return missing(request, "buyer with statutory services", party_id)
        # the processes the evidence names, by their titles
        ocids = sorted(
            {item["ocid"] for s in found["services"] for item in s["evidence"].get("urgency_awards") or []}
            | {ocid for s in found["services"] for ocid in s["evidence"].get("processes") or []}
        )
        titles = (
            dict(con.execute("SELECT ocid, title FROM processes WHERE ocid IN (SELECT unnest(?))", [ocids]).fetchall())
            if ocids
            else {}
        )
        return render(request, "services_buyer.html", {"found": found, "party_id": party_id, "titles": titles})

    @app.get("/services/exit/{party_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def exit_page(request: Request, party_id: str, con: Con) -> HTMLResponse:
        try:
            scenario = exit_scenario(con, party_id) if _ready(con) else None
        except InputError as error:
            context = {"scenario": None, "problem": str(error), "key": party_id}
            return render(request, "services_exit.html", context, status_code=400)
        if scenario is None:
            return missing(request, "supplier or group", party_id)
        return render(request, "services_exit.html", {"scenario": scenario, "problem": None, "key": party_id})

    @app.get("/services/chains/{ocid:path}/graph.svg", include_in_schema=False)
    def chain_graph(ocid: str, con: Con) -> Response:
        view = chain(con, ocid) if _ready(con) else None
        if view is None:
            return Response("no such chain", status_code=404, media_type="text/plain")
        return Response(
            chain_svg(view.buyer_name, view.nodes, view.links),
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=60"},
        )

    @app.get("/services/chains/{ocid:path}", response_class=HTMLResponse, include_in_schema=False)
    def chain_page(request: Request, ocid: str, con: Con) -> HTMLResponse:
        view = chain(con, ocid) if _ready(con) else None
        if view is None:
            return missing(request, "subcontracting chain for", ocid)
        return render(request, "services_chain.html", {"view": view, "level_name": level_name})

    # ------------------------------------------------------------------------------------------- JSON API

    @app.get("/api/services/areas", tags=["services"])
    def api_areas(con: Con) -> Any:
        """The statutory service areas, the duties resting on each (with legislation.gov.uk addresses), their
        assignment rules, and how many processes and outsourced services each has."""
        return _plain(areas(con))

    @app.get("/api/services/assignments", tags=["services"])
    def api_assignments(
        con: Con,
        buyer: str | None = None,
        area: str | None = None,
        ocid: str | None = None,
        page: PageNumber = 1,
        per_page: PerPage = 50,
        format: Format = "json",
    ) -> Any:
        """Processes assigned to statutory service areas, each with the rule that assigned it and what it matched."""
        found = assignments(con, buyer=buyer, area=area, ocid=ocid, page=page, per_page=per_page)
        return _listed(found, format, "service-assignments")

    @app.get("/api/services/risk", tags=["services"])
    def api_risk(
        con: Con,
        buyer: str | None = None,
        area: str | None = None,
        band: BandFilter = None,
        page: PageNumber = 1,
        per_page: PerPage = 50,
        format: Format = "json",
    ) -> Any:
        """Continuity risk of outsourced statutory services, highest first: the score, its parts and weights, and the
        evidence of every part."""
        found = continuity(con, buyer=buyer, area=area, band=band, page=page, per_page=per_page)
        return _listed(found, format, "service-risk")

    @app.get("/api/services/buyers/{party_id:path}", tags=["services"])
    def api_buyer(party_id: str, con: Con) -> Any:
        """A public body's outsourced statutory services with their continuity scores."""
        found = buyer_continuity(con, party_id) if _ready(con) else None
        if found is None:
            raise HTTPException(status_code=404, detail=f"no statutory services are known for {party_id!r}")
        return _plain(found)

    @app.get("/api/services/exit/{party_id:path}", tags=["services"])
    def api_exit(party_id: str, con: Con) -> Any:
        """What if this supplier (party id, org-id or name) or corporate group walked away: the statutory services
        and public bodies that depend on it, the value and duties at stake, and other providers nearby."""
        try:
            scenario = exit_scenario(con, party_id) if _ready(con) else None
        except InputError as error:
            raise HTTPException(status_code=400, detail=str(error)) from error
        if scenario is None:
            raise HTTPException(status_code=404, detail=f"no supplier or group {party_id!r} in the store")
        return {
            **_plain(scenario),
            "summary": scenario.summary(),
            "duties": _plain(scenario.duties),
            "totals": _plain(scenario.totals),
        }

    @app.get("/api/services/chains/{ocid:path}", tags=["services"])
    def api_chain(ocid: str, con: Con) -> Any:
        """A contract's subcontracting chain: depth, organisations by level, and every link with its source."""
        view = chain(con, ocid) if _ready(con) else None
        if view is None:
            raise HTTPException(status_code=404, detail=f"no subcontracting is known for {ocid!r}")
        return _plain(view)
