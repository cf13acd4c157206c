"""Corporate groups: organisation → parent → ultimate parent, and totals rolled up by group.

Two sources of parent companies:

- **groups files**: the one tenderwatch ships (``src/tenderwatch/data/corporate_groups.yaml``: the largest UK
  public-service suppliers) and any listed in the ``[organisations] groups_files`` setting. Every company in
  them has a registered identifier and every parent relation a source URL (accounts filed at Companies House,
  an annual report) and the date the source states it for;
- **ownership data**: Beneficial Ownership Data Standard statements loaded with ``tenderwatch org
  load-ownership`` (table ``ownership_statements``). A company is the parent of another when a current
  statement says it holds more than the ``ownership_min_share`` setting (50%) of its shares or votes, or may
  appoint its board. Statements about people are not kept: groups are about companies.

A groups file takes precedence over ownership data for the same company. Organisations are matched to the
companies of both by identifier, or, for an organisation without a company number, by its exact normalised
name. Chains of parents are followed to the top (the ultimate parent); the group of an organisation is the
groups-file group its ultimate parent (or itself) belongs to, else the group headed by its ultimate parent.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from tenderwatch.exceptions import TenderwatchError
from tenderwatch.resolve.identifiers import parse_org_id
from tenderwatch.resolve.names import name_key, normalise_name
from tenderwatch.resolve.settings import OrganisationSettings

COMPANY_FIELDS = ("name", "identifier", "parent", "relation", "source_url", "source_title", "as_of", "note")
PARENT_FIELDS = ("name", "identifier", "source_url", "source_title", "as_of", "note")
GROUP_FIELDS = ("id", "name", "ultimate_parent", "companies", "note")


class GroupsFileError(TenderwatchError):
    """Raised when a corporate-groups file cannot be read or a fact in it lacks its identifier or source."""

    hint = "fix the file (see docs/organisations.md, 'Corporate groups')"


@dataclass(frozen=True)
class Relation:
    """One parent relation from a groups file."""

    group_id: str
    group_name: str
    child_id: str
    child_name: str
    parent_id: str | None
    parent_name: str | None
    relation: str
    source_url: str
    source_title: str
    as_of: str


def shipped_groups_file() -> Path:
    """Return the path of the groups file shipped with tenderwatch."""
    return Path(str(resources.files("tenderwatch").joinpath("data/corporate_groups.yaml")))


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if isinstance(value, datetime.date):
        value = value.isoformat()
    if value is None or not str(value).strip():
        if required:
            raise GroupsFileError(f"{where}: '{key}' is missing")
        return None
    return str(value).strip()


def _entry(
    raw: Any, fields: tuple[str, ...], where: str, *, identifier_required: bool = True
) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise GroupsFileError(f"{where}: expected a mapping with name, identifier and source_url")
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise GroupsFileError(f"{where}: unknown field {unknown[0]!r}; use {', '.join(fields)}")
    name = _text(raw, "name", where)
    given = _text(raw, "identifier", where, required=identifier_required)
    if given is None:  # a parent whose registration is not confirmed: known by its name
        key = name_key(name) or normalise_name(name) or ""
        identifier = "NAME:" + key
    else:
        identifier = parse_org_id(given)
    if identifier is None:
        raise GroupsFileError(f"{where}: {raw.get('identifier')!r} is not an org-id such as GB-COH-00242246")
    url = _text(raw, "source_url", where) or ""
    if not re.match(r"^https?://", url):
        raise GroupsFileError(f"{where}: source_url must be a web address (http or https)")
    return name or "", identifier, raw


def read_groups_file(path: Path) -> tuple[list[dict[str, str]], list[Relation]]:
    """Read and check a groups file; return its groups and its parent relations.

    :raises GroupsFileError: if the file is not valid or a fact lacks its identifier, source or date
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise GroupsFileError(f"{path} cannot be read ({error})") from error
    except yaml.YAMLError as error:
        raise GroupsFileError(f"{path} is not valid YAML") from error
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise GroupsFileError(f"{path}: the file must have a 'groups' list")
    groups: list[dict[str, str]] = []
    relations: list[Relation] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["groups"], start=1):
        where = f"{path}: group {index}"
        if not isinstance(raw, dict):
            raise GroupsFileError(f"{where}: expected a mapping with id, name, ultimate_parent and companies")
        unknown = sorted(set(raw) - set(GROUP_FIELDS))
        if unknown:
            raise GroupsFileError(f"{where}: unknown field {unknown[0]!r}; use {', '.join(GROUP_FIELDS)}")
        group_id = _text(raw, "id", where) or ""
        if group_id in seen:
            raise GroupsFileError(f"{where}: the id {group_id!r} is used twice")
        seen.add(group_id)
        group_name = _text(raw, "name", where) or group_id
        top_name, top_id, top = _entry(
            raw.get("ultimate_parent"), PARENT_FIELDS, f"{where}, ultimate_parent", identifier_required=False
        )
        groups.append(
            {
                "group_id": group_id,
                "name": group_name,
                "ultimate_parent_id": top_id,
                "ultimate_parent_name": top_name,
                "source_url": str(top["source_url"]),
            }
        )
        names = {top_id: top_name}
        companies = raw.get("companies") or []
        if not isinstance(companies, list):
            raise GroupsFileError(f"{where}: 'companies' must be a list")
        for number, item in enumerate(companies, start=1):
            _, identifier, _ = _entry(item, COMPANY_FIELDS, f"{where}, company {number}")
            names[identifier] = str(item["name"]).strip()
        for number, item in enumerate(companies, start=1):
            here = f"{where}, company {number}"
            name, identifier, _ = _entry(item, COMPANY_FIELDS, here)
            parent = parse_org_id(str(item["parent"])) if item.get("parent") else top_id
            if parent is None or parent not in names:
                raise GroupsFileError(f"{here}: the parent {item.get('parent')!r} is not a company of this group")
            relations.append(
                Relation(
                    group_id=group_id,
                    group_name=group_name,
                    child_id=identifier,
                    child_name=name,
                    parent_id=parent,
                    parent_name=names[parent],
                    relation=_text(item, "relation", here) or "",
                    source_url=str(item["source_url"]).strip(),
                    source_title=_text(item, "source_title", here) or "",
                    as_of=_text(item, "as_of", here) or "",
                )
            )
    return groups, relations


def _file_facts(settings: OrganisationSettings, base: Path | None) -> tuple[list[dict[str, str]], list[Relation]]:
    paths = [shipped_groups_file()] if settings.shipped_groups else []
    for path in settings.groups_files:
        paths.append(path if path.is_absolute() or base is None else base / path)
    groups: dict[str, dict[str, str]] = {}
    relations: dict[str, Relation] = {}
    for path in paths:
        file_groups, file_relations = read_groups_file(path)
        for group in file_groups:
            groups[group["group_id"]] = group
        for relation in file_relations:
            relations[relation.child_id] = relation  # a later file wins
    return list(groups.values()), list(relations.values())


_INTERESTS_TYPE = (
    '[{"type": "VARCHAR", "details": "VARCHAR", "startDate": "VARCHAR", "endDate": "VARCHAR", '
    '"share": {"exact": "DOUBLE", "minimum": "DOUBLE", "maximum": "DOUBLE", "exclusiveMinimum": "BOOLEAN"}}]'
)


def _ownership_relations(con: duckdb.DuckDBPyConnection, min_share: float) -> None:
    """tmp_grp_bods: parent relations between companies from loaded ownership statements (maybe none)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ownership_statements' AND NOT temporary"
    ).fetchall()[0][0]
    if not exists:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tmp_grp_bods (child_id VARCHAR, child_name VARCHAR, parent_id VARCHAR,
                parent_name VARCHAR, relation VARCHAR, source_url VARCHAR, source_title VARCHAR, as_of VARCHAR)
            """
        )
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_grp_bods AS
        WITH entities AS (
            SELECT statement_id, data->>'name' AS name,
                   (SELECT arg_max(x, n) FROM (
                        SELECT x, count(*) AS n
                        FROM (SELECT unnest(list_filter(
                                  list_transform(
                                      from_json(data->'identifiers', '[{{"scheme": "VARCHAR", "id": "VARCHAR"}}]'),
                                      lambda i: CASE WHEN i.scheme = 'GB-COH' THEN tw_org_id('GB-COH', i.id) END),
                                  lambda v: v IS NOT NULL)) AS x)
                        GROUP BY x)) AS company_id
            FROM ownership_statements WHERE statement_type = 'entityStatement'
        ),
        keyed AS (
            SELECT statement_id, name,
                   coalesce(company_id, 'NAME:' || coalesce(tw_org_name_key(name), tw_org_name(name))) AS entity_id
            FROM entities WHERE name IS NOT NULL
        ),
        control AS (
            SELECT statement_id, statement_date,
                   data->'subject'->>'describedByEntityStatement' AS subject,
                   data->'interestedParty'->>'describedByEntityStatement' AS holder,
                   from_json(data->'interests', '{_INTERESTS_TYPE}') AS interests
            FROM ownership_statements WHERE statement_type = 'ownershipOrControlStatement'
        ),
        current AS (
            SELECT *, list_filter(interests, lambda i: i.endDate IS NULL AND (
                       (i.type IN ('shareholding', 'voting-rights')
                        AND (coalesce(i.share.exact, i.share.minimum) > {float(min_share)}
                             OR (i.share.minimum = {float(min_share)} AND coalesce(i.share.exclusiveMinimum, false))))
                       OR i.type = 'appointment-of-board')) AS qualifying
            FROM control WHERE holder IS NOT NULL
        ),
        relations AS (
            SELECT c.statement_id, child.entity_id AS child_id, child.name AS child_name,
                   parent.entity_id AS parent_id, parent.name AS parent_name,
                   array_to_string(list_transform(c.qualifying, lambda i: i.type || coalesce(
                       ' ' || coalesce(i.share.exact::VARCHAR, i.share.minimum::BIGINT || '-'
                                       || i.share.maximum::BIGINT) || '%', '')), ', ') AS relation,
                   list_max(list_transform(c.qualifying, lambda i: coalesce(i.share.exact, i.share.minimum, 0)))
                       AS share,
                   coalesce(list_max(list_transform(c.qualifying, lambda i: i.startDate)), c.statement_date) AS as_of
            FROM current AS c
            JOIN keyed AS child ON child.statement_id = c.subject
            JOIN keyed AS parent ON parent.statement_id = c.holder
            WHERE len(c.qualifying) > 0 AND child.entity_id <> parent.entity_id
        )
        SELECT child_id, arg_max(child_name, (share, as_of)) AS child_name,
               arg_max(parent_id, (share, as_of, parent_id)) AS parent_id,
               arg_max(parent_name, (share, as_of, parent_id)) AS parent_name,
               arg_max(relation, (share, as_of, parent_id)) AS relation,
               CASE WHEN child_id LIKE 'GB-COH-%'
                    THEN 'https://find-and-update.company-information.service.gov.uk/company/'
                         || substr(child_id, 8) || '/persons-with-significant-control'
               END AS source_url,
               'Register of persons with significant control, Companies House; beneficial-ownership statement '
                   || arg_max(statement_id, (share, as_of, parent_id)) AS source_title,
               arg_max(as_of, (share, as_of, parent_id)) AS as_of
        FROM relations
        GROUP BY child_id
        """
    )


def build_groups(con: duckdb.DuckDBPyConnection, settings: OrganisationSettings, *, base: Path | None = None) -> int:
    """Rebuild ``corporate_relations``, ``corporate_groups``, ``group_totals`` and the group columns of
    ``organisations`` (in the caller's transaction). Return the number of groups with organisations in the data.
    """
    file_groups, file_relations = _file_facts(settings, base)
    _ownership_relations(con, settings.ownership_min_share)
    relation_schema = pa.schema(
        [
            (name, pa.string())
            for name in (
                "group_id",
                "group_name",
                "child_id",
                "child_name",
                "parent_id",
                "parent_name",
                "relation",
                "source_url",
                "source_title",
                "as_of",
            )
        ]
    )
    rows = [relation.__dict__ for relation in file_relations]
    con.register(
        "tmp_grp_file_arrow",
        pa.Table.from_pylist(rows, schema=relation_schema) if rows else relation_schema.empty_table(),
    )
    group_schema = pa.schema(
        [
            (name, pa.string())
            for name in ("group_id", "name", "ultimate_parent_id", "ultimate_parent_name", "source_url")
        ]
    )
    con.register(
        "tmp_grp_groups_arrow",
        pa.Table.from_pylist(file_groups, schema=group_schema) if file_groups else group_schema.empty_table(),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_grp_file AS SELECT * FROM tmp_grp_file_arrow")
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_grp_groups AS SELECT * FROM tmp_grp_groups_arrow")
    con.unregister("tmp_grp_file_arrow")
    con.unregister("tmp_grp_groups_arrow")
    # Every relation, one parent per child: a groups file wins over ownership data.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_rel AS
        SELECT child_id, child_name, parent_id, parent_name, relation, 'groups file' AS source, source_url,
               source_title, as_of, group_id AS file_group
        FROM tmp_grp_file
        UNION ALL
        SELECT child_id, child_name, parent_id, parent_name, relation, 'ownership data', source_url, source_title,
               as_of, NULL
        FROM tmp_grp_bods WHERE child_id NOT IN (SELECT child_id FROM tmp_grp_file)
        """
    )
    # Entities: every company named anywhere, with the groups-file group it is in, if any.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_entities AS
        SELECT id, arg_min(name, priority) AS name, min(file_group) AS file_group
        FROM (
            SELECT child_id AS id, child_name AS name, file_group, 1 AS priority FROM tmp_grp_rel
            UNION ALL SELECT parent_id, parent_name, file_group, 2 FROM tmp_grp_rel
            UNION ALL SELECT ultimate_parent_id, ultimate_parent_name, group_id, 0 FROM tmp_grp_groups
        ) GROUP BY id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_chain AS
        WITH RECURSIVE chain(start, node, depth, path) AS (
            SELECT id, id, 0, [id] FROM tmp_grp_entities
            UNION ALL
            SELECT c.start, r.parent_id, c.depth + 1, list_append(c.path, r.parent_id)
            FROM chain AS c JOIN tmp_grp_rel AS r ON r.child_id = c.node
            WHERE NOT list_contains(c.path, r.parent_id) AND c.depth < 30
        )
        SELECT c.start AS id, arg_max(c.node, c.depth) AS ultimate_id,
               arg_max(c.path, c.depth) AS path
        FROM chain AS c GROUP BY c.start
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_membership AS
        WITH along AS (
            SELECT ch.id, arg_min(x.file_group, p.position) AS nearest_group
            FROM tmp_grp_chain AS ch,
                 unnest(ch.path) WITH ORDINALITY AS p(node, position)
            JOIN tmp_grp_entities AS x ON x.id = p.node
            WHERE x.file_group IS NOT NULL
            GROUP BY ch.id
        )
        SELECT e.id, e.name, r.parent_id, r.parent_name, ch.ultimate_id, u.name AS ultimate_name,
               coalesce(u.file_group, e.file_group, a.nearest_group,
                        CASE WHEN ch.ultimate_id <> e.id OR e.id IN (SELECT parent_id FROM tmp_grp_rel)
                             THEN ch.ultimate_id END) AS group_id,
               CASE WHEN coalesce(u.file_group, e.file_group, a.nearest_group) IS NOT NULL THEN 'groups file'
                    ELSE coalesce(r.source, 'ownership data') END AS group_source
        FROM tmp_grp_entities AS e
        JOIN tmp_grp_chain AS ch USING (id)
        JOIN tmp_grp_entities AS u ON u.id = ch.ultimate_id
        LEFT JOIN tmp_grp_rel AS r ON r.child_id = e.id
        LEFT JOIN along AS a ON a.id = e.id
        """
    )
    # Organisations to entities: by identifier, else (no company number) by exact normalised name.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_org AS
        WITH by_id AS (
            SELECT o.organisation_id, arg_min(m.id, m.id) AS id
            FROM organisations AS o, unnest(o.identifiers) AS t(identifier)
            JOIN tmp_grp_membership AS m ON m.id = t.identifier
            GROUP BY o.organisation_id
        ),
        names AS (SELECT id, tw_org_name(name) AS name_normalised FROM tmp_grp_membership),
        by_name AS (
            SELECT n.organisation_id, min(m.id) AS id
            FROM organisation_names AS n JOIN names AS m USING (name_normalised)
            JOIN organisations AS o USING (organisation_id)
            WHERE NOT list_has_any(list_transform(o.identifiers, lambda i: left(i, 7)), ['GB-COH-'])
            GROUP BY n.organisation_id HAVING count(DISTINCT m.id) = 1
        )
        SELECT organisation_id, coalesce(b.id, n.id) AS id
        FROM (SELECT organisation_id FROM by_id UNION SELECT organisation_id FROM by_name)
        LEFT JOIN by_id AS b USING (organisation_id) LEFT JOIN by_name AS n USING (organisation_id)
        """
    )
    for name in ("corporate_relations", "corporate_groups", "group_totals"):
        con.execute(f"DELETE FROM {name}")
    con.execute(
        """
        UPDATE organisations AS o SET parent_id = NULL, parent_name = NULL, ultimate_parent_id = NULL,
            ultimate_parent_name = NULL, group_id = NULL, group_name = NULL, group_source = NULL
        """
    )
    con.execute(
        """
        INSERT INTO corporate_relations BY NAME
        SELECT r.child_id, r.child_name, r.parent_id, r.parent_name, r.relation, r.source, r.source_url,
               r.source_title, r.as_of, m.group_id
        FROM tmp_grp_rel AS r JOIN tmp_grp_membership AS m ON m.id = r.child_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_grp_names AS
        SELECT group_id, name, ultimate_parent_id, ultimate_parent_name, 'groups file' AS source, source_url
        FROM tmp_grp_groups
        UNION ALL
        SELECT DISTINCT m.group_id, u.name, m.group_id, u.name, 'ownership data', NULL
        FROM tmp_grp_membership AS m JOIN tmp_grp_entities AS u ON u.id = m.group_id
        WHERE m.group_id NOT IN (SELECT group_id FROM tmp_grp_groups)
        """
    )
    con.execute(
        """
        UPDATE organisations AS o
        SET parent_id = m.parent_id, parent_name = m.parent_name,
            ultimate_parent_id = CASE WHEN m.group_id IS NOT NULL THEN m.ultimate_id END,
            ultimate_parent_name = CASE WHEN m.group_id IS NOT NULL THEN m.ultimate_name END,
            group_id = m.group_id, group_name = g.name, group_source = CASE WHEN m.group_id IS NOT NULL
                THEN m.group_source END
        FROM tmp_grp_org AS t JOIN tmp_grp_membership AS m ON m.id = t.id
        LEFT JOIN tmp_grp_names AS g ON g.group_id = m.group_id
        WHERE o.organisation_id = t.organisation_id
        """
    )
    con.execute(
        """
        INSERT INTO corporate_groups BY NAME
        SELECT g.group_id, g.name, g.ultimate_parent_id, g.ultimate_parent_name, g.source, g.source_url,
               (SELECT count(*) FROM organisations AS o WHERE o.group_id = g.group_id) AS organisations
        FROM tmp_grp_names AS g
        """
    )
    _group_totals(con)
    for name in (
        "tmp_grp_bods",
        "tmp_grp_file",
        "tmp_grp_groups",
        "tmp_grp_rel",
        "tmp_grp_entities",
        "tmp_grp_chain",
        "tmp_grp_membership",
        "tmp_grp_org",
        "tmp_grp_names",
    ):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return con.execute("SELECT count(*) FROM corporate_groups WHERE organisations > 0").fetchall()[0][0]


def _group_totals(con: duckdb.DuckDBPyConnection) -> None:
    existing = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {"awards", "award_suppliers", "processes", "process_copies"} <= existing:
        return
    con.execute(
        """
        INSERT INTO group_totals BY NAME
        WITH grouped AS (SELECT organisation_id, group_id, group_name FROM organisations WHERE group_id IS NOT NULL),
        supplier AS (
            SELECT g.group_id, g.group_name, 'supplier' AS role, op.organisation_id, a.ocid, a.award_id,
                   year(coalesce(a.date, p.first_release_date)) AS year, a.value_currency AS currency,
                   (a.value_amount / greatest(a.supplier_count, 1))::DECIMAL(38, 6) AS amount
            FROM award_suppliers AS s
            JOIN awards AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
            JOIN processes AS p ON p.ocid = s.ocid
            JOIN organisation_parties AS op
              ON op.ocid = s.ocid AND op.party_key = coalesce(s.party_id, '~supplier:' || s.name)
            JOIN grouped AS g ON g.organisation_id = op.organisation_id
            WHERE a.status IS DISTINCT FROM 'cancelled' AND a.status IS DISTINCT FROM 'unsuccessful'
              AND a.ocid NOT IN (SELECT ocid FROM process_copies)  -- a copy of another process counts once
        ),
        buyer AS (
            SELECT g.group_id, g.group_name, 'buyer', op.organisation_id, a.ocid, a.award_id,
                   year(coalesce(a.date, p.first_release_date)), a.value_currency, a.value_amount
            FROM processes AS p
            JOIN awards AS a ON a.ocid = p.ocid
            JOIN organisation_parties AS op ON op.ocid = p.ocid
                 AND op.party_key = coalesce(p.buyer_id, '~buyer:' || p.buyer_name)
            JOIN grouped AS g ON g.organisation_id = op.organisation_id
            WHERE a.status IS DISTINCT FROM 'cancelled' AND a.status IS DISTINCT FROM 'unsuccessful'
              AND a.ocid NOT IN (SELECT ocid FROM process_copies)
        )
        SELECT group_id, any_value(group_name) AS group_name, role, year, currency,
               count(DISTINCT organisation_id) AS organisations, count(DISTINCT ocid) AS processes,
               count(*) AS awards, sum(amount) AS amount
        FROM (SELECT * FROM supplier UNION ALL SELECT * FROM buyer)
        GROUP BY group_id, role, year, currency
        """
    )
