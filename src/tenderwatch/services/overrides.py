"""Corrections to the service-area assignments: a YAML (or CSV) file people edit, applied at every analysis.

.. code-block:: yaml

    overrides:
      - ocid: ocds-b5fd17-0a1b2c
        area: childrens_therapies
        action: assign
        reason: The notice buys speech and language therapy for children, though its title names only the lot.
      - ocid: ocds-b5fd17-0d4e5f
        area: adult_social_care
        action: unassign
        reason: Catering for a care home, not care.

An ``assign`` puts the process in the area whatever the rules say; an ``unassign`` takes it out. When one file
names the same process and area twice, the later entry wins. The file lives outside the store (its path is the
``[services] overrides_file`` setting), so rebuilds never lose it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from tenderwatch.exceptions import unwritable
from tenderwatch.services.files import ServicesFileError, read_entries, text_value
from tenderwatch.services.taxonomy import Taxonomy

FIELDS = ("ocid", "area", "action", "reason", "date")
ACTIONS = ("assign", "unassign")
_OCID = re.compile(r"ocds-[A-Za-z0-9]{6}-\S+|[A-Za-z0-9][\w.:/-]{2,}")

HEADER = """\
# Corrections to tenderwatch's statutory service areas, applied at every analysis (docs/statutory-services.md).
# Each entry assigns a process (ocid) to an area or takes it out of one, with the reason. Edit by hand or with
# `tenderwatch services assign` and `tenderwatch services unassign`.
"""


@dataclass(frozen=True)
class Override:
    """One correction."""

    ocid: str
    area: str
    action: str
    reason: str
    date: str | None


def read_overrides(path: Path, taxonomy: Taxonomy) -> list[Override]:
    """Read and check an overrides file; a missing file holds none.

    :raises ServicesFileError: listing every problem (an unknown area or action, a missing reason…)
    """
    if not path.exists():
        return []
    problems: list[str] = []
    overrides: list[Override] = []
    for label, values in read_entries(path, "overrides", FIELDS):
        fields: dict[str, str | None] = {}
        for name in FIELDS:
            try:
                fields[name] = text_value(values.get(name))
            except ValueError as error:
                problems.append(f"{label}: {name}: {error}")
                fields[name] = None
        ocid, area, action, reason = fields["ocid"], fields["area"], fields["action"], fields["reason"]
        if ocid is None:
            problems.append(f"{label}: ocid is missing: name the process to correct")
        elif not _OCID.fullmatch(ocid):
            problems.append(f"{label}: ocid: {ocid!r} is not an ocid")
        if area is None:
            problems.append(f"{label}: area is missing: give the id of a service area")
        elif taxonomy.area(area) is None:
            known = ", ".join(item.area_id for item in taxonomy.areas)
            problems.append(f"{label}: area: {area!r} is not a service area (one of {known})")
        action = (action or "assign").lower()
        if action not in ACTIONS:
            problems.append(f"{label}: action: {action!r} must be assign or unassign")
        if reason is None:
            problems.append(f"{label}: reason is missing: say why, so the next reader can check it")
        if ocid and area and reason and action in ACTIONS:
            overrides.append(Override(ocid, area, action, reason, fields["date"]))
    if problems:
        raise ServicesFileError(problems)
    latest: dict[tuple[str, str], Override] = {}
    for override in overrides:
        latest.pop((override.ocid, override.area), None)
        latest[(override.ocid, override.area)] = override
    return list(latest.values())


def write_override(path: Path, taxonomy: Taxonomy, override: Override) -> list[Override]:
    """Add a correction to the file (replacing one for the same process and area) and return them all.

    :raises ServicesFileError: if the file or the new correction is not valid
    """
    current = read_overrides(path, taxonomy)
    if taxonomy.area(override.area) is None:
        known = ", ".join(item.area_id for item in taxonomy.areas)
        raise ServicesFileError([f"{override.area!r} is not a service area (one of {known})"])
    if not _OCID.fullmatch(override.ocid):
        raise ServicesFileError([f"{override.ocid!r} is not an ocid"])
    if not override.reason.strip():
        raise ServicesFileError(["give a reason, so the next reader can check the correction"])
    entries = [item for item in current if (item.ocid, item.area) != (override.ocid, override.area)]
    entries.append(override)
    dump_overrides(path, entries)
    return entries


def dump_overrides(path: Path, overrides: list[Override]) -> None:
    """Write corrections to a YAML file (a header comment, then one entry per correction)."""
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise ServicesFileError([f"{path.name}: tenderwatch writes overrides as YAML: name the file .yaml"])
    body = [{key: value for key, value in vars(item).items() if value is not None} for item in overrides]
    text = HEADER + yaml.safe_dump({"overrides": body}, sort_keys=False, allow_unicode=True, width=110)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise unwritable(path, error) from error


def today_text() -> str:
    """Return today's date as the files write it."""
    return date.today().isoformat()
