"""Check a candidate release before it is stored.

Two levels of trouble:

- a release that cannot be used at all (not an object, no ``ocid``, no ``id``, no usable ``date``) is
  rejected whole: it goes to the rejects table verbatim, with its reason, and is not stored;
- a single bad value in a usable release (an impossible date, an amount that is text, negative or absurd, a
  main section of the wrong type) is set aside: the release is stored verbatim, the value is recorded in the
  rejects table with its reason, and the normalised tables show NULL for it.

Numbers that are not finite (``1e9999``, ``NaN``) never get this far: both JSON parsers refuse them, so the
line or document is rejected as invalid JSON.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")
# A scan of the canonical JSON text finds the few values that need a closer look: every value of a date field
# (``date``, ``dateXxx``, ``xxxDate``) that is not null, empty or plainly a good date. Days 29 to 31 are
# checked exactly, as is every year when the year limits are not the defaults.
_GOOD_DATE = (
    rb'null|""|"(?:19|20|21)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])'
    rb'(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"'
)
_JSON_VALUE = re.compile(rb'"(?:[^"\\]|\\.)*"|[^,}\]]+')

# Main sections of a release and the JSON type each must have; a section of another type is set aside.
SECTION_TYPES = {"planning": dict, "tender": dict, "buyer": dict, "awards": list, "contracts": list, "parties": list}
_VALUE_KEYS = ("value", "minValue")


@dataclass(slots=True)
class Problem:
    """One value set aside from a stored release."""

    code: str
    field: str
    value: str
    reason: str


@dataclass(slots=True)
class Rejection:
    """Why a release is refused whole: a short code and a sentence."""

    code: str
    reason: str


@dataclass(slots=True)
class Checked:
    """A release ready to store: its canonical JSON, content hash and key fields."""

    ocid: str
    release_id: str
    date: str
    tags: list[str]
    canonical: bytes
    hash: str
    problems: list[Problem]


def describe(value: Any) -> str:
    """Name the JSON type of a value for messages, with an article."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode() if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."


class Checker:
    """Check releases against the limits in the settings."""

    def __init__(self, max_amount: float, min_year: int, max_year: int) -> None:
        self.max_amount = max_amount
        self.min_year = min_year
        self.max_year = max_year
        # An amount that is not a plain non-negative number, or has as many digits as max_amount, or an exponent.
        digits = len(str(int(max_amount)))
        self._suspect_amount = re.compile(rb'"amount(?:Gross)?":(?:"|\[|t|f|-|[0-9]{%d}|[0-9.]+[eE])' % digits)
        self._good_date = re.compile(_GOOD_DATE if (min_year <= 1900 and max_year >= 2199) else rb'null|""')

    def date_problem(self, text: str) -> str | None:
        """Return why a date text is impossible, or None if it is a real date and time."""
        if not _DATE_START.match(text):
            return f"{text!r} is not a date (expected ISO 8601, such as 2021-04-01 or 2021-04-01T09:00:00Z)"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return f"{text!r} is not a real date and time"
        if not self.min_year <= moment.year <= self.max_year:
            return (
                f"{text!r} is impossible (the year is outside {self.min_year}–{self.max_year}, "
                "the min_year and max_year settings)"
            )
        return None

    def check(self, value: Any) -> Checked | Rejection:
        """Return the checked release, or the reason it must be rejected whole."""
        if not isinstance(value, dict):
            return Rejection(
                "not-object", f"this is {describe(value)}, not an object; a release must be a JSON object"
            )
        ocid = value.get("ocid")
        if ocid is None and "statementType" in value and ("statementID" in value or "statementId" in value):
            return Rejection(
                "bods-statement",
                "a beneficial-ownership (BODS) statement, not an OCDS release; load such a file with "
                "`tenderwatch org load-ownership FILE`",
            )
        if ocid is None:
            return Rejection(
                "no-ocid",
                "the release has no ocid; every OCDS release needs the identifier of its contracting process",
            )
        if not isinstance(ocid, str) or not ocid.strip():
            return Rejection("bad-ocid", f"the ocid is {describe(ocid) if ocid != '' else 'empty'}, not an identifier")
        release_id = value.get("id")
        if release_id is None:
            return Rejection("no-id", f"the release of {ocid} has no id; every OCDS release needs one")
        if isinstance(release_id, bool) or not isinstance(release_id, (str, int)) or release_id == "":
            return Rejection(
                "bad-id",
                f"the release id of {ocid} is {describe(release_id) if release_id != '' else 'empty'}, not text",
            )
        date = value.get("date")
        if not isinstance(date, str) or not date:
            what = (
                "has no date"
                if date is None
                else ("has an empty date" if date == "" else f"has {describe(date)} as date")
            )
            return Rejection(
                "no-date", f"the release {release_id} of {ocid} {what}; OCDS needs a date to put releases in order"
            )
        reason = self.date_problem(date)
        if reason:
            return Rejection("bad-date", f"the date of release {release_id} of {ocid} is unusable: {reason}")
        tag = value.get("tag")
        if isinstance(tag, list):
            tags = [item for item in tag if isinstance(item, str)]
        elif isinstance(tag, str):
            tags = [tag]
        else:
            tags = []

        try:
            canonical = orjson.dumps(value)
        except orjson.JSONEncodeError as error:
            return Rejection("unstorable", f"the release cannot be stored exactly ({error})")
        problems: list[Problem] = []
        for key, expected in SECTION_TYPES.items():
            section = value.get(key)
            if section is not None and not isinstance(section, expected):
                wanted = "an object" if expected is dict else "an array"
                problems.append(
                    Problem(
                        "field-type",
                        f"/{key}",
                        _short(section),
                        f"{key} must be {wanted}, but this is {describe(section)}",
                    )
                )
        if self._suspect(canonical):
            self._walk(value, (), problems)
        return Checked(
            ocid=ocid,
            release_id=str(release_id),
            date=date,
            tags=tags,
            canonical=canonical,
            hash=hashlib.sha256(canonical).hexdigest(),
            problems=problems,
        )

    def _suspect(self, canonical: bytes) -> bool:
        """Return whether the release's JSON text holds any value that the full check could object to."""
        if self._suspect_amount.search(canonical):
            return True
        good = self._good_date.match
        # Keys ending in "Date".
        position = canonical.find(b'Date":')
        while position >= 0:
            start = position + 6
            if not good(canonical, start) and self._bad_date_at(canonical, start):
                return True
            position = canonical.find(b'Date":', start)
        # "date" and keys starting with "date" and a capital letter.
        position = canonical.find(b'"date')
        while position >= 0:
            after = canonical[position + 5 : position + 6]
            if after == b'"':
                start = position + 7
            elif after.isupper():
                start = canonical.find(b'":', position + 5) + 2
            else:
                start = -1
            if start > 1 and not good(canonical, start) and self._bad_date_at(canonical, start):
                return True
            position = canonical.find(b'"date', position + 5)
        return False

    def _bad_date_at(self, canonical: bytes, start: int) -> bool:
        match = _JSON_VALUE.match(canonical, start)
        if match is None:
            return True
        raw = match.group()
        if raw[:1] != b'"':
            return raw != b"null"
        return raw != b'""' and self.date_problem(orjson.loads(raw)) is not None

    def _walk(self, node: dict[str, Any], path: tuple[Any, ...], problems: list[Problem]) -> None:
        for key, item in node.items():
            kind = type(item)
            if kind is dict:
                self._walk(item, (*path, key), problems)
            elif kind is list and key not in _AMOUNT_KEYS:
                for index, element in enumerate(item):
                    if type(element) is dict:
                        self._walk(element, (*path, key, index), problems)
            elif item is None:
                continue
            elif key in _AMOUNT_KEYS:
                reason = self._amount_problem(item, path)
                if reason:
                    problems.append(Problem("field-amount", _pointer((*path, key)), _short(item), reason))
            elif (key == "date" and path) or key.endswith("Date") or (key.startswith("date") and key[4:5].isupper()):
                if kind is str:
                    if item:
                        reason = self.date_problem(item)
                        if reason:
                            problems.append(Problem("field-date", _pointer((*path, key)), _short(item), reason))
                else:
                    problems.append(
                        Problem(
                            "field-date",
                            _pointer((*path, key)),
                            _short(item),
                            f"a date is expected, but this is {describe(item)}",
                        )
                    )

    def _amount_problem(self, amount: Any, path: tuple[Any, ...]) -> str | None:
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            return f"an amount must be a number, but this is {describe(amount)}"
        if abs(amount) > self.max_amount:
            shown = f"{amount:,}" if isinstance(amount, int) else f"{amount:,.0f}"
            return f"{shown} is larger than any believable amount (the max_amount setting is {self.max_amount:,.0f})"
        if amount < 0 and _is_headline_value(path):
            return "a tender, lot, award or contract value cannot be negative"
        return None


# An amount, and (UK extension) the amount including taxes.
_AMOUNT_KEYS = ("amount", "amountGross")


def _is_headline_value(path: tuple[Any, ...]) -> bool:
    """Return whether ``path`` is the value of a tender, lot, award or contract (which cannot be negative)."""
    if not path or path[-1] not in _VALUE_KEYS:
        return False
    if path[:-1] == ("tender",):
        return True
    if len(path) == 4 and path[0] == "tender" and path[1] == "lots":
        return True
    return len(path) == 3 and path[0] in ("awards", "contracts")


def _pointer(path: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)
