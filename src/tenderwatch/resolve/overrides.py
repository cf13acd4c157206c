"""Manual corrections to organisation matching, kept in a plain YAML file that users edit and commit.

The file (``./tenderwatch-overrides.yaml`` by default; the ``[organisations] overrides_file`` setting) lives
outside the store, so ``tenderwatch rebuild`` cannot lose it, and it is applied at every resolution. It has two
lists, each of rules that name parties with *selectors*:

.. code-block:: yaml

    merge:                      # these parties are one organisation
      - parties:
          - identifier: GB-COH-00242246
          - name: Serco Ltd
        reason: The council's system dropped the company number.
        added: 2025-03-01
    split:                      # these parties are an organisation of their own
      - parties:
          - name: Acme Care
            postcode: AB1 2CD
        reason: A different Acme Care, in Aberdeen.
        added: 2025-03-02

A selector matches the parties that have all the fields it gives:

- ``identifier``: an org-id such as ``GB-COH-242246`` (normalised as identifiers are, so leading zeros do not
  matter): parties that carry it;
- ``name``: parties whose name, normalised, is the same (``Serco Ltd`` matches ``SERCO LIMITED``);
- ``postcode``: parties at that postcode (with a name or identifier, to narrow it);
- ``ocid`` and ``party_id``: one party of one process, as ``tenderwatch export organisations`` lists them.

A merge joins every party its selectors match (and so the organisations they are in). A split takes the parties
its selectors match out of whatever organisation they were in: they are matched among themselves only, as if
the rest of the data did not exist, and become one or more organisations of their own. Merges are applied
after splits, so a merge can join split parties to another organisation on purpose.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenderwatch.exceptions import TenderwatchError
from tenderwatch.resolve.identifiers import parse_org_id
from tenderwatch.resolve.names import normalise_name, normalise_postcode

SELECTOR_FIELDS = ("identifier", "name", "postcode", "ocid", "party_id")
RULE_FIELDS = ("parties", "reason", "added", "by")

HEADER = """\
# Corrections to tenderwatch's organisation matching, applied at every load and rebuild.
# merge: the parties named in one rule are one organisation; split: the parties named are an organisation apart.
# A party is named by any of: identifier (an org-id such as GB-COH-00242246), name (compared normalised),
# postcode (to narrow a name), ocid and party_id (one party of one process). See docs/organisations.md.
"""


class OverridesError(TenderwatchError):
    """Raised when the overrides file cannot be read or a rule in it is not valid."""

    hint = "fix the file (see docs/organisations.md, 'Correcting a match')"


@dataclass(frozen=True)
class Selector:
    """Names a set of parties; every field given must match. Values are normalised as the data is."""

    identifier: str | None = None
    name: str | None = None
    postcode: str | None = None
    ocid: str | None = None
    party_id: str | None = None

    def as_yaml(self) -> dict[str, str]:
        """Return the selector as written in the file."""
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass
class Rule:
    """One merge or split rule."""

    kind: str
    number: int
    selectors: list[Selector]
    reason: str = ""
    added: str | None = None
    by: str | None = None
    written: list[dict[str, str]] = field(default_factory=list)

    def label(self) -> str:
        """Return how the rule is named in link details and messages (``merge 2: reason``)."""
        text = f"{self.kind} {self.number}"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass
class Overrides:
    """The rules of an overrides file (empty when the file does not exist)."""

    path: Path
    merge: list[Rule] = field(default_factory=list)
    split: list[Rule] = field(default_factory=list)

    @property
    def rules(self) -> list[Rule]:
        """Return every rule, splits first."""
        return [*self.split, *self.merge]


def _selector(raw: Any, where: str) -> Selector:
    if isinstance(raw, str):
        raw = {"identifier": raw} if parse_org_id(raw) else {"name": raw}
    if not isinstance(raw, dict):
        raise OverridesError(f"{where}: a party must be a mapping such as {{name: Serco Ltd}}, not {raw!r}")
    unknown = sorted(set(raw) - set(SELECTOR_FIELDS))
    if unknown:
        raise OverridesError(f"{where}: unknown field {unknown[0]!r}; use {', '.join(SELECTOR_FIELDS)}")
    values = {key: str(value).strip() for key, value in raw.items() if value is not None and str(value).strip()}
    if not {"identifier", "name", "ocid"} & set(values):
        raise OverridesError(f"{where}: give an identifier, a name, or an ocid and party_id")
    if ("ocid" in values) != ("party_id" in values):
        raise OverridesError(f"{where}: ocid and party_id go together")
    identifier = None
    if "identifier" in values:
        identifier = parse_org_id(values["identifier"])
        if identifier is None:
            raise OverridesError(
                f"{where}: {values['identifier']!r} is not a usable identifier; write it as an org-id such as "
                "GB-COH-00242246"
            )
    name = None
    if "name" in values:
        name = normalise_name(values["name"])
        if name is None:
            raise OverridesError(f"{where}: the name {values['name']!r} has no letters or digits")
    return Selector(
        identifier=identifier,
        name=name,
        postcode=normalise_postcode(values.get("postcode")),
        ocid=values.get("ocid"),
        party_id=values.get("party_id"),
    )


def _rules(document: dict[str, Any], kind: str, path: Path) -> list[Rule]:
    raw_rules = document.get(kind) or []
    if not isinstance(raw_rules, list):
        raise OverridesError(f"{path}: '{kind}' must be a list of rules")
    rules = []
    for number, raw in enumerate(raw_rules, start=1):
        where = f"{path}: {kind} rule {number}"
        if not isinstance(raw, dict):
            raise OverridesError(f"{where}: a rule must be a mapping with 'parties' and 'reason'")
        unknown = sorted(set(raw) - set(RULE_FIELDS))
        if unknown:
            raise OverridesError(f"{where}: unknown field {unknown[0]!r}; use {', '.join(RULE_FIELDS)}")
        parties = raw.get("parties")
        if not isinstance(parties, list) or not parties:
            raise OverridesError(f"{where}: 'parties' must list at least one party")
        if kind == "merge" and len(parties) < 2:
            raise OverridesError(f"{where}: a merge names at least two parties")
        selectors = [_selector(item, f"{where}, party {index}") for index, item in enumerate(parties, start=1)]
        added = raw.get("added")
        rules.append(
            Rule(
                kind=kind,
                number=number,
                selectors=selectors,
                reason=str(raw.get("reason") or "").strip(),
                added=added.isoformat() if isinstance(added, datetime.date) else (str(added) if added else None),
                by=str(raw["by"]) if raw.get("by") else None,
                written=[item if isinstance(item, dict) else {"name": item} for item in parties],
            )
        )
    return rules


def read_overrides(path: Path) -> Overrides:
    """Read and check an overrides file; a missing file means no overrides.

    :raises OverridesError: if the file is not valid YAML or a rule is not valid
    """
    if not path.is_file():
        return Overrides(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise OverridesError(f"{path} is not valid YAML{where}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise OverridesError(f"{path} cannot be read ({error})") from error
    if not isinstance(document, dict):
        raise OverridesError(f"{path}: the file must be a mapping with 'merge' and 'split' lists")
    unknown = sorted(set(document) - {"merge", "split"})
    if unknown:
        raise OverridesError(f"{path}: unknown section {unknown[0]!r}; use 'merge' and 'split'")
    return Overrides(path, merge=_rules(document, "merge", path), split=_rules(document, "split", path))


def add_rule(path: Path, kind: str, parties: list[dict[str, str]], reason: str, by: str | None = None) -> Rule:
    """Append a merge or split rule to the overrides file (created if missing) and return it, checked.

    The rule is checked before the file is written, and the whole file is read back afterwards, so a file that
    was already broken is reported rather than made worse.

    :raises OverridesError: if the rule or the file is not valid
    """
    if kind not in ("merge", "split"):
        raise OverridesError(f"unknown kind of rule {kind!r}: use merge or split")
    current = read_overrides(path)
    entry: dict[str, Any] = {"parties": parties, "reason": reason, "added": datetime.date.today().isoformat()}
    if by:
        entry["by"] = by
    number = len(getattr(current, kind)) + 1
    _rules({kind: [entry]}, kind, path)  # check the new rule alone first
    item = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=110)
    item = "".join(f"  {line}" if line.strip() else line for line in item.splitlines(keepends=True))
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    sections = [line.split(":", 1)[0] for line in text.splitlines() if line[:1].isalpha()]
    if not text.endswith("\n"):
        text += "\n"
    if sections and sections[-1] == kind and not _empty_section(text, kind):
        text += item  # the user's comments and layout are kept: the rule goes at the end of its list
    elif kind not in sections:
        text += f"{kind}:\n{item}"
    else:  # the section exists higher up, or is an empty one: write the file anew
        document = yaml.safe_load(text) or {}
        document[kind] = [*(document.get(kind) or []), entry]
        ordered = {key: document[key] for key in ("merge", "split") if document.get(key)}
        text = HEADER + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=110)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return read_overrides(path).__dict__[kind][number - 1]


def _empty_section(text: str, kind: str) -> bool:
    """Return whether the section is written as empty (``merge: []`` or ``merge:`` with nothing under it)."""
    document = yaml.safe_load(text) or {}
    return not document.get(kind)
