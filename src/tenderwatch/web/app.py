"""The web app: pages for people and their JSON twins under /api, over the newest read snapshot of the store.

Pages are rendered on the server (Jinja2, every value escaped) and need no JavaScript. Charts are SVG images
drawn on the server, each with the same numbers as a table. Nothing is fetched from other sites: the Content
Security Policy allows only this site.

The public site only reads. Writing (account tokens now; watchlists and register edits as they come) needs a
signed-in user (argon2-hashed password, a signed session cookie, a CSRF token in every form) or an API token.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import io
import secrets
import threading
import time
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import duckdb
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from tenderwatch import __version__
from tenderwatch.exceptions import StoreError
from tenderwatch.queries import Chart, Page, format_money, profile_key, rows, table_names
from tenderwatch.queries.lists import expiries, flag_counts, flag_list, store_summary, stories
from tenderwatch.queries.organisation import GroupProfile, Profile, group_profile, profile
from tenderwatch.queries.process import ProcessView, process_view
from tenderwatch.queries.search import KINDS, SearchFilters, search, url_for
from tenderwatch.records import event_label
from tenderwatch.settings import Settings
from tenderwatch.store.snapshot import current_snapshot, load_fts
from tenderwatch.util import evidence_text, plain_entities, skip_missing_pandas
from tenderwatch.util import plural as count_of
from tenderwatch.web.accounts import Accounts, User, accounts_path
from tenderwatch.web.charts import render_svg

# Modules that add their own pages and API routes with ``add_routes(app)``.
EXTRA_ROUTES = ("tenderwatch.web.routes_alerts", "tenderwatch.web.routes_services")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SnapshotSource:
    """Hands out read-only cursors on the newest snapshot, switching when a newer one is published."""

    def __init__(self, store_path: Path, timezone: str = "Europe/London") -> None:
        self.store_path = store_path
        self.timezone = timezone
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._checked = 0.0
        self.tables: frozenset[str] = frozenset()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a cursor on the current snapshot.

        :raises StoreError: if nothing has been published yet
        """
        now = time.monotonic()
        with self._lock:
            if self._con is None or now - self._checked > 1.0:
                self._checked = now
                path = current_snapshot(self.store_path)
                if path is None:
                    raise StoreError(f"no snapshot of {self.store_path} has been published", "run `tenderwatch serve`")
                if path != self._path:
                    con = duckdb.connect(str(path), read_only=True)
                    con.execute("SET threads = 1")
                    # dates are shown in the store's time zone, as in the pages published with the snapshot: set for
                    # every cursor (each a connection of its own, which would otherwise take the machine's zone)
                    con.execute("SET GLOBAL TimeZone = ?", [self.timezone])
                    load_fts(con)
                    self.tables = table_names(con)
                    self._con, self._path = con, path
            return self._con.cursor()


class SecurityHeaders:
    """Adds the Content Security Policy and the other protective headers to every response (a plain ASGI
    middleware: it only edits the headers as they are sent)."""

    HEADERS = (
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )
    NAMES = frozenset(name for name, _ in HEADERS)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(item for item in message.get("headers", []) if item[0].lower() not in self.NAMES),
                    *self.HEADERS,
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _cursor(request: Request) -> AsyncIterator[duckdb.DuckDBPyConnection]:
    # Handing out and closing a cursor take microseconds (opening a newly published snapshot, once, a little
    # more): done on the event loop, they spare each request two trips to the thread pool.
    con = request.app.state.source.cursor()
    try:
        yield con
    finally:
        con.close()


Con = Annotated[duckdb.DuckDBPyConnection, Depends(_cursor)]


def _plain(value: Any) -> Any:
    """Make dataclasses, decimals and dates JSON-ready."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv(items: list[dict[str, Any]], name: str) -> Response:
    buffer = io.StringIO()
    if items:
        columns = list(items[0])
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for item in items:
            writer.writerow(
                [
                    item[column] if not isinstance(item[column], (dict, list)) else _json_text(item[column])
                    for column in columns
                ]
            )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _json_text(value: Any) -> str:
    import json  # noqa: PLC0415

    return json.dumps(_plain(value), ensure_ascii=False)


def create_app(settings: Settings) -> FastAPI:
    """Build the web app for the store named by ``settings``."""
    skip_missing_pandas()
    store_path = Path(settings.db)
    source = SnapshotSource(store_path, settings.naive_timezone)
    accounts = Accounts(accounts_path(store_path))
    package = resources.files("tenderwatch.web")
    templates = Jinja2Templates(directory=str(package.joinpath("templates")))
    # texts from the notices are shown with the character references some publishers leave in them resolved
    templates.env.finalize = plain_entities
    templates.env.globals.update(version=__version__, url_for_kind=url_for, quote=quote, format_money=format_money)
    templates.env.filters["urlencode_query"] = lambda params: urlencode({k: v for k, v in params.items() if v})
    templates.env.filters["event_label"] = event_label
    templates.env.filters["plural"] = count_of
    templates.env.filters["evidence_text"] = evidence_text

    app = FastAPI(
        title="tenderwatch",
        version=__version__,
        description="Open procurement data, red flags and their evidence. Every list is paginated in a stable order "
        "and can be downloaded as CSV with format=csv.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=accounts.secret(),
        session_cookie="tenderwatch_session",
        same_site="strict",
        https_only=settings.secure_cookies,
        max_age=8 * 3600,
    )

    app.add_middleware(SecurityHeaders)

    app.mount("/static", StaticFiles(directory=str(package.joinpath("static"))), name="static")

    app.state.source = source

    def current_user(request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return accounts.user_for_token(header[7:].strip())
        name = request.session.get("user")
        return User(name) if name else None

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    def check_csrf(request: Request, token: str) -> None:
        expected = request.session.get("csrf")
        if not expected or not secrets.compare_digest(expected, token):
            raise HTTPException(status_code=403, detail="the form has expired: reload the page and try again")

    def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        context = {"request": request, "user": current_user(request), "csrf": csrf_token(request), **context}
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    # ------------------------------------------------------------------------------------------- errors

    @app.exception_handler(StoreError)
    async def store_error(request: Request, error: StoreError) -> Response:
        # said without the store's path, which is the server's business, not the public's
        message = "Nothing has been published from this store yet: the data appear after the next load or sync."
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=503)
        return render(request, "error.html", {"title": "Not ready", "message": message, "status": 503}, 503)

    # A browser asking for a page that is not there, or that it may not see, gets a page that says so; the API, the
    # feeds and other programs get the status with its detail in JSON.
    error_titles = {400: "That did not work", 401: "Sign in first", 403: "Not allowed", 404: "Not found"}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if not wants_page or request.url.path.startswith("/api/") or error.status_code not in error_titles:
            return await http_exception_handler(request, error)
        message = str(error.detail)
        if error.status_code == 404 and message == "Not Found":  # an address no page answers
            message = "There is no page at this address: check it, or follow a link from the home page."
        elif message:
            message = message[0].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")
        context = {"title": error_titles[error.status_code], "message": message, "status": error.status_code}
        return render(request, "error.html", context, status_code=error.status_code)

    # ------------------------------------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, con: Con) -> HTMLResponse:
        return render(request, "home.html", {"summary": store_summary(con), "stories": stories(con)})

    def filters_from(request: Request) -> SearchFilters:
        params = request.query_params

        def number(name: str) -> float | None:
            try:
                return float(params[name]) if params.get(name) else None
            except ValueError:
                return None

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(params[name]) if params.get(name) else None
            except ValueError:
                return None

        return SearchFilters(
            q=params.get("q", "")[:200],
            kind=params.get("kind") if params.get("kind") in KINDS else None,
            buyer=params.get("buyer") or None,
            supplier=params.get("supplier") or None,
            cpv=params.get("cpv") or None,
            region=params.get("region") or None,
            date_from=day("date_from"),
            date_to=day("date_to"),
            value_min=number("value_min"),
            value_max=number("value_max"),
            procedure=params.get("procedure") or None,
            flag=params.get("flag") or None,
        )

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, con: Con, page: int = 1) -> HTMLResponse:
        filters = filters_from(request)
        results = search(con, filters, page=page, tables=source.tables)
        query = {key: value for key, value in request.query_params.items() if key != "page"}
        return render(request, "search.html", {"filters": filters, "results": results, "query": query})

    @app.get("/briefs/{kind}/{key:path}.{output}", include_in_schema=False)
    def brief_download(kind: str, key: str, output: str, con: Con) -> Response:
        from tenderwatch.briefings import build_brief  # noqa: PLC0415
        from tenderwatch.briefings.render import to_html, to_markdown, to_pdf  # noqa: PLC0415

        if kind not in ("process", "buyer", "supplier") or output not in ("html", "pdf", "md"):
            raise HTTPException(status_code=404, detail="no such briefing pack")
        found = build_brief(con, kind, key)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no {kind} {key!r} in the store")
        name = f"briefing-{kind}-{key}".replace("/", "-")[:120]
        if output == "pdf":
            return Response(
                to_pdf(found),
                media_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
            )
        if output == "md":
            return Response(
                to_markdown(found),
                media_type="text/markdown; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
            )
        return HTMLResponse(to_html(found, standalone=False))

    @app.get("/processes/{ocid:path}/charts/{number}.svg", include_in_schema=False)
    def process_chart(ocid: str, number: int, con: Con) -> Response:
        view = process_view(con, ocid, source.tables)
        return _chart_response(view.charts if view else [], number)

    @app.get("/processes/{ocid:path}", response_class=HTMLResponse, include_in_schema=False)
    def process_page(request: Request, ocid: str, con: Con) -> HTMLResponse:
        view = process_view(con, ocid, source.tables)
        if view is None:
            return render(request, "missing.html", {"what": "contracting process", "key": ocid}, status_code=404)
        services: list[dict[str, Any]] = []
        chain: dict[str, Any] | None = None
        if "service_assignments" in source.tables:
            services = rows(
                con,
                "SELECT area_id, area_name, method, rule, evidence FROM service_assignments WHERE ocid = ? "
                "ORDER BY area_name",
                [ocid],
            )
        if "subcontract_chains" in source.tables:
            found = rows(con, "SELECT depth, organisations FROM subcontract_chains WHERE ocid = ?", [ocid])
            chain = found[0] if found else None
        return render(request, "process.html", {"view": view, "services": services, "chain": chain})

    for kind, plural in (("buyer", "buyers"), ("supplier", "suppliers")):
        _add_profile_routes(app, kind, plural, render)

    @app.get("/flags", response_class=HTMLResponse, include_in_schema=False)
    def flags_page(
        request: Request,
        con: Con,
        code: str | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        page: int = 1,
    ) -> HTMLResponse:
        found = flag_list(con, code=code, buyer=buyer, supplier=supplier, page=page)
        query = {key: value for key, value in request.query_params.items() if key != "page"}
        return render(
            request, "flags.html", {"counts": flag_counts(con), "found": found, "code": code, "query": query}
        )

    @app.get("/expiries", response_class=HTMLResponse, include_in_schema=False)
    def expiries_page(
        request: Request,
        con: Con,
        months: Annotated[int, Query(ge=1, le=60)] = 12,
        buyer: str | None = None,
        page: int = 1,
    ) -> HTMLResponse:
        found = expiries(con, months=months, buyer=buyer, page=page)
        query = {key: value for key, value in request.query_params.items() if key != "page"}
        return render(request, "expiries.html", {"found": found, "months": months, "query": query})

    # ------------------------------------------------------------------------------------------- accounts

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", {"failed": False})

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()], csrf: Annotated[str, Form()]
    ) -> Response:
        check_csrf(request, csrf)
        user = accounts.check_password(name, password)
        if user is None:
            return render(request, "login.html", {"failed": True}, status_code=401)
        request.session.clear()
        request.session["user"] = user.name
        return RedirectResponse("/account", status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
        check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    @app.get("/account", response_class=HTMLResponse, include_in_schema=False)
    def account(request: Request) -> Response:
        if current_user(request) is None:
            return RedirectResponse("/login", status_code=303)
        return render(request, "account.html", {"token": None})

    @app.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
    def new_token(request: Request, csrf: Annotated[str, Form()], label: Annotated[str, Form()] = "") -> Response:
        user = current_user(request)
        if user is None:
            raise HTTPException(status_code=401, detail="sign in first")
        check_csrf(request, csrf)
        return render(request, "account.html", {"token": accounts.create_token(user.name, label[:80])})

    # ------------------------------------------------------------------------------------------- JSON API

    @app.get("/api/search", tags=["search"])
    def api_search(
        request: Request,
        con: Con,
        q: str = "",
        kind: str | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        cpv: str | None = None,
        region: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        value_min: float | None = None,
        value_max: float | None = None,
        procedure: str | None = None,
        flag: str | None = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 25,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        """Search processes (titles, descriptions, buyers and suppliers' names), buyers and suppliers."""
        found = search(con, filters_from(request), page=page, per_page=per_page, tables=source.tables)
        return _list_response(found, format, "search")

    @app.get("/api/processes/{ocid:path}", tags=["processes"])
    def api_process(ocid: str, con: Con) -> Any:
        """One contracting process: how it was bought, bidders, awards, contracts, every notice, red flags."""
        view = process_view(con, ocid, source.tables)
        if view is None:
            raise HTTPException(status_code=404, detail=f"no process {ocid!r} in the store")
        return _plain(view)

    @app.get("/api/flags", tags=["flags"])
    def api_flags(
        con: Con,
        code: str | None = None,
        buyer: str | None = None,
        supplier: str | None = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        """Red flags with their evidence, filtered by indicator, buyer or supplier (party ids)."""
        return _list_response(
            flag_list(con, code=code, buyer=buyer, supplier=supplier, page=page, per_page=per_page), format, "flags"
        )

    @app.get("/api/flags/counts", tags=["flags"])
    def api_flag_counts(con: Con) -> Any:
        """Every indicator with how many flags and processes it flagged."""
        return _plain(flag_counts(con))

    @app.get("/api/expiries", tags=["contracts"])
    def api_expiries(
        con: Con,
        months: Annotated[int, Query(ge=1, le=60)] = 12,
        buyer: str | None = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        """Contracts that end, or reach their last extension, within the given number of months."""
        return _list_response(
            expiries(con, months=months, buyer=buyer, page=page, per_page=per_page), format, "expiries"
        )

    @app.get("/api/me", tags=["accounts"])
    def api_me(request: Request) -> Any:
        """The signed-in user (by session or by an API token in an Authorization: Bearer header)."""
        user = current_user(request)
        if user is None:
            raise HTTPException(status_code=401, detail="sign in, or send an API token")
        return {"name": user.name}

    @app.get("/groups/{group_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def group_page(request: Request, group_id: str, con: Con) -> HTMLResponse:
        found = group_profile(con, group_id, source.tables)
        if found is None:
            return render(request, "missing.html", {"what": "group", "key": group_id}, status_code=404)
        return render(request, "group.html", {"group": found})

    @app.get("/api/groups/{group_id:path}", tags=["organisations"])
    def api_group(group_id: str, con: Con) -> Any:
        """A corporate group: its companies in the data, their awards by year, and the group's track record."""
        found = group_profile(con, group_id, source.tables)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no group {group_id!r} in the store")
        return _plain(found)

    # Helpers for the route modules of other parts of tenderwatch (alerts, statutory services): each defines
    # ``add_routes(app)`` and reaches these through ``request.app.state``.
    app.state.render = render
    app.state.current_user = current_user
    app.state.check_csrf = check_csrf
    app.state.csrf_token = csrf_token
    app.state.settings = settings
    app.state.store_path = store_path
    for module in EXTRA_ROUTES:
        try:
            routes = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        routes.add_routes(app)
    return app


def _add_profile_routes(app: FastAPI, kind: str, plural: str, render: Any) -> None:
    label = "buyer" if kind == "buyer" else "supplier"

    def page_route(request: Request, party_id: str, con: Con) -> Response:
        found = profile(con, kind, party_id, request.app.state.source.tables)
        if found is None:
            # a party id that names several organisations (Contracts Finder numbers the parties of each notice)
            _, candidates = profile_key(con, kind, party_id)
            named = rows(
                con,
                "SELECT organisation_id AS key, name FROM organisations WHERE list_contains(?, organisation_id) "
                "ORDER BY name, organisation_id",
                [candidates],
            )
            context = {"what": label, "key": party_id, "candidates": named, "plural": plural}
            return render(request, "missing.html", context, status_code=404)
        if found.party_id != party_id:
            # a party id as published, or a registered identifier: the organisation's profile has its own address
            return RedirectResponse(f"/{plural}/{quote(found.party_id, safe='')}", status_code=307)
        return render(request, "profile.html", {"profile": found})

    def chart_route(request: Request, party_id: str, number: int, con: Con) -> Response:
        found = profile(con, kind, party_id, request.app.state.source.tables)
        return _chart_response(found.charts if found else [], number)

    def api_route(request: Request, party_id: str, con: Con) -> Any:
        found = profile(con, kind, party_id, request.app.state.source.tables)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no {label} {party_id!r} in the store")
        return _plain(found)

    api_route.__doc__ = (
        f"A {label}'s profile: totals, {'spend' if kind == 'buyer' else 'contracts'} by year, top "
        f"{'suppliers' if kind == 'buyer' else 'buyers'}, procedures, contracts ending soon, red flags."
    )
    app.add_api_route(f"/{plural}/{{party_id:path}}/charts/{{number}}.svg", chart_route, include_in_schema=False)
    app.add_api_route(f"/{plural}/{{party_id:path}}", page_route, response_class=HTMLResponse, include_in_schema=False)
    app.add_api_route(f"/api/{plural}/{{party_id:path}}", api_route, tags=[plural], name=f"api_{kind}")


def _chart_response(charts: list[Chart], number: int) -> Response:
    if not 0 <= number < len(charts):
        return Response("no such chart", status_code=404, media_type="text/plain")
    return Response(
        render_svg(charts[number].spec),
        media_type="image/svg+xml",
        headers={"Cache-Control": "max-age=60"},
    )


def _list_response(found: Page[Any], output: str, name: str) -> Any:
    items = [_plain(item) for item in found.items]
    if output == "csv":
        return _csv(items, name)
    return {"items": items, "page": found.page, "per_page": found.per_page, "total": found.total, "pages": found.pages}


def app_from_environment() -> FastAPI:
    """Build the app from the environment (``TENDERWATCH_*``): how ``serve`` starts each of its worker processes."""
    from tenderwatch.settings import load_settings  # noqa: PLC0415

    return create_app(load_settings())


__all__ = ["GroupProfile", "ProcessView", "Profile", "app_from_environment", "create_app"]
