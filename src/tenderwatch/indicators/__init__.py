"""Red-flag indicators: one module per indicator, listed in the registry :data:`INDICATORS` by code.

Codes: ``R###`` where the method is that of the Open Contracting Partnership's red-flag catalogue (and, for
its eleven, of Cardinal); ``TW###`` for tenderwatch's own series (see docs/indicators/index.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from tenderwatch.indicators.base import Indicator


def _discover() -> dict[str, Indicator]:
    found: dict[str, Indicator] = {}
    for info in pkgutil.iter_modules(__path__):
        name = info.name
        if not (name[:1] == "r" and name[1:].isdigit()) and not (name[:2] == "tw" and name[2:].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        indicator: Indicator = module.INDICATOR
        if indicator.code.lower() != name:
            raise RuntimeError(f"{name}.py defines {indicator.code}: a module is named after its code")
        object.__setattr__(indicator, "methodology", (module.__doc__ or "").strip())
        found[indicator.code] = indicator
    return dict(sorted(found.items()))


INDICATORS: dict[str, Indicator] = _discover()
"""Every indicator, by code, in code order."""

__all__ = ["INDICATORS", "Indicator"]
