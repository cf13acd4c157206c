"""Read a fetched page: a strict parse first, then the known repairs, else quarantine.

A page is parsed with a strict JSON parser (orjson), which refuses non-finite numbers (``1e9999``, ``NaN``),
numbers with leading zeros and bytes that are not UTF-8. Only when that fails are the repairs that real
publishers have needed tried, in this order, and the page parsed again:

1. bytes that are not UTF-8 are read as Windows-1252 (a superset of ISO-8859-1, which Contracts Finder sends)
   and written as UTF-8;
2. numbers too large for a double (Find a Tender's ``1e9999``, meaning "no limit") become ``9999999``, as
   Kingfisher Collect does, and the same with a minus sign;
3. numbers written with leading zeros (``000``, ``-007.5``) lose them.

Repairs touch numbers only outside strings, so text inside the data is never changed by them. A page that
still does not parse is quarantined by the caller, with the parser's message; its raw bytes are kept either
way.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

BOM = b"\xef\xbb\xbf"
OVERFLOW_REPLACEMENT = b"9999999"

# A JSON string (kept as it is) or a number-like token outside strings.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
_LEADING_ZEROS = re.compile(rb"^(-?)0+(?=\d)")
# A next link in a page that does not parse: the last "next": "http…" in it.
_NEXT_LINK = re.compile(rb'"next"\s*:\s*"(https?://[^"\\\s]+)"')


class PageError(Exception):
    """Raised when a page is not JSON even after the known repairs; the message says why."""


@dataclass
class Page:
    """A page that parsed: what to store, its value, and the repairs it needed."""

    data: bytes
    value: Any
    repairs: list[str] = field(default_factory=list)
    """Repairs of the bytes, made because the strict parse failed."""
    quirks: list[str] = field(default_factory=list)
    """Quirks of the source handled in the parsed value (such as HTML entities decoded)."""


def read_page(raw: bytes) -> Page:
    """Parse ``raw`` strictly, and only if that fails, again after the known repairs.

    :raises PageError: if the page still does not parse
    """
    data = raw[len(BOM) :] if raw.startswith(BOM) else raw
    repairs = ["byte-order mark removed"] if data is not raw else []
    try:
        return Page(data, orjson.loads(data), repairs)
    except orjson.JSONDecodeError as error:
        first_error = str(error)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = transcode(data)
        repairs.append("bytes that are not UTF-8 read as Windows-1252")
    data, overflows, zeros = repair_numbers(data)
    if overflows:
        repairs.append(f"{overflows} number(s) too large for JSON (such as 1e9999) written as 9999999")
    if zeros:
        repairs.append(f"leading zeros removed from {zeros} number(s)")
    if not repairs:
        raise PageError(f"invalid JSON: {first_error}")
    try:
        return Page(data, orjson.loads(data), repairs)
    except orjson.JSONDecodeError as error:
        raise PageError(f"invalid JSON: {first_error} (still invalid after the known repairs: {error})") from error


def transcode(data: bytes) -> bytes:
    """Return ``data`` as UTF-8, reading it as Windows-1252 (or ISO-8859-1 for the bytes that has not)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.encode("utf-8")


def repair_numbers(data: bytes) -> tuple[bytes, int, int]:
    """Rewrite numbers that JSON cannot hold or that have leading zeros, outside strings; return the repaired
    bytes and how many numbers of each kind were rewritten."""
    counts = [0, 0]

    def fix(match: re.Match[bytes]) -> bytes:
        token = match.group(0)
        if token[:1] == b'"':
            return token
        fixed = _LEADING_ZEROS.sub(rb"\1", token)
        if fixed != token:
            counts[1] += 1
        if math.isinf(float(fixed)):
            counts[0] += 1
            return (b"-" if fixed.startswith(b"-") else b"") + OVERFLOW_REPLACEMENT
        return fixed

    repaired = _TOKEN.sub(fix, data)
    return repaired, counts[0], counts[1]


def find_next_link(raw: bytes) -> str | None:
    """Return the last ``"next": "http…"`` link in a page that does not parse, if there is one."""
    found = _NEXT_LINK.findall(raw)
    return found[-1].decode("utf-8", "replace") if found else None


def unescape_html(value: Any) -> tuple[Any, int]:
    """Return ``value`` with HTML character references (``&amp;``, ``&#039;``) in its strings decoded, and how
    many strings changed."""
    changed = 0

    def walk(item: Any) -> Any:
        nonlocal changed
        if isinstance(item, str):
            if "&" in item:
                decoded = html.unescape(item)
                if decoded != item:
                    changed += 1
                    return decoded
            return item
        if isinstance(item, dict):
            return {key: walk(entry) for key, entry in item.items()}
        if isinstance(item, list):
            return [walk(entry) for entry in item]
        return item

    return walk(value), changed


def releases_of(value: Any) -> list[Any] | None:
    """Return the releases array of a release package (or the records of a record package), if it has one."""
    if isinstance(value, dict):
        for key in ("releases", "records"):
            items = value.get(key)
            if isinstance(items, list):
                return items
    return None


def next_link(value: Any) -> str | None:
    """Return ``links.next`` of a package, if it has a usable one."""
    if isinstance(value, dict):
        links = value.get("links")
        if isinstance(links, dict):
            link = links.get("next")
            if isinstance(link, str) and link.startswith(("http://", "https://")):
                return link
    return None
