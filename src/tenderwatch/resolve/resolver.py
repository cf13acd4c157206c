"""Resolution: every party of every process mapped to one canonical organisation, and each link explained.

The steps, all set-based SQL over the normalised tables but for the model's scoring and the union of the few
clusters it links:

1. **Parties.** Every organisation named in a process: ``parties`` (with every identifier of
   ``party_identifiers``), and the suppliers, tenderers, buyers and procuring entities that awards, tenders and
   processes name by reference only (OCDS 1.0 and old Contracts Finder data have no ``parties`` array). One row
   per process and party (``organisation_parties``).
2. **Normalisation.** Identifiers per scheme (:mod:`tenderwatch.resolve.identifiers`), names and postcodes
   (:mod:`tenderwatch.resolve.names`), each distinct value once.
3. **Profiles.** Parties with the same normalised name, postcode and identifiers are one *profile*: they are the
   same organisation by construction (the same exact name, and the same address or none at all).
4. **Deterministic links.** Profiles join when they share a registered identifier, a name key and a postcode,
   or a registered company name (a normalised name ending in LTD, PLC, LLP or CIC, which Companies House gives
   to one company at a time). A name never joins two different registered identifiers of one scheme: where a
   name is shared by parties with different company numbers, it links none of them, and a cluster that name
   links would still give two company numbers is undone to its identifier links.
5. **Probabilistic links** (:mod:`tenderwatch.resolve.linkage`) between the clusters left, never across two
   different identifiers of one registered scheme.
6. **Overrides** (:mod:`tenderwatch.resolve.overrides`): split rules keep their parties apart from everything
   else before step 4; merge rules join their parties after it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from tenderwatch.resolve import identifiers as idmod
from tenderwatch.resolve import names as namemod
from tenderwatch.resolve.linkage import ScoredPair, score_profiles
from tenderwatch.resolve.overrides import Overrides, read_overrides
from tenderwatch.resolve.settings import OrganisationSettings

logger = logging.getLogger(__name__)

TABLES = (
    "organisation_parties",
    "organisations",
    "organisation_identifiers",
    "organisation_names",
    "organisation_links",
    "corporate_relations",
    "corporate_groups",
    "group_totals",
)

# Parties grouped per slice of processes (list aggregates are held in memory).
SLICE_ROWS = 200_000
# Legal forms that only a registered company (Companies House) carries: an exact name with one of them names one
# company at a time.
COMPANY_FORMS = ("LTD", "PLC", "LLP", "CIC")
_ENTITY_SCHEMES_SQL = ", ".join(f"'{scheme}'" for scheme in idmod.ENTITY_SCHEMES)
_PREFERENCE_SQL = "[" + ", ".join(f"'{scheme}'" for scheme in idmod.SCHEME_PREFERENCE) + "]"
_LEGAL_FORMS_SQL = "|".join(namemod.LEGAL_FORMS)


@dataclass
class ResolutionResult:
    """What a resolution did."""

    parties: int = 0
    organisations: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    model_links: int = 0
    override_rules: int = 0
    unmatched_rules: list[str] = field(default_factory=list)
    conflicts_undone: int = 0
    groups: int = 0


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the identifier, name and postcode macros on a connection."""
    idmod.install_macros(con)
    namemod.install_macros(con)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create this package's tables where they are missing, from their documented columns."""
    from tenderwatch.store import tables  # noqa: PLC0415

    described = tables()
    for name in TABLES:
        columns = ", ".join(f'"{column.name}" {column.type}' for column in described[name].columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def _collect_parties(con: duckdb.DuckDBPyConnection, *, use_identifiers: bool = True) -> None:
    """Step 1 and 2: tmp_org_parties, one row per process and party, normalised."""
    existing = _existing(con)
    refs = []
    ids = []
    if "parties" in existing:
        refs.append(
            """
            SELECT ocid, coalesce(party_id, '~party:' || position) AS party_key, party_id, name,
                   coalesce(roles, []) AS roles, postal_code, locality, 0 AS rank
            FROM parties
            """
        )
    if "party_identifiers" in existing:
        ids.append("SELECT ocid, party_id AS party_key, scheme, identifier FROM party_identifiers")
    if "award_suppliers" in existing:
        refs.append(
            """
            SELECT ocid, coalesce(party_id, '~supplier:' || name), party_id, name, ['supplier'], NULL, NULL, 1
            FROM award_suppliers WHERE party_id IS NOT NULL OR name IS NOT NULL
            """
        )
        ids.append(
            """
            SELECT ocid, coalesce(party_id, '~supplier:' || name), identifier_scheme, identifier_id
            FROM award_suppliers WHERE identifier_id IS NOT NULL
            """
        )
    if "tenderers" in existing:
        refs.append(
            """
            SELECT ocid, coalesce(party_id, '~tenderer:' || name), party_id, name, ['tenderer'], NULL, NULL, 1
            FROM tenderers WHERE party_id IS NOT NULL OR name IS NOT NULL
            """
        )
        ids.append(
            """
            SELECT ocid, coalesce(party_id, '~tenderer:' || name), identifier_scheme, identifier_id
            FROM tenderers WHERE identifier_id IS NOT NULL
            """
        )
    if "processes" in existing:
        refs.append(
            """
            SELECT ocid, coalesce(buyer_id, '~buyer:' || buyer_name), buyer_id, buyer_name, ['buyer'], NULL, NULL, 1
            FROM processes WHERE buyer_id IS NOT NULL OR buyer_name IS NOT NULL
            """
        )
        ids.append(
            """
            SELECT ocid, coalesce(buyer_id, '~buyer:' || buyer_name), buyer_identifier_scheme, buyer_identifier_id
            FROM processes WHERE buyer_identifier_id IS NOT NULL
            """
        )
    if "tenders" in existing:
        refs.append(
            """
            SELECT ocid, coalesce(procuring_entity_id, '~procuringEntity:' || procuring_entity_name),
                   procuring_entity_id, procuring_entity_name, ['procuringEntity'], NULL, NULL, 1
            FROM tenders WHERE procuring_entity_id IS NOT NULL OR procuring_entity_name IS NOT NULL
            """
        )
    if not refs:
        refs.append(
            "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, []::VARCHAR[], NULL::VARCHAR, "
            "NULL::VARCHAR, 0 WHERE false"
        )
    if not ids or not use_identifiers:
        ids = []
        ids.append("SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR WHERE false")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_refs AS
        SELECT * FROM ({" UNION ALL ".join(refs)})
            AS r(ocid, party_key, party_id, name, roles, postal_code, locality, rank)
        WHERE party_key IS NOT NULL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_ids AS
        WITH raw AS (SELECT DISTINCT * FROM ({" UNION ALL ".join(ids)}) AS i(ocid, party_key, scheme, identifier)),
        distinct_ids AS (SELECT DISTINCT scheme, identifier FROM raw),
        normal AS (SELECT scheme, identifier, tw_org_id(scheme, identifier) AS org_id FROM distinct_ids)
        SELECT DISTINCT r.ocid, r.party_key, n.org_id
        FROM raw AS r JOIN normal AS n
          ON n.scheme IS NOT DISTINCT FROM r.scheme AND n.identifier IS NOT DISTINCT FROM r.identifier
        WHERE n.org_id IS NOT NULL
        """
    )
    # Grouped one slice of processes at a time: list aggregates do not spill to disk, so memory stays bounded. Each
    # table is first put in the order of its slices, so that a slice reads only its own row groups: at a million
    # processes, reading all 6 million rows back from the temporary folder for each of 32 slices took a minute. (The
    # count of slices is cast to the type of hash(): an integer makes the remainder a HUGEINT, fifty times slower.)
    total = con.execute("SELECT count(*) FROM tmp_org_refs").fetchall()[0][0]
    slices = max(1, -(-total // SLICE_ROWS))
    for table in ("tmp_org_refs", "tmp_org_ids"):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_sliced AS "
            f"SELECT *, hash(ocid) % {slices}::UBIGINT AS slice FROM {table} ORDER BY slice"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_sliced RENAME TO {table}")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_grouped (ocid VARCHAR, party_key VARCHAR, party_id VARCHAR,
            name VARCHAR, roles VARCHAR[], identifiers VARCHAR[], postal_code VARCHAR, locality VARCHAR)
        """
    )
    for number in range(slices):
        con.execute(
            """
            INSERT INTO tmp_org_grouped
            WITH refs AS (SELECT * FROM tmp_org_refs WHERE slice = $number),
            grouped AS (
                SELECT ocid, party_key,
                       any_value(party_id) AS party_id,
                       arg_min(name, rank) FILTER (WHERE name IS NOT NULL) AS name,
                       list_sort(list_distinct(flatten(list(roles)))) AS roles,
                       max(postal_code) AS postal_code,
                       max(locality) AS locality
                FROM refs GROUP BY ocid, party_key
            ),
            ids AS (
                SELECT ocid, party_key, list_sort(list(org_id)) AS identifiers
                FROM tmp_org_ids WHERE slice = $number GROUP BY ocid, party_key
            )
            SELECT g.ocid, g.party_key, g.party_id, g.name, g.roles, coalesce(i.identifiers, []::VARCHAR[]),
                   g.postal_code, g.locality
            FROM grouped AS g LEFT JOIN ids AS i USING (ocid, party_key)
            """,
            {"number": number},
        )
    con.execute("DROP TABLE tmp_org_refs")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_parties AS
        WITH names AS (
            SELECT name, tw_org_name(name) AS name_normalised,
                   coalesce(tw_org_name_key(name), tw_org_name(name)) AS name_key
            FROM (SELECT DISTINCT name FROM tmp_org_grouped WHERE name IS NOT NULL)
        ),
        postcodes AS (
            SELECT postal_code, tw_postcode(postal_code) AS postcode
            FROM (SELECT DISTINCT postal_code FROM tmp_org_grouped WHERE postal_code IS NOT NULL)
        )
        SELECT w.ocid, w.party_key, w.party_id, w.name, w.roles, w.identifiers,
               pc.postcode AS postal_code,
               n.name_normalised, n.name_key,
               nullif(upper(trim(w.locality)), '') AS town,
               row_number() OVER (ORDER BY w.ocid, w.party_key) AS row_id
        FROM tmp_org_grouped AS w
        LEFT JOIN names AS n USING (name)
        LEFT JOIN postcodes AS pc USING (postal_code)
        """
    )
    con.execute("DROP TABLE tmp_org_grouped")


def _apply_selectors(con: duckdb.DuckDBPyConnection, overrides: Overrides, result: ResolutionResult) -> None:
    """tmp_org_tags: (row_id, kind, rule) for every party an override rule names."""
    rows = []
    for rule in overrides.rules:
        for selector in rule.selectors:
            rows.append(
                (
                    rule.kind,
                    rule.number,
                    selector.identifier,
                    selector.name,
                    selector.postcode,
                    selector.ocid,
                    selector.party_id,
                )
            )
    schema = pa.schema(
        [
            ("kind", pa.string()),
            ("rule", pa.int64()),
            ("identifier", pa.string()),
            ("name", pa.string()),
            ("postcode", pa.string()),
            ("ocid", pa.string()),
            ("party_id", pa.string()),
        ]
    )
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    selectors = pa.Table.from_arrays(
        [pa.array(list(column), type=item.type) for column, item in zip(columns, schema, strict=True)], schema=schema
    )
    con.register("tmp_org_selectors_arrow", selectors)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_tags AS
        SELECT DISTINCT p.row_id, s.kind, s.rule
        FROM tmp_org_selectors_arrow AS s
        JOIN tmp_org_parties AS p
          ON (s.identifier IS NULL OR list_contains(p.identifiers, s.identifier))
         AND (s.name IS NULL OR p.name_normalised = s.name)
         AND (s.postcode IS NULL OR p.postal_code = s.postcode)
         AND (s.ocid IS NULL OR (p.ocid = s.ocid AND p.party_id = s.party_id))
        """
    )
    con.unregister("tmp_org_selectors_arrow")
    matched = {(kind, rule) for kind, rule in con.execute("SELECT DISTINCT kind, rule FROM tmp_org_tags").fetchall()}
    result.override_rules = len(overrides.rules)
    result.unmatched_rules = [rule.label() for rule in overrides.rules if (rule.kind, rule.number) not in matched]


def _build_profiles(con: duckdb.DuckDBPyConnection) -> None:
    """Step 3: tmp_org_profiles, and each party's profile_id in tmp_org_party_profiles."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_party_tags AS
        SELECT p.row_id,
               coalesce(string_agg(t.rule::VARCHAR, ',' ORDER BY t.rule) FILTER (WHERE t.kind = 'split'), '')
                   AS compartment,
               coalesce(list_sort(list(t.rule) FILTER (WHERE t.kind = 'merge')), []::BIGINT[]) AS merges
        FROM tmp_org_parties AS p LEFT JOIN tmp_org_tags AS t USING (row_id)
        GROUP BY p.row_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_party_profiles AS
        SELECT p.row_id,
               -- a party with neither a usable name nor an identifier is a profile of its own: nothing says it is
               -- the same organisation as another such party (an empty name in one notice and in another, or
               -- only a postcode, which several bodies share)
               dense_rank() OVER (ORDER BY t.compartment, t.merges, p.name_normalised, p.postal_code,
                                           p.identifiers, p.town,
                                           CASE WHEN p.name_normalised IS NULL AND len(p.identifiers) = 0
                                                THEN p.row_id END) AS profile_id,
               t.compartment, t.merges
        FROM tmp_org_parties AS p JOIN tmp_org_party_tags AS t USING (row_id)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_profiles AS
        SELECT pp.profile_id, any_value(pp.compartment) AS compartment, any_value(pp.merges) AS merges,
               any_value(p.name_normalised) AS name_normalised, any_value(p.name_key) AS name_key,
               any_value(p.postal_code) AS postal_code, any_value(p.identifiers) AS identifiers,
               any_value(p.town) AS town, count(*) AS parties,
               nullif(regexp_extract(any_value(p.name_normalised), ' ({_LEGAL_FORMS_SQL})$', 1), '') AS legal_form
        FROM tmp_org_party_profiles AS pp JOIN tmp_org_parties AS p USING (row_id)
        GROUP BY pp.profile_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_profile_ids AS
        SELECT profile_id, split_part(i, '-', 1) || '-' || split_part(i, '-', 2) AS scheme, i AS identifier
        FROM (SELECT profile_id, unnest(identifiers) AS i FROM tmp_org_profiles)
        WHERE split_part(i, '-', 1) || '-' || split_part(i, '-', 2) IN ({_ENTITY_SCHEMES_SQL})
        """
    )


def _build_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Step 4: the keys profiles share (identifier, name and postcode, company name, merge rule)."""
    forms = ", ".join(f"'{form}'" for form in COMPANY_FORMS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_keys AS
        SELECT profile_id, compartment || '|ID|' || unnest(identifiers) AS key, 'id' AS kind FROM tmp_org_profiles
        UNION ALL
        SELECT profile_id, compartment || '|NP|' || name_key || '|' || postal_code, 'name'
        FROM tmp_org_profiles WHERE name_key IS NOT NULL AND postal_code IS NOT NULL
        UNION ALL
        SELECT profile_id, compartment || '|CN|' || name_normalised, 'name'
        FROM tmp_org_profiles WHERE legal_form IN ({forms}) AND length(name_key) >= 2
        UNION ALL
        -- the same normalised name, unless the parties' postcodes are in different districts: then only those in
        -- one district join, and a party without a postcode joins none (it could be any of them)
        SELECT p.profile_id,
               p.compartment || '|NN|' || p.name_normalised
               || CASE WHEN n.districts > 1 THEN '|' || split_part(p.postal_code, ' ', 1) ELSE '' END,
               'name'
        FROM tmp_org_profiles AS p
        JOIN (SELECT compartment, name_normalised, count(DISTINCT split_part(postal_code, ' ', 1)) AS districts
              FROM tmp_org_profiles WHERE name_normalised IS NOT NULL GROUP BY ALL) AS n
          USING (compartment, name_normalised)
        WHERE p.name_normalised IS NOT NULL AND length(p.name_key) >= 2
          AND (n.districts <= 1 OR p.postal_code IS NOT NULL)
        UNION ALL
        SELECT profile_id, 'MERGE|' || unnest(merges), 'merge' FROM tmp_org_profiles
        """
    )
    # A name shared by parties with different registered identifiers of one scheme links none of them.
    con.execute(
        """
        DELETE FROM tmp_org_keys AS k
        WHERE k.kind = 'name'
          AND k.profile_id IN (SELECT profile_id FROM tmp_org_profile_ids)
          AND k.key IN (
              SELECT k2.key FROM tmp_org_keys AS k2 JOIN tmp_org_profile_ids AS i USING (profile_id)
              WHERE k2.kind = 'name' GROUP BY k2.key, i.scheme HAVING count(DISTINCT i.identifier) > 1
          )
        """
    )


def _components(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...]) -> None:
    """tmp_org_det(profile_id, cluster): connected components of profiles over the keys of the given kinds."""
    kinds_sql = ", ".join(f"'{kind}'" for kind in kinds)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_org_det AS SELECT profile_id, profile_id AS cluster FROM tmp_org_profiles"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE tmp_org_edges AS SELECT * FROM tmp_org_keys WHERE kind IN ({kinds_sql})"
    )
    while True:
        changed = con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tmp_org_det_next AS
            WITH key_label AS (
                SELECT e.key, min(d.cluster) AS cluster
                FROM tmp_org_edges AS e JOIN tmp_org_det AS d USING (profile_id)
                GROUP BY e.key
            ),
            best AS (
                SELECT e.profile_id, min(k.cluster) AS cluster
                FROM tmp_org_edges AS e JOIN key_label AS k USING (key) GROUP BY e.profile_id
            )
            SELECT d.profile_id, least(d.cluster, coalesce(b.cluster, d.cluster)) AS cluster
            FROM tmp_org_det AS d LEFT JOIN best AS b USING (profile_id)
            """
        )
        del changed
        count = con.execute(
            """
            SELECT count(*) FROM tmp_org_det_next AS n JOIN tmp_org_det AS d USING (profile_id)
            WHERE n.cluster <> d.cluster
            """
        ).fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_org_det AS SELECT * FROM tmp_org_det_next")
        if not count:
            break
    # Pointer jumping is not needed: min-label propagation converges to the smallest profile id per component.
    con.execute("DROP TABLE IF EXISTS tmp_org_det_next")


def _deterministic_clusters(con: duckdb.DuckDBPyConnection, result: ResolutionResult) -> None:
    _components(con, ("id", "name", "merge"))
    conflicted = con.execute(
        """
        SELECT DISTINCT d.cluster FROM tmp_org_det AS d JOIN tmp_org_profile_ids AS i USING (profile_id)
        GROUP BY d.cluster, i.scheme HAVING count(DISTINCT i.identifier) > 1
        """
    ).fetchall()
    if conflicted:
        # Name links that would join two registered identifiers are undone inside those clusters.
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_org_conflicted (cluster BIGINT)")
        con.executemany("INSERT INTO tmp_org_conflicted VALUES (?)", conflicted)
        removed = con.execute(
            """
            DELETE FROM tmp_org_keys WHERE kind = 'name'
              AND profile_id IN (
                  SELECT profile_id FROM tmp_org_det WHERE cluster IN (SELECT cluster FROM tmp_org_conflicted)
              )
            """
        ).fetchall()
        result.conflicts_undone = len(conflicted)
        del removed
        _components(con, ("id", "name", "merge"))


class _Clusters:
    """Union of deterministic clusters by model links, refusing to join two different registered ids of one
    scheme, or two clusters whose parties all have postcodes in different districts."""

    def __init__(self, ids: dict[int, dict[str, set[str]]], districts: dict[int, set[str]]) -> None:
        self.parent: dict[int, int] = {}
        self.ids = ids
        self.districts = districts

    def find(self, item: int) -> int:
        root = item
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(item, item) != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, left: int, right: int) -> bool:
        a, b = self.find(left), self.find(right)
        if a == b:
            return False
        ids_a, ids_b = self.ids.get(a, {}), self.ids.get(b, {})
        for scheme in set(ids_a) & set(ids_b):
            if not ids_a[scheme] & ids_b[scheme]:
                return False
        districts_a, districts_b = self.districts.get(a, set()), self.districts.get(b, set())
        if districts_a and districts_b and not districts_a & districts_b:
            return False
        keep, drop = (a, b) if a < b else (b, a)
        self.parent[drop] = keep
        self.districts[keep] = districts_a | districts_b
        self.districts.pop(drop, None)
        merged: dict[str, set[str]] = defaultdict(set)
        for source in (ids_a, ids_b):
            for scheme, values in source.items():
                merged[scheme] |= values
        self.ids[keep] = dict(merged)
        self.ids.pop(drop, None)
        return True


def _model_links(
    con: duckdb.DuckDBPyConnection, settings: OrganisationSettings, result: ResolutionResult
) -> list[tuple[ScoredPair, int, int]]:
    """Step 5: score profiles across clusters; return the accepted pairs with their two clusters."""
    records = con.execute(
        """
        SELECT p.profile_id AS unique_id, d.cluster, p.name_key,
               list_sort(list_distinct(string_split(p.name_key, ' '))) AS words,
               p.legal_form,
               split_part(p.name_key, ' ', 1) AS first_word, left(p.name_key, 10) AS name_prefix,
               string_split(p.name_key, ' ')[-1] AS last_word,
               p.postal_code AS postcode, p.town
        FROM tmp_org_profiles AS p JOIN tmp_org_det AS d USING (profile_id)
        WHERE p.name_key IS NOT NULL AND p.compartment = '' AND p.merges = []
        ORDER BY p.profile_id
        """
    ).to_arrow_table()
    clusters = dict(con.execute("SELECT profile_id, cluster FROM tmp_org_det").fetchall())
    ids: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for cluster, scheme, identifier in con.execute(
        "SELECT d.cluster, i.scheme, i.identifier "
        "FROM tmp_org_profile_ids AS i JOIN tmp_org_det AS d USING (profile_id)"
    ).fetchall():
        ids[cluster][scheme].add(identifier)
    districts: dict[int, set[str]] = defaultdict(set)
    for cluster, district in con.execute(
        """
        SELECT DISTINCT d.cluster, split_part(p.postal_code, ' ', 1)
        FROM tmp_org_profiles AS p JOIN tmp_org_det AS d USING (profile_id) WHERE p.postal_code IS NOT NULL
        """
    ).fetchall():
        districts[cluster].add(district)
    union = _Clusters({key: dict(value) for key, value in ids.items()}, dict(districts))
    accepted: list[tuple[ScoredPair, int, int]] = []
    if settings.probabilistic and records.num_rows >= 2:
        pairs = score_profiles(records, threshold=settings.match_threshold, memory_limit=settings.memory_limit)
        for pair in pairs:
            left, right = clusters[pair.left], clusters[pair.right]
            if union.union(left, right):
                accepted.append((pair, left, right))
    mapping = [(cluster, union.find(cluster)) for cluster in set(clusters.values())]
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_org_final_map (cluster BIGINT, final BIGINT)")
    if mapping:
        table = pa.table({"cluster": [m[0] for m in mapping], "final": [m[1] for m in mapping]})
        con.register("tmp_org_map_arrow", table)
        con.execute("INSERT INTO tmp_org_final_map SELECT * FROM tmp_org_map_arrow")
        con.unregister("tmp_org_map_arrow")
    result.model_links = len(accepted)
    return accepted


def _write_tables(
    con: duckdb.DuckDBPyConnection, overrides: Overrides, accepted: list[tuple[ScoredPair, int, int]]
) -> None:
    """Steps 6 and the output: organisation ids, link methods, and the organisation tables."""
    links = pa.table(
        {
            "left_profile": pa.array([pair.left for pair, _, _ in accepted], type=pa.int64()),
            "right_profile": pa.array([pair.right for pair, _, _ in accepted], type=pa.int64()),
            "match_probability": pa.array([pair.match_probability for pair, _, _ in accepted], type=pa.float64()),
            "match_weight": pa.array([pair.match_weight for pair, _, _ in accepted], type=pa.float64()),
        }
    )
    con.register("tmp_org_links_arrow", links)
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_org_model_links AS SELECT * FROM tmp_org_links_arrow")
    con.unregister("tmp_org_links_arrow")
    labels = [(rule.kind, rule.number, rule.label()) for rule in overrides.rules]
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_org_rule_labels (kind VARCHAR, rule BIGINT, label VARCHAR)")
    if labels:
        con.executemany("INSERT INTO tmp_org_rule_labels VALUES (?, ?, ?)", labels)
    # Final cluster of every party, and the organisation id of every final cluster.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_assign AS
        SELECT p.*, pp.profile_id, pp.compartment, pp.merges, d.cluster, coalesce(m.final, d.cluster) AS final
        FROM tmp_org_parties AS p
        JOIN tmp_org_party_profiles AS pp USING (row_id)
        JOIN tmp_org_det AS d USING (profile_id)
        LEFT JOIN tmp_org_final_map AS m USING (cluster)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_org_ids_final AS
        WITH ident AS (
            SELECT final, i AS identifier, count(*) AS n,
                   coalesce(list_position({_PREFERENCE_SQL},
                                          split_part(i, '-', 1) || '-' || split_part(i, '-', 2)), 99) AS preference
            FROM (SELECT final, unnest(identifiers) AS i FROM tmp_org_assign)
            GROUP BY final, i
        ),
        best_id AS (
            SELECT final, arg_min(identifier, (preference, -n, identifier)) AS identifier FROM ident GROUP BY final
        ),
        best_name AS (
            SELECT final, arg_max(name_key, (n, name_key)) AS name_key, arg_max(postal_code, (n, postal_code)) AS pc
            FROM (SELECT final, name_key, postal_code, count(*) AS n FROM tmp_org_assign GROUP BY ALL)
            GROUP BY final
        ),
        candidate AS (
            SELECT c.final,
                   coalesce(b.identifier,
                            'TW-' || upper(left(md5(coalesce(n.name_key, '') || '|' || coalesce(n.pc, '')), 12)))
                       AS candidate,
                   (SELECT count(*) FROM tmp_org_assign AS a WHERE a.final = c.final) AS size
            FROM (SELECT DISTINCT final FROM tmp_org_assign) AS c
            LEFT JOIN best_id AS b USING (final) LEFT JOIN best_name AS n USING (final)
        )
        SELECT final,
               CASE WHEN row_number() OVER (PARTITION BY candidate ORDER BY size DESC, final) = 1 THEN candidate
                    ELSE candidate || '-' || row_number() OVER (PARTITION BY candidate ORDER BY size DESC, final)
               END AS organisation_id
        FROM candidate
        """
    )
    # How each party was matched.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_org_method AS
        WITH cluster_size AS (SELECT cluster, count(*) AS n FROM tmp_org_assign GROUP BY cluster),
        final_size AS (SELECT final, count(*) AS n FROM tmp_org_assign GROUP BY final),
        anchor AS (
            SELECT final, arg_max(cluster, (has_id, n, -cluster)) AS cluster
            FROM (SELECT final, cluster, bool_or(len(identifiers) > 0) AS has_id, count(*) AS n
                  FROM tmp_org_assign GROUP BY final, cluster)
            GROUP BY final
        ),
        model AS (
            SELECT profile, max(match_probability) AS score, arg_max(other, match_probability) AS other
            FROM (SELECT left_profile AS profile, right_profile AS other, match_probability FROM tmp_org_model_links
                  UNION ALL
                  SELECT right_profile, left_profile, match_probability FROM tmp_org_model_links)
            GROUP BY profile
        ),
        model_cluster AS (
            SELECT d.cluster, max(m.score) AS score, arg_max(o.name_normalised, m.score) AS other_name
            FROM model AS m JOIN tmp_org_det AS d ON d.profile_id = m.profile
            JOIN tmp_org_profiles AS o ON o.profile_id = m.other
            GROUP BY d.cluster
        ),
        rules AS (
            SELECT t.row_id, string_agg(l.label, '; ' ORDER BY t.kind DESC, t.rule) AS detail
            FROM tmp_org_tags AS t JOIN tmp_org_rule_labels AS l USING (kind, rule) GROUP BY t.row_id
        )
        SELECT a.row_id,
               CASE
                   WHEN r.detail IS NOT NULL THEN 'override'
                   WHEN len(a.identifiers) > 0 THEN 'identifier'
                   WHEN a.cluster <> an.cluster AND mc.score IS NOT NULL THEN 'model score'
                   WHEN fs.n = 1 THEN 'alone'
                   WHEN cs.n = 1 AND mc.score IS NOT NULL THEN 'model score'
                   WHEN a.postal_code IS NOT NULL THEN 'exact name and postcode'
                   ELSE 'exact name'
               END AS link_method,
               CASE WHEN r.detail IS NULL AND len(a.identifiers) = 0 AND mc.score IS NOT NULL
                         AND (a.cluster <> an.cluster OR cs.n = 1) AND fs.n > 1
                    THEN mc.score END AS link_score,
               CASE
                   WHEN r.detail IS NOT NULL THEN r.detail
                   WHEN len(a.identifiers) > 0 THEN array_to_string(a.identifiers, ', ')
                   WHEN fs.n = 1 THEN NULL
                   WHEN mc.score IS NOT NULL AND (a.cluster <> an.cluster OR cs.n = 1)
                       THEN 'matched with ' || mc.other_name
                   ELSE concat_ws(' at ', a.name_key, a.postal_code)
               END AS link_detail
        FROM tmp_org_assign AS a
        JOIN cluster_size AS cs USING (cluster)
        JOIN final_size AS fs USING (final)
        JOIN anchor AS an USING (final)
        LEFT JOIN model_cluster AS mc ON mc.cluster = a.cluster
        LEFT JOIN rules AS r USING (row_id)
        """
    )
    for name in (
        "organisation_parties",
        "organisations",
        "organisation_identifiers",
        "organisation_names",
        "organisation_links",
    ):
        con.execute(f"DELETE FROM {name}")
    con.execute(
        """
        INSERT INTO organisation_parties BY NAME
        SELECT a.ocid, a.party_id, a.party_key, a.name, a.roles, a.identifiers, a.postal_code, a.name_normalised,
               a.name_key, f.organisation_id, m.link_method, m.link_score, m.link_detail
        FROM tmp_org_assign AS a JOIN tmp_org_method AS m USING (row_id) JOIN tmp_org_ids_final AS f USING (final)
        """
    )
    con.execute(
        """
        INSERT INTO organisation_identifiers BY NAME
        SELECT organisation_id, identifier, split_part(identifier, '-', 1) || '-' || split_part(identifier, '-', 2)
                   AS scheme,
               count(*) AS parties
        FROM (SELECT organisation_id, unnest(identifiers) AS identifier FROM organisation_parties)
        GROUP BY ALL
        """
    )
    con.execute(
        """
        INSERT INTO organisation_names BY NAME
        SELECT organisation_id, name, any_value(name_normalised) AS name_normalised, count(*) AS parties
        FROM organisation_parties WHERE name IS NOT NULL GROUP BY organisation_id, name
        """
    )
    con.execute(
        """
        INSERT INTO organisations BY NAME
        SELECT o.organisation_id,
               (SELECT arg_max(name, (parties, name)) FROM organisation_names AS n
                WHERE n.organisation_id = o.organisation_id) AS name,
               coalesce((SELECT list(identifier ORDER BY parties DESC, identifier) FROM organisation_identifiers AS i
                         WHERE i.organisation_id = o.organisation_id), []) AS identifiers,
               coalesce((SELECT list(name ORDER BY parties DESC, name) FROM organisation_names AS n
                         WHERE n.organisation_id = o.organisation_id), []) AS names,
               o.roles, o.parties, o.processes, o.link_methods
        FROM (
            SELECT organisation_id, list_sort(list_distinct(flatten(list(roles)))) AS roles, count(*) AS parties,
                   count(DISTINCT ocid) AS processes, list_sort(list_distinct(list(link_method))) AS link_methods
            FROM organisation_parties GROUP BY organisation_id
        ) AS o
        """
    )
    con.execute(
        """
        INSERT INTO organisation_links BY NAME
        SELECT f.organisation_id, 'model score' AS method,
               l.name_normalised AS left_name, l.postal_code AS left_postal_code, l.identifiers AS left_identifiers,
               r.name_normalised AS right_name, r.postal_code AS right_postal_code, r.identifiers AS right_identifiers,
               k.match_probability, k.match_weight, NULL AS detail
        FROM tmp_org_model_links AS k
        JOIN tmp_org_profiles AS l ON l.profile_id = k.left_profile
        JOIN tmp_org_profiles AS r ON r.profile_id = k.right_profile
        JOIN tmp_org_det AS d ON d.profile_id = k.left_profile
        JOIN tmp_org_final_map AS m ON m.cluster = d.cluster
        JOIN tmp_org_ids_final AS f ON f.final = m.final
        UNION ALL
        SELECT DISTINCT op.organisation_id, 'override', op.name_normalised, op.postal_code, op.identifiers,
               NULL, NULL, NULL, NULL, NULL, l.label
        FROM tmp_org_tags AS t
        JOIN tmp_org_rule_labels AS l USING (kind, rule)
        JOIN tmp_org_assign AS a USING (row_id)
        JOIN organisation_parties AS op ON op.ocid = a.ocid AND op.party_key = a.party_key
        WHERE t.kind = 'merge'
        """
    )


def resolve(
    con: duckdb.DuckDBPyConnection,
    settings: OrganisationSettings,
    *,
    base: Path | None = None,
    use_identifiers: bool = True,
) -> ResolutionResult:
    """Rebuild the organisation tables (not the groups) in the caller's transaction; see the module docstring.

    ``use_identifiers=False`` ignores every registered identifier, to measure what names alone achieve.
    """
    result = ResolutionResult()
    overrides_path = settings.overrides_file
    if base is not None and not overrides_path.is_absolute():
        overrides_path = base / overrides_path
    overrides = read_overrides(overrides_path)
    install_macros(con)
    _collect_parties(con, use_identifiers=use_identifiers)
    _apply_selectors(con, overrides, result)
    _build_profiles(con)
    _build_keys(con)
    _deterministic_clusters(con, result)
    accepted = _model_links(con, settings, result)
    _write_tables(con, overrides, accepted)
    result.parties, result.organisations = con.execute(
        "SELECT (SELECT count(*) FROM organisation_parties), (SELECT count(*) FROM organisations)"
    ).fetchall()[0]
    result.by_method = dict(
        con.execute("SELECT link_method, count(*) FROM organisation_parties GROUP BY 1 ORDER BY 2 DESC").fetchall()
    )
    for name in (  # every work table: left behind, they held memory the later steps of an analysis needed
        "tmp_org_refs",
        "tmp_org_grouped",
        "tmp_org_ids",
        "tmp_org_parties",
        "tmp_org_profiles",
        "tmp_org_profile_ids",
        "tmp_org_tags",
        "tmp_org_party_tags",
        "tmp_org_party_profiles",
        "tmp_org_keys",
        "tmp_org_edges",
        "tmp_org_det",
        "tmp_org_final_map",
        "tmp_org_model_links",
        "tmp_org_rule_labels",
        "tmp_org_assign",
        "tmp_org_ids_final",
        "tmp_org_method",
        "tmp_org_conflicted",
    ):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return result
