"""Subcontracting chains: prime contractor → subcontractor → sub-subcontractor, with levels. The tables
``subcontract_links`` and ``subcontract_chains``.

Links come from:

- **related processes**: a process whose ``relatedProcesses`` names another with the relationship ``subContract``
  (OCDS 1.1) or ``parent`` (OCDS 1.2) is a subcontract of it: its buyer passes the work to its suppliers, one level
  below the suppliers of the process it belongs to. Chains of such processes are followed to the public process at
  the top (the *root*);
- **award subcontracts**: ``awards[].subcontracting.subcontracts[]`` (the OCDS subcontracting extension, which the
  UK extension declares): each ``subcontractor`` works for the subcontract's ``tenderers``, else for the award's
  suppliers;
- **bid subcontracts**: ``bids.details[].subcontracting.subcontracts[]`` of a bid made by a supplier the process
  awarded;
- **subcontractor parties**: a party with the role ``subcontractor`` that no subcontract above names, placed under
  every supplier of its process;
- **the subcontracting file**: links people found in other sources (a council report, a parliamentary answer, a
  company's accounts), each with its source, read at every analysis (``[services] subcontracting_file``).

Levels: 1 is the prime contractor (a supplier of the root process), 2 its subcontractor, and so on. A link of
the file is placed one level below its contractor wherever that contractor is in the chain (matched by
identifier, organisation or name); when the contractor is not in the chain, it is taken to be a prime contractor,
and the link says so. The depth of a chain is its deepest level minus one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from tenderwatch.records import identifier_key, identifier_key_sql, name_key, name_key_sql
from tenderwatch.services.files import ServicesFileError, read_entries, text_value
from tenderwatch.store import ALL_COMPILED_TEXTS

FIELDS = (
    "ocid",
    "contractor",
    "contractor_id",
    "subcontractor",
    "subcontractor_id",
    "description",
    "value",
    "currency",
    "source_url",
    "source_title",
    "date",
    "notes",
)
MAX_LEVELS = 12
_ORG_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]+-[A-Za-z0-9][A-Za-z0-9./-]*")
_CURRENCY = re.compile(r"[A-Z]{3}")

_REF = {"id": "VARCHAR", "name": "VARCHAR"}
_SUBCONTRACTING = {
    "description": "VARCHAR",
    "value": {"amount": "DOUBLE", "currency": "VARCHAR"},
    "subcontracts": [{"id": "VARCHAR", "subcontractor": _REF, "tenderers": [_REF]}],
}
_SHAPE = json.dumps(
    {
        "awards": [
            {
                "id": "VARCHAR",
                "hasSubcontracting": "BOOLEAN",
                "subcontracting": _SUBCONTRACTING,
                "suppliers": [_REF],
            }
        ],
        "bids": {"details": [{"id": "VARCHAR", "tenderers": [_REF], "subcontracting": _SUBCONTRACTING}]},
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class FileLink:
    """A subcontracting link from the subcontracting file."""

    ocid: str
    contractor: str
    contractor_id: str | None
    subcontractor: str
    subcontractor_id: str | None
    description: str | None
    value: Decimal | None
    currency: str | None
    source_url: str
    source_title: str
    date: str | None
    notes: str | None


def read_subcontracting_file(path: Path) -> list[FileLink]:
    """Read and check a subcontracting file (YAML with a list under ``links:``, or CSV); a missing file holds none.

    :raises ServicesFileError: listing every problem (a missing source, an identifier not in org-id form…)
    """
    if not path.exists():
        return []
    links: list[FileLink] = []
    problems: list[str] = []
    for label, raw in read_entries(path, "links", FIELDS):
        values: dict[str, str | None] = {}
        for field in FIELDS:
            try:
                values[field] = text_value(raw.get(field))
            except ValueError as error:
                problems.append(f"{label}: {field}: {error}")
                values[field] = None
        for field, why in (
            ("ocid", "name the public contract the work is part of"),
            ("contractor", "name who passes the work down"),
            ("subcontractor", "name who takes it on"),
            ("source_url", "every link needs a public source"),
            ("source_title", "give the title of the source, so it can be found again"),
        ):
            if values[field] is None:
                problems.append(f"{label}: {field} is missing: {why}")
        url = values["source_url"]
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
                problems.append(f"{label}: source_url: {url!r} is not a web address (http:// or https://)")
        for field in ("contractor_id", "subcontractor_id"):
            if values[field] is not None:
                values[field] = values[field].replace(" ", "")
                if not _ORG_ID.fullmatch(values[field]):
                    problems.append(
                        f"{label}: {field}: {values[field]!r} is not in org-id form (scheme, then the number, such as "
                        "GB-COH-01234567)"
                    )
        value = None
        if values["value"] is not None:
            try:
                value = Decimal(values["value"].replace(",", ""))
            except InvalidOperation:
                problems.append(f"{label}: value: {values['value']!r} is not a number")
            else:
                if value < 0 or not value.is_finite():
                    problems.append(f"{label}: value: must be a positive number")
                elif values["currency"] is None:
                    problems.append(f"{label}: currency is missing: give the currency of the value, such as GBP")
        currency = values["currency"].upper() if values["currency"] else None
        if currency is not None and not _CURRENCY.fullmatch(currency):
            problems.append(f"{label}: currency: {values['currency']!r} is not a three-letter code such as GBP")
        if (
            values["contractor"]
            and values["subcontractor"]
            and name_key(values["contractor"]) == name_key(values["subcontractor"])
        ):
            problems.append(f"{label}: the contractor and the subcontractor are the same organisation")
        links.append(
            FileLink(
                values["ocid"] or "",
                values["contractor"] or "",
                values["contractor_id"],
                values["subcontractor"] or "",
                values["subcontractor_id"],
                values["description"],
                value,
                currency,
                values["source_url"] or "",
                values["source_title"] or "",
                values["date"],
                values["notes"],
            )
        )
    if problems:
        raise ServicesFileError(problems)
    return links


def _node(org: str, party: str, name: str) -> str:
    """SQL: the key of an organisation in a chain (its organisation id, else party id, else its name key)."""
    return f"coalesce({org}, {party}, 'NAME:' || {name_key_sql(name)})"


def build_chains(con: duckdb.DuckDBPyConnection, links: list[FileLink]) -> int:
    """Fill ``subcontract_links`` and ``subcontract_chains``; return the number of chains.

    Runs in the caller's transaction; needs ``tmp_sv_orgparty`` (organisation of each party) and drops its own
    temporary tables.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sc_parent AS
        SELECT DISTINCT r.ocid AS child, r.identifier AS parent
        FROM related_processes AS r
        WHERE list_has_any(r.relationship, ['subContract', 'parent'])
          AND r.identifier <> r.ocid AND r.identifier IN (SELECT ocid FROM processes)
        """
    )
    # Every process of a chain with its root and its level (the level of its suppliers).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_tree AS
        WITH RECURSIVE tree(root, ocid, plevel) AS (
            SELECT DISTINCT parent, parent, 1 FROM tmp_sc_parent
            WHERE parent NOT IN (SELECT child FROM tmp_sc_parent)
            UNION
            SELECT t.root, p.child, t.plevel + 1
            FROM tree AS t JOIN tmp_sc_parent AS p ON p.parent = t.ocid
            WHERE t.plevel < {MAX_LEVELS}
        )
        SELECT root, ocid, min(plevel) AS plevel FROM tree GROUP BY root, ocid
        """
    )
    # The subcontracting details published in processes' awards and bids.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_json AS
        SELECT ocid, latest_release_id, json_transform(text, '{_SHAPE}') AS x
        FROM {ALL_COMPILED_TEXTS}
        WHERE text LIKE '%ubcontract%'
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sc_published AS
        WITH awarded AS (
            SELECT ocid, latest_release_id, unnest(x.awards) AS a FROM tmp_sc_json
        ),
        award_subs AS (
            SELECT ocid, latest_release_id, a.id AS award_id, a.suppliers AS suppliers,
                   a.subcontracting.value.amount AS value_amount, a.subcontracting.value.currency AS value_currency,
                   a.subcontracting.description AS description, unnest(a.subcontracting.subcontracts) AS s
            FROM awarded
        ),
        bids AS (
            SELECT ocid, latest_release_id, unnest(x.bids.details) AS b FROM tmp_sc_json
        ),
        bid_subs AS (
            SELECT ocid, latest_release_id, b.tenderers AS bidders, b.subcontracting.value.amount AS value_amount,
                   b.subcontracting.value.currency AS value_currency, b.subcontracting.description AS description,
                   unnest(b.subcontracting.subcontracts) AS s
            FROM bids
        )
        SELECT ocid, latest_release_id, 'award subcontract' AS source,
               unnest(CASE WHEN len(s.tenderers) > 0 THEN s.tenderers ELSE suppliers END) AS contractor,
               s.subcontractor AS subcontractor, value_amount, value_currency, description
        FROM award_subs WHERE s.subcontractor.id IS NOT NULL OR s.subcontractor.name IS NOT NULL
        UNION ALL
        SELECT ocid, latest_release_id, 'bid subcontract',
               unnest(CASE WHEN len(s.tenderers) > 0 THEN s.tenderers ELSE bidders END), s.subcontractor,
               value_amount, value_currency, description
        FROM bid_subs AS b
        WHERE (s.subcontractor.id IS NOT NULL OR s.subcontractor.name IS NOT NULL)
          AND EXISTS (SELECT 1 FROM award_suppliers AS w, unnest(b.bidders) AS t(bidder)
                      WHERE w.ocid = b.ocid AND (w.party_id = bidder.id OR w.name = bidder.name))
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sc_declared AS
        WITH awarded AS (SELECT ocid, unnest(x.awards) AS a FROM tmp_sc_json)
        SELECT ocid, bool_or(a.hasSubcontracting) AS declared,
               string_agg(DISTINCT a.subcontracting.description, ' '
                   ORDER BY a.subcontracting.description) AS description
        FROM awarded GROUP BY ocid
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_sc_file (position INTEGER, ocid VARCHAR, contractor VARCHAR, contractor_id "
        "VARCHAR, subcontractor VARCHAR, subcontractor_id VARCHAR, description VARCHAR, value DECIMAL(38,6), currency "
        "VARCHAR, source_url VARCHAR, source_title VARCHAR)"
    )
    if links:
        con.executemany(
            "INSERT INTO tmp_sc_file VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    number,
                    link.ocid,
                    link.contractor,
                    identifier_key(link.contractor_id),
                    link.subcontractor,
                    identifier_key(link.subcontractor_id),
                    link.description,
                    link.value,
                    link.currency,
                    link.source_url,
                    link.source_title,
                ]
                for number, link in enumerate(links)
            ],
        )
    # Each process that holds subcontracting facts, with its root and level (a process outside any chain of
    # related processes is its own root, at level 1).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sc_where AS
        SELECT root, ocid, plevel FROM tmp_sc_tree
        UNION
        SELECT ocid, ocid, 1 FROM (
            SELECT ocid FROM tmp_sc_published
            UNION SELECT ocid FROM party_roles WHERE role = 'subcontractor'
            UNION SELECT ocid FROM tmp_sc_declared WHERE declared
            UNION SELECT ocid FROM tmp_sc_file
        ) WHERE ocid NOT IN (SELECT ocid FROM tmp_sc_tree) AND ocid IN (SELECT ocid FROM processes)
        """
    )
    # Organisations as chain nodes: by organisation, else party id, else name.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_suppliers AS
        SELECT s.ocid, s.party_id, s.name, {_node("op.organisation_id", "s.party_id", "s.name")} AS node,
               coalesce(op.org_name, s.name) AS node_name,
               {identifier_key_sql("s.identifier_scheme || '-' || s.identifier_id")} AS id_key,
               {name_key_sql("s.name")} AS name_key
        FROM award_suppliers AS s
        LEFT JOIN tmp_sv_orgparty AS op ON op.ocid = s.ocid AND op.party_id = s.party_id
        WHERE s.ocid IN (SELECT ocid FROM tmp_sc_where)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_edges AS
        -- related processes: the buyer of a subcontract passes the work to its suppliers
        SELECT w.root, w.ocid, {_node("op.organisation_id", "p.buyer_id", "p.buyer_name")} AS contractor_id,
               coalesce(op.org_name, p.buyer_name) AS contractor_name, s.node AS subcontractor_id,
               s.node_name AS subcontractor_name, w.plevel AS level, 'related process' AS source,
               'notice ' || p.latest_release_id || ' of ' || w.ocid || ', a subcontract of '
               || (SELECT string_agg(parent, ', ' ORDER BY parent)
                   FROM tmp_sc_parent WHERE child = w.ocid) AS source_detail,
               NULL::VARCHAR AS source_url, l.current_value_amount::DECIMAL(38,6) AS value_amount,
               l.current_value_currency::VARCHAR AS value_currency,
               coalesce(t.description, p.description, p.title)::VARCHAR AS description
        FROM tmp_sc_where AS w
        JOIN processes AS p USING (ocid)
        LEFT JOIN tenders AS t USING (ocid)
        JOIN tmp_sc_suppliers AS s USING (ocid)
        LEFT JOIN tmp_sv_orgparty AS op ON op.ocid = w.ocid AND op.party_id = p.buyer_id
        LEFT JOIN (SELECT ocid, min(current_value_amount) AS current_value_amount,
                          min(current_value_currency) AS current_value_currency
                   FROM contract_lifecycle WHERE row_type IN ('contract', 'award') GROUP BY ocid) AS l USING (ocid)
        WHERE w.plevel > 1
        UNION ALL
        -- subcontracts published in awards and winning bids
        SELECT w.root, w.ocid,
               coalesce(c.node, {_node("opc.organisation_id", "x.contractor.id", "x.contractor.name")}),
               coalesce(c.node_name, x.contractor.name),
               {_node("ops.organisation_id", "x.subcontractor.id", "x.subcontractor.name")},
               coalesce(ops.org_name, x.subcontractor.name, pa.name, x.subcontractor.id),
               w.plevel + 1, x.source, 'notice ' || x.latest_release_id || ' of ' || x.ocid, NULL,
               x.value_amount::DECIMAL(38,6), x.value_currency, x.description
        FROM tmp_sc_published AS x
        JOIN tmp_sc_where AS w USING (ocid)
        LEFT JOIN tmp_sc_suppliers AS c
               ON c.ocid = x.ocid AND (c.party_id = x.contractor.id OR c.name = x.contractor.name)
        LEFT JOIN tmp_sv_orgparty AS opc ON opc.ocid = x.ocid AND opc.party_id = x.contractor.id
        LEFT JOIN tmp_sv_orgparty AS ops ON ops.ocid = x.ocid AND ops.party_id = x.subcontractor.id
        LEFT JOIN (SELECT * FROM parties WHERE NOT repeated)
               AS pa ON pa.ocid = x.ocid AND pa.party_id = x.subcontractor.id
        UNION ALL
        -- parties in the subcontractor role that no published subcontract names: under every supplier
        SELECT w.root, w.ocid, s.node, s.node_name,
               {_node("op.organisation_id", "pa.party_id", "pa.name")}, coalesce(op.org_name, pa.name),
               w.plevel + 1, 'subcontractor party',
               'notice ' || p.latest_release_id || ' of ' || w.ocid || ' names the party ' || pa.party_id
               || ' as a subcontractor', NULL, NULL, NULL, NULL
        FROM party_roles AS r
        JOIN tmp_sc_where AS w USING (ocid)
        JOIN processes AS p USING (ocid)
        JOIN (SELECT * FROM parties WHERE NOT repeated)
             AS pa ON pa.ocid = r.ocid AND pa.party_id = r.party_id
        JOIN tmp_sc_suppliers AS s ON s.ocid = r.ocid
        LEFT JOIN tmp_sv_orgparty AS op ON op.ocid = r.ocid AND op.party_id = r.party_id
        WHERE r.role = 'subcontractor'
          AND NOT EXISTS (SELECT 1 FROM tmp_sc_published AS x
                          WHERE x.ocid = r.ocid AND x.subcontractor.id = r.party_id)
        """
    )
    # Links of the file, placed below their contractor wherever it is in the chain (file links can chain).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_nodes AS
        SELECT root, node, min(level) AS level, min(id_key) AS id_key, min(name_key) AS name_key
        FROM (
            SELECT w.root, s.node, w.plevel AS level, s.id_key, s.name_key
            FROM tmp_sc_suppliers AS s JOIN tmp_sc_where AS w USING (ocid)
            UNION ALL
            SELECT root, subcontractor_id, level, NULL, {name_key_sql("subcontractor_name")} FROM tmp_sc_edges
        ) GROUP BY root, node
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sc_file_links AS
        SELECT coalesce(w.root, f.ocid) AS root, f.*, {name_key_sql("f.contractor")} AS contractor_key,
               {name_key_sql("f.subcontractor")} AS subcontractor_key
        FROM tmp_sc_file AS f
        LEFT JOIN (SELECT root, ocid FROM tmp_sc_where) AS w ON w.ocid = f.ocid
        WHERE f.ocid IN (SELECT ocid FROM processes)
        """
    )
    con.execute(
        f"""
        INSERT INTO tmp_sc_edges
        WITH RECURSIVE placed(position, level, via_chain) AS (
            SELECT f.position, min(n.level) + 1, TRUE
            FROM tmp_sc_file_links AS f
            JOIN tmp_sc_nodes AS n
              ON n.root = f.root AND (n.id_key = f.contractor_id OR n.name_key = f.contractor_key
                                      OR n.node = f.contractor_id)
            GROUP BY f.position
            UNION
            SELECT g.position, p.level + 1, TRUE
            FROM placed AS p
            JOIN tmp_sc_file_links AS f ON f.position = p.position
            JOIN tmp_sc_file_links AS g
              ON g.root = f.root AND g.position <> f.position
             AND (g.contractor_key = f.subcontractor_key OR g.contractor_id = f.subcontractor_id)
            WHERE p.level < {MAX_LEVELS}
        ),
        levels AS (SELECT position, min(level) AS level FROM placed GROUP BY position)
        SELECT f.root, f.ocid,
               coalesce(n.node, f.contractor_id, 'NAME:' || f.contractor_key), f.contractor,
               coalesce(m.node, f.subcontractor_id, 'NAME:' || f.subcontractor_key), f.subcontractor,
               coalesce(l.level, 2), 'subcontracting file',
               f.source_title || CASE WHEN l.level IS NULL
                   THEN ' (the contractor is not in the chain published for this contract: placed under the prime '
                        || 'contractor)' ELSE '' END,
               f.source_url, f.value, f.currency, f.description
        FROM tmp_sc_file_links AS f
        LEFT JOIN levels AS l USING (position)
        LEFT JOIN tmp_sc_nodes AS n
               ON n.root = f.root AND (n.id_key = f.contractor_id OR n.name_key = f.contractor_key)
        LEFT JOIN tmp_sc_nodes AS m
               ON m.root = f.root AND (m.id_key = f.subcontractor_id OR m.name_key = f.subcontractor_key)
        QUALIFY row_number() OVER (PARTITION BY f.position ORDER BY n.level NULLS LAST, m.level NULLS LAST) = 1
        """
    )
    con.execute("DELETE FROM subcontract_links")
    con.execute(
        """
        INSERT INTO subcontract_links BY NAME
        SELECT * EXCLUDE (root), root AS root_ocid FROM tmp_sc_edges
        WHERE contractor_id IS DISTINCT FROM subcontractor_id
        QUALIFY row_number() OVER (PARTITION BY root, contractor_id, subcontractor_id, source, ocid
                                   ORDER BY level) = 1
        """
    )
    # Chains: the deepest path from a prime contractor down, followed through the links.
    con.execute("DELETE FROM subcontract_chains")
    con.execute(
        f"""
        INSERT INTO subcontract_chains BY NAME
        WITH RECURSIVE roots AS (
            SELECT DISTINCT root_ocid AS root FROM subcontract_links
            UNION SELECT ocid FROM tmp_sc_declared WHERE declared AND ocid NOT IN (SELECT ocid FROM tmp_sc_tree
                                                                                 WHERE plevel > 1)
        ),
        primes AS (
            SELECT r.root, s.node, min(s.node_name) AS name
            FROM roots AS r JOIN tmp_sc_suppliers AS s ON s.ocid = r.root GROUP BY r.root, s.node
        ),
        paths(root, node, ids, names) AS (
            SELECT root, node, [node], [name] FROM primes
            UNION ALL
            SELECT p.root, l.subcontractor_id, list_append(p.ids, l.subcontractor_id),
                   list_append(p.names, l.subcontractor_name)
            FROM paths AS p
            JOIN subcontract_links AS l ON l.root_ocid = p.root AND l.contractor_id = p.node
            WHERE NOT list_contains(p.ids, l.subcontractor_id) AND len(p.ids) < {MAX_LEVELS}
        ),
        deepest AS (
            SELECT root, arg_max(array_to_string(names, ' → '), (len(names), array_to_string(names, ' → ')))
                AS path, max(len(names)) AS path_levels
            FROM paths GROUP BY root
        ),
        linked AS (
            SELECT root_ocid AS root, count(*) AS links, max(level) AS max_level,
                   list(DISTINCT source ORDER BY source) AS sources, list(DISTINCT subcontractor_id) AS subs
            FROM subcontract_links GROUP BY root_ocid
        )
        SELECT r.root AS ocid, p.title, p.buyer_id, p.buyer_name,
               coalesce((SELECT list(name ORDER BY name) FROM primes AS x WHERE x.root = r.root), []) AS primes,
               greatest(coalesce(l.max_level, 1), coalesce(d.path_levels, 1)) - 1 AS depth,
               len(list_distinct(list_concat(
                   coalesce((SELECT list(node ORDER BY node) FROM primes AS x WHERE x.root = r.root), []),
                   coalesce(l.subs, [])))) AS organisations,
               coalesce(l.links, 0) AS links, d.path, coalesce(l.sources, []) AS sources,
               coalesce(c.declared, FALSE) AS declared_subcontracting, c.description AS subcontracting_description
        FROM roots AS r
        JOIN processes AS p ON p.ocid = r.root
        LEFT JOIN linked AS l ON l.root = r.root
        LEFT JOIN deepest AS d ON d.root = r.root
        LEFT JOIN tmp_sc_declared AS c ON c.ocid = r.root
        """
    )
    count = con.execute("SELECT count(*) FROM subcontract_chains").fetchall()[0][0]
    for table in (
        "tmp_sc_parent",
        "tmp_sc_tree",
        "tmp_sc_json",
        "tmp_sc_published",
        "tmp_sc_declared",
        "tmp_sc_file",
        "tmp_sc_where",
        "tmp_sc_suppliers",
        "tmp_sc_edges",
        "tmp_sc_nodes",
        "tmp_sc_file_links",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return count
