"""Watchlists: rules that pick changes, and the matching that queues each match for delivery.

A change matches a watchlist when **every** rule the watchlist has holds for it; within one rule, one of its
values is enough (two buyers mean either buyer). Buyer, supplier, group, CPV, region, keyword and red-flag rules
look at the change's process (for a provider exit, also at the process of the replacement award).

Which changes are looked at (so a watchlist made today is not flooded with years of history):

- the changes found by each run after the watchlist was made, whose notice is dated at most ``notice_age_days``
  before the change was found (an old notice loaded for the first time is history, not news);
- when the watchlist is made with a backfill, the changes already known whose notice is dated within the backfill;
- for a watchlist with an "ending within N months" rule, every contract in force that ends within N months from
  today (at each run, so one that comes into the window later is found then).

Matches are made in the same transaction as the changes they match, and each match queues one delivery per
channel of its watchlist (``alert_deliveries``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import duckdb

from tenderwatch.alerts.changes import EXIT_KINDS, KINDS, change_id, ending_changes
from tenderwatch.alerts.settings import AlertSettings
from tenderwatch.exceptions import InputError

NAME_LIMIT = 100
KEYWORD_LIMIT = 100
MAX_MONTHS = 240
_CPV = re.compile(r"(\d{1,8})(-\d)?")
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_FLAG = re.compile(r"[A-Za-z]{1,3}\d{1,4}")


@dataclass
class Rules:
    """The rules of a watchlist (see the ``watchlists`` table for what each means)."""

    buyers: list[str] = field(default_factory=list)
    suppliers: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    cpv_prefixes: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    flag_codes: list[str] = field(default_factory=list)
    min_value: Decimal | None = None
    ending_within_months: int | None = None
    kinds: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Return whether no rule is set (such a watchlist would match every change)."""
        lists = (self.buyers, self.suppliers, self.groups, self.cpv_prefixes, self.regions, self.keywords)
        return (
            not any(lists)
            and not self.flag_codes
            and not self.kinds
            and self.min_value is None
            and self.ending_within_months is None
        )

    def describe(self) -> str:
        """Return the rules in words, such as 'buyer "Greyvale CCG"; CPV 85; terminations and provider exits'."""
        parts = []

        def either(label: str, values: list[str], quote: bool = True) -> None:
            if values:
                shown = [f'"{value}"' if quote else value for value in values]
                parts.append(f"{label} {' or '.join(shown)}")

        either("buyer", self.buyers)
        either("supplier", self.suppliers)
        either("group", self.groups)
        either("CPV", [f"{prefix}…" if len(prefix) < 8 else prefix for prefix in self.cpv_prefixes], quote=False)
        either("region", self.regions)
        either("keyword", self.keywords)
        either("red flag", self.flag_codes, quote=False)
        if self.min_value is not None:
            parts.append(f"worth at least {self.min_value:,.0f}")
        if self.ending_within_months is not None:
            parts.append(f"a contract ending within {self.ending_within_months} months")
        if self.kinds:
            if sorted(self.kinds) == sorted(EXIT_KINDS):
                parts.append("terminations and provider exits")
            else:
                parts.append("changes of kind " + " or ".join(self.kinds))
        return "; ".join(parts) or "every change"


@dataclass
class Watchlist:
    """A saved watchlist with its channels, and how many matches it has."""

    watchlist_id: int
    name: str
    owner: str | None
    rules: Rules
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None
    feed_token: str
    backfill_from: datetime | None
    created_at: datetime
    checked_run: int
    matches: int = 0
    waiting: int = 0
    failed: int = 0

    def feed_path(self) -> str:
        """Return the path of the watchlist's Atom feed on the web app, with its token."""
        return f"/watchlists/{self.watchlist_id}/feed.atom?token={self.feed_token}"


# ------------------------------------------------------------------------------------------------ checking


def check_rules(rules: Rules) -> Rules:
    """Return the rules cleaned up (trimmed, duplicates dropped, codes in capitals).

    :raises InputError: if a rule is invalid, or there is none
    """
    from tenderwatch.indicators import INDICATORS  # noqa: PLC0415

    def clean(values: list[str], what: str) -> list[str]:
        result: list[str] = []
        for value in values:
            text = " ".join(value.split())
            if not text:
                raise InputError(f"an empty {what} was given", f"give a {what} after the option, or leave it out")
            if len(text) > KEYWORD_LIMIT:
                raise InputError(
                    f"the {what} {text[:40]!r}… is too long", f"keep a {what} under {KEYWORD_LIMIT} characters"
                )
            if text.lower() not in [item.lower() for item in result]:
                result.append(text)
        return result

    cpv = []
    for value in clean(rules.cpv_prefixes, "CPV prefix"):
        found = _CPV.fullmatch(value.replace(" ", ""))
        if found is None:
            raise InputError(
                f"{value!r} is not a CPV code or prefix", "give its first digits, such as 85 or 8531 (up to 8 digits)"
            )
        cpv.append(found.group(1))
    flags = []
    for value in clean(rules.flag_codes, "red flag"):
        code = value.upper()
        if not _FLAG.fullmatch(code) or code not in INDICATORS:
            raise InputError(
                f"there is no red flag {value!r}", "see the codes with `tenderwatch flags --help` or docs/indicators/"
            )
        flags.append(code)
    kinds = []
    for value in clean(rules.kinds, "kind of change"):
        kind = value.lower().replace("-", "_")
        if kind not in KINDS:
            raise InputError(f"there is no kind of change {value!r}", f"use one of {', '.join(KINDS)}")
        if kind not in kinds:
            kinds.append(kind)
    if rules.min_value is not None and rules.min_value < 0:
        raise InputError("the value floor cannot be negative", "give an amount of 0 or more")
    months = rules.ending_within_months
    if months is not None and not 1 <= months <= MAX_MONTHS:
        raise InputError(f"ending within {months} months is out of range", f"give 1 to {MAX_MONTHS} months")
    checked = Rules(
        buyers=clean(rules.buyers, "buyer"),
        suppliers=clean(rules.suppliers, "supplier"),
        groups=clean(rules.groups, "group"),
        cpv_prefixes=cpv,
        regions=clean(rules.regions, "region"),
        keywords=clean(rules.keywords, "keyword"),
        flag_codes=flags,
        min_value=rules.min_value,
        ending_within_months=months,
        kinds=kinds,
    )
    if checked.is_empty():
        raise InputError(
            "a watchlist needs at least one rule, or it would send every change in the store",
            "add --buyer, --supplier, --group, --cpv, --region, --keyword, --flag, --min-value, --ending-within, "
            "--exits or --kind",
        )
    return checked


def parse_amount(text: str) -> Decimal:
    """Return an amount written with or without thousands separators (1000000, 1,000,000, 1e6, £2.5m).

    :raises InputError: if it is not a number
    """
    cleaned = text.strip().lstrip("£€$").replace(",", "").replace("_", "")
    factor = Decimal(1)
    if cleaned[-1:].lower() in ("k", "m", "b"):
        factor = Decimal(10) ** {"k": 3, "m": 6, "b": 9}[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    try:
        value = Decimal(cleaned) * factor
    except InvalidOperation as error:
        raise InputError(f"{text!r} is not an amount", "write it as a number, such as 1000000 or 2.5m") from error
    if not value.is_finite():
        raise InputError(f"{text!r} is not an amount", "write it as a number, such as 1000000 or 2.5m")
    return value


def check_email(address: str) -> str:
    """Return the address trimmed.

    :raises InputError: if it does not look like an e-mail address
    """
    text = address.strip()
    if not _EMAIL.fullmatch(text):
        raise InputError(f"{address!r} is not an e-mail address", "give one such as rep@example.org")
    return text


def check_webhook(url: str) -> str:
    """Return the address trimmed.

    :raises InputError: if it is not an http or https address
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not a web address", "give the full address, such as https://example.org/hook")
    return text


# ------------------------------------------------------------------------------------------------ storing

_COLUMNS = (
    "watchlist_id, name, owner, buyers, suppliers, groups, cpv_prefixes, regions, keywords, flag_codes, min_value, "
    "ending_within_months, kinds, email, webhook_url, webhook_secret, feed_token, backfill_from, created_at, "
    "checked_run"
)


def _select(column: str, secrets: bool) -> str:
    return "NULL AS webhook_secret" if column == "webhook_secret" and not secrets else f"w.{column}"


def _watchlist(row: tuple[Any, ...]) -> Watchlist:
    (number, name, owner, buyers, suppliers, groups, cpv, regions, keywords, flags, min_value, months, kinds, email,
     webhook, secret, token, backfill, created, checked) = row[:20]  # fmt: skip
    rules = Rules(
        buyers=list(buyers or []),
        suppliers=list(suppliers or []),
        groups=list(groups or []),
        cpv_prefixes=list(cpv or []),
        regions=list(regions or []),
        keywords=list(keywords or []),
        flag_codes=list(flags or []),
        min_value=min_value,
        ending_within_months=months,
        kinds=list(kinds or []),
    )
    found = Watchlist(number, name, owner, rules, email, webhook, secret, token, backfill, created, checked)
    if len(row) > 20:
        found.matches, found.waiting, found.failed = row[20:23]
    return found


def get_watchlists(
    con: duckdb.DuckDBPyConnection, *, owner: str | None = None, ids: list[int] | None = None, secrets: bool = True
) -> list[Watchlist]:
    """Return the watchlists (of one owner, or those numbered), in order of number, with their match counts;
    without ``secrets``, the webhook signing secrets are left out (the web app's snapshot may not hold them)."""
    where, params = [], []
    if owner is not None:
        where.append("w.owner = ?")
        params.append(owner)
    if ids is not None:
        where.append("list_contains(?, w.watchlist_id)")
        params.append(ids)
    rows = con.execute(
        f"""
        SELECT {", ".join(_select(name.strip(), secrets) for name in _COLUMNS.split(","))},
               (SELECT count(*) FROM watchlist_matches AS m WHERE m.watchlist_id = w.watchlist_id),
               (SELECT count(*) FROM alert_deliveries AS d WHERE d.watchlist_id = w.watchlist_id
                AND d.status <> 'delivered'),
               (SELECT count(*) FROM alert_deliveries AS d WHERE d.watchlist_id = w.watchlist_id
                AND d.status = 'failed')
        FROM watchlists AS w {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY w.watchlist_id
        """,
        params,
    ).fetchall()
    return [_watchlist(row) for row in rows]


def add_watchlist(
    con: duckdb.DuckDBPyConnection,
    name: str,
    rules: Rules,
    settings: AlertSettings,
    *,
    owner: str | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    backfill_days: int | None = None,
) -> Watchlist:
    """Check and save a watchlist, match it at once against contracts ending soon and (with ``backfill_days``)
    the changes known whose notice is dated within that many days, and return it. Commits.

    :raises InputError: if the name, a rule or a channel is invalid
    """
    name = " ".join(name.split())
    if not name or len(name) > NAME_LIMIT:
        raise InputError("a watchlist needs a name", f"give a short name (up to {NAME_LIMIT} characters)")
    rules = check_rules(rules)
    email = check_email(email) if email is not None else None
    webhook_url = check_webhook(webhook_url) if webhook_url is not None else None
    if backfill_days is not None and backfill_days < 0:
        raise InputError("the backfill cannot be negative", "give a number of days, 0 or more")
    con.execute("BEGIN TRANSACTION")
    try:
        number, last_run = con.execute(
            "SELECT (SELECT coalesce(max(watchlist_id), 0) + 1 FROM watchlists), "
            "(SELECT coalesce(max(run_id), 0) FROM alert_runs)"
        ).fetchall()[0]
        con.execute(
            f"""
            INSERT INTO watchlists ({_COLUMNS})
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                    CASE WHEN ?::INTEGER IS NULL THEN NULL ELSE now() - to_days(?::INTEGER) END, now(), ?)
            """,
            [
                number, name, owner, rules.buyers, rules.suppliers, rules.groups, rules.cpv_prefixes, rules.regions,
                rules.keywords, rules.flag_codes, rules.min_value, rules.ending_within_months, rules.kinds, email,
                webhook_url, secrets.token_hex(32), secrets.token_urlsafe(24), backfill_days, backfill_days, last_run,
            ],
        )  # fmt: skip
        (watchlist,) = get_watchlists(con, ids=[number])
        if rules.ending_within_months is not None:
            ending_changes(con, rules.ending_within_months, None)
        match_watchlist(con, watchlist, settings, run_id=None, backfill=backfill_days is not None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return get_watchlists(con, ids=[number])[0]


def remove_watchlist(con: duckdb.DuckDBPyConnection, watchlist_id: int) -> Watchlist:
    """Delete a watchlist with its matches and its deliveries (sent or not); return it as it was. Commits.

    :raises InputError: if there is no such watchlist
    """
    found = get_watchlists(con, ids=[watchlist_id])
    if not found:
        raise InputError(f"there is no watchlist {watchlist_id}", "see the numbers with `tenderwatch watch list`")
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("alert_deliveries", "watchlist_matches", "watchlists"):
            con.execute(f"DELETE FROM {table} WHERE watchlist_id = ?", [watchlist_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found[0]


# ------------------------------------------------------------------------------------------------ matching


def _keyword_pattern(keywords: list[str]) -> str:
    """Return a case-insensitive regular expression matching any of the keywords as whole words."""
    parts = []
    for keyword in keywords:
        prefix = keyword.endswith("*")
        words = [re.escape(word) for word in keyword.rstrip("*").split()]
        parts.append(r"\s+".join(words) + (r"\w*" if prefix else ""))
    return r"(?i)\b(?:" + "|".join(parts) + r")\b"


def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def _rules_sql(rules: Rules, tables: set[str]) -> tuple[list[str], dict[str, Any]]:
    """Return the conditions on a change ``c`` that the rules make, and their parameters."""
    either = "x.ocid IN (c.ocid, c.related_ocid)"
    where: list[str] = []
    params: dict[str, Any] = {}
    organisations = {"organisations", "organisation_parties"} <= tables

    def party(role: str, key: str, values: list[str]) -> None:
        params[key] = [value.lower() for value in values]
        v = f"${key}"
        parts = [
            f"""EXISTS (SELECT 1 FROM parties AS x WHERE {either} AND list_contains(x.roles, '{role}')
                AND (list_contains({v}, lower(x.party_id)) OR list_contains({v}, lower(x.name))
                     OR list_contains({v}, lower(x.identifier_scheme || '-' || x.identifier_id))))"""
        ]
        if role == "buyer":
            parts.append(
                f"""EXISTS (SELECT 1 FROM processes AS x WHERE {either}
                    AND (list_contains({v}, lower(x.buyer_id)) OR list_contains({v}, lower(x.buyer_name))
                         OR list_contains({v}, lower(x.buyer_identifier_scheme || '-' || x.buyer_identifier_id))))"""
            )
        else:
            parts.append(
                f"""EXISTS (SELECT 1 FROM award_suppliers AS x WHERE {either}
                    AND (list_contains({v}, lower(x.party_id)) OR list_contains({v}, lower(x.name))
                         OR list_contains({v}, lower(x.identifier_scheme || '-' || x.identifier_id))))"""
            )
        if organisations:
            parts.append(
                f"""EXISTS (SELECT 1 FROM organisation_parties AS x JOIN organisations AS o USING (organisation_id)
                    WHERE {either} AND list_contains(x.roles, '{role}')
                    AND (list_contains({v}, lower(o.organisation_id)) OR list_contains({v}, lower(o.name))
                         OR list_has_any({v}, list_transform(o.identifiers, lambda i: lower(i)))))"""
            )
        where.append("(" + " OR ".join(parts) + ")")

    if rules.buyers:
        party("buyer", "buyers", rules.buyers)
    if rules.suppliers:
        party("supplier", "suppliers", rules.suppliers)
    if rules.groups:
        params["groups"] = [value.lower() for value in rules.groups]
        if organisations:
            where.append(
                f"""EXISTS (SELECT 1 FROM organisation_parties AS x JOIN organisations AS o USING (organisation_id)
                    WHERE {either} AND list_contains(x.roles, 'supplier')
                    AND (list_contains($groups, lower(o.group_id)) OR list_contains($groups, lower(o.group_name))))"""
            )
        else:
            where.append("(len($groups) = 0)")  # no organisations resolved yet: no group is known
    if rules.cpv_prefixes:
        params["cpv"] = rules.cpv_prefixes
        where.append(
            f"""EXISTS (SELECT 1 FROM item_classifications AS x WHERE {either} AND x.cpv_code IS NOT NULL
                AND len(list_filter($cpv, lambda prefix: starts_with(x.cpv_code, prefix))) > 0)"""
        )
    if rules.regions:
        params["regions"] = [value.lower() for value in rules.regions]
        where.append(
            f"""EXISTS (SELECT 1 FROM parties AS x WHERE {either} AND list_contains(x.roles, 'buyer')
                AND len(list_filter($regions, lambda r: starts_with(lower(x.region), r) OR lower(x.locality) = r))
                    > 0)"""
        )
    if rules.keywords:
        params["keywords"] = _keyword_pattern(rules.keywords)
        where.append(
            f"""(regexp_matches(concat_ws(' ', c.title, c.sentence), $keywords)
                OR EXISTS (SELECT 1 FROM processes AS x LEFT JOIN tenders AS t ON t.ocid = x.ocid WHERE {either}
                    AND regexp_matches(concat_ws(' ', x.title, x.description, t.title, t.description), $keywords)))"""
        )
    if rules.flag_codes:
        params["flags"] = rules.flag_codes
        if "flags" in tables:
            where.append(f"EXISTS (SELECT 1 FROM flags AS x WHERE {either} AND list_contains($flags, upper(x.code)))")
        else:
            where.append("(len($flags) = 0)")
    lifecycle = "contract_lifecycle" in tables
    if rules.min_value is not None:
        params["min_value"] = rules.min_value
        largest = (
            "(SELECT max(l.current_value_amount) FROM contract_lifecycle AS l WHERE l.ocid = c.ocid)"
            if lifecycle
            else "(SELECT max(a.value_amount) FROM awards AS a WHERE a.ocid = c.ocid)"
        )
        where.append(f"coalesce(c.amount, {largest}) >= $min_value")
    if rules.ending_within_months is not None:
        params["months"] = rules.ending_within_months
        if lifecycle:
            where.append(
                """(c.kind = 'ending_soon' OR EXISTS (SELECT 1 FROM contract_lifecycle AS l WHERE l.ocid = c.ocid
                    AND l.months_left BETWEEN 0 AND $months))"""
            )
        else:
            where.append("c.kind = 'ending_soon'")
    if rules.kinds:
        params["kinds"] = rules.kinds
        where.append("list_contains($kinds, c.kind)")
    return where, params


def match_watchlist(
    con: duckdb.DuckDBPyConnection,
    watchlist: Watchlist,
    settings: AlertSettings,
    *,
    run_id: int | None,
    backfill: bool = False,
) -> int:
    """Match one watchlist against the changes it has not seen and queue a delivery per channel for each new match;
    return the number of new matches. Runs inside the caller's transaction.

    Looked at: the changes of runs after the watchlist's ``checked_run`` (up to ``run_id``) whose notice is recent
    enough, with ``backfill`` the known changes whose notice is dated from the watchlist's ``backfill_from``, and,
    with an "ending within" rule, the ``ending_soon`` changes of contracts that end within its months.
    """
    rules = watchlist.rules
    where, params = _rules_sql(rules, _table_names(con))
    seen = [
        "(c.kind <> 'ending_soon' AND c.run_id > $checked AND c.run_id <= $run"
        + (
            " AND (c.release_date IS NULL OR c.release_date >= c.added_at - to_days($age::INTEGER)))"
            if settings.notice_age_days
            else ")"
        )
    ]
    params |= {"checked": watchlist.checked_run, "run": run_id if run_id is not None else watchlist.checked_run}
    if settings.notice_age_days:
        params["age"] = settings.notice_age_days
    if backfill and watchlist.backfill_from is not None:
        seen.append("(c.kind <> 'ending_soon' AND c.release_date >= $backfill_from)")
        params["backfill_from"] = watchlist.backfill_from
    if rules.ending_within_months is not None:
        seen.append(
            "(c.kind = 'ending_soon' AND CAST(c.after_value AS DATE) BETWEEN current_date "
            "AND current_date + to_months($months::INTEGER))"
        )
        params["months"] = rules.ending_within_months
    params |= {"watchlist": watchlist.watchlist_id, "reason": "matches " + rules.describe(), "match_run": run_id}
    match = change_id("$watchlist", "c.change_id")
    before = con.execute("SELECT count(*) FROM watchlist_matches").fetchall()[0][0]
    con.execute(
        f"""
        INSERT INTO watchlist_matches BY NAME
        SELECT {match} AS match_id, $watchlist::BIGINT AS watchlist_id, c.change_id, $reason AS reason,
               $match_run::BIGINT AS run_id, now() AS matched_at
        FROM changes AS c
        WHERE ({" OR ".join(seen)})
          {"".join(" AND " + condition for condition in where)}
          AND NOT EXISTS (SELECT 1 FROM watchlist_matches AS m WHERE m.match_id = {match})
        """,
        params,
    )
    made = con.execute("SELECT count(*) FROM watchlist_matches").fetchall()[0][0] - before
    channels = [("email", watchlist.email), ("webhook", watchlist.webhook_url)]
    for channel, target in channels:
        if target is None:
            continue
        con.execute(
            f"""
            INSERT INTO alert_deliveries BY NAME
            SELECT {change_id("m.match_id", "$channel")} AS delivery_id, m.match_id, m.watchlist_id,
                   $channel AS channel, $target AS target, 'pending' AS status, 0 AS attempts, now() AS created_at
            FROM watchlist_matches AS m
            WHERE m.watchlist_id = $watchlist
              AND NOT EXISTS (SELECT 1 FROM alert_deliveries AS d WHERE d.match_id = m.match_id
                              AND d.channel = $channel)
            """,
            {"channel": channel, "target": target, "watchlist": watchlist.watchlist_id},
        )
    return made


def match_all(con: duckdb.DuckDBPyConnection, settings: AlertSettings, run_id: int | None) -> int:
    """Match every watchlist (the changes of runs up to ``run_id``, and contracts ending soon); return the number
    of new matches. Runs inside the caller's transaction."""
    watchlists = get_watchlists(con)
    months = [w.rules.ending_within_months for w in watchlists if w.rules.ending_within_months is not None]
    if months:
        ending_changes(con, max(months), run_id)
    made = 0
    for watchlist in watchlists:
        made += match_watchlist(con, watchlist, settings, run_id=run_id)
    if run_id is not None:
        con.execute("UPDATE watchlists SET checked_run = ? WHERE checked_run < ?", [run_id, run_id])
    return made


def _has_organisations(con: duckdb.DuckDBPyConnection, tables: set[str]) -> bool:
    if not {"organisations", "organisation_parties"} <= tables:
        return False
    return bool(con.execute("SELECT count(*) FROM organisations").fetchall()[0][0])


def unknown_values(con: duckdb.DuckDBPyConnection, rules: Rules) -> list[str]:
    """Return a note for each buyer, supplier or group of the rules that no process in the store has yet (a
    watchlist may name one before its first notice arrives, so this is not an error)."""
    tables = _table_names(con)
    processes = (
        "(SELECT ocid, NULL::VARCHAR AS related_ocid, title, NULL::VARCHAR AS sentence, NULL::VARCHAR AS kind, "
        "NULL::DECIMAL(38, 6) AS amount FROM processes) AS c"
    )
    notes = []
    for role, values in (("buyer", rules.buyers), ("supplier", rules.suppliers), ("group", rules.groups)):
        for value in values:
            if role == "group" and not _has_organisations(con, tables):
                notes.append(
                    f'no organisations are resolved in the store yet, so the group "{value}" matches nothing until '
                    "they are"
                )
                continue
            where, params = _rules_sql(Rules(**{f"{role}s": [value]}), tables)
            found = con.execute(f"SELECT EXISTS (SELECT 1 FROM {processes} WHERE {where[0]})", params).fetchall()
            if not found[0][0]:
                notes.append(f'no {role} "{value}" is in the store yet: the watchlist matches it once notices name it')
    return notes
