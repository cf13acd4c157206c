"""Red-flag indicators: one module per indicator, listed in the registry :data:`INDICATORS` by code.

Codes: ``R###`` where the method is that of the Open Contracting Partnership's red-flag catalogue (and, for
its eleven, of Cardinal); ``TW###`` for tenderwatch's own series (see docs/indicators/index.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping

from tenderwatch.indicators.base import Indicator


class _Registry(Mapping[str, Indicator]):
    """Every indicator by code, in code order. Each module is imported the first time its indicator is asked for:
    importing all forty took about 0.06 s, which a command that runs a few of them need not pay."""

    def __init__(self) -> None:
        names = [info.name for info in pkgutil.iter_modules(__path__)]
        self._codes = sorted(
            name.upper()
            for name in names
            if (name[:1] == "r" and name[1:].isdigit()) or (name[:2] == "tw" and name[2:].isdigit())
        )
        self._known = frozenset(self._codes)
        self._loaded: dict[str, Indicator] = {}

    def __getitem__(self, code: str) -> Indicator:
        if code not in self._loaded:
            if code not in self._known:
                raise KeyError(code)
            name = code.lower()
            module = importlib.import_module(f"{__name__}.{name}")
            indicator: Indicator = module.INDICATOR
            if indicator.code.lower() != name:
                raise RuntimeError(f"{name}.py defines {indicator.code}: a module is named after its code")
            object.__setattr__(indicator, "methodology", (module.__doc__ or "").strip())
            self._loaded[code] = indicator
        return self._loaded[code]

    def __contains__(self, code: object) -> bool:
        return code in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)


INDICATORS: Mapping[str, Indicator] = _Registry()
"""Every indicator, by code, in code order."""

__all__ = ["INDICATORS", "Indicator"]
