"""A subcontracting chain drawn as an SVG graph on the server: one column per level (the buyer, the prime
contractors, their subcontractors…), a box per organisation and an arrow per link.

The drawing uses presentation attributes only (no style attributes, no script), so it shows under the web app's
Content Security Policy and in a PDF alike. Every name is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

BOX_WIDTH = 210
BOX_HEIGHT = 46
COLUMN_GAP = 70
ROW_GAP = 18
MARGIN = 16
HEADER = 26
NAME_CHARACTERS = 30


def level_name(level: int) -> str:
    """Return what organisations at a level are called: buyer (0), prime contractor (1), subcontractor (2),
    sub-subcontractor (3), sub-sub-subcontractor (4)…"""
    if level <= 0:
        return "Buyer"
    if level == 1:
        return "Prime contractor"
    return ("Sub-" * (level - 2) + "subcontractor").capitalize()


def _lines(name: str) -> list[str]:
    """Split a name over at most two lines of the box, shortening it when it is longer."""
    words, lines, current = name.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > NAME_CHARACTERS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], (" ".join(lines[1:]))[: NAME_CHARACTERS - 1] + "…"]
    return [line if len(line) <= NAME_CHARACTERS else line[: NAME_CHARACTERS - 1] + "…" for line in lines] or ["?"]


def chain_svg(buyer: str | None, nodes: list[dict[str, Any]], links: list[dict[str, Any]]) -> str:
    """Return the chain as an SVG element: ``nodes`` have id, name and level (1 for prime contractors); ``links``
    have contractor_id, subcontractor_id and level; the buyer is drawn at level 0 with arrows to the primes."""
    columns: dict[int, list[dict[str, Any]]] = {0: [{"id": "buyer", "name": buyer or "The buyer", "level": 0}]}
    for node in nodes:
        columns.setdefault(node["level"], []).append(node)
    last = max(columns)
    for level in range(last + 1):
        columns.setdefault(level, [])
    tallest = max(len(column) for column in columns.values())
    width = MARGIN * 2 + (last + 1) * BOX_WIDTH + last * COLUMN_GAP
    height = MARGIN * 2 + HEADER + tallest * BOX_HEIGHT + max(tallest - 1, 0) * ROW_GAP
    where: dict[str, tuple[float, float]] = {}
    parts: list[str] = []
    for level, column in sorted(columns.items()):
        x = MARGIN + level * (BOX_WIDTH + COLUMN_GAP)
        parts.append(
            f'<text x="{x + BOX_WIDTH / 2:.0f}" y="{MARGIN + 12}" text-anchor="middle" font-size="12" '
            f'fill="#555">{escape(level_name(level))}</text>'
        )
        offset = (tallest - len(column)) * (BOX_HEIGHT + ROW_GAP) / 2
        for row, node in enumerate(column):
            y = MARGIN + HEADER + offset + row * (BOX_HEIGHT + ROW_GAP)
            where[node["id"]] = (x, y)
            fill = "#eef3fb" if level == 0 else "#ffffff"
            lines = _lines(str(node["name"] or node["id"]))
            parts.append(
                f"<g><title>{escape(str(node['name'] or node['id']))} ({escape(level_name(level).lower())})</title>"
                f'<rect x="{x}" y="{y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="5" fill="{fill}" '
                f'stroke="#1f4e8c" stroke-width="1.5"/>'
            )
            first = y + BOX_HEIGHT / 2 + (5 if len(lines) == 1 else -2)
            for number, line in enumerate(lines):
                parts.append(
                    f'<text x="{x + BOX_WIDTH / 2:.0f}" y="{first + number * 15:.0f}" text-anchor="middle" '
                    f'font-size="12.5" fill="#111">{escape(line)}</text>'
                )
            parts.append("</g>")
    arrows = [("buyer", node["id"]) for node in columns.get(1, [])]
    arrows += [(link["contractor_id"], link["subcontractor_id"]) for link in links]
    lines_drawn = []
    for start, end in arrows:
        if start not in where or end not in where or start == end:
            continue
        (x1, y1), (x2, y2) = where[start], where[end]
        if x2 > x1:
            sx, ex = x1 + BOX_WIDTH, x2
        else:
            sx, ex = x1, x2 + BOX_WIDTH
        lines_drawn.append(
            f'<line x1="{sx:.0f}" y1="{y1 + BOX_HEIGHT / 2:.0f}" x2="{ex - 2:.0f}" y2="{y2 + BOX_HEIGHT / 2:.0f}" '
            f'stroke="#1f4e8c" stroke-width="1.5" marker-end="url(#tw-arrow)"/>'
        )
    depth = max(last - 1, 0)
    label = (
        f"Subcontracting chain: {len(nodes)} organisations below {buyer or 'the buyer'}, "
        f"{depth} level{'s' if depth != 1 else ''} of subcontracting below the prime contractor"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" font-family="sans-serif">'
        f"<title>{escape(label)}</title>"
        '<defs><marker id="tw-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1f4e8c"/></marker></defs>'
        + "".join(lines_drawn)
        + "".join(parts)
        + "</svg>"
    )
