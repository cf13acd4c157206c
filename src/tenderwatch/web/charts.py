"""Charts drawn on the server as SVG from Vega-Lite specs (vl-convert ships Vega itself, so nothing is fetched).

The same specs are used by the briefing packs, so a chart looks the same on screen and on paper.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=512)
def _svg(spec_text: str) -> str:
    import vl_convert  # noqa: PLC0415 - slow to import; only pages with charts need it

    return vl_convert.vegalite_to_svg(json.loads(spec_text))


def render_svg(spec: dict[str, Any]) -> str:
    """Return the chart as an SVG document (cached by its spec)."""
    return _svg(json.dumps(spec, sort_keys=True, default=str))
