"""The taxonomy of statutory service areas: each area with the legal duties that rest on it and the rules that
assign contracting processes to it. Shipped as ``src/tenderwatch/data/service_areas.yaml``; a replacement can be
named in the settings (``[services] taxonomy_file``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenderwatch.services.files import ServicesFileError, load_yaml, read_text, regex_problem

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,60}")
_CPV_PREFIX = re.compile(r"\d{2,8}")


@dataclass(frozen=True)
class Duty:
    """A statutory duty, with the provision that imposes it."""

    duty_id: str
    legislation: str
    provision: str
    summary: str
    url: str

    @property
    def citation(self) -> str:
        """Return the duty as it is cited: the Act and the provision."""
        return f"{self.legislation}, {self.provision}"


@dataclass(frozen=True)
class Rule:
    """A rule assigning processes to an area (all of its conditions must hold)."""

    rule_id: str
    cpv: tuple[str, ...]
    text: tuple[str, ...]
    title: str | None
    unless: str | None
    match_case: bool

    def describe(self) -> str:
        """Return the rule in words, as the assignment tables show it."""
        parts = []
        if self.cpv:
            parts.append("a CPV code starting " + " or ".join(self.cpv))
        if self.text:
            parts.append("the text matching " + " and ".join(f"/{pattern}/" for pattern in self.text))
        if self.title:
            parts.append(f"the title matching /{self.title}/")
        if self.unless:
            parts.append(f"not /{self.unless}/")
        return "; ".join(parts)

    @property
    def method(self) -> str:
        """Return what the rule reads: ``cpv``, ``text`` or ``cpv and text``."""
        reads_text = bool(self.text or self.title)
        if self.cpv and reads_text:
            return "cpv and text"
        return "cpv" if self.cpv else "text"


@dataclass(frozen=True)
class Area:
    """A statutory service area."""

    area_id: str
    name: str
    description: str
    duty_ids: tuple[str, ...]
    rules: tuple[Rule, ...]
    unless: str | None


@dataclass(frozen=True)
class Taxonomy:
    """Every service area and duty, and the titles that rule a process out."""

    areas: tuple[Area, ...]
    duties: dict[str, Duty]
    exclude_titles: tuple[str, ...]
    exclude_cpv_only: tuple[str, ...]
    source: str

    def area(self, area_id: str) -> Area | None:
        """Return an area by its id."""
        return next((area for area in self.areas if area.area_id == area_id), None)

    def duties_of(self, area_id: str) -> list[Duty]:
        """Return the duties resting on an area."""
        area = self.area(area_id)
        return [self.duties[duty] for duty in area.duty_ids] if area else []


def shipped_taxonomy_path() -> Path:
    """Return the path of the service-areas file shipped with tenderwatch."""
    return Path(str(resources.files("tenderwatch").joinpath("data/service_areas.yaml")))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and check a service-areas file (the shipped one when ``path`` is None).

    :raises ServicesFileError: listing every problem (an unknown duty, a bad expression, a missing field…)
    """
    path = path or shipped_taxonomy_path()
    return _load(str(path), path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=4)
def _load(name: str, _stamp: int) -> Taxonomy:
    path = Path(name)
    document = load_yaml(path, read_text(path))
    if not isinstance(document, dict):
        raise ServicesFileError([f"{path.name}: the file must hold `duties:` and `areas:`"])
    problems: list[str] = []
    unknown = sorted(set(document) - {"duties", "areas", "exclude_titles", "exclude_cpv_only"})
    problems += [f"{path.name}: {key}: is not a section of a service-areas file" for key in unknown]
    duties = _duties(path.name, document.get("duties"), problems)
    exclude = document.get("exclude_titles") or []
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        problems.append(f"{path.name}: exclude_titles: must be a list of expressions")
        exclude = []
    for pattern in exclude:
        if (problem := regex_problem(pattern)) is not None:
            problems.append(f"{path.name}: exclude_titles: /{pattern}/ is not a valid expression ({problem})")
    exclude_cpv = document.get("exclude_cpv_only") or []
    if not isinstance(exclude_cpv, list) or not all(
        isinstance(code, str) and _CPV_PREFIX.fullmatch(code) for code in exclude_cpv
    ):
        problems.append(f'{path.name}: exclude_cpv_only: must be a list of CPV code prefixes in quotes, such as "45"')
        exclude_cpv = []
    areas = _areas(path.name, document.get("areas"), duties, problems)
    if problems:
        raise ServicesFileError(problems)
    return Taxonomy(tuple(areas), duties, tuple(exclude), tuple(exclude_cpv), path.name)


def _text(entry: dict[str, Any], key: str, label: str, problems: list[str], *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{label}: {key} is missing")
        return None
    if not isinstance(value, str):
        problems.append(f"{label}: {key}: must be text")
        return None
    return " ".join(value.split())


def _duties(name: str, entries: Any, problems: list[str]) -> dict[str, Duty]:
    if not isinstance(entries, list) or not entries:
        problems.append(f"{name}: duties: must be a list of duties")
        return {}
    duties: dict[str, Duty] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{name}: duty {number}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: is not a set of `field: value` lines")
            continue
        problems += [
            f"{label}: {key}: is not a field of a duty"
            for key in entry
            if key not in ("id", "legislation", "provision", "summary", "url")
        ]
        duty_id = _text(entry, "id", label, problems)
        values = [_text(entry, key, label, problems) for key in ("legislation", "provision", "summary", "url")]
        if duty_id is not None and not _ID.fullmatch(duty_id):
            problems.append(f"{label}: id {duty_id!r} must be lower-case letters, digits, - and _")
            continue
        url = values[3]
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"{label}: url {url!r} is not a web address")
        if duty_id in duties:
            problems.append(f"{label}: id {duty_id!r} is used by another duty")
        elif duty_id is not None and None not in values:
            duties[duty_id] = Duty(duty_id, *values)  # type: ignore[arg-type]
    return duties


def _patterns(value: Any, label: str, key: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        problems.append(f"{label}: {key}: must be an expression or a list of expressions")
        return ()
    for pattern in items:
        if (problem := regex_problem(pattern)) is not None:
            problems.append(f"{label}: {key}: /{pattern}/ is not a valid expression ({problem})")
    return tuple(items)


def _areas(name: str, entries: Any, duties: dict[str, Duty], problems: list[str]) -> list[Area]:
    if not isinstance(entries, list) or not entries:
        problems.append(f"{name}: areas: must be a list of service areas")
        return []
    areas: list[Area] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        label = f"{name}: area {number}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: is not a set of `field: value` lines")
            continue
        allowed = ("id", "name", "description", "duties", "rules", "unless")
        problems += [f"{label}: {key}: is not a field of an area" for key in entry if key not in allowed]
        area_id = _text(entry, "id", label, problems)
        if area_id is not None:
            label = f"{name}: area {area_id}"
            if not _ID.fullmatch(area_id):
                problems.append(f"{label}: id must be lower-case letters, digits, - and _")
            if area_id in seen:
                problems.append(f"{label}: id is used by another area")
            seen.add(area_id)
        area_name = _text(entry, "name", label, problems)
        description = _text(entry, "description", label, problems)
        duty_ids = entry.get("duties") or []
        if not isinstance(duty_ids, list) or not duty_ids:
            problems.append(f"{label}: duties: list the ids of the duties that rest on the area")
            duty_ids = []
        for duty in duty_ids:
            if duty not in duties:
                problems.append(f"{label}: duties: {duty!r} is not a duty of the file")
        unless = _patterns(entry.get("unless"), label, "unless", problems)
        rules = _rules(label, entry.get("rules"), problems)
        if area_id and area_name and description:
            areas.append(Area(area_id, area_name, description, tuple(duty_ids), rules, unless[0] if unless else None))
    return areas


def _rules(label: str, entries: Any, problems: list[str]) -> tuple[Rule, ...]:
    if not isinstance(entries, list) or not entries:
        problems.append(f"{label}: rules: give at least one rule")
        return ()
    rules = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        rule_label = f"{label}: rule {number}"
        if not isinstance(entry, dict):
            problems.append(f"{rule_label}: is not a set of `field: value` lines")
            continue
        allowed = ("id", "cpv", "text", "title", "unless", "match_case")
        problems += [f"{rule_label}: {key}: is not a field of a rule" for key in entry if key not in allowed]
        rule_id = _text(entry, "id", rule_label, problems)
        if rule_id is not None:
            rule_label = f"{label}: rule {rule_id}"
            if rule_id in seen:
                problems.append(f"{rule_label}: id is used by another rule of the area")
            seen.add(rule_id)
        cpv = entry.get("cpv") or []
        if not isinstance(cpv, list) or not all(isinstance(code, str) and _CPV_PREFIX.fullmatch(code) for code in cpv):
            problems.append(f'{rule_label}: cpv: must be a list of CPV code prefixes in quotes, such as "8531"')
            cpv = []
        text = _patterns(entry.get("text"), rule_label, "text", problems)
        title = _patterns(entry.get("title"), rule_label, "title", problems)
        unless = _patterns(entry.get("unless"), rule_label, "unless", problems)
        match_case = entry.get("match_case", False)
        if not isinstance(match_case, bool):
            problems.append(f"{rule_label}: match_case: must be true or false")
        if not (cpv or text or title):
            problems.append(f"{rule_label}: give a cpv, text or title condition")
        if rule_id:
            rules.append(
                Rule(
                    rule_id,
                    tuple(cpv),
                    text,
                    title[0] if title else None,
                    unless[0] if unless else None,
                    match_case is True,
                )
            )
    return tuple(rules)
