"""Pages of the alerts: each watchlist's Atom feed (opened by its secret token), and a signed-in user's
watchlists with their latest matches, as a page and as JSON.

The web app reads a published snapshot, so it shows the watchlists and matches as of the last load or sync;
watchlists are saved with ``tenderwatch watch add`` (see docs/alerts.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenderwatch.alerts.feed import atom_feed, recent_matches
from tenderwatch.alerts.settings import load_alert_settings
from tenderwatch.alerts.watchlists import get_watchlists
from tenderwatch.queries import has_table
from tenderwatch.web.app import Con

RECENT = 10


def _watchlists(request: Request, con: Any, owner: str) -> list[dict[str, Any]]:
    tables = request.app.state.source.tables
    if not has_table(con, "watchlists", tables):
        return []
    result = []
    for watchlist in get_watchlists(con, owner=owner, secrets=False):
        result.append(
            {
                "id": watchlist.watchlist_id,
                "name": watchlist.name,
                "rules": watchlist.rules.describe(),
                "email": watchlist.email,
                "webhook": watchlist.webhook_url,
                "feed": watchlist.feed_path(),
                "created_at": watchlist.created_at.isoformat(timespec="seconds"),
                "matches": watchlist.matches,
                "waiting": watchlist.waiting,
                "failed": watchlist.failed,
                "recent": [
                    {
                        "kind": match["kind"],
                        "label": match["label"],
                        "title": match["title"],
                        "sentence": match["sentence"],
                        "ocid": match["ocid"],
                        "release_id": match["release_id"],
                        "release_date": match["release_date"].date().isoformat() if match["release_date"] else None,
                        "notice": match["notice"],
                        "deliveries": match["deliveries"],
                    }
                    for match in recent_matches(con, watchlist.watchlist_id, RECENT)
                ],
            }
        )
    return result


def add_routes(app: FastAPI) -> None:
    """Add the feed, the watchlists page and its JSON twin to the web app."""
    feed_entries = load_alert_settings().feed_entries

    @app.get("/watchlists/{watchlist_id}/feed.atom", include_in_schema=False)
    def watchlist_feed(request: Request, watchlist_id: int, con: Con, token: str = "") -> Response:
        body = None
        if token and has_table(con, "watchlists", request.app.state.source.tables):
            body = atom_feed(con, watchlist_id, token, str(request.base_url), feed_entries)
        if body is None:
            raise HTTPException(status_code=404, detail="there is no such feed: check the whole address, token too")
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    @app.get("/watchlists", response_class=HTMLResponse, include_in_schema=False)
    def watchlists_page(request: Request, con: Con) -> Response:
        user = request.app.state.current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return request.app.state.render(
            request, "alerts_watchlists.html", {"watchlists": _watchlists(request, con, user.name)}
        )

    @app.get("/api/watchlists", tags=["watchlists"])
    def api_watchlists(request: Request, con: Con) -> Any:
        """The signed-in user's watchlists (or those of the API token's user) with their latest matches."""
        user = request.app.state.current_user(request)
        if user is None:
            raise HTTPException(status_code=401, detail="sign in, or send an API token")
        return {"watchlists": _watchlists(request, con, user.name)}
