"""Buyer and supplier profiles: spend over time, who they deal with, how they buy, what ends soon, red flags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tenderwatch.queries import Chart, format_money, has_table, rows

# Awards that count as money committed.
LIVE_AWARD = "a.status IS DISTINCT FROM 'cancelled' AND a.status IS DISTINCT FROM 'unsuccessful'"


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
    track_record: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


def _awards_of(kind: str) -> str:
    """The awards of a buyer (through its processes) or of a supplier (as award supplier)."""
    if kind == "buyer":
        return f"""
            SELECT a.ocid, a.award_id, a.value_amount, a.value_currency,
                   coalesce(a.date, p.first_release_date) AS date,
                   s.party_id AS counterpart_id, s.name AS counterpart_name, p.buyer_name
            FROM processes AS p JOIN awards AS a USING (ocid)
            LEFT JOIN award_suppliers AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
            WHERE p.buyer_id = ? AND {LIVE_AWARD}
        """
    return f"""
        SELECT a.ocid, a.award_id, a.value_amount / greatest(a.supplier_count, 1) AS value_amount, a.value_currency,
               coalesce(a.date, p.first_release_date) AS date, p.buyer_id AS counterpart_id,
               p.buyer_name AS counterpart_name, p.buyer_name
        FROM award_suppliers AS s JOIN awards AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
        JOIN processes AS p ON p.ocid = a.ocid
        WHERE s.party_id = ? AND {LIVE_AWARD}
    """


def profile(con: duckdb.DuckDBPyConnection, kind: str, party_id: str) -> Profile | None:
    """Return the profile of a buyer or supplier by party id, or None if it is not in the store."""
    if kind == "buyer":
        names = rows(
            con,
            "SELECT buyer_name AS name, count(*) AS n, bool_and(is_demo) AS demo FROM processes WHERE buyer_id = ? "
            "GROUP BY ALL ORDER BY n DESC, name",
            [party_id],
        )
    else:
        names = rows(
            con,
            "SELECT s.name, count(*) AS n, bool_and(p.is_demo) AS demo FROM award_suppliers AS s "
            "JOIN processes AS p USING (ocid) WHERE s.party_id = ? GROUP BY ALL ORDER BY n DESC, s.name",
            [party_id],
        )
    if not names:
        return None
    awards = _awards_of(kind)
    totals = rows(
        con,
        f"""
        SELECT value_currency AS currency, count(DISTINCT ocid) AS processes, count(*) AS awards,
               sum(value_amount) AS total
        FROM ({awards}) GROUP BY ALL ORDER BY total DESC NULLS LAST
        """,
        [party_id],
    )
    for row in totals:
        row["total_text"] = format_money(row["total"], row["currency"])
    by_year = rows(
        con,
        f"""
        SELECT year(date) AS year, value_currency AS currency, count(DISTINCT ocid) AS processes,
               sum(value_amount) AS total
        FROM ({awards}) WHERE date IS NOT NULL GROUP BY ALL ORDER BY year, currency
        """,
        [party_id],
    )
    counterparts = rows(
        con,
        f"""
        WITH x AS ({awards})
        SELECT counterpart_id, any_value(counterpart_name) AS name, value_currency AS currency,
               count(DISTINCT ocid) AS processes, sum(value_amount) AS total,
               sum(value_amount) / nullif(sum(sum(value_amount)) OVER (PARTITION BY value_currency), 0) AS share
        FROM x GROUP BY counterpart_id, value_currency
        ORDER BY total DESC NULLS LAST, counterpart_id LIMIT 15
        """,
        [party_id],
    )
    for row in counterparts:
        row["total_text"] = format_money(row["total"], row["currency"])
    concentration = rows(
        con,
        f"""
        WITH x AS ({awards}),
        shares AS (
            SELECT value_currency, counterpart_id,
                   sum(value_amount) / nullif(sum(sum(value_amount)) OVER (PARTITION BY value_currency), 0) AS share
            FROM x WHERE value_amount IS NOT NULL GROUP BY value_currency, counterpart_id
        )
        SELECT value_currency AS currency, round(sum(share * share) * 10000) AS hhi, count(*) AS counterparts
        FROM shares GROUP BY value_currency ORDER BY currency
        """,
        [party_id],
    )
    ocids_sql = (
        "SELECT ocid FROM processes WHERE buyer_id = ?"
        if kind == "buyer"
        else "SELECT DISTINCT ocid FROM award_suppliers WHERE party_id = ?"
    )
    procedures = rows(
        con,
        f"""
        SELECT coalesce(t.procurement_method, 'not stated') AS method, count(*) AS processes,
               count(*) FILTER (WHERE c.amendment_count > 0) AS amended
        FROM ({ocids_sql}) AS o LEFT JOIN tenders AS t USING (ocid)
        LEFT JOIN (SELECT ocid, sum(amendment_count) AS amendment_count FROM contracts GROUP BY ocid) AS c USING (ocid)
        GROUP BY ALL ORDER BY processes DESC, method
        """,
        [party_id],
    )
    ending_soon = rows(
        con,
        f"""
        SELECT c.ocid, p.title, c.contract_id, c.period_end::DATE::VARCHAR AS ends,
               c.period_max_extent::DATE::VARCHAR AS max_extent, c.value_amount, c.value_currency
        FROM ({ocids_sql}) AS o JOIN contracts AS c USING (ocid) JOIN processes AS p USING (ocid)
        WHERE c.period_end BETWEEN now() AND now() + INTERVAL 18 MONTH
          AND c.status IS DISTINCT FROM 'terminated' AND c.status IS DISTINCT FROM 'cancelled'
        ORDER BY c.period_end, c.ocid LIMIT 50
        """,
        [party_id],
    )
    for row in ending_soon:
        row["value"] = format_money(row.pop("value_amount"), row.pop("value_currency"))
    processes = rows(
        con,
        f"""
        SELECT p.ocid, p.title, p.last_release_date::DATE::VARCHAR AS date, p.buyer_name,
               (SELECT count(*) FROM flags AS f WHERE f.ocid = p.ocid) AS flags
        FROM ({ocids_sql}) AS o JOIN processes AS p USING (ocid)
        ORDER BY p.last_release_date DESC NULLS LAST, p.ocid LIMIT 100
        """,
        [party_id],
    )
    subjects = ["buyer", "procuring_entity"] if kind == "buyer" else ["supplier", "tenderer"]
    flags = rows(
        con,
        f"""
        SELECT code, subject, ocid, value, evidence, sentence FROM flags
        WHERE (list_contains(?, subject) AND subject_id = ?) OR ocid IN ({ocids_sql})
        ORDER BY code, ocid NULLS FIRST LIMIT 200
        """,
        [subjects, party_id, party_id],
    )
    for flag in flags:
        flag["evidence"] = json.loads(flag["evidence"]) if flag["evidence"] else {}
    scores = rows(
        con,
        "SELECT processes, flagged_processes, mean_score, value_at_risk, currency FROM organisation_scores "
        "WHERE subject = ? AND subject_id = ? ORDER BY currency",
        ["buyer" if kind == "buyer" else "supplier", party_id],
    )
    identifiers = rows(
        con,
        f"""
        SELECT DISTINCT i.scheme, i.identifier FROM party_identifiers AS i
        WHERE i.party_id = ? AND i.ocid IN ({ocids_sql}) ORDER BY ALL
        """,
        [party_id, party_id],
    )
    track_record: list[dict[str, Any]] = []
    if kind == "supplier" and has_table(con, "derived_events"):
        track_record = rows(
            con,
            "SELECT event_type, event_date::VARCHAR AS date, ocid, summary, release_id FROM derived_events "
            "WHERE party_id = ? ORDER BY event_date",
            [party_id],
        )
    result = Profile(
        kind=kind,
        party_id=party_id,
        name=names[0]["name"],
        names_seen=[row["name"] for row in names if row["name"]],
        identifiers=identifiers,
        is_demo=all(row["demo"] for row in names),
        totals=totals,
        by_year=by_year,
        counterparts=counterparts,
        concentration=concentration,
        procedures=procedures,
        ending_soon=ending_soon,
        processes=processes,
        flags=flags,
        scores=scores,
        track_record=track_record,
    )
    result.charts = _charts(result)
    return result


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
