"""The contract every red-flag indicator follows.

An indicator is one module, ``indicators/rNNN.py`` (or ``twNNN.py`` for tenderwatch's own series), that
defines ``INDICATOR = Indicator(...)``. Its module docstring is its methodology, shown in the docs. Its
``sql`` function returns one SELECT, written set-based over the normalised tables and the views of
``indicators/sql/_views.sql``, that yields a row for every subject it **evaluated** with these columns:

=============  ==========================================================================================
``subject``    ``process``, ``buyer``, ``procuring_entity``, ``tenderer`` or ``supplier``
``subject_id`` the ocid for a process, else the party id (or the organisation's identifier)
``ocid``       the process the row is about or arises in (NULL for a whole-career flag on an organisation)
``flagged``    whether the indicator fires for this subject
``value``      the number that was compared (a ratio, a count of days…), or 1.0 when there is none
``evidence``   a JSON object with the values and the threshold that decided the result
``sentence``   one plain-English sentence saying why it fired (NULL when not flagged)
=============  ==========================================================================================

Rows that are not flagged say the indicator *applied* to that subject; the composite score uses them.
An indicator with statistical fences may also give ``meta_sql``: a SELECT of (name, value) rows, such as
the quartiles and the fence, reported beside the flags (Cardinal's ``Meta``). It runs after ``sql`` and may read
``tw_evaluated`` (``subject``, ``subject_id``, ``ocid``, ``flagged``, ``value``, ``evidence``): the rows ``sql`` gave
in this run, so that fences worked out from those values need not be worked out again from the tables. Only the
flagged rows have their evidence there, unless the indicator sets ``meta_reads_evidence``.

Settings are a pydantic model with a default and a description for every field; unknown keys are errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

SUBJECTS = ("process", "buyer", "procuring_entity", "tenderer", "supplier")
FLAG_COLUMNS = ("subject", "subject_id", "ocid", "flagged", "value", "evidence", "sentence")


class IndicatorSettings(BaseModel):
    """Base of every indicator's settings: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSettings(IndicatorSettings):
    """This indicator takes no settings."""


@dataclass(frozen=True)
class Indicator:
    """One red-flag indicator."""

    code: str
    """Its code: the catalogue's (R018) when the method is the catalogue's, else tenderwatch's own (TW101)."""
    title: str
    """A title of at most five words."""
    subjects: tuple[str, ...]
    """What it flags: some of :data:`SUBJECTS`."""
    description: str
    """One sentence: what it flags."""
    why: str
    """Why this is a red flag, in a sentence or two."""
    sql: Callable[[Any, Any], str]
    """``sql(settings, common)`` returns the SELECT (see the module docstring)."""
    settings: type[IndicatorSettings] = NoSettings
    """Its settings model."""
    needs: tuple[str, ...] = ()
    """The ``table.column`` values it reads; the coverage report checks that the store holds them."""
    references: tuple[str, ...] = ()
    """Where the method comes from."""
    meta_sql: Callable[[Any, Any], str] | None = None
    """``meta_sql(settings, common)`` returns a SELECT of (name, value), or None; it may read ``tw_evaluated``."""
    meta_reads_evidence: bool = False
    """Whether ``meta_sql`` reads the evidence of every row of ``tw_evaluated``, not only of the flagged ones: every
    row's evidence is then worked out, so this suits an indicator of few rows (one per organisation, say)."""
    cardinal: bool = False
    """Whether this is one of Cardinal's eleven indicators (its rules, defaults and output)."""
    differences: tuple[str, ...] = field(default_factory=tuple)
    """Where tenderwatch deliberately differs from Cardinal (or from the catalogue), one sentence each."""
    item_scopes: tuple[str, ...] | None = None
    """When it reads ``items`` only of some scopes (``tender``, ``award``, ``contract``), those: straight from a
    file, the items of the other scopes are then not filled unless another statement reads them. None: it reads
    items of every scope, or none."""
    methodology: str = ""
    """The methodology: the module's docstring, filled in by the registry."""

    def __post_init__(self) -> None:
        if len(self.title.split()) > 5:
            raise ValueError(f"{self.code}: the title has more than five words")
        unknown = set(self.subjects) - set(SUBJECTS)
        if unknown:
            raise ValueError(f"{self.code}: unknown subjects {sorted(unknown)}")


def literal(value: object) -> str:
    """Return a SQL literal for a setting value (text is quoted and escaped; never user input)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = ", ".join(literal(item) for item in value)
        return f"[{items}]::VARCHAR[]" if all(isinstance(item, str) for item in value) else f"[{items}]"
    text = str(value).replace("'", "''")
    return f"'{text}'"
