"""Assigning contracting processes to statutory service areas: the rules of the taxonomy, run as SQL over the
normalised tables, then the corrections of the overrides file.

The text a rule reads is the process's titles and descriptions (process, tender, awards, contracts) and its item
descriptions; its titles are the titles alone. HTML entities and curly quotes are normalised first, because UK
publishers often send ``Children&#039;s``. CPV codes are those of every item (tender, award, contract) and every
additional classification.

Each assignment names the rule that made it and what it matched (the CPV code, the phrase), so a reader can
see why a process is in an area and correct it.
"""

from __future__ import annotations

import duckdb

from tenderwatch.indicators.base import literal
from tenderwatch.services.overrides import Override
from tenderwatch.services.taxonomy import Rule, Taxonomy
from tenderwatch.util import ocid_slices

NORMALISE_MACRO = """
CREATE OR REPLACE TEMP MACRO tw_sv_norm(t) AS
    regexp_replace(
        replace(replace(replace(replace(replace(replace(replace(replace(coalesce(t, ''),
            '&#039;', ''''), '&#39;', ''''), '&apos;', ''''), '&amp;', '&'), '&quot;', '"'), '’', ''''), '‘', ''''),
            '&nbsp;', ' '),
        '\\s+', ' ', 'g')
"""

# Processes whose texts are gathered in one statement: the ordered aggregates below hold every text of the
# statement in memory (they cannot spill to disk), which for a million processes is several gigabytes.
TEXT_SLICE = 100_000

# The texts of the processes whose ocid is in [$low, $high) ($high NULL: no upper bound), appended to tmp_sv_text.
TEXT_TABLE = """
INSERT INTO tmp_sv_text
WITH parts AS (
    SELECT ocid, title, NULL AS description FROM processes WHERE {slice}
    UNION ALL SELECT ocid, NULL, description FROM processes WHERE {slice}
    UNION ALL SELECT ocid, title, description FROM tenders WHERE {slice}
    UNION ALL SELECT ocid, title, description FROM awards WHERE {slice}
    UNION ALL SELECT ocid, title, description FROM contracts WHERE {slice}
    UNION ALL SELECT ocid, NULL, description FROM items WHERE {slice}
),
texts AS (
    SELECT ocid,
           string_agg(DISTINCT tw_sv_norm(title), ' | ' ORDER BY tw_sv_norm(title))
               FILTER (WHERE nullif(trim(title), '') IS NOT NULL) AS titles,
           string_agg(DISTINCT tw_sv_norm(description), ' | ' ORDER BY tw_sv_norm(description))
               FILTER (WHERE nullif(trim(description), '') IS NOT NULL) AS descriptions
    FROM parts GROUP BY ocid
),
codes AS (
    SELECT ocid, list_sort(list(DISTINCT cpv_code)) AS cpv
    FROM (SELECT ocid, cpv_code FROM items WHERE cpv_code IS NOT NULL AND {slice}
          UNION ALL SELECT ocid, cpv_code FROM item_classifications WHERE cpv_code IS NOT NULL AND {slice})
    GROUP BY ocid
)
SELECT p.ocid, coalesce(x.titles, '') AS titles, concat_ws(' | ', x.titles, x.descriptions) AS body,
       coalesce(k.cpv, []::VARCHAR[]) AS cpv
FROM processes AS p
LEFT JOIN texts AS x USING (ocid)
LEFT JOIN codes AS k USING (ocid)
WHERE {slice}
""".format(slice="ocid >= $low AND ($high IS NULL OR ocid < $high)")


def fill_texts(con: duckdb.DuckDBPyConnection, size: int = TEXT_SLICE) -> None:
    """Make ``tmp_sv_text``: each process's titles, its titles and descriptions (``body``) and its CPV codes,
    ``size`` processes at a time, in order of ocid."""
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_sv_text (ocid VARCHAR, titles VARCHAR, body VARCHAR, cpv VARCHAR[])")
    for low, high in ocid_slices(con, "processes", size):
        con.execute(TEXT_TABLE, {"low": low, "high": high})


def _flags(pattern: str, *, match_case: bool = False) -> str:
    return pattern if match_case else f"(?i){pattern}"


def _any_prefix(prefixes: tuple[str, ...]) -> str:
    """SQL: a lambda telling whether a CPV code starts with one of ``prefixes``."""
    return f"lambda c: list_bool_or(list_transform({literal(list(prefixes))}, lambda x: starts_with(c, x)))"


def _rule_select(
    area_id: str, rule: Rule, area_unless: str | None, exclude: str | None, exclude_cpv: tuple[str, ...] = ()
) -> str:
    """Return a SELECT of (ocid, area_id, rule_id, method, evidence) for the processes one rule matches (the rule's
    description is joined once the first match of each process and area is chosen)."""
    conditions = []
    evidence = []
    if rule.cpv:
        matches = _any_prefix(rule.cpv)
        conditions.append(f"coalesce(list_bool_or(list_transform(cpv, {matches})), FALSE)")
        evidence.append(f"'CPV ' || list_filter(cpv, {matches})[1]")
    for pattern in rule.text:
        regex = literal(_flags(pattern, match_case=rule.match_case))
        conditions.append(f"regexp_matches(body, {regex})")
        evidence.append(f"'\"' || regexp_extract(body, {regex}, 0) || '\"'")
    if rule.title:
        regex = literal(_flags(rule.title, match_case=rule.match_case))
        conditions.append(f"regexp_matches(titles, {regex})")
        evidence.append(f"'\"' || regexp_extract(titles, {regex}, 0) || '\" in the title'")
    for unless in (rule.unless, area_unless):
        if unless:
            conditions.append(f"NOT regexp_matches(body, {literal(_flags(unless))})")
    if exclude:
        conditions.append(f"NOT regexp_matches(titles, {literal(exclude)})")
    if exclude_cpv:
        conditions.append(f"NOT (len(cpv) > 0 AND list_bool_and(list_transform(cpv, {_any_prefix(exclude_cpv)})))")
    return f"""
        SELECT ocid, {literal(area_id)} AS area_id, {literal(rule.rule_id)} AS rule_id,
               {literal(rule.method)} AS method, concat_ws(', ', {", ".join(evidence)}) AS evidence
        FROM tmp_sv_text WHERE {" AND ".join(conditions)}
    """


def exclude_pattern(taxonomy: Taxonomy) -> str | None:
    """Return the expression of the titles that rule a process out, or None."""
    if not taxonomy.exclude_titles:
        return None
    return r"(?i)\b(" + "|".join(taxonomy.exclude_titles) + r")\b"


def match_rules(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """Run every rule of the taxonomy over every process's text: the temporary table ``tmp_sv_matches``, one row per
    rule and process it matches. The texts (``tmp_sv_text``, large) are dropped once read: outside a transaction,
    their memory and disk are given back at once; inside one, only at its end."""
    con.execute(NORMALISE_MACRO)
    fill_texts(con)
    exclude = exclude_pattern(taxonomy)
    selects = [
        _rule_select(area.area_id, rule, area.unless, exclude, taxonomy.exclude_cpv_only)
        for area in taxonomy.areas
        for rule in area.rules
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_sv_matches AS " + " UNION ALL ".join(selects)
        if selects
        else "CREATE OR REPLACE TEMP TABLE tmp_sv_matches (ocid VARCHAR, area_id VARCHAR, rule_id VARCHAR, "
        "method VARCHAR, evidence VARCHAR)"
    )
    con.execute("DROP TABLE IF EXISTS tmp_sv_text")


def assign_processes(
    con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, overrides: list[Override], *, matched: bool = False
) -> int:
    """Fill ``service_assignments`` from the rules and the corrections; return the number of assignments.

    Runs in the caller's transaction. With ``matched``, the rules have been run already (:func:`match_rules`, as
    :func:`tenderwatch.services.build_services` does before its transaction); else they are run first.
    """
    if not matched:
        match_rules(con, taxonomy)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tmp_sv_overrides "
        "(ocid VARCHAR, area_id VARCHAR, action VARCHAR, reason VARCHAR, date VARCHAR)"
    )
    if overrides:
        con.executemany(
            "INSERT INTO tmp_sv_overrides VALUES (?, ?, ?, ?, ?)",
            [[item.ocid, item.area, item.action, item.reason, item.date] for item in overrides],
        )
    con.execute("DELETE FROM service_assignments")
    # One row per process and area: the first rule of the area that matched (in the file's order), unless a
    # correction takes the process out; corrections that put a process in an area come next.
    pairs = [(area, rule) for area in taxonomy.areas for rule in area.rules]
    order = {f"{area.area_id}/{rule.rule_id}": number for number, (area, rule) in enumerate(pairs)}
    described = {f"{area.area_id}/{rule.rule_id}": rule.describe() for area, rule in pairs}
    con.execute("CREATE OR REPLACE TEMP TABLE tmp_sv_rule_order (area_rule VARCHAR, position INTEGER, rule VARCHAR)")
    if order:
        con.executemany(
            "INSERT INTO tmp_sv_rule_order VALUES (?, ?, ?)",
            [[key, value, described[key]] for key, value in order.items()],
        )
    con.execute(
        """
        INSERT INTO service_assignments BY NAME
        WITH firsts AS (  -- a grouping, not a window, so that a large store spills it to disk
            SELECT m.ocid, m.area_id, arg_min(m.rule_id, o.position) AS rule_id,
                   arg_min(m.method, o.position) AS method, arg_min(m.evidence, o.position) AS evidence
            FROM tmp_sv_matches AS m
            JOIN tmp_sv_rule_order AS o ON o.area_rule = m.area_id || '/' || m.rule_id
            GROUP BY m.ocid, m.area_id
        )
        SELECT m.ocid, m.area_id, a.name AS area_name, m.method, m.rule_id, o.rule, m.evidence,
               NULL AS override_reason, p.title, p.buyer_id, p.buyer_name
        FROM firsts AS m
        JOIN tmp_sv_rule_order AS o ON o.area_rule = m.area_id || '/' || m.rule_id
        JOIN service_areas AS a USING (area_id)
        JOIN processes AS p USING (ocid)
        -- a process that copies another (an aggregator's copy of a notice) is in the service as its original
        WHERE m.ocid NOT IN (SELECT ocid FROM process_copies)
          AND NOT EXISTS (SELECT 1 FROM tmp_sv_overrides AS x
                          WHERE x.ocid = m.ocid AND x.area_id = m.area_id AND x.action = 'unassign')
          AND NOT EXISTS (SELECT 1 FROM tmp_sv_overrides AS x
                          WHERE x.ocid = m.ocid AND x.area_id = m.area_id AND x.action = 'assign')
        UNION ALL
        SELECT x.ocid, x.area_id, a.name, 'override', NULL, 'a correction in the overrides file',
               coalesce(x.reason, '') || coalesce(' (' || x.date || ')', ''), x.reason,
               p.title, p.buyer_id, p.buyer_name
        FROM tmp_sv_overrides AS x
        JOIN service_areas AS a USING (area_id)
        JOIN processes AS p USING (ocid)
        WHERE x.action = 'assign'
        """
    )
    for table in ("tmp_sv_matches", "tmp_sv_overrides", "tmp_sv_rule_order"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return con.execute("SELECT count(*) FROM service_assignments").fetchall()[0][0]
