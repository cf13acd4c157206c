"""The Atom feed of a watchlist (RFC 4287): its latest matches, newest first.

A feed reader polls ``/watchlists/<id>/feed.atom?token=<feed token>``; the token is the watchlist's own secret, so
the address is the key. Every id is a ``urn:uuid`` made from the watchlist or the match, so an entry keeps its id
from one snapshot to the next and a reader never shows it twice.
"""

from __future__ import annotations

import secrets
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import duckdb

from tenderwatch import __version__
from tenderwatch.alerts.delivery import kind_label, process_link
from tenderwatch.queries.process import notice_url
from tenderwatch.util import plain_entities

ATOM = "http://www.w3.org/2005/Atom"


def _uuid(text: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "tenderwatch:" + text).urn


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def recent_matches(con: duckdb.DuckDBPyConnection, watchlist_id: int, limit: int) -> list[dict[str, Any]]:
    """Return the latest matches of a watchlist with their changes and delivery states, newest first."""
    rows = con.execute(
        """
        SELECT m.match_id, m.matched_at, m.reason, c.change_id, c.kind, c.ocid, c.release_id, c.release_date,
               c.title, c.sentence, c.added_at,
               (SELECT any_value(r.source) FROM raw_releases AS r
                WHERE r.ocid = c.ocid AND r.release_id = c.release_id),
               (SELECT list(d.channel || ': ' || d.status ORDER BY d.channel) FROM alert_deliveries AS d
                WHERE d.match_id = m.match_id)
        FROM watchlist_matches AS m JOIN changes AS c ON c.change_id = m.change_id
        WHERE m.watchlist_id = ?
        ORDER BY m.matched_at DESC, c.release_date DESC NULLS LAST, c.change_id
        LIMIT ?
        """,
        [watchlist_id, limit],
    ).fetchall()
    keys = (
        "match_id", "matched_at", "reason", "change_id", "kind", "ocid", "release_id", "release_date", "title",
        "sentence", "added_at", "source", "deliveries",
    )  # fmt: skip
    result = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["notice"] = notice_url(item["ocid"], item["release_id"], item["source"]) if item["release_id"] else None
        item["label"] = kind_label(item["kind"])
        item["title"], item["sentence"] = plain_entities(item["title"]), plain_entities(item["sentence"])
        item["deliveries"] = list(item["deliveries"] or [])
        result.append(item)
    return result


def atom_feed(
    con: duckdb.DuckDBPyConnection, watchlist_id: int, token: str, base_url: str, limit: int = 50
) -> bytes | None:
    """Return the Atom feed of a watchlist, or None when there is no such watchlist or the token is not its own."""
    rows = con.execute(
        "SELECT name, feed_token, created_at FROM watchlists WHERE watchlist_id = ?", [watchlist_id]
    ).fetchall()
    if not rows or not secrets.compare_digest(rows[0][1].encode(), token.encode()):
        return None
    name, feed_token, created = rows[0]
    from tenderwatch.alerts.watchlists import get_watchlists  # noqa: PLC0415

    (watchlist,) = get_watchlists(con, ids=[watchlist_id], secrets=False)
    entries = recent_matches(con, watchlist_id, limit)
    base = base_url.rstrip("/")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _uuid(f"watchlist:{watchlist_id}:{_time(created)}"))
    _add(feed, "title", f"tenderwatch: {name}")
    _add(feed, "subtitle", f"Changes in public notices that match {watchlist.rules.describe()}.")
    updated = max([created, *(entry["matched_at"] for entry in entries)])
    _add(feed, "updated", _time(updated))
    author = _add(feed, "author")
    _add(author, "name", "tenderwatch")
    _add(feed, "link", rel="self", href=f"{base}/watchlists/{watchlist_id}/feed.atom?token={feed_token}",
         type="application/atom+xml")  # fmt: skip
    _add(feed, "link", rel="alternate", href=f"{base}/watchlists", type="text/html")
    _add(feed, "generator", "tenderwatch", version=__version__)
    for entry in entries:
        item = _add(feed, "entry")
        _add(item, "id", _uuid(f"match:{entry['match_id']}"))
        _add(item, "title", f"{entry['label']}: {entry['title'] or entry['ocid']}")
        _add(item, "updated", _time(entry["matched_at"]))
        if entry["release_date"] is not None:
            _add(item, "published", _time(entry["release_date"]))
        _add(item, "link", rel="alternate", href=process_link(base, entry["ocid"]), type="text/html")
        if entry["notice"]:
            _add(item, "link", rel="related", href=entry["notice"], title="the notice")
        _add(item, "category", term=entry["kind"], label=entry["label"])
        source = f" Notice: release {entry['release_id']} of {entry['ocid']}." if entry["release_id"] else ""
        _add(item, "summary", f"{entry['sentence']}{source} This watchlist {entry['reason']}.", type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
