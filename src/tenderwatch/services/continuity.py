"""Who provides each statutory service to each public body, the market for each service area, and the continuity
risk of every outsourced statutory service: the tables ``service_contracts``, ``service_markets`` and
``service_continuity``, written set-based in SQL.

**The service.** A commissioner (the buyer of a process, or a public body funding it with the buyer) buys a
service area through the processes assigned to that area. Its contracts come from ``contract_lifecycle`` (one row
per contract, or per award with no contract yet; cancelled ones left out), one row per named supplier, the value
shared equally among an award's suppliers. Subcontracts (processes marked as subcontracts of another) are left
out: they are the chain below a contract, not the service. The service *as it now stands* is made of the contracts
in force at any time in the ``lookback_years`` before its latest contract began, and every one since; so a
provider that walked away and the stop-gap that replaced it are both in view.

**The parts of the score** (each from 0 to 1; the score is their weighted mean, times 100, leaving out a part that
cannot be measured; the weights are the ``[services.weights]`` settings):

- ``dominant_provider``: the largest provider's share of the service's value (of its contracts when no value is
  published);
- ``no_public_provider``: the share held by providers that are not public bodies or in-house; when no part is
  public but a public body provides the same service to another buyer in the same region, half of that;
- ``provider_exits``: 1 when the providers' record holds an exit or early end (``derived_events`` and the
  register's ``track_record``, the ``exit_events`` types) since ``record_years`` before the latest contract began;
- ``market_concentration``: the area's national HHI, 0 at ``hhi_low``, 1 at ``hhi_high``;
- ``time_left``: 1 when no contract of the service is in force; otherwise 1 minus the months to the latest
  possible end (every extension option used) over ``time_left_months``, floored at 0;
- ``urgency_awards``: 1 when a contract of the service was awarded without competition on grounds of urgency
  (the TW106 red flag, evaluated here with the ``[flags.TW106]`` settings);
- ``provider_warnings``: 1 when the register holds a financial or regulatory warning about a provider, or the
  notices a performance failure, KPIs below standard or a payment to the buyer (the ``warning_events`` types), in
  the same period.

Only outsourced services are scored: those with some part held by a provider that is not public.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from tenderwatch.indicators.base import literal
from tenderwatch.queries import buyer_organisation, matched_parties
from tenderwatch.records import identifier_key_sql, name_key_sql
from tenderwatch.services.settings import PARTS, ServicesSettings

_MONTH_DAYS = 365.25 / 12
# How an event is matched to a provider: (column of the event, column of the provider), each an equi-join.
_EVENT_MATCHES = (
    ("org_id", "supplier_id"),
    ("id_key", "id_key"),
    ("name_key", "name_key"),
    ("group_key", "group_key"),
    ("group_key", "name_key"),
)
# The evidence of a service lists at most this many of its providers' events, the most recent; all are counted.
EVENTS_LISTED = 25
_TEMP_TABLES = (
    "tmp_sv_today",
    "tmp_sv_orgparty",
    "tmp_sv_comm",
    "tmp_sv_subprocs",
    "tmp_sv_rows",
    "tmp_sv_unnested",
    "tmp_sv_identifiers",
    "tmp_sv_events",
    "tmp_sv_service_events",
    "tmp_sv_service_numbers",
    "tmp_sv_event_summary",
    "tmp_sv_services",
)


def _days(years: float) -> str:
    return f"to_days({round(years * 365.25)})"


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0])


def build_provision(
    con: duckdb.DuckDBPyConnection, settings: ServicesSettings, *, today: dt.date | None = None
) -> int:
    """Fill ``service_contracts`` and ``service_markets``; return the number of service contract rows.

    Runs in the caller's transaction. Leaves ``tmp_sv_today`` and ``tmp_sv_orgparty`` for the score.
    """
    if today is None:
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_sv_today AS SELECT current_date::TIMESTAMPTZ AS today")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_sv_today AS SELECT ?::DATE::TIMESTAMPTZ AS today", [today])
    resolved = _has(con, "organisation_parties") and _has(con, "organisations")
    # the organisation of each party and its name, as the pages join them (none before organisations are resolved)
    parties = matched_parties(con)
    names = "organisations" if resolved else "(SELECT NULL::VARCHAR AS organisation_id, NULL::VARCHAR AS name LIMIT 0)"
    if resolved:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE tmp_sv_orgparty AS
            SELECT op.ocid, op.party_id, op.organisation_id, o.name AS org_name, o.group_name
            FROM organisation_parties AS op LEFT JOIN organisations AS o USING (organisation_id)
            WHERE op.party_id IS NOT NULL AND op.organisation_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY op.ocid, op.party_id ORDER BY op.organisation_id) = 1
            """
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tmp_sv_orgparty (ocid VARCHAR, party_id VARCHAR, organisation_id VARCHAR, "
            "org_name VARCHAR, group_name VARCHAR)"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sv_comm AS
        WITH roles AS (
            SELECT ocid, buyer_id AS party_id, 1 AS rank FROM processes WHERE buyer_id IS NOT NULL
            UNION ALL
            SELECT ocid, party_id, CASE role WHEN 'buyer' THEN 1 ELSE 2 END FROM party_roles
            WHERE role IN ('buyer', 'funder') AND party_id IS NOT NULL
        ),
        ranked AS (SELECT ocid, party_id, min(rank) AS rank FROM roles GROUP BY ocid, party_id),
        first_party AS (
            SELECT * FROM parties WHERE NOT repeated
        )
        SELECT r.ocid, r.party_id, CASE r.rank WHEN 1 THEN 'buyer' ELSE 'funder' END AS role,
               coalesce(op.organisation_id, r.party_id) AS commissioner_id,
               coalesce(op.org_name, pa.name, CASE WHEN pr.buyer_id = r.party_id THEN pr.buyer_name END)
                   AS commissioner_name,
               coalesce(nullif(trim(pa.region), ''),
                        nullif(regexp_extract(upper(trim(pa.postal_code)), '^([A-Z]{{1,2}})[0-9]', 1), '')) AS region
        FROM ranked AS r
        LEFT JOIN tmp_sv_orgparty AS op USING (ocid, party_id)
        LEFT JOIN first_party AS pa USING (ocid, party_id)
        LEFT JOIN processes AS pr USING (ocid)
        UNION ALL
        -- a buyer named without an id (as most of Contracts Finder's and Open Opportunities' notices name it)
        -- commissions too: as the organisation its name was matched to, else by name
        SELECT p.ocid, NULL AS party_id, 'buyer' AS role,
               coalesce(ob.organisation_id, 'NAME:' || lower(trim(p.buyer_name))) AS commissioner_id,
               coalesce(o.name, p.buyer_name) AS commissioner_name, NULL AS region
        FROM processes AS p {buyer_organisation(parties)}
        LEFT JOIN {names} AS o ON o.organisation_id = ob.organisation_id
        WHERE p.buyer_id IS NULL AND nullif(trim(p.buyer_name), '') IS NOT NULL
          AND p.ocid NOT IN (SELECT ocid FROM ranked WHERE rank = 1)  -- a buyer party with an id comes first
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sv_subprocs AS
        SELECT DISTINCT ocid FROM related_processes
        WHERE list_has_any(relationship, ['subContract', 'parent'])
        """
    )
    # One row per contract (or award) and named supplier, of the processes assigned to a service area (no other
    # is read below). Made in steps, each holding one lookup in memory: at a million processes the three lookups
    # of one statement (organisations, and identifiers from the suppliers and from the parties) were more than the
    # analysis memory limit.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sv_unnested AS
        SELECT l.ocid, l.contract_id, l.award_id, l.title, l.status, l.terminated, l.current_value_amount,
               l.current_value_currency, len(l.supplier_ids) AS suppliers, l.start_date, l.award_date, l.date_signed,
               l.termination_date, l.current_end_date, l.max_extent_date,
               unnest(l.supplier_ids) AS supplier_party_id, unnest(l.supplier_names) AS supplier_name
        FROM contract_lifecycle AS l
        WHERE l.row_type IN ('contract', 'award') AND l.status IS DISTINCT FROM 'cancelled'
          AND len(l.supplier_ids) > 0 AND l.ocid IN (SELECT ocid FROM service_assignments)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sv_identifiers AS
        -- a supplier's identifier as the award names it, else as the parties do
        SELECT ocid, party_id,
               coalesce(min(identifier) FILTER (WHERE source = 1), min(identifier) FILTER (WHERE source = 2))
                   AS identifier
        FROM (
            SELECT ocid, party_id, 1 AS source, identifier_scheme || '-' || identifier_id AS identifier
            FROM award_suppliers WHERE identifier_scheme IS NOT NULL AND identifier_id IS NOT NULL
            UNION ALL
            SELECT ocid, party_id, 2, identifier_scheme || '-' || identifier_id
            FROM parties WHERE identifier_scheme IS NOT NULL AND identifier_id IS NOT NULL
        )
        WHERE ocid IN (SELECT ocid FROM tmp_sv_unnested)
        GROUP BY ocid, party_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sv_rows AS
        SELECT u.ocid, u.contract_id, u.award_id, u.title, u.status, coalesce(u.terminated, FALSE) AS terminated,
               u.supplier_party_id, coalesce(op.org_name, u.supplier_name) AS supplier_name,
               coalesce(op.organisation_id, u.supplier_party_id, 'NAME:' || lower(u.supplier_name)) AS supplier_id,
               i.identifier AS supplier_identifier,
               u.current_value_amount / u.suppliers AS value_amount,
               u.current_value_currency AS value_currency,
               coalesce(u.start_date, u.award_date, u.date_signed) AS start_date,
               CASE WHEN u.terminated THEN coalesce(u.termination_date, u.current_end_date)
                    ELSE u.current_end_date END AS end_date,
               CASE WHEN u.terminated THEN coalesce(u.termination_date, u.current_end_date)
                    ELSE coalesce(u.max_extent_date, u.current_end_date) END AS latest_possible_end,
               u.status IN ('active', 'awarded') AS in_force
        FROM tmp_sv_unnested AS u
        LEFT JOIN tmp_sv_orgparty AS op ON op.ocid = u.ocid AND op.party_id = u.supplier_party_id
        LEFT JOIN tmp_sv_identifiers AS i ON i.ocid = u.ocid AND i.party_id = u.supplier_party_id
        """
    )
    con.execute("DROP TABLE tmp_sv_unnested")
    con.execute("DROP TABLE tmp_sv_identifiers")
    schemes = literal(list(settings.public_provider_schemes) or [""])
    pattern = literal(settings.public_provider_pattern)
    con.execute("DELETE FROM service_contracts")
    con.execute(
        f"""
        INSERT INTO service_contracts BY NAME
        WITH base AS (
            SELECT c.commissioner_id, c.commissioner_name, c.role AS commissioner_role, c.region AS own_region,
                   a.area_id, r.*
            FROM tmp_sv_rows AS r
            JOIN (SELECT DISTINCT ocid, area_id FROM service_assignments) AS a USING (ocid)
            JOIN tmp_sv_comm AS c USING (ocid)
            WHERE r.ocid NOT IN (SELECT ocid FROM tmp_sv_subprocs)
            QUALIFY row_number() OVER (
                PARTITION BY c.commissioner_id, a.area_id, r.ocid, r.contract_id, r.award_id, r.supplier_id
                ORDER BY c.role, r.supplier_party_id
            ) = 1
        ),
        placed AS (
            SELECT *,
                   coalesce(own_region, mode(own_region) OVER (PARTITION BY commissioner_id)) AS region,
                   max(start_date) OVER (PARTITION BY commissioner_id, area_id) AS service_ref,
                   max(start_date) OVER (PARTITION BY area_id) AS area_ref,
                   coalesce(latest_possible_end, end_date, start_date) AS last_day
            FROM base
        )
        SELECT commissioner_id, commissioner_name, commissioner_role, region, area_id, ocid, contract_id, award_id,
               title, supplier_id, supplier_party_id, supplier_name, supplier_identifier,
               coalesce(list_contains({schemes}, split_part(supplier_identifier, '-', 1) || '-'
                                       || split_part(supplier_identifier, '-', 2)), FALSE)
                   OR coalesce(regexp_matches(supplier_name, {pattern}), FALSE)
                   OR supplier_id = commissioner_id AS public_provider,
               value_amount, value_currency, start_date, end_date, latest_possible_end, status, in_force, terminated,
               service_ref IS NULL OR last_day IS NULL
                   OR last_day >= service_ref - {_days(settings.lookback_years)} AS in_service,
               area_ref IS NULL OR last_day IS NULL
                   OR last_day >= area_ref - {_days(settings.market_years)} AS in_market
        FROM placed
        """
    )
    con.execute("DELETE FROM service_markets")
    for scope, keys in (("national", "area_id"), ("region", "area_id, region")):
        region = "region" if scope == "region" else "NULL"
        con.execute(
            f"""
            INSERT INTO service_markets BY NAME
            WITH rows AS (
                SELECT DISTINCT area_id, {region} AS region, ocid, contract_id, award_id, supplier_id, supplier_name,
                       public_provider, value_amount, value_currency
                FROM service_contracts WHERE in_market {"AND region IS NOT NULL" if scope == "region" else ""}
            ),
            buyers AS (
                SELECT area_id, {region} AS region, count(DISTINCT commissioner_id) AS commissioners
                FROM service_contracts WHERE in_market {"AND region IS NOT NULL" if scope == "region" else ""}
                GROUP BY ALL
            ),
            currency AS (
                SELECT {keys}, mode(value_currency) AS main_currency FROM rows
                WHERE value_amount IS NOT NULL GROUP BY ALL
            ),
            totals AS (
                SELECT r.area_id, r.region, min(c.main_currency) AS currency, count(*) AS contracts,
                       sum(r.value_amount) FILTER (WHERE r.value_currency = c.main_currency AND r.value_amount > 0)
                           AS total
                FROM rows AS r LEFT JOIN currency AS c ON c.area_id = r.area_id
                     {"AND c.region = r.region" if scope == "region" else ""}
                GROUP BY r.area_id, r.region
            ),
            shares AS (
                SELECT r.area_id, r.region, r.supplier_id, min(r.supplier_name) AS supplier_name,
                       bool_or(r.public_provider) AS public_provider,
                       CASE WHEN t.total > 0
                            THEN coalesce(sum(r.value_amount) FILTER (WHERE r.value_currency = t.currency
                                                                     AND r.value_amount > 0), 0) / t.total
                            ELSE count(*) / t.contracts END AS share
                FROM rows AS r JOIN totals AS t ON t.area_id = r.area_id AND t.region IS NOT DISTINCT FROM r.region
                GROUP BY r.area_id, r.region, r.supplier_id, t.total, t.contracts
            )
            SELECT s.area_id, '{scope}' AS scope, s.region, min(t.contracts) AS contracts,
                   min(b.commissioners) AS commissioners, count(*) AS suppliers,
                   count(*) FILTER (WHERE s.public_provider) AS public_suppliers,
                   min(t.total) AS value_amount, min(t.currency) AS value_currency,
                   round(10000 * sum(s.share * s.share), 1) AS hhi,
                   arg_max(s.supplier_id, (s.share, s.supplier_id)) AS top_supplier_id,
                   arg_max(s.supplier_name, (s.share, s.supplier_id)) AS top_supplier_name,
                   max(s.share) AS top_share
            FROM shares AS s
            JOIN totals AS t ON t.area_id = s.area_id AND t.region IS NOT DISTINCT FROM s.region
            JOIN buyers AS b ON b.area_id = s.area_id AND b.region IS NOT DISTINCT FROM s.region
            GROUP BY s.area_id, s.region
            """
        )
    return con.execute("SELECT count(*) FROM service_contracts").fetchall()[0][0]


def _events(con: duckdb.DuckDBPyConnection, settings: ServicesSettings) -> None:
    """Collect the events that can count against a provider: from the notices and from the register."""
    exits = literal(list(settings.exit_events) or [""])
    warnings = literal(list(settings.warning_events) or [""])
    selects = []
    if _has(con, "derived_events"):
        selects.append(
            f"""
            SELECT 'notices' AS origin, d.event_id, d.event_type, d.event_date, d.organisation_name, d.ocid,
                   d.release_id, d.summary, NULL AS source_url, NULL AS source_title, op.organisation_id AS org_id,
                   {identifier_key_sql("d.organisation_identifier")} AS id_key,
                   {name_key_sql("d.organisation_name")} AS name_key, NULL AS group_key,
                   list_contains({exits}, d.event_type) AS is_exit,
                   list_contains({warnings}, d.event_type) AS is_warning
            FROM derived_events AS d
            LEFT JOIN tmp_sv_orgparty AS op ON op.ocid = d.ocid AND op.party_id = d.party_id
            WHERE list_contains({exits}, d.event_type) OR list_contains({warnings}, d.event_type)
            """
        )
    if _has(con, "track_record"):
        selects.append(
            f"""
            SELECT 'register', t.event_id, t.event_type, t.event_date, t.organisation_name, t.ocid, NULL, t.summary,
                   t.source_url, t.source_title, NULL, {identifier_key_sql("t.organisation_identifier")},
                   {name_key_sql("t.organisation_name")}, {name_key_sql("t.group_name")},
                   list_contains({exits}, t.event_type), list_contains({warnings}, t.event_type)
            FROM track_record AS t
            WHERE list_contains({exits}, t.event_type) OR list_contains({warnings}, t.event_type)
            """
        )
    empty = (
        "SELECT NULL::VARCHAR AS origin, NULL::VARCHAR AS event_id, NULL::VARCHAR AS event_type, NULL::DATE AS "
        "event_date, NULL::VARCHAR AS organisation_name, NULL::VARCHAR AS ocid, NULL::VARCHAR AS release_id, "
        "NULL::VARCHAR AS summary, NULL::VARCHAR AS source_url, NULL::VARCHAR AS source_title, NULL::VARCHAR AS "
        "org_id, NULL::VARCHAR AS id_key, NULL::VARCHAR AS name_key, NULL::VARCHAR AS group_key, FALSE AS is_exit, "
        "FALSE AS is_warning WHERE FALSE"
    )
    # Each event's number; its key (one per origin and id: the same event found twice counts once); and its rank,
    # the most recent first, so that a service's most recent events are its lowest ranks.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sv_events AS
        SELECT row_number() OVER () AS event_no,
               CASE WHEN origin IS NOT NULL AND event_id IS NOT NULL
                    THEN dense_rank() OVER (ORDER BY origin, event_id) END AS event_key,
               row_number() OVER (ORDER BY event_date DESC NULLS LAST, origin, event_id) AS event_rank, *
        FROM ({" UNION ALL ".join([empty, *selects])})
        """
    )


def _score_parts(urgency_table: str) -> dict[str, str]:
    """The parts of the continuity score, each made as a table of its own, in turn: as one statement (a CTE each),
    its plan needed several times the memory of the parts at a million processes, and ran out of the analysis
    limit."""
    return {
        "tmp_sv_money": """
            SELECT commissioner_id, area_id, mode(value_currency) AS currency
            FROM tmp_sv_services WHERE value_amount IS NOT NULL GROUP BY ALL
        """,
        "tmp_sv_totals": """
            SELECT s.commissioner_id, s.area_id, min(m.currency) AS currency, count(*) AS contracts,
                   sum(s.value_amount) FILTER (WHERE s.value_currency = m.currency AND s.value_amount > 0) AS total
            FROM tmp_sv_services AS s
            LEFT JOIN tmp_sv_money AS m ON m.commissioner_id = s.commissioner_id AND m.area_id = s.area_id
            GROUP BY s.commissioner_id, s.area_id
        """,
        "tmp_sv_providers": """
            SELECT s.commissioner_id, s.area_id, s.supplier_id, min(s.supplier_name) AS supplier_name,
                   min(s.supplier_party_id) AS supplier_party_id, bool_or(s.public_provider) AS public_provider,
                   count(*) AS contracts, bool_or(s.in_force) AS in_force,
                   sum(s.value_amount) FILTER (WHERE s.value_currency = t.currency AND s.value_amount > 0) AS value,
                   CASE WHEN t.total > 0
                        THEN coalesce(sum(s.value_amount) FILTER (WHERE s.value_currency = t.currency
                                                                 AND s.value_amount > 0), 0) / t.total
                        ELSE count(*) / t.contracts END AS share
            FROM tmp_sv_services AS s
            JOIN tmp_sv_totals AS t ON t.commissioner_id = s.commissioner_id AND t.area_id = s.area_id
            GROUP BY s.commissioner_id, s.area_id, s.supplier_id, t.total, t.contracts
        """,
        "tmp_sv_service": """
            SELECT commissioner_id, area_id, min(commissioner_name) AS commissioner_name,
                   min(region) AS region, max(reference_date) AS reference_date,
                   count(*) AS contracts, max(end_date) AS latest_end_date,
                   max(latest_possible_end) AS latest_possible_end, bool_or(in_force) AS in_force,
                   list(DISTINCT ocid ORDER BY ocid) AS ocids
            FROM tmp_sv_services GROUP BY commissioner_id, area_id
        """,
        "tmp_sv_provider_summary": """
            SELECT commissioner_id, area_id, count(*) AS providers,
                   arg_max(supplier_id, (share, supplier_id)) AS top_provider_id,
                   arg_max(supplier_name, (share, supplier_id)) AS top_provider_name,
                   max(share) AS top_share, coalesce(sum(share) FILTER (WHERE public_provider), 0) AS public_share,
                   list(struct_pack(supplier_id, supplier_party_id, name := supplier_name, public := public_provider,
                                    share := round(share, 4), value, contracts, in_force)
                        ORDER BY share DESC, supplier_name) AS provider_list
            FROM tmp_sv_providers GROUP BY commissioner_id, area_id
        """,
        "tmp_sv_nearby": """
            SELECT s.commissioner_id, s.area_id, list(DISTINCT o.supplier_name ORDER BY o.supplier_name) AS names
            FROM tmp_sv_service AS s
            JOIN (SELECT DISTINCT area_id, region, commissioner_id, supplier_name FROM service_contracts
                  WHERE public_provider AND in_market) AS o
              ON o.area_id = s.area_id AND o.region = s.region AND o.commissioner_id <> s.commissioner_id
            GROUP BY s.commissioner_id, s.area_id
        """,
        "tmp_sv_urgent": f"""
            SELECT s.commissioner_id, s.area_id, count(DISTINCT u.ocid) AS urgency,
                   list_sort(list(DISTINCT struct_pack(ocid := u.ocid, sentence := u.sentence))) AS urgency_list
            FROM (SELECT DISTINCT commissioner_id, area_id, ocid FROM tmp_sv_services) AS s
            JOIN {urgency_table} AS u USING (ocid)
            GROUP BY s.commissioner_id, s.area_id
        """,
        "tmp_sv_duties": """
            SELECT area_id, list(legislation || ', ' || provision ORDER BY position) AS citations,
                   list(struct_pack(duty_id, legislation, provision, summary, url) ORDER BY position) AS duty_list
            FROM service_duties GROUP BY area_id
        """,
    }


def build_continuity(
    con: duckdb.DuckDBPyConnection, settings: ServicesSettings, urgency_table: str = "tmp_sv_urgency"
) -> int:
    """Fill ``service_continuity`` from ``service_contracts`` and ``service_markets``; return its row count.

    ``urgency_table`` holds (ocid, sentence) for the processes awarded on grounds of urgency. Runs in the caller's
    transaction; drops the temporary tables of this module.
    """
    _events(con, settings)
    # The services as they now stand, with their reference date and the providers' match keys.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sv_services AS
        SELECT s.*, max(s.start_date) OVER (PARTITION BY s.commissioner_id, s.area_id) AS reference_date,
               {identifier_key_sql("s.supplier_identifier")} AS id_key, {name_key_sql("s.supplier_name")} AS name_key,
               {name_key_sql("op.group_name")} AS group_key
        FROM service_contracts AS s
        LEFT JOIN (SELECT DISTINCT organisation_id, group_name FROM tmp_sv_orgparty) AS op
             ON op.organisation_id = s.supplier_id
        WHERE s.in_service
        """
    )
    matched = " UNION ALL ".join(
        f"SELECT p.provider_no, e.event_no FROM providers AS p "
        f"JOIN tmp_sv_events AS e ON e.{event_key} = p.{provider_key}"
        for event_key, provider_key in _EVENT_MATCHES
    )
    keys = ("supplier_id", "id_key", "name_key", "group_key")
    same_provider = " AND ".join(f"s.{key} IS NOT DISTINCT FROM p.{key}" for key in keys)
    # Services and providers by number: at a million processes a service and its providers' events make 12 million
    # pairs, which are grouped by service.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_sv_service_numbers AS
        SELECT row_number() OVER () AS service_no, *
        FROM (SELECT DISTINCT commissioner_id, area_id, reference_date FROM tmp_sv_services)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sv_service_events AS
        -- an event is a provider's when it names its organisation, identifier, name or group; each is joined on
        -- its own (one join on all four at once would compare every provider with every event). The events are
        -- matched to each provider once, not to each of its services.
        WITH providers AS (
            SELECT row_number() OVER () AS provider_no, * FROM (SELECT DISTINCT {", ".join(keys)} FROM tmp_sv_services)
        ),
        provider_events AS (SELECT DISTINCT provider_no, event_no FROM ({matched})),
        service_providers AS (
            SELECT DISTINCT n.service_no, n.reference_date, p.provider_no
            FROM tmp_sv_services AS s
            JOIN providers AS p ON {same_provider}
            JOIN tmp_sv_service_numbers AS n
              ON n.commissioner_id = s.commissioner_id AND n.area_id = s.area_id
        )
        SELECT DISTINCT s.service_no, e.event_no, e.event_key, e.event_rank, e.is_exit, e.is_warning
        FROM service_providers AS s
        JOIN provider_events AS m USING (provider_no)
        JOIN tmp_sv_events AS e USING (event_no)
        WHERE s.reference_date IS NULL OR e.event_date IS NULL
           OR e.event_date >= (s.reference_date - {_days(settings.record_years)})::DATE
        """
    )
    # Each service's events: all of them counted, the most recent EVENTS_LISTED listed in its evidence.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_sv_event_summary AS
        WITH grouped AS (
            SELECT service_no,
                   count(DISTINCT event_key) FILTER (WHERE is_exit) AS exits,
                   count(DISTINCT event_key) FILTER (WHERE is_warning) AS warnings,
                   min(event_rank, {EVENTS_LISTED}) AS ranks
            FROM tmp_sv_service_events GROUP BY service_no
        )
        SELECT n.commissioner_id, n.area_id, any_value(g.exits) AS exits, any_value(g.warnings) AS warnings,
               list_sort(list(DISTINCT struct_pack(e.origin, e.event_id, e.event_type, e.event_date,
                                                   e.organisation_name, e.ocid, e.release_id, e.summary,
                                                   e.source_url, e.source_title, e.is_exit, e.is_warning)))
                   AS event_list
        FROM (SELECT service_no, exits, warnings, unnest(ranks) AS event_rank FROM grouped) AS g
        JOIN tmp_sv_service_numbers AS n USING (service_no)
        JOIN tmp_sv_events AS e USING (event_rank)
        GROUP BY n.commissioner_id, n.area_id
        """
    )
    # What the score needs is ready: free the memory of the work tables before the last and largest step.
    for table in (
        "tmp_sv_service_events",
        "tmp_sv_service_numbers",
        "tmp_sv_events",
        "tmp_sv_orgparty",
        "tmp_sv_rows",
        "tmp_sv_comm",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    weights = settings.weights
    weight = {part: float(getattr(weights, part)) for part in PARTS}
    numerator = " + ".join(f"{weight[part]} * coalesce(part_{part}, 0)" for part in PARTS)
    denominator = " + ".join(f"CASE WHEN part_{part} IS NULL THEN 0 ELSE {weight[part]} END" for part in PARTS)
    low, high = float(settings.hhi_low), float(settings.hhi_high)
    span = max(high - low, 1e-9)
    horizon = float(settings.time_left_months)
    con.execute("DELETE FROM service_continuity")
    parts = _score_parts(urgency_table)
    for name, sql in parts.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    con.execute(
        f"""
        INSERT INTO service_continuity BY NAME
        WITH parted AS (
            SELECT s.*, t.total AS value_amount, t.currency AS value_currency, p.providers, p.top_provider_id,
                   p.top_provider_name, p.top_share, p.public_share, p.provider_list,
                   coalesce(n.names, []::VARCHAR[]) AS public_nearby, m.hhi, m.suppliers AS market_suppliers,
                   m.contracts AS market_contracts, m.top_supplier_name AS market_top, m.top_share AS market_top_share,
                   coalesce(e.exits, 0) AS exit_events, coalesce(e.warnings, 0) AS warning_events,
                   coalesce(e.event_list, []) AS event_list,
                   coalesce(u.urgency, 0) AS urgency_awards, coalesce(u.urgency_list, []) AS urgency_list,
                   d.citations AS duties, d.duty_list,
                   CASE WHEN s.latest_possible_end IS NULL THEN NULL
                        ELSE greatest(round((epoch(s.latest_possible_end) - epoch(td.today)) / 86400.0
                                            / {_MONTH_DAYS}, 1), 0) END AS months_left,
                   td.today,
                   p.top_share AS part_dominant_provider,
                   CASE WHEN p.public_share > 0 THEN 1 - p.public_share
                        WHEN n.names IS NOT NULL THEN 0.5 ELSE 1.0 END AS part_no_public_provider,
                   CASE WHEN coalesce(e.exits, 0) > 0 THEN 1.0 ELSE 0.0 END AS part_provider_exits,
                   CASE WHEN m.hhi IS NULL THEN NULL
                        ELSE least(greatest((m.hhi - {low}) / {span}, 0), 1) END AS part_market_concentration,
                   CASE WHEN NOT s.in_force THEN 1.0
                        WHEN s.latest_possible_end IS NULL THEN NULL
                        ELSE 1 - least(greatest((epoch(s.latest_possible_end) - epoch(td.today)) / 86400.0
                                                / {_MONTH_DAYS} / {horizon}, 0), 1) END AS part_time_left,
                   CASE WHEN coalesce(u.urgency, 0) > 0 THEN 1.0 ELSE 0.0 END AS part_urgency_awards,
                   CASE WHEN coalesce(e.warnings, 0) > 0 THEN 1.0 ELSE 0.0 END AS part_provider_warnings
            FROM tmp_sv_service AS s
            JOIN tmp_sv_totals AS t USING (commissioner_id, area_id)
            JOIN tmp_sv_provider_summary AS p USING (commissioner_id, area_id)
            LEFT JOIN tmp_sv_nearby AS n USING (commissioner_id, area_id)
            LEFT JOIN tmp_sv_event_summary AS e USING (commissioner_id, area_id)
            LEFT JOIN tmp_sv_urgent AS u USING (commissioner_id, area_id)
            LEFT JOIN tmp_sv_duties AS d USING (area_id)
            LEFT JOIN service_markets AS m ON m.area_id = s.area_id AND m.scope = 'national'
            CROSS JOIN tmp_sv_today AS td
            WHERE p.public_share < 0.999999
        ),
        scored AS (
            SELECT *, round(100 * ({numerator}) / nullif({denominator}, 0), 1) AS score FROM parted
        )
        SELECT x.commissioner_id, x.commissioner_name, x.region, x.area_id, a.name AS area_name, x.duties, x.score,
               CASE WHEN x.score >= {float(settings.high_score)} THEN 'high'
                    WHEN x.score >= {float(settings.medium_score)} THEN 'medium' ELSE 'low' END AS band,
               x.contracts, x.providers, x.value_amount, x.value_currency, x.top_provider_id, x.top_provider_name,
               round(x.top_share, 4) AS top_share, round(x.public_share, 4) AS public_share, x.public_nearby, x.hhi,
               x.latest_end_date, x.latest_possible_end, x.months_left, x.in_force, x.exit_events, x.warning_events,
               x.urgency_awards,
               round(x.part_dominant_provider, 4) AS part_dominant_provider,
               round(x.part_no_public_provider, 4) AS part_no_public_provider, x.part_provider_exits,
               round(x.part_market_concentration, 4) AS part_market_concentration,
               round(x.part_time_left, 4) AS part_time_left, x.part_urgency_awards, x.part_provider_warnings,
               to_json(struct_pack(
                   providers := x.provider_list,
                   public_share := round(x.public_share, 4), public_nearby := x.public_nearby,
                   events := x.event_list, urgency_awards := x.urgency_list,
                   market := struct_pack(scope := 'national', hhi := x.hhi, suppliers := x.market_suppliers,
                                         contracts := x.market_contracts, top_supplier := x.market_top,
                                         top_share := round(x.market_top_share, 4),
                                         hhi_low := {low}, hhi_high := {high}),
                   dates := struct_pack(reference_date := x.reference_date::DATE,
                                        window_start := (x.reference_date - {_days(settings.lookback_years)})::DATE,
                                        latest_end_date := x.latest_end_date::DATE,
                                        latest_possible_end := x.latest_possible_end::DATE,
                                        months_left := x.months_left, in_force := x.in_force,
                                        today := x.today::DATE, time_left_months := {horizon}),
                   duties := x.duty_list, processes := x.ocids,
                   weights := struct_pack({", ".join(f"{part} := {weight[part]}" for part in PARTS)})
               )) AS evidence,
               a.name || ' for ' || coalesce(x.commissioner_name, x.commissioner_id) || ': continuity risk '
               || round(x.score)::BIGINT || ' of 100 (' ||
               CASE WHEN x.score >= {float(settings.high_score)} THEN 'high'
                    WHEN x.score >= {float(settings.medium_score)} THEN 'medium' ELSE 'low' END || ')'
               || coalesce(': ' || nullif(concat_ws('; ',
                      CASE WHEN x.top_share >= 0.5 THEN coalesce(x.top_provider_name, x.top_provider_id) || ' holds '
                           || round(100 * x.top_share)::BIGINT || '% of it' END,
                      CASE WHEN x.public_share = 0 AND len(x.public_nearby) = 0
                           THEN 'no public or in-house provider holds any of it, here or nearby'
                           WHEN x.public_share = 0 THEN 'no public or in-house provider holds any of it' END,
                      CASE WHEN x.exit_events > 0 THEN x.exit_events || ' exit' ||
                           CASE WHEN x.exit_events > 1 THEN 's or early ends' ELSE ' or early end' END
                           || ' in its providers'' record' END,
                      CASE WHEN x.hhi >= {low} THEN 'its market is concentrated (HHI '
                           || round(x.hhi)::BIGINT || ')' END,
                      CASE WHEN NOT x.in_force THEN 'no contract for it is in force'
                           WHEN x.months_left IS NOT NULL AND x.months_left < {horizon}
                           THEN 'its contracts can run only ' || x.months_left || ' more months' END,
                      CASE WHEN x.urgency_awards > 0 THEN 'it was bought without competition on grounds of urgency'
                           END,
                      CASE WHEN x.warning_events > 0 THEN x.warning_events || ' warning' ||
                           CASE WHEN x.warning_events > 1 THEN 's' ELSE '' END
                           || ' about its providers in their record' END
                  ), ''), '') || '.' AS sentence,
               x.reference_date, now() AS computed_at
        FROM scored AS x JOIN service_areas AS a USING (area_id)
        """
    )
    count = con.execute("SELECT count(*) FROM service_continuity").fetchall()[0][0]
    for table in (*_TEMP_TABLES, *parts):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return count
