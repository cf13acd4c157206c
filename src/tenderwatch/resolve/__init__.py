"""Who is who: parties matched to canonical organisations, organisations to corporate groups.

The library API:

- :func:`resolve_organisations` rebuilds the organisation tables from the normalised tables, the overrides file
  and the corporate-groups files (run after every load and rebuild);
- :func:`organisation_profile` returns one organisation with its group chain, identifiers, names, contracts as
  supplier and as buyer with totals by year and currency, and its track record;
- :func:`load_ownership` stores Beneficial Ownership Data Standard statements (the parent companies they name
  join the groups at the next resolution).

    from tenderwatch.resolve import organisation_profile, resolve_organisations, load_organisation_settings

    resolve_organisations(con, load_organisation_settings())
    profile = organisation_profile(con, "Serco Ltd")

How the matching works, how accurate it is, and how to correct it: docs/organisations.md.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

from tenderwatch.exceptions import InputError, TenderwatchError
from tenderwatch.resolve.groups import GroupsFileError, build_groups
from tenderwatch.resolve.identifiers import normalise_identifier, parse_org_id
from tenderwatch.resolve.names import name_key, normalise_name, normalise_postcode
from tenderwatch.resolve.overrides import OverridesError, add_rule, read_overrides
from tenderwatch.resolve.resolver import ResolutionResult, ensure_tables, install_macros, resolve
from tenderwatch.resolve.settings import OrganisationSettings, load_organisation_settings

__all__ = [
    "NAME_MATCHES_LISTED",
    "GroupsFileError",
    "OrganisationNotFoundError",
    "OrganisationProfile",
    "OrganisationSettings",
    "OverridesError",
    "ResolutionResult",
    "add_rule",
    "ensure_ownership_table",
    "find_organisation",
    "load_organisation_settings",
    "load_ownership",
    "name_key",
    "normalise_identifier",
    "normalise_name",
    "normalise_postcode",
    "organisation_profile",
    "parse_org_id",
    "read_overrides",
    "resolve_organisations",
]


# Organisations a part of a name can fit that are looked at, the most parties first.
NAME_MATCHES_LISTED = 20


class OrganisationNotFoundError(TenderwatchError):
    """Raised when no organisation has the name or id asked for."""

    hint = "try part of the name, or an identifier such as GB-COH-00242246"


def resolve_organisations(
    con: duckdb.DuckDBPyConnection,
    settings: OrganisationSettings | None = None,
    *,
    base: Path | None = None,
    use_identifiers: bool = True,
) -> ResolutionResult:
    """Rebuild every organisation table (parties, organisations, identifiers, names, links, corporate groups and
    group totals) from the normalised tables, in one transaction: a failure leaves the previous tables.

    ``base`` is the folder relative paths of the settings are read from (default: the working folder).
    ``use_identifiers=False`` ignores registered identifiers (to measure the name rules and the model alone).

    :raises OverridesError: if the overrides file is not valid
    :raises GroupsFileError: if a corporate-groups file is not valid
    """
    settings = settings or OrganisationSettings()
    install_macros(con)
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        result = resolve(con, settings, base=base, use_identifiers=use_identifiers)
        result.groups = build_groups(con, settings, base=base)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return result


# ------------------------------------------------------------------------------------------------ ownership


def ensure_ownership_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``ownership_statements`` table if it is missing (from its documented columns)."""
    from tenderwatch.store import tables  # noqa: PLC0415

    described = tables().get("ownership_statements")
    if described is not None:
        columns = ", ".join(f'"{column.name}" {column.type}' for column in described.columns)
    else:  # the table group is not registered in the store yet: read the columns file directly
        import csv  # noqa: PLC0415
        from importlib import resources  # noqa: PLC0415

        text = resources.files("tenderwatch.resolve.ownership").joinpath("columns/ownership_statements.csv")
        rows = list(csv.DictReader(text.read_text(encoding="utf-8").splitlines()))
        columns = ", ".join(f'"{row["column"]}" {row["type"]}' for row in rows)
    con.execute(f"CREATE TABLE IF NOT EXISTS ownership_statements ({columns})")


def _statements(path: Path) -> list[dict[str, Any]]:
    """Read BODS statements from a JSON array, JSON lines of arrays or statements, or a package of them."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from error
    statements: list[dict[str, Any]] = []

    def add(value: Any, where: str) -> None:
        if isinstance(value, list):
            for item in value:
                add(item, where)
        elif isinstance(value, dict) and "statementType" in value:
            statements.append(value)
        elif isinstance(value, dict) and isinstance(value.get("statements"), list):
            add(value["statements"], where)
        else:
            raise InputError(f"{where}: not a Beneficial Ownership Data Standard statement or list of statements")

    try:
        add(orjson.loads(data), str(path))
    except orjson.JSONDecodeError:
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                add(orjson.loads(line), f"{path}:{number}")
            except orjson.JSONDecodeError as error:
                raise InputError(
                    f"{path}:{number}: not valid JSON ({error})", "give BODS JSON or JSON lines"
                ) from error
    return statements


def load_ownership(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, int, int]:
    """Store the company and ownership-or-control statements of a BODS file; return (stored, already stored,
    person statements left out). Statements are stored once each, by statement id.

    :raises InputError: if the file cannot be read or holds no BODS statements
    """
    statements = _statements(path)
    kept = [s for s in statements if s.get("statementType") in ("entityStatement", "ownershipOrControlStatement")]
    people = len(statements) - len(kept)
    if not kept:
        raise InputError(f"{path}: holds no company or ownership statements", "give a BODS file")
    ensure_ownership_table(con)
    rows = {}
    for statement in kept:
        statement_id = str(statement.get("statementID") or "")
        if statement_id:
            rows[statement_id] = (
                statement_id,
                statement["statementType"],
                statement.get("statementDate"),
                orjson.dumps(statement).decode(),
                str(path.resolve()),
            )
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute("SELECT count(*) FROM ownership_statements").fetchall()[0][0]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tmp_bods (statement_id VARCHAR, statement_type VARCHAR, "
            "statement_date VARCHAR, data VARCHAR, source VARCHAR)"
        )
        con.executemany("INSERT INTO tmp_bods VALUES (?, ?, ?, ?, ?)", list(rows.values()))
        con.execute(
            """
            INSERT INTO ownership_statements BY NAME
            SELECT statement_id, statement_type, statement_date, data::JSON AS data, source, now() AS loaded_at
            FROM tmp_bods AS t
            WHERE NOT EXISTS (SELECT 1 FROM ownership_statements AS o WHERE o.statement_id = t.statement_id)
            """
        )
        after = con.execute("SELECT count(*) FROM ownership_statements").fetchall()[0][0]
        con.execute("DROP TABLE tmp_bods")
        if after > before:  # TW108 reads incorporation dates from them: kept red flags are out of date
            from tenderwatch.store import data_changed  # noqa: PLC0415

            data_changed(con)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return after - before, len(rows) - (after - before), people


# -------------------------------------------------------------------------------------------------- profile


@dataclass
class OrganisationProfile:
    """One organisation as ``tenderwatch org show`` presents it.

    ``group_chain`` runs from the organisation's direct parent up to the ultimate parent, each link with its
    source. ``supplier_totals`` and ``buyer_totals`` are by year and currency; ``supplier_contracts`` and
    ``buyer_contracts`` list the awards, latest first. ``timeline`` holds the track-record events (from the
    register and those derived from the data), oldest first, each saying how it was matched to the organisation.
    """

    organisation: dict[str, Any]
    group_chain: list[dict[str, Any]]
    group_totals: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    names: list[dict[str, Any]]
    link_methods: list[dict[str, Any]]
    supplier_totals: list[dict[str, Any]]
    buyer_totals: list[dict[str, Any]]
    supplier_contracts: list[dict[str, Any]]
    buyer_contracts: list[dict[str, Any]]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the profile as plain JSON-ready data."""
        return _jsonable(self.__dict__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_organisation(con: duckdb.DuckDBPyConnection, name_or_id: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the organisation a name or id stands for (an organisation id, an identifier such as GB-COH-00242246,
    or a name, exact or in part: the one with the most parties first), and the others the name also fits (their
    id, name, parties and identifiers).

    :raises OrganisationNotFoundError: if nothing fits
    """
    text = name_or_id.strip()
    if not text:
        raise OrganisationNotFoundError("give a name or an id")
    exact = con.execute("SELECT organisation_id FROM organisations WHERE organisation_id = ?", [text]).fetchall()
    if exact:
        return exact[0][0], []
    org_id = parse_org_id(text)
    if org_id is not None:
        rows = con.execute(
            "SELECT organisation_id FROM organisation_identifiers WHERE identifier = ? ORDER BY parties DESC",
            [org_id],
        ).fetchall()
        if rows:
            return rows[0][0], []
    normalised = normalise_name(text)
    candidates = _dicts(
        con,
        """
        SELECT o.organisation_id, o.name, o.parties, o.identifiers
        FROM organisations AS o
        WHERE o.organisation_id IN (SELECT organisation_id FROM organisation_names WHERE name_normalised = ?)
        ORDER BY o.parties DESC, o.organisation_id
        """,
        [normalised],
    )
    if not candidates and normalised:
        candidates = _dicts(
            con,
            f"""
            SELECT o.organisation_id, o.name, o.parties, o.identifiers
            FROM organisations AS o
            WHERE o.organisation_id IN (
                SELECT organisation_id FROM organisation_names WHERE contains(name_normalised, ?)
            )
            ORDER BY o.parties DESC, o.organisation_id
            LIMIT {NAME_MATCHES_LISTED}
            """,
            [normalised],
        )
    if not candidates:
        raise OrganisationNotFoundError(f"no organisation is named {text!r}")
    return candidates[0]["organisation_id"], candidates[1:]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        row[0]
        for row in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()
    }


def _timeline(con: duckdb.DuckDBPyConnection, organisation: dict[str, Any]) -> list[dict[str, Any]]:
    """Track-record events of the organisation (register and derived), matched by identifier, name or group."""
    existing = _tables(con)
    install_macros(con)
    events: list[dict[str, Any]] = []
    org_id = organisation["organisation_id"]
    if "track_record" in existing:
        columns = _columns(con, "track_record")
        wanted = [
            "event_id",
            "event_type",
            "event_date",
            "organisation_identifier",
            "organisation_name",
            "group_name",
            "buyer_name",
            "ocid",
            "amount",
            "currency",
            "source_url",
            "source_title",
            "summary",
        ]
        select = ", ".join(f"t.{c}" if c in columns else f"NULL AS {c}" for c in wanted)
        by_identifier = (
            "tw_parse_org_id(t.organisation_identifier) IN (SELECT identifier FROM mine)"
            if "organisation_identifier" in columns
            else "false"
        )
        by_name = (
            "tw_org_name(t.organisation_name) IN (SELECT name_normalised FROM my_names)"
            if "organisation_name" in columns
            else "false"
        )
        by_group = (
            "$group IS NOT NULL AND tw_org_name(t.group_name) = tw_org_name($group)"
            if "group_name" in columns
            else "false"
        )
        events += _dicts(
            con,
            f"""
            WITH mine AS (
                SELECT identifier FROM organisation_identifiers WHERE organisation_id = $org
            ),
            my_names AS (SELECT name_normalised FROM organisation_names WHERE organisation_id = $org),
            t AS (SELECT * FROM track_record)
            SELECT 'register' AS origin, {select},
                   CASE
                       WHEN {by_identifier}
                           THEN 'identifier'
                       WHEN {by_name}
                           THEN 'name'
                       WHEN {by_group}
                           THEN 'group'
                   END AS matched_by
            FROM t
            WHERE matched_by IS NOT NULL
            """,
            {"org": org_id, "group": organisation.get("group_name")},  # type: ignore[arg-type]
        )
    if "derived_events" in existing:
        columns = _columns(con, "derived_events")
        conditions = []
        if "party_id" in columns:
            conditions.append(
                "EXISTS (SELECT 1 FROM organisation_parties AS p WHERE p.organisation_id = $org "
                "AND p.ocid = d.ocid AND p.party_id = d.party_id)"
            )
        for column in ("organisation_identifier", "identifier"):
            if column in columns:
                conditions.append(
                    f"d.{column} IN (SELECT identifier FROM organisation_identifiers WHERE organisation_id = $org)"
                )
        if conditions:
            wanted = ["ocid", "event_type", "event_date", "release_id", "summary", "source_url"]
            select = ", ".join(f"d.{c}" if c in columns else f"NULL AS {c}" for c in wanted)
            events += _dicts(
                con,
                f"SELECT 'derived' AS origin, {select}, 'party' AS matched_by FROM derived_events AS d "
                f"WHERE {' OR '.join(conditions)}",
                {"org": org_id},  # type: ignore[arg-type]
            )
    events.sort(key=lambda event: (str(event.get("event_date") or ""), str(event.get("event_type") or "")))
    return events


def organisation_profile(con: duckdb.DuckDBPyConnection, name_or_id: str, *, limit: int = 50) -> OrganisationProfile:
    """Return the profile of the organisation named (an organisation id, an identifier such as GB-COH-00242246,
    or a name, exact or in part). Other organisations the name also fits are listed in ``alternatives``.

    :raises OrganisationNotFoundError: if nothing fits
    """
    if "organisations" not in _tables(con):
        raise OrganisationNotFoundError(
            "the store has no organisation tables yet", "run `tenderwatch rebuild` or load some data"
        )
    organisation_id, alternatives = find_organisation(con, name_or_id)
    organisation = _dicts(con, "SELECT * FROM organisations WHERE organisation_id = ?", [organisation_id])[0]
    chain = _dicts(
        con,
        """
        WITH RECURSIVE up(child_id, depth, path) AS (
            SELECT unnest(coalesce(o.identifiers, []) || [o.organisation_id]), 0, []::VARCHAR[]
            FROM organisations AS o WHERE o.organisation_id = $org
            UNION ALL
            SELECT r.parent_id, u.depth + 1, list_append(u.path, r.parent_id)
            FROM up AS u JOIN corporate_relations AS r ON r.child_id = u.child_id
            WHERE NOT list_contains(u.path, r.parent_id) AND u.depth < 30
        )
        SELECT DISTINCT u.depth, r.child_id, r.child_name, r.parent_id, r.parent_name, r.relation, r.source,
               r.source_url, r.source_title, r.as_of
        FROM up AS u JOIN corporate_relations AS r ON r.child_id = u.child_id
        ORDER BY u.depth
        """,
        {"org": organisation_id},  # type: ignore[arg-type]
    )
    group_totals = (
        _dicts(
            con,
            "SELECT role, year, currency, organisations, processes, awards, amount FROM group_totals "
            "WHERE group_id = ? ORDER BY role DESC, year, currency",
            [organisation["group_id"]],
        )
        if organisation.get("group_id")
        else []
    )
    existing = _tables(con)
    supplier_contracts: list[dict[str, Any]] = []
    buyer_contracts: list[dict[str, Any]] = []
    supplier_totals: list[dict[str, Any]] = []
    buyer_totals: list[dict[str, Any]] = []
    if {"awards", "award_suppliers", "processes"} <= existing:
        supplier_sql = """
            SELECT s.ocid, a.award_id, coalesce(a.title, p.title) AS title, p.buyer_name,
                   coalesce(a.date, p.first_release_date) AS date, a.status,
                   (a.value_amount / greatest(a.supplier_count, 1))::DECIMAL(38, 6) AS amount,
                   a.value_currency AS currency, s.name AS name_as_published
            FROM award_suppliers AS s
            JOIN organisation_parties AS op
              ON op.ocid = s.ocid AND op.party_key = coalesce(s.party_id, '~supplier:' || s.name)
            JOIN awards AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
            JOIN processes AS p ON p.ocid = s.ocid
            WHERE op.organisation_id = $org
        """
        buyer_sql = """
            SELECT p.ocid, a.award_id, coalesce(a.title, p.title) AS title,
                   (SELECT string_agg(s.name, '; ' ORDER BY s.position) FROM award_suppliers AS s
                    WHERE s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id) AS suppliers,
                   coalesce(a.date, p.first_release_date) AS date, a.status, a.value_amount AS amount,
                   a.value_currency AS currency, p.buyer_name AS name_as_published
            FROM processes AS p
            JOIN organisation_parties AS op
              ON op.ocid = p.ocid AND op.party_key = coalesce(p.buyer_id, '~buyer:' || p.buyer_name)
            JOIN awards AS a ON a.ocid = p.ocid
            WHERE op.organisation_id = $org
        """
        params = {"org": organisation_id, "limit": limit}
        totals = """
            SELECT year(date) AS year, currency, count(DISTINCT ocid) AS processes, count(*) AS awards,
                   sum(amount) AS amount
            FROM ({sql}) WHERE status IS DISTINCT FROM 'cancelled' AND status IS DISTINCT FROM 'unsuccessful'
            GROUP BY ALL ORDER BY year NULLS LAST, currency
        """
        supplier_totals = _dicts(con, totals.format(sql=supplier_sql), {"org": organisation_id})  # type: ignore[arg-type]
        buyer_totals = _dicts(con, totals.format(sql=buyer_sql), {"org": organisation_id})  # type: ignore[arg-type]
        supplier_contracts = _dicts(
            con,
            f"SELECT * FROM ({supplier_sql}) ORDER BY date DESC NULLS LAST, ocid LIMIT $limit",
            params,  # type: ignore[arg-type]
        )
        buyer_contracts = _dicts(
            con,
            f"SELECT * FROM ({buyer_sql}) ORDER BY date DESC NULLS LAST, ocid LIMIT $limit",
            params,  # type: ignore[arg-type]
        )
    return OrganisationProfile(
        organisation=organisation,
        group_chain=chain,
        group_totals=group_totals,
        identifiers=_dicts(
            con,
            "SELECT identifier, scheme, parties FROM organisation_identifiers WHERE organisation_id = ? "
            "ORDER BY parties DESC, identifier",
            [organisation_id],
        ),
        names=_dicts(
            con,
            "SELECT name, parties FROM organisation_names WHERE organisation_id = ? ORDER BY parties DESC, name",
            [organisation_id],
        ),
        link_methods=_dicts(
            con,
            "SELECT link_method, count(*) AS parties FROM organisation_parties WHERE organisation_id = ? "
            "GROUP BY 1 ORDER BY 2 DESC",
            [organisation_id],
        ),
        supplier_totals=supplier_totals,
        buyer_totals=buyer_totals,
        supplier_contracts=supplier_contracts,
        buyer_contracts=buyer_contracts,
        timeline=_timeline(con, organisation),
        alternatives=alternatives,
    )
