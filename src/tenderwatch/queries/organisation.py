"""Buyer and supplier profiles: spend over time, who they deal with, how they buy, what ends soon, red flags."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tenderwatch.indicators._catalogue import ProcedureSettings, procedure_class
from tenderwatch.queries import (
    BUYER_KEY,
    SUBJECT_KEYS,
    SUPPLIER_KEY,
    Chart,
    buyer_organisation,
    copies_table,
    evidence_of,
    format_money,
    has_table,
    profile_key,
    rows,
    supplier_organisation,
    with_tax,
)


@dataclass
class Profile:
    """A buyer's or a supplier's profile."""

    kind: str
    party_id: str
    name: str
    names_seen: list[str]
    identifiers: list[dict[str, Any]]
    is_demo: bool
    totals: list[dict[str, Any]]
    by_year: list[dict[str, Any]]
    counterparts: list[dict[str, Any]]
    concentration: list[dict[str, Any]]
    procedures: list[dict[str, Any]]
    ending_soon: list[dict[str, Any]]
    processes: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    flags_total: int = 0
    track_record: list[dict[str, Any]] = field(default_factory=list)
    organisation: dict[str, Any] | None = None
    charts: list[Chart] = field(default_factory=list)


# Each organisation with how its parties were matched (link methods and number of parties), as its profile shows
# it; a read snapshot keeps it as ``organisation_summaries``.
SUMMARIES_SQL = """
    SELECT o.*, coalesce(m.link_methods, []) AS link_methods, coalesce(m.parties, 0) AS parties
    FROM organisations AS o
    LEFT JOIN (
        SELECT organisation_id, list(DISTINCT link_method ORDER BY link_method) AS link_methods, count(*) AS parties
        FROM organisation_parties GROUP BY organisation_id
    ) AS m USING (organisation_id)
"""

# Red flags a profile shows (the first by indicator and process); the red-flags list, filtered by the buyer or
# supplier, has them all.
FLAGS_SHOWN = 25

# Contracts still to end that a profile keeps, the soonest first (it shows at most 50 ending within 18 months).
UPCOMING_KEPT = 200

# One row per buyer and per supplier with everything its profile shows (but the contracts ending soon, which
# depend on today's date), nested. ``{only}`` is TRUE to build every profile (a read snapshot stores them in
# ``organisation_pages``) or selects one with the ``$kind`` and ``$party`` parameters.
PAGE_SQL = """
WITH
links AS (
    SELECT 'buyer' AS kind, {buyer_key} AS party_id, p.buyer_id AS raw_id, p.buyer_name AS name, p.is_demo, p.ocid,
           a.award_id, a.value_amount, a.value_currency, coalesce(a.date, p.first_release_date) AS date,
           {supplier_key} AS counterpart_id, s.name AS counterpart_name, a.status,
           -- each supplier's part of the award, as its own profile counts it
           (a.value_amount / greatest(a.supplier_count, 1))::DECIMAL(38, 6) AS part_amount
    FROM {processes} AS p
    {buyer_organisation}
    LEFT JOIN {awards} AS a ON a.ocid = p.ocid
    LEFT JOIN {award_suppliers} AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
    {supplier_organisation}
    WHERE {buyer_key} IS NOT NULL AND {only_buyer}
    UNION ALL
    SELECT 'supplier', {supplier_key}, s.party_id, s.name, p.is_demo, s.ocid, a.award_id,
           (a.value_amount / greatest(a.supplier_count, 1))::DECIMAL(38, 6), a.value_currency,
           coalesce(a.date, p.first_release_date), {buyer_key}, p.buyer_name, a.status,
           (a.value_amount / greatest(a.supplier_count, 1))::DECIMAL(38, 6)
    FROM {award_suppliers} AS s
    JOIN {awards} AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
    JOIN {processes} AS p ON p.ocid = s.ocid
    {supplier_organisation}
    {buyer_organisation}
    WHERE {supplier_key} IS NOT NULL AND {only_supplier}
),
subject_keys AS ({subject_keys}),
copies_seen AS (
    -- a process that copies another (an aggregator's copy of a notice, see process_copies) where the organisation
    -- is in the original too: left out, so that the organisation's facts count the notice once
    SELECT DISTINCT l.kind, l.party_id, l.ocid
    FROM links AS l JOIN {process_copies} AS c ON c.ocid = l.ocid
    JOIN links AS o ON o.kind = l.kind AND o.party_id = l.party_id AND o.ocid = c.original_ocid
),
live AS (
    SELECT * FROM links ANTI JOIN copies_seen USING (kind, party_id, ocid)
    WHERE award_id IS NOT NULL AND status IS DISTINCT FROM 'cancelled' AND status IS DISTINCT FROM 'unsuccessful'
),
awarded AS (
    -- each award once: a buyer has a row of ``links`` for each supplier of an award (a framework's value, given
    -- once for its eighteen suppliers, counts once, not eighteen times)
    SELECT DISTINCT kind, party_id, ocid, award_id, value_amount, value_currency, date FROM live
),
names AS (
    SELECT kind, party_id, list(name ORDER BY n DESC, name) AS names_seen, bool_and(demo) AS is_demo
    FROM (SELECT kind, party_id, name, count(*) AS n, bool_and(is_demo) AS demo FROM links
          WHERE name IS NOT NULL GROUP BY ALL)
    GROUP BY kind, party_id
),
totals AS (
    SELECT kind, party_id, list({{'currency': currency, 'processes': processes, 'awards': awards, 'total': total}}
                                ORDER BY total DESC NULLS LAST, currency) AS totals
    FROM (SELECT kind, party_id, value_currency AS currency, count(DISTINCT ocid) AS processes, count(*) AS awards,
                 sum(value_amount)::DOUBLE AS total FROM awarded GROUP BY ALL)
    GROUP BY kind, party_id
),
by_year AS (
    SELECT kind, party_id, list({{'year': year, 'currency': currency, 'processes': processes, 'total': total}}
                                ORDER BY year, currency) AS by_year
    FROM (SELECT kind, party_id, year(date) AS year, value_currency AS currency, count(DISTINCT ocid) AS processes,
                 sum(value_amount)::DOUBLE AS total FROM awarded WHERE date IS NOT NULL GROUP BY ALL)
    GROUP BY kind, party_id
),
pairs AS (
    -- one spelling of the name, the same every time: a mixed-case one before one in capitals, then alphabetical
    SELECT kind, party_id, counterpart_id,
           arg_min(counterpart_name, (counterpart_name = upper(counterpart_name), counterpart_name))
               FILTER (WHERE counterpart_name IS NOT NULL) AS name,
           value_currency AS currency,
           count(DISTINCT ocid) AS processes, sum(part_amount) AS total
    FROM live GROUP BY kind, party_id, counterpart_id, value_currency
),
shares AS (
    SELECT *, (total / nullif(sum(total) OVER (PARTITION BY kind, party_id, currency), 0))::DECIMAL(38, 12) AS share,
           row_number() OVER (PARTITION BY kind, party_id ORDER BY total DESC NULLS LAST, counterpart_id) AS rank
    FROM pairs
),
counterparts AS (
    SELECT kind, party_id, list({{'counterpart_id': counterpart_id, 'name': name, 'currency': currency,
        'processes': processes, 'total': total::DOUBLE, 'share': share::DOUBLE}} ORDER BY rank) AS counterparts
    FROM shares WHERE rank <= 15 GROUP BY kind, party_id
),
concentration AS (
    SELECT kind, party_id, list({{'currency': currency, 'hhi': hhi, 'counterparts': n}} ORDER BY currency)
           AS concentration
    FROM (SELECT kind, party_id, currency, round(sum(share * share) * 10000) AS hhi, count(*) AS n
          FROM shares WHERE total IS NOT NULL GROUP BY ALL)
    GROUP BY kind, party_id
),
party_processes AS (
    SELECT DISTINCT kind, party_id, ocid FROM links ANTI JOIN copies_seen USING (kind, party_id, ocid)
),
procedures AS (
    -- by kind of procedure: competed, without competition, a call-off, or not known (the procedure's name decides
    -- first, then the OCDS method, as for the red flags; Contracts Finder often gives a name and no method)
    SELECT kind, party_id,
           list({{'method': CASE class WHEN 'competitive' THEN 'competed (open or selective)'
                                       WHEN 'non_competitive' THEN 'without competition (direct or limited)'
                                       WHEN 'call_off' THEN 'call-off from a framework or dynamic purchasing system'
                                       ELSE 'not stated' END,
                  'class': class, 'processes': n, 'amended': amended}} ORDER BY n DESC, class) AS procedures
    FROM (SELECT o.kind, o.party_id, coalesce({procedure_class}, 'unknown') AS class, count(*) AS n,
                 count(*) FILTER (WHERE c.amendments > 0) AS amended
          FROM party_processes AS o LEFT JOIN {tenders} AS t USING (ocid)
          LEFT JOIN (SELECT ocid, sum(amendment_count) AS amendments FROM {contracts} GROUP BY ocid) AS c USING (ocid)
          GROUP BY ALL)
    GROUP BY kind, party_id
),
recent AS (
    SELECT o.kind, o.party_id, p.ocid, p.title, p.last_release_date, p.buyer_name,
           (SELECT count(*) FROM {flags} AS f WHERE f.ocid = p.ocid) AS flags,
           row_number() OVER (PARTITION BY o.kind, o.party_id ORDER BY p.last_release_date DESC NULLS LAST, p.ocid)
               AS rank
    FROM party_processes AS o JOIN {processes} AS p USING (ocid)
),
process_list AS (
    SELECT kind, party_id, list({{'ocid': ocid, 'title': title, 'date': last_release_date::DATE::VARCHAR,
        'buyer_name': buyer_name, 'flags': flags}} ORDER BY rank) AS processes
    FROM recent WHERE rank <= 100 GROUP BY kind, party_id
),
upcoming AS (
    -- contracts still to end (or still able to be extended), the soonest first: the page shows those ending
    -- within 18 months of the day it is read. From the contract lifecycle, so that an award whose contract has not
    -- been published yet counts too (a Find a Tender award notice gives the contract's dates before the contract
    -- details notice does). Ranked first, so that only the kept ones are listed (a list is held in memory; a
    -- ranking can spill to disk).
    SELECT kind, party_id, list(contract ORDER BY rank) AS upcoming
    FROM (
        SELECT o.kind, o.party_id,
               {{'ocid': l.ocid, 'title': p.title, 'contract_id': coalesce(l.contract_id, l.award_id),
                 'period_end': l.current_end_date, 'max_extent': l.max_extent_date::DATE::VARCHAR,
                 'value_amount': l.current_value_amount, 'value_currency': l.current_value_currency,
                 'value_includes_tax': l.current_value_includes_tax}} AS contract,
               row_number() OVER (PARTITION BY o.kind, o.party_id
                                  ORDER BY l.current_end_date, l.ocid, coalesce(l.contract_id, l.award_id)) AS rank
        FROM party_processes AS o JOIN {contract_lifecycle} AS l USING (ocid) JOIN {processes} AS p USING (ocid)
        WHERE l.row_type IN ('contract', 'award') AND l.current_end_date >= current_date - INTERVAL 1 DAY
          AND NOT l.terminated AND l.status <> 'cancelled'
    )
    WHERE rank <= {UPCOMING_KEPT}
    GROUP BY kind, party_id
),
party_flags AS (
    -- each flag by its row in ``flags``: the ranking carries what orders the flags, and only the flags shown are
    -- read again whole (their evidence is most of their size)
    SELECT kind, party_id, flag_row,
           -- the sentence breaks ties (the tenderers of one process flagged by one indicator), so that a profile
           -- lists the same flags in the same order every time it is made
           row_number() OVER (PARTITION BY kind, party_id ORDER BY code, ocid NULLS FIRST, subject, sentence) AS rank
    FROM (
        SELECT o.kind, o.party_id, f.flag_row, f.code, f.subject, f.ocid, f.sentence
        FROM party_processes AS o JOIN {flag_rows} AS f USING (ocid)
        UNION
        SELECT CASE WHEN f.subject IN ('buyer', 'procuring_entity') THEN 'buyer' ELSE 'supplier' END,
               coalesce(k.profile_key, f.subject_id), f.flag_row, f.code, f.subject, f.ocid, f.sentence
        FROM (SELECT rowid AS flag_row, * FROM flags) AS f LEFT JOIN subject_keys AS k USING (subject_id)
        WHERE f.subject <> 'process' AND {only_subject}
    )
),
flag_list AS (
    SELECT n.kind, n.party_id, n.flags_total,
           list({{'code': f.code, 'subject': f.subject, 'ocid': f.ocid, 'title': p.title, 'value': f.value,
                  'evidence': f.evidence, 'sentence': f.sentence}} ORDER BY g.rank)
               FILTER (WHERE f.flag_row IS NOT NULL) AS flags
    FROM (SELECT kind, party_id, count(*) AS flags_total FROM party_flags GROUP BY kind, party_id) AS n
    LEFT JOIN party_flags AS g ON g.kind = n.kind AND g.party_id = n.party_id AND g.rank <= {FLAGS_SHOWN}
    LEFT JOIN (SELECT rowid AS flag_row, * FROM flags) AS f ON f.flag_row = g.flag_row
    -- the titles of the processes of the flags shown, from the whole table (a tenderer's flags name processes
    -- beyond those a slice of profiles reads), looked up for those alone
    LEFT JOIN (SELECT ocid, title FROM processes
               WHERE ocid IN (SELECT f.ocid FROM party_flags AS s JOIN (SELECT rowid AS flag_row, ocid FROM flags) AS f
                              USING (flag_row) WHERE s.rank <= {FLAGS_SHOWN})) AS p ON p.ocid = f.ocid
    GROUP BY n.kind, n.party_id, n.flags_total
),
identifiers AS (
    SELECT kind, party_id,
           list({{'scheme': scheme, 'identifier': identifier}} ORDER BY scheme, identifier) AS identifiers
    FROM (SELECT DISTINCT o.kind, o.party_id, i.scheme, i.identifier
          FROM (SELECT DISTINCT kind, party_id, raw_id, ocid FROM links) AS o
          JOIN {party_identifiers} AS i ON i.ocid = o.ocid AND i.party_id = o.raw_id)
    GROUP BY kind, party_id
),
scored AS (
    -- the composite scores of the profile's processes: the organisation's own, whatever id each notice gave it
    SELECT o.kind, o.party_id, o.ocid, s.flags_raised, s.score, s.value_amount, s.value_currency
    FROM party_processes AS o JOIN {process_scores} AS s USING (ocid)
),
at_stake AS (
    SELECT kind, party_id, list({{'amount': amount::DOUBLE, 'currency': currency}} ORDER BY amount DESC, currency)
           AS at_stake
    FROM (SELECT kind, party_id, value_currency AS currency, sum(value_amount) AS amount FROM scored
          WHERE flags_raised > 0 AND value_amount IS NOT NULL GROUP BY ALL)
    GROUP BY kind, party_id
),
scores AS (
    SELECT c.kind, c.party_id,
           [{{'processes': c.processes, 'flagged_processes': c.flagged_processes, 'mean_score': c.mean_score,
              'at_stake': coalesce(a.at_stake, [])}}] AS scores
    FROM (SELECT kind, party_id, count(*) AS processes, count(*) FILTER (WHERE flags_raised > 0) AS flagged_processes,
                 avg(score::DECIMAL(38, 15))::DOUBLE AS mean_score
          FROM scored GROUP BY kind, party_id) AS c
    LEFT JOIN at_stake AS a USING (kind, party_id)
)
SELECT n.kind, n.party_id, n.names_seen[1] AS name, n.names_seen, n.is_demo,
       coalesce(i.identifiers, []) AS identifiers, coalesce(t.totals, []) AS totals,
       coalesce(y.by_year, []) AS by_year,
       coalesce(c.counterparts, []) AS counterparts, coalesce(h.concentration, []) AS concentration,
       coalesce(r.procedures, []) AS procedures, coalesce(l.processes, []) AS processes,
       coalesce(f.flags, []) AS flags, coalesce(f.flags_total, 0) AS flags_total, coalesce(s.scores, []) AS scores,
       coalesce(u.upcoming, []) AS upcoming
FROM names AS n
LEFT JOIN identifiers AS i USING (kind, party_id)
LEFT JOIN totals AS t USING (kind, party_id)
LEFT JOIN by_year AS y USING (kind, party_id)
LEFT JOIN counterparts AS c USING (kind, party_id)
LEFT JOIN concentration AS h USING (kind, party_id)
LEFT JOIN procedures AS r USING (kind, party_id)
LEFT JOIN process_list AS l USING (kind, party_id)
LEFT JOIN flag_list AS f USING (kind, party_id)
LEFT JOIN scores AS s USING (kind, party_id)
LEFT JOIN upcoming AS u USING (kind, party_id)
WHERE {only}
"""


def page_sql(
    parties: str | None = None,
    *,
    ocids: str | None = None,
    subject_keys: str | None = None,
    copies: str = "process_copies",
) -> str:
    """Return the profile query: for the party ids in the table ``parties`` (every buyer and supplier among them),
    or by default for the one given by the ``$kind`` and ``$party`` parameters.

    ``ocids``, a table of the processes those parties took part in, lets every table be read for those processes
    only (a read snapshot builds profiles a slice at a time this way); ``subject_keys``, a table made from
    SUBJECT_KEYS, saves working it out again for each slice. ``copies`` is what to read the processes that copy
    another from (see :func:`tenderwatch.queries.copies_table`).
    """

    def scoped(table: str, columns: str = "*") -> str:
        if ocids:
            return f"(SELECT {columns} FROM {table} WHERE ocid IN (SELECT ocid FROM {ocids}))"
        return table if columns == "*" else f"(SELECT {columns} FROM {table})"

    tables = {
        name: scoped(name)
        for name in (
            "processes",
            "awards",
            "award_suppliers",
            "tenders",
            "contracts",
            "flags",
            "party_identifiers",
            "process_scores",
            "contract_lifecycle",
        )
    }
    # the flags with their row in the table, by which a profile finds again the flags it shows
    tables["flag_rows"] = scoped("flags", "rowid AS flag_row, *")
    matched = scoped("organisation_parties")
    keys = {
        "buyer_key": BUYER_KEY,
        "supplier_key": SUPPLIER_KEY,
        "buyer_organisation": buyer_organisation(matched),
        "supplier_organisation": supplier_organisation(matched),
        "subject_keys": f"SELECT * FROM {subject_keys}" if subject_keys else SUBJECT_KEYS,
        "UPCOMING_KEPT": UPCOMING_KEPT,
        "procedure_class": procedure_class(
            ProcedureSettings(), "t.procurement_method", "t.procurement_method_details"
        ),
        "FLAGS_SHOWN": FLAGS_SHOWN,
        "process_copies": copies,
        **tables,
    }
    if parties:
        return PAGE_SQL.format(
            only="TRUE",
            only_buyer=f"{BUYER_KEY} IN (SELECT party_id FROM {parties})",
            only_supplier=f"{SUPPLIER_KEY} IN (SELECT party_id FROM {parties})",
            only_subject=f"coalesce(k.profile_key, subject_id) IN (SELECT party_id FROM {parties})",
            **keys,
        )
    return PAGE_SQL.format(
        only="n.kind = $kind AND n.party_id = $party",
        only_buyer=f"$kind = 'buyer' AND {BUYER_KEY} = $party",
        only_supplier=f"$kind = 'supplier' AND {SUPPLIER_KEY} = $party",
        only_subject="coalesce(k.profile_key, subject_id) = $party",
        **keys,
    )


def profile(
    con: duckdb.DuckDBPyConnection, kind: str, party_id: str, tables: frozenset[str] | None = None
) -> Profile | None:
    """Return the profile of a buyer or supplier by party id, or None if it is not in the store.

    A read snapshot holds every profile ready made (``organisation_pages``); on a store, it is computed.
    """
    found = _page(con, kind, party_id, tables)
    if not found:
        # a published party id or a registered identifier leads to the organisation's profile when it names one
        key, _ = profile_key(con, kind, party_id)
        if key is None or key == party_id:
            return None
        party_id = key
        found = _page(con, kind, party_id, tables)
        if not found:
            return None
    page = found[0]
    for row in page["totals"]:
        row["total_text"] = format_money(row["total"], row["currency"])
    for row in page["counterparts"]:
        row["total_text"] = format_money(row["total"], row["currency"])
    for flag in page["flags"]:
        flag["evidence"] = evidence_of(flag["evidence"])
    now = datetime.datetime.now(datetime.UTC)
    ending_soon = [
        {key: value for key, value in row.items() if key != "period_end"}
        | {"ends": row["period_end"].date().isoformat()}
        for row in page["upcoming"]
        if row["period_end"] is not None and now <= row["period_end"] <= now + datetime.timedelta(days=548)
    ][:50]
    for row in ending_soon:
        money = format_money(row.pop("value_amount"), row.pop("value_currency"))
        row["value"] = with_tax(money, row.pop("value_includes_tax", None))
    organisation = organisation_of(con, kind, party_id, tables)
    identifiers = [f"{item['scheme']}-{item['identifier']}" for item in page["identifiers"] if item.get("scheme")]
    track_record = track_record_of(con, identifiers, page["names_seen"] or [page["name"]], organisation, tables)
    result = Profile(
        kind=kind,
        party_id=party_id,
        name=page["name"],
        names_seen=page["names_seen"],
        identifiers=page["identifiers"],
        is_demo=bool(page["is_demo"]),
        totals=page["totals"],
        by_year=page["by_year"],
        counterparts=page["counterparts"],
        concentration=page["concentration"],
        procedures=page["procedures"],
        ending_soon=ending_soon,
        processes=page["processes"],
        flags=page["flags"],
        scores=page["scores"],
        flags_total=page["flags_total"],
        track_record=track_record,
        organisation=organisation,
    )
    result.charts = _charts(result)
    return result


def _page(con: duckdb.DuckDBPyConnection, kind: str, key: str, tables: frozenset[str] | None) -> list[dict[str, Any]]:
    if has_table(con, "organisation_pages", tables):
        # by party id alone, so the lookup uses the index; a buyer and a supplier can share a key. Each page is the
        # JSON text of the row the page query gives; its times come back as datetimes.
        found = con.execute("SELECT kind, page FROM organisation_pages WHERE party_id = ?", [key]).fetchall()
        pages = [json.loads(page) for found_kind, page in found if found_kind == kind]
        for page in pages:
            for row in page["upcoming"]:
                if row["period_end"] is not None:
                    row["period_end"] = datetime.datetime.fromisoformat(row["period_end"])
        return pages
    return rows(con, page_sql(copies=copies_table(con, tables)), {"kind": kind, "party": key})


def organisation_of(
    con: duckdb.DuckDBPyConnection, kind: str, party_id: str, tables: frozenset[str] | None = None
) -> dict[str, Any] | None:
    """Return the canonical organisation a buyer's or supplier's party id was matched to, with its corporate group
    and how it was matched (the most common organisation when the id was matched to several), or None."""
    if not has_table(con, "organisation_parties", tables) or not has_table(con, "organisations", tables):
        return None
    role = "buyer" if kind == "buyer" else "supplier"
    columns = """o.organisation_id, o.name, o.identifiers, o.names, o.processes, o.parent_id, o.parent_name,
                 o.ultimate_parent_id, o.ultimate_parent_name, o.group_id, o.group_name, o.group_source"""
    # a profile key is an organisation id: one lookup by it (by index in a read snapshot, which keeps the summaries)
    source = "organisation_summaries" if has_table(con, "organisation_summaries", tables) else f"({SUMMARIES_SQL})"
    found = rows(
        con,
        f"SELECT {columns}, o.link_methods, o.parties FROM {source} AS o WHERE o.organisation_id = ?",
        [party_id],
    )
    if found:
        return found[0]
    # else a party id as published: the organisation most of its parties were matched to
    found = rows(
        con,
        f"""
        SELECT {columns}, list(DISTINCT op.link_method ORDER BY op.link_method) AS link_methods, count(*) AS parties
        FROM organisation_parties AS op JOIN organisations AS o USING (organisation_id)
        WHERE op.party_id = ? AND list_contains(op.roles, ?)
        GROUP BY ALL ORDER BY parties DESC, o.organisation_id LIMIT 1
        """,
        [party_id, role],
    )
    return found[0] if found else None


def track_record_of(
    con: duckdb.DuckDBPyConnection,
    identifiers: list[str],
    names: list[str],
    organisation: dict[str, Any] | None = None,
    tables: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Return the track record of an organisation and its group, oldest first: events of the register (each with
    its public source) and events found in the notices (each with its notice)."""
    if not (has_table(con, "track_record", tables) or has_table(con, "derived_events", tables)):
        return []
    from tenderwatch.records import track_record_for  # noqa: PLC0415

    identifiers = list(identifiers)
    names = [name for name in names if name]
    group = None
    if organisation:
        identifiers += list(organisation.get("identifiers") or [])
        names += list(organisation.get("names") or [])
        group = organisation.get("group_name")
    events = track_record_for(con, identifiers, names, group, tables=tables)
    for event in events:
        event["date"] = event["event_date"].isoformat() if event.get("event_date") else None
        if event.get("amount") is not None:
            event["amount_text"] = format_money(event["amount"], event.get("currency"))
    return events


def _charts(result: Profile) -> list[Chart]:
    charts = []
    main = result.totals[0]["currency"] if result.totals else None
    years = [row for row in result.by_year if row["currency"] == main and row["total"] is not None]
    if years:
        spec = {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "width": 480,
            "height": 180,
            "data": {"values": [{"year": str(row["year"]), "total": float(row["total"])} for row in years]},
            "mark": {"type": "bar", "color": "#1d4f91"},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": None},
                "y": {
                    "field": "total",
                    "type": "quantitative",
                    "title": f"awarded ({main})",
                    "axis": {"format": "~s"},
                },
            },
        }
        title = "Spend by year" if result.kind == "buyer" else "Contracts won by year"
        table = [[row["year"], row["processes"], format_money(row["total"], main)] for row in years]
        charts.append(Chart(title, spec, ["year", "processes", "value"], table))
    top = [row for row in result.counterparts if row["currency"] == main and row["total"]][:10]
    if top:
        spec = {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "width": 480,
            "height": 24 * len(top),
            "data": {"values": [{"name": row["name"] or row["counterpart_id"], "share": row["share"]} for row in top]},
            "mark": {"type": "bar", "color": "#7a2e8c"},
            "encoding": {
                "y": {"field": "name", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": "share", "type": "quantitative", "title": "share of value", "axis": {"format": "%"}},
            },
        }
        title = "Top suppliers" if result.kind == "buyer" else "Top buyers"
        table = [[row["name"], row["processes"], row["total_text"], f"{(row['share'] or 0):.0%}"] for row in top]
        charts.append(Chart(title, spec, ["name", "processes", "value", "share"], table))
    return charts


@dataclass
class GroupProfile:
    """A corporate group: its companies found in the data, their awards rolled up, and the group's record."""

    group_id: str
    name: str
    ultimate_parent_name: str | None
    source: str | None
    source_url: str | None
    members: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    track_record: list[dict[str, Any]] = field(default_factory=list)


def group_profile(
    con: duckdb.DuckDBPyConnection, group_id: str, tables: frozenset[str] | None = None
) -> GroupProfile | None:
    """Return a corporate group's profile by its id (see ``corporate_groups``), or None."""
    if not has_table(con, "corporate_groups", tables):
        return None
    found = rows(con, "SELECT * FROM corporate_groups WHERE group_id = ?", [group_id])
    if not found:
        return None
    group = found[0]
    members = rows(
        con,
        """
        SELECT o.organisation_id, o.name, o.parent_name, o.processes, o.roles,
               CASE WHEN list_contains(o.roles, 'supplier') THEN o.organisation_id END AS supplier_id,
               CASE WHEN list_contains(o.roles, 'buyer') THEN o.organisation_id END AS buyer_id
        FROM organisations AS o WHERE o.group_id = ? ORDER BY o.processes DESC, o.name
        """,
        [group_id],
    )
    totals = (
        rows(
            con,
            "SELECT role, year, currency, organisations, processes, awards, amount FROM group_totals "
            "WHERE group_id = ? ORDER BY role DESC, year, currency",
            [group_id],
        )
        if has_table(con, "group_totals", tables)
        else []
    )
    for row in totals:
        row["amount_text"] = format_money(row["amount"], row["currency"])
    identifiers = [item for member in members for item in [member["organisation_id"]] if item]
    names = [group["name"], group["ultimate_parent_name"], *(member["name"] for member in members)]
    track_record = track_record_of(
        con, identifiers, [name for name in names if name], {"group_name": group["name"]}, tables
    )
    return GroupProfile(
        group_id=group_id,
        name=group["name"],
        ultimate_parent_name=group["ultimate_parent_name"],
        source=group["source"],
        source_url=group["source_url"],
        members=members,
        totals=totals,
        track_record=track_record,
    )
