"""Events found in the notices themselves: the table ``derived_events`` (group "events"), rebuilt after each load.

:func:`build_derived_events` finds, for every supplier concerned:

- ``terminated_early``: a contract whose status became ``terminated`` well before the end planned at that moment
  (OCDS also calls a contract that ran its course "terminated", so one that ended on time is not an event);
- ``ended_early``: a contract whose end date a later notice brought forward by a long way;
- ``award_or_contract_cancelled``: an award or a contract with the status ``cancelled``;
- ``termination_notice``: a Find a Tender contract termination notice (UK11) or procurement termination notice
  (UK12) under the Procurement Act 2023;
- ``provider_exit``: after a contract was terminated or ended early, a replacement award for the same service
  (linked to it, or with the same CPV codes and a similar title) to a different supplier by the same buyers
  (the buyer, procuring entity or a funder of either process) within a year;
- ``performance_failure``: a failure to perform that the buyer published (``contracts[].implementation.
  performanceFailures``, as in a Find a Tender contract performance notice, UK9), with its penalty;
- ``kpi_below``: key performance indicators the buyer rated below standard (``below`` or ``significantlyBelow``
  in ``contracts[].implementation.metrics[].observations[].measureClassification``, as in UK9 notices), one event
  per contract and notice;
- ``supplier_removed``: a party given the role ``removedSupplier``: a supplier removed from the contract;
- ``payment_to_buyer``: a payment the other way round (``contracts[].implementation.transactions``), from a
  supplier of the process to its buyer or procuring entity: a repayment, penalty, service credit or settlement.

"Well before" and "a long way" mean at least :data:`EARLY_DAYS` days, or, for a contract planned to last under
a year, a quarter of its planned length and at least :data:`EARLY_DAYS_MIN` days.

Each event names the release (notice) it comes from. The history of a contract (its end date and status notice
by notice) is read from ``raw_releases``, only for the processes that could hold an event, so this stays quick on
a large store. docs/track-record.md explains the rules for people.
"""

from __future__ import annotations

import json

import duckdb

from tenderwatch.indicators._catalogue import money
from tenderwatch.records import identifier_key_sql, name_key_sql

EARLY_DAYS = 90
EARLY_DAYS_MIN = 30
EARLY_SHARE = 0.25
# A replacement award may come this long before the end or its notice, or this long after.
EXIT_BEFORE_DAYS = 90
EXIT_AFTER_DAYS = 365
# Title similarity (shared significant words over all significant words) needed for "the same service".
TITLE_SIMILAR = 0.5
TITLE_SIMILAR_SAME_CPV_CLASS = 0.3
TITLE_SIMILAR_NO_CPV = 0.7
STOPWORDS = (
    "the", "and", "for", "with", "from", "into", "under", "services", "service", "provision", "contract",
    "supply", "lot", "of", "to", "in", "on", "a", "an", "framework", "agreement", "new", "interim", "call",
)  # fmt: skip
TERMINATION_NOTICES = ("UK11", "UK12")

_DOCUMENT = {
    "id": "VARCHAR",
    "documentType": "VARCHAR",
    "noticeType": "VARCHAR",
    "title": "VARCHAR",
    "url": "VARCHAR",
    "datePublished": "VARCHAR",
}
_HISTORY = json.dumps(
    {
        "tender": {"status": "VARCHAR", "contractPeriod": {"endDate": "VARCHAR"}, "documents": [_DOCUMENT]},
        "awards": [
            {
                "id": "VARCHAR",
                "status": "VARCHAR",
                "contractPeriod": {"endDate": "VARCHAR"},
                "documents": [_DOCUMENT],
            }
        ],
        "contracts": [
            {
                "id": "VARCHAR",
                "awardID": "VARCHAR",
                "status": "VARCHAR",
                "period": {"endDate": "VARCHAR"},
                "documents": [_DOCUMENT],
                "implementation": {
                    "transactions": [{"id": "VARCHAR"}],
                    "documents": [_DOCUMENT],
                    "performanceFailures": [
                        {
                            "requirement": "VARCHAR",
                            "description": "VARCHAR",
                            "decisionDate": "VARCHAR",
                            "penaltyDate": "VARCHAR",
                            "penaltyType": "VARCHAR",
                            "penaltyTypeEntered": "VARCHAR",
                            "penaltyValue": {"amount": "VARCHAR", "currency": "VARCHAR"},
                            "partialTermination": "VARCHAR",
                            "suppliers": [{"id": "VARCHAR", "name": "VARCHAR"}],
                        }
                    ],
                    "metrics": [
                        {
                            "id": "VARCHAR",
                            "title": "VARCHAR",
                            "observations": [
                                {
                                    "id": "VARCHAR",
                                    "measureClassification": {"id": "VARCHAR", "description": "VARCHAR"},
                                }
                            ],
                        }
                    ],
                },
            }
        ],
        "parties": [
            {
                "id": "VARCHAR",
                "name": "VARCHAR",
                "roles": ["VARCHAR"],
                "identifier": {"scheme": "VARCHAR", "id": "VARCHAR"},
            }
        ],
    },
    separators=(",", ":"),
)


def _early(days_early: str, planned_end: str, start: str) -> str:
    """SQL: whether an end ``days_early`` days before ``planned_end`` counts as well before it."""
    return f"""({days_early} >= {EARLY_DAYS} OR ({days_early} >= {EARLY_DAYS_MIN}
                AND {start} IS NOT NULL AND {planned_end} > {start}
                AND {days_early} >= {EARLY_SHARE} * datediff('day', {start}, {planned_end})))"""


def _words(title: str) -> str:
    """SQL: the significant words of a title."""
    stopwords = ", ".join(f"'{word}'" for word in STOPWORDS)
    return f"""list_distinct(list_filter(regexp_split_to_array(lower(coalesce({title}, '')), '[^a-z0-9]+'),
                lambda w: length(w) >= 3 AND NOT list_contains([{stopwords}], w)))"""


def _date_text(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


def _quoted(column: str) -> str:
    return f"""coalesce('"' || {column} || '"', 'untitled')"""


def build_derived_events(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild ``derived_events`` from the normalised tables and the releases; return the number of events.

    Runs inside the caller's transaction; its temporary tables are dropped before it returns.
    """
    con.execute("DELETE FROM derived_events")
    _candidates(con)
    _history(con)
    _parties(con)
    _contract_events(con)
    _cancellations(con)
    _termination_notices(con)
    _provider_exits(con)
    _performance(con)
    _removed_suppliers(con)
    _payments_to_buyer(con)  # reads tmp_de_implementation, which _performance makes
    count = con.execute("SELECT count(*) FROM derived_events").fetchall()[0][0]
    for table in (
        "tmp_de_ocids",
        "tmp_de_releases",
        "tmp_de_contracts",
        "tmp_de_awards",
        "tmp_de_tender",
        "tmp_de_documents",
        "tmp_de_suppliers",
        "tmp_de_links",
        "tmp_de_implementation",
        "tmp_de_failures",
        "tmp_de_kpis",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return count


def _candidates(con: duckdb.DuckDBPyConnection) -> None:
    """The processes that could hold an event: only their releases are read."""
    notices = ", ".join(f"'{notice}'" for notice in TERMINATION_NOTICES)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_ocids AS
        SELECT ocid FROM contracts
        WHERE lower(status) IN ('terminated', 'cancelled') OR amendment_count > 0
        UNION SELECT ocid FROM awards WHERE lower(status) = 'cancelled'
        UNION SELECT ocid FROM documents WHERE upper(trim(notice_type)) IN ({notices}, 'UK9')
        UNION SELECT ocid FROM processes
        WHERE list_has_any(release_tags, ['contractTermination', 'contractAmendment', 'awardCancellation',
                                          'implementation', 'implementationUpdate'])
        UNION SELECT ocid FROM party_roles WHERE role = 'removedSupplier'
        UNION SELECT t.ocid FROM transactions AS t SEMI JOIN award_suppliers AS s
            ON s.ocid = t.ocid AND s.party_id = t.payer_id
        UNION SELECT c.ocid FROM contracts AS c JOIN awards AS a ON a.ocid = c.ocid AND a.award_id = c.award_id
        WHERE c.period_end < a.contract_period_end
        """
    )


def _history(con: duckdb.DuckDBPyConnection) -> None:
    """Each candidate process's contracts, awards, tender period and documents, notice by notice."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_releases AS
        SELECT r.ocid, r.release_id, r.seq, tw_ts(r.release_date) AS released,
               json_transform(r.data, '{_HISTORY}') AS x
        FROM raw_releases AS r
        WHERE r.ocid IN (SELECT ocid FROM tmp_de_ocids)
        """
    )
    # Order of the notices: by date, then order of arrival.
    order = "ORDER BY released NULLS LAST, seq"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_contracts AS
        WITH u AS (SELECT ocid, release_id, seq, released, unnest(x.contracts) AS c FROM tmp_de_releases)
        SELECT ocid, release_id, seq, released, c.id AS contract_id, c.awardID AS award_id,
               lower(c.status) AS status, tw_ts(c.period.endDate) AS period_end,
               row_number() OVER (PARTITION BY ocid, c.id {order}) AS step
        FROM u WHERE c.id IS NOT NULL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_awards AS
        WITH u AS (SELECT ocid, release_id, seq, released, unnest(x.awards) AS a FROM tmp_de_releases)
        SELECT ocid, release_id, seq, released, a.id AS award_id, lower(a.status) AS status,
               tw_ts(a.contractPeriod.endDate) AS period_end,
               row_number() OVER (PARTITION BY ocid, a.id {order}) AS step
        FROM u WHERE a.id IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_tender AS
        SELECT ocid, release_id, seq, released, tw_ts(x.tender.contractPeriod.endDate) AS period_end
        FROM tmp_de_releases WHERE x.tender.contractPeriod.endDate IS NOT NULL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_documents AS
        WITH d AS (
            SELECT ocid, release_id, seq, released, 'tender' AS scope, NULL AS parent_id,
                   unnest(x.tender.documents) AS doc FROM tmp_de_releases
            UNION ALL
            SELECT ocid, release_id, seq, released, 'award', a.id, unnest(a.documents)
            FROM (SELECT ocid, release_id, seq, released, unnest(x.awards) AS a FROM tmp_de_releases)
            UNION ALL
            SELECT ocid, release_id, seq, released, 'contract', c.id, unnest(c.documents)
            FROM (SELECT ocid, release_id, seq, released, unnest(x.contracts) AS c FROM tmp_de_releases)
            UNION ALL
            SELECT ocid, release_id, seq, released, 'implementation', c.id, unnest(c.implementation.documents)
            FROM (SELECT ocid, release_id, seq, released, unnest(x.contracts) AS c FROM tmp_de_releases)
        )
        SELECT ocid, release_id, seq, released, scope, parent_id, doc.id AS document_id,
               upper(trim(doc.noticeType)) AS notice_type, doc.documentType AS document_type, doc.url AS url,
               doc.title AS title
        FROM d
        QUALIFY row_number() OVER (
            PARTITION BY ocid, scope, parent_id, doc.id, upper(trim(doc.noticeType)) {order}
        ) = 1
        """
    )


def _identifier(scheme: str, number: str) -> str:
    """SQL: an identifier in org-id form (scheme and number), or NULL."""
    return f"""CASE WHEN nullif(trim({scheme}), '') IS NOT NULL AND nullif(trim({number}), '') IS NOT NULL
                    THEN upper(trim({scheme})) || '-' || trim({number}) END"""


def _parties(con: duckdb.DuckDBPyConnection) -> None:
    """The suppliers of every award of the candidate processes, with their org-id identifier."""
    identifier = _identifier(
        "coalesce(s.identifier_scheme, p.identifier_scheme)", "coalesce(s.identifier_id, p.identifier_id)"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_suppliers AS
        SELECT s.ocid, s.award_id, s.party_id, coalesce(s.name, p.name) AS name, {identifier} AS identifier,
               coalesce(lower(a.status) = 'cancelled', false) AS award_cancelled
        FROM award_suppliers AS s
        LEFT JOIN parties AS p ON p.ocid = s.ocid AND p.party_id = s.party_id
        LEFT JOIN awards AS a ON a.ocid = s.ocid AND a.award_id = s.award_id
        WHERE s.ocid IN (SELECT ocid FROM tmp_de_ocids)
        """
    )


def _insert(con: duckdb.DuckDBPyConnection, select: str, detail: str | None = None) -> None:
    """Insert events, giving each an id made from what identifies it; ``detail`` names a column of ``select``
    (not stored) that tells apart several events of one kind, process, notice and supplier."""
    key = detail or "NULL"
    drop = f" EXCLUDE ({detail})" if detail else ""
    con.execute(
        f"""
        INSERT INTO derived_events BY NAME
        SELECT 'de-' || substr(md5(concat_ws('|', event_type, ocid, contract_id, award_id, notice_type,
                                             party_id, release_id, related_ocid, {key})), 1, 16) AS event_id,
               *{drop}
        FROM ({select})
        """
    )


def _contract_events(con: duckdb.DuckDBPyConnection) -> None:
    """``terminated_early`` and ``ended_early``, one row per supplier of the contract's award."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_ends AS
        WITH steps AS (
            SELECT *,
                   -- the end in force before this notice: the last one any earlier notice gave
                   last_value(period_end IGNORE NULLS) OVER (
                       PARTITION BY ocid, contract_id ORDER BY step ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS end_before,
                   bool_or(status = 'terminated') OVER (
                       PARTITION BY ocid, contract_id ORDER BY step ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS terminated_before
            FROM tmp_de_contracts
        )
        SELECT s.*, c.award_id AS compiled_award_id, c.title AS contract_title, c.period_start,
               c.period_end AS final_end, a.contract_period_end AS award_end, a.contract_period_start AS award_start,
               a.title AS award_title, t.contract_period_end AS tender_end, p.title AS process_title,
               p.buyer_id, p.buyer_name
        FROM steps AS s
        JOIN processes AS p ON p.ocid = s.ocid
        LEFT JOIN contracts AS c ON c.ocid = s.ocid AND c.contract_id = s.contract_id
        LEFT JOIN awards AS a ON a.ocid = s.ocid AND a.award_id = coalesce(c.award_id, s.award_id)
        LEFT JOIN tenders AS t ON t.ocid = s.ocid
        """
    )
    early_terminated = _early("days_early", "planned_end", "start_date")
    _insert(
        con,
        f"""
        WITH t AS (
            SELECT *,
                   coalesce(end_before, award_end, tender_end)::DATE AS planned_end,
                   coalesce(period_end, final_end, released)::DATE AS end_date,
                   coalesce(period_start, award_start)::DATE AS start_date
            FROM tmp_de_ends
            WHERE status = 'terminated' AND NOT coalesce(terminated_before, false)
        ), e AS (
            SELECT *, datediff('day', end_date, planned_end) AS days_early FROM t
        )
        SELECT e.ocid, 'terminated_early' AS event_type, e.released::DATE AS event_date, s.party_id,
               s.identifier AS organisation_identifier, s.name AS organisation_name, e.buyer_id, e.buyer_name,
               e.release_id,
               concat(
                   coalesce(e.buyer_name, 'The buyer'), ' published on ', {_date_text("e.released")},
                   ' that the contract ', {_quoted("coalesce(e.contract_title, e.award_title, e.process_title)")},
                   coalesce(' with ' || s.name, ''), ' was terminated; it ended on ', {_date_text("e.end_date")},
                   ', ', e.days_early, ' days before its planned end of ', {_date_text("e.planned_end")}, '.'
               ) AS summary,
               e.contract_id, coalesce(e.compiled_award_id, e.award_id) AS award_id,
               e.planned_end AS planned_end_date, e.end_date, e.days_early,
               'contract status terminated' AS notice_type, NULL AS related_ocid, NULL AS related_release_id,
               NULL AS related_supplier,
               'the contract''s status became terminated well before its planned end' AS basis
        FROM e
        LEFT JOIN tmp_de_suppliers AS s ON s.ocid = e.ocid AND s.award_id = coalesce(e.compiled_award_id, e.award_id)
        WHERE e.planned_end IS NOT NULL AND e.end_date IS NOT NULL AND {early_terminated}
        """,
    )
    early_shortened = _early("days_early", "planned_end", "start_date")
    _insert(
        con,
        f"""
        WITH t AS (
            SELECT *, end_before::DATE AS planned_end, period_end::DATE AS end_date,
                   coalesce(period_start, award_start)::DATE AS start_date,
                   datediff('day', period_end::DATE, end_before::DATE) AS days_early
            FROM tmp_de_ends
            WHERE period_end IS NOT NULL AND end_before IS NOT NULL AND period_end < end_before
        ), e AS (
            SELECT * FROM t WHERE {early_shortened}
            QUALIFY row_number() OVER (PARTITION BY ocid, contract_id ORDER BY step) = 1
        )
        SELECT e.ocid, 'ended_early' AS event_type, e.released::DATE AS event_date, s.party_id,
               s.identifier AS organisation_identifier, s.name AS organisation_name, e.buyer_id, e.buyer_name,
               e.release_id,
               concat(
                   coalesce(e.buyer_name, 'The buyer'), ' published on ', {_date_text("e.released")},
                   ' that the contract ', {_quoted("coalesce(e.contract_title, e.award_title, e.process_title)")},
                   coalesce(' with ' || s.name, ''), ' now ends on ', {_date_text("e.end_date")}, ', ',
                   e.days_early, ' days before the end of ', {_date_text("e.planned_end")},
                   ' given until then.'
               ) AS summary,
               e.contract_id, coalesce(e.compiled_award_id, e.award_id) AS award_id,
               e.planned_end AS planned_end_date, e.end_date, e.days_early,
               'end date brought forward' AS notice_type, NULL AS related_ocid, NULL AS related_release_id,
               NULL AS related_supplier,
               'a notice brought the contract''s end date forward by a long way' AS basis
        FROM e
        LEFT JOIN tmp_de_suppliers AS s ON s.ocid = e.ocid AND s.award_id = coalesce(e.compiled_award_id, e.award_id)
        -- a termination notice that also moved the end date is reported once, as terminated_early
        WHERE NOT EXISTS (
            SELECT 1 FROM derived_events AS d
            WHERE d.ocid = e.ocid AND d.contract_id = e.contract_id AND d.release_id = e.release_id
        )
        """,
    )
    con.execute("DROP TABLE tmp_de_ends")


def _cancellations(con: duckdb.DuckDBPyConnection) -> None:
    """``award_or_contract_cancelled``: the first notice that gave the award or contract the status cancelled."""
    _insert(
        con,
        f"""
        WITH cancelled AS (
            SELECT 'award' AS kind, ocid, award_id, NULL AS contract_id, release_id, released FROM tmp_de_awards
            WHERE status = 'cancelled'
            QUALIFY row_number() OVER (PARTITION BY ocid, award_id ORDER BY step) = 1
            UNION ALL
            SELECT 'contract', ocid, award_id, contract_id, release_id, released FROM tmp_de_contracts
            WHERE status = 'cancelled'
            QUALIFY row_number() OVER (PARTITION BY ocid, contract_id ORDER BY step) = 1
        ), current AS (
            -- still cancelled in the compiled release
            SELECT c.* FROM cancelled AS c
            WHERE (c.kind = 'award' AND EXISTS (SELECT 1 FROM awards AS a WHERE a.ocid = c.ocid
                                                AND a.award_id = c.award_id AND lower(a.status) = 'cancelled'))
               OR (c.kind = 'contract' AND EXISTS (SELECT 1 FROM contracts AS k WHERE k.ocid = c.ocid
                                                   AND k.contract_id = c.contract_id
                                                   AND lower(k.status) = 'cancelled'))
        )
        SELECT c.ocid, 'award_or_contract_cancelled' AS event_type, c.released::DATE AS event_date, s.party_id,
               s.identifier AS organisation_identifier, s.name AS organisation_name, p.buyer_id, p.buyer_name,
               c.release_id,
               concat(
                   coalesce(p.buyer_name, 'The buyer'), ' published on ', {_date_text("c.released")}, ' that the ',
                   c.kind, ' ', {_quoted("coalesce(a.title, p.title)")}, coalesce(' to ' || s.name, ''),
                   ' was cancelled. A cancellation can also correct a notice published in error.'
               ) AS summary,
               c.contract_id, coalesce(c.award_id, k.award_id) AS award_id, NULL AS planned_end_date,
               NULL AS end_date, NULL AS days_early, c.kind || ' status cancelled' AS notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               'the ' || c.kind || '''s status became cancelled' AS basis
        FROM current AS c
        JOIN processes AS p ON p.ocid = c.ocid
        LEFT JOIN contracts AS k ON k.ocid = c.ocid AND k.contract_id = c.contract_id
        LEFT JOIN awards AS a ON a.ocid = c.ocid AND a.award_id = coalesce(c.award_id, k.award_id)
        LEFT JOIN tmp_de_suppliers AS s ON s.ocid = c.ocid AND s.award_id = coalesce(c.award_id, k.award_id)
        """,
    )


def _termination_notices(con: duckdb.DuckDBPyConnection) -> None:
    """``termination_notice``: Find a Tender UK11 (contract) and UK12 (procurement) termination notices."""
    notices = ", ".join(f"'{notice}'" for notice in TERMINATION_NOTICES)
    _insert(
        con,
        f"""
        WITH n AS (
            SELECT d.*, coalesce(k.award_id, CASE WHEN d.scope = 'award' THEN d.parent_id END) AS notice_award_id
            FROM tmp_de_documents AS d
            LEFT JOIN contracts AS k ON d.scope = 'contract' AND k.ocid = d.ocid AND k.contract_id = d.parent_id
            WHERE d.notice_type IN ({notices}) AND d.scope <> 'implementation'
            QUALIFY row_number() OVER (PARTITION BY d.ocid, d.notice_type, d.parent_id ORDER BY d.released, d.seq) = 1
        ), concerned AS (
            -- the suppliers a notice concerns: of its award or contract, else (UK12) of the cancelled awards,
            -- else (UK11) of every award; a UK12 before any award concerns no supplier
            SELECT n.*, s.award_id AS supplier_award_id, s.party_id, s.identifier, s.name
            FROM n LEFT JOIN tmp_de_suppliers AS s ON s.ocid = n.ocid AND (
                s.award_id = n.notice_award_id
                OR (n.notice_award_id IS NULL AND n.notice_type = 'UK11')
                OR (n.notice_award_id IS NULL AND n.notice_type = 'UK12' AND s.award_cancelled))
        )
        SELECT c.ocid, 'termination_notice' AS event_type, c.released::DATE AS event_date, c.party_id,
               c.identifier AS organisation_identifier, c.name AS organisation_name, p.buyer_id, p.buyer_name,
               c.release_id,
               CASE c.notice_type
                   WHEN 'UK11' THEN concat(
                       coalesce(p.buyer_name, 'The buyer'), ' published a contract termination notice (UK11) on ',
                       {_date_text("c.released")}, ' for ', {_quoted("coalesce(k.title, p.title)")},
                       coalesce(' with ' || c.name, ''),
                       '. The notice is also published when a contract ends as planned: check its reason.')
                   ELSE concat(
                       coalesce(p.buyer_name, 'The buyer'), ' published a procurement termination notice (UK12) on ',
                       {_date_text("c.released")}, ': it ended the procurement ', {_quoted("p.title")},
                       coalesce(' and cancelled the award to ' || c.name, ''), '.')
               END AS summary,
               CASE WHEN c.scope = 'contract' THEN c.parent_id END AS contract_id,
               coalesce(c.supplier_award_id, c.notice_award_id) AS award_id,
               NULL AS planned_end_date, NULL AS end_date, NULL AS days_early, c.notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               'a Find a Tender ' || c.notice_type || ' notice (' || coalesce(c.document_type, 'document') || ')'
                   AS basis
        FROM concerned AS c
        JOIN processes AS p ON p.ocid = c.ocid
        LEFT JOIN contracts AS k ON c.scope = 'contract' AND k.ocid = c.ocid AND k.contract_id = c.parent_id
        """,
    )
    # A cancelled award that a UK12 notice reports is told once, by the notice.
    con.execute(
        """
        DELETE FROM derived_events AS d
        WHERE d.event_type = 'award_or_contract_cancelled' AND EXISTS (
            SELECT 1 FROM derived_events AS n
            WHERE n.event_type = 'termination_notice' AND n.ocid = d.ocid AND n.release_id = d.release_id
              AND n.party_id IS NOT DISTINCT FROM d.party_id)
        """
    )


def _provider_exits(con: duckdb.DuckDBPyConnection) -> None:
    """``provider_exit``: a replacement award for the same service to another supplier after an early end."""
    # Who is on the buying side of each process (buyer, procuring entity, funders), by identifier else name.
    party_key = f"""coalesce(
        {identifier_key_sql("nullif(trim(p.identifier_scheme), '') || '-' || nullif(trim(p.identifier_id), '')")},
        {name_key_sql("p.name")})"""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_buyers AS
        SELECT DISTINCT p.ocid, {party_key} AS buyer_key
        FROM parties AS p
        WHERE list_has_any(p.roles, ['buyer', 'procuringEntity', 'funder'])
           OR p.party_id = (SELECT buyer_id FROM processes AS r WHERE r.ocid = p.ocid)
        UNION
        SELECT ocid, {name_key_sql("buyer_name")} FROM processes WHERE buyer_name IS NOT NULL
        """
    )
    con.execute("DELETE FROM tmp_de_buyers WHERE buyer_key IS NULL")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_exits AS
        SELECT e.*, {identifier_key_sql("e.organisation_identifier")} AS id_key,
               {name_key_sql("e.organisation_name")} AS nm_key,
               least(e.event_date, coalesce(e.end_date, e.event_date)) - INTERVAL {EXIT_BEFORE_DAYS} DAY
                   AS window_start,
               greatest(e.event_date, coalesce(e.end_date, e.event_date)) + INTERVAL {EXIT_AFTER_DAYS} DAY
                   AS window_end,
               coalesce(k.title, a.title, p.title) AS old_title,
               -- a number for each exit and for each award (its row), which the pairs below carry: at a million
               -- processes there are 12.5 million pairs, and grouping and joining them by text keys costs more
               row_number() OVER (ORDER BY e.event_id) AS x_no
        FROM derived_events AS e
        JOIN processes AS p ON p.ocid = e.ocid
        LEFT JOIN contracts AS k ON k.ocid = e.ocid AND k.contract_id = e.contract_id
        LEFT JOIN awards AS a ON a.ocid = e.ocid AND a.award_id = e.award_id
        WHERE e.event_type IN ('terminated_early', 'ended_early') AND e.party_id IS NOT NULL
        """
    )
    # each process's CPV divisions (two digits) and classes (four), worked out once rather than for every pair
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_classes AS
        SELECT ocid, list_distinct(list(left(cpv_code, 2))) AS divisions,
               list_distinct(list(left(cpv_code, 4))) AS classes
        FROM (
            SELECT ocid, cpv_code FROM item_classifications WHERE cpv_code IS NOT NULL
            UNION ALL SELECT ocid, cpv_code FROM items WHERE cpv_code IS NOT NULL
        ) GROUP BY ocid
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_links AS
        SELECT DISTINCT ocid, identifier AS other FROM related_processes WHERE identifier IS NOT NULL
        UNION
        SELECT DISTINCT identifier, ocid FROM related_processes WHERE identifier IS NOT NULL
        """
    )
    live = "coalesce(lower(a.status), 'active') NOT IN ('cancelled', 'unsuccessful')"
    # Step 1: every award that could replace an exit, by the same buyers, within the exit's window. A match needs
    # a shared CPV division, CPV codes missing on one side, or a link between the processes; each is joined on its
    # own, and the window is part of the join, so no pair that can match none of these is ever made.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_awarded AS
        SELECT b.buyer_key, a.rowid AS a_no, a.ocid, a.award_id, coalesce(a.date, p.first_release_date) AS awarded,
               unnest(coalesce(d.divisions, [NULL])) AS division
        FROM awards AS a JOIN processes AS p ON p.ocid = a.ocid
        JOIN tmp_de_buyers AS b ON b.ocid = a.ocid
        LEFT JOIN tmp_de_classes AS d ON d.ocid = a.ocid
        WHERE {live}
          AND b.buyer_key IN (SELECT b.buyer_key FROM tmp_de_exits AS x JOIN tmp_de_buyers AS b USING (ocid))
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_exit_keys AS
        SELECT x.x_no, x.ocid, x.award_id, x.event_date, x.window_start, x.window_end, b.buyer_key,
               unnest(coalesce(d.divisions, [NULL])) AS division
        FROM tmp_de_exits AS x
        JOIN tmp_de_buyers AS b ON b.ocid = x.ocid
        LEFT JOIN tmp_de_classes AS d ON d.ocid = x.ocid
        """
    )
    pair = """SELECT DISTINCT x.x_no, w.a_no FROM tmp_de_exit_keys AS x"""
    keep = """w.awarded BETWEEN x.window_start AND x.window_end
              AND (w.ocid <> x.ocid OR (w.award_id IS DISTINCT FROM x.award_id AND w.awarded::DATE > x.event_date))"""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_pairs AS
        {pair} JOIN tmp_de_awarded AS w ON w.buyer_key = x.buyer_key AND w.division = x.division AND {keep}
        """
    )
    con.execute(
        f"""
        INSERT INTO tmp_de_pairs
        -- a side without CPV codes, each side on its own: with an OR, every pair of the buyer would be made first
        {pair} JOIN tmp_de_awarded AS w ON w.buyer_key = x.buyer_key AND {keep}
        WHERE x.division IS NULL
        UNION
        {pair} JOIN tmp_de_awarded AS w ON w.buyer_key = x.buyer_key AND {keep}
        WHERE w.division IS NULL
        UNION
        {pair} JOIN tmp_de_links AS l ON l.ocid = x.ocid
        JOIN tmp_de_awarded AS w ON w.ocid = l.other AND w.buyer_key = x.buyer_key AND {keep}
        EXCEPT SELECT * FROM tmp_de_pairs
        """
    )
    # Step 2: the title words of each exit and of each possible replacement, worked out once each.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_new AS
        SELECT a.rowid AS a_no, a.ocid AS new_ocid, a.award_id AS new_award_id,
               coalesce(a.date, p.first_release_date)::DATE AS new_date, coalesce(a.title, p.title) AS new_title,
               {_words("coalesce(a.title, p.title)")} AS new_w
        FROM awards AS a JOIN processes AS p ON p.ocid = a.ocid
        WHERE {live} AND a.rowid IN (SELECT a_no FROM tmp_de_pairs)
        """
    )
    con.execute("ALTER TABLE tmp_de_exits ADD COLUMN old_w VARCHAR[]")
    con.execute(f"UPDATE tmp_de_exits SET old_w = {_words('old_title')}")
    # Each title's words by number, and the similarity of each pair of them that a pair of awards gives, worked out
    # once: at a million processes, 12 million pairs of awards are made of a few thousand pairs of titles.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_words AS
        SELECT row_number() OVER () AS w_no, w
        FROM (SELECT old_w AS w FROM tmp_de_exits UNION SELECT new_w FROM tmp_de_new)
        """
    )
    for table, column in (("tmp_de_exits", "old_w"), ("tmp_de_new", "new_w")):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT t.*, w.w_no AS {column}_no FROM {table} AS t JOIN tmp_de_words AS w ON w.w = t.{column}
            """
        )
    # the pairs of awards with their titles' numbers (joined here, on their own: a statement joining the similarity
    # of titles to both sides may join it to each side first, and make every pair of titles' awards)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_pairs AS
        SELECT c.*, x.old_w_no, n.new_w_no
        FROM tmp_de_pairs AS c
        JOIN tmp_de_exits AS x USING (x_no)
        JOIN tmp_de_new AS n USING (a_no)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_title_pairs AS
        SELECT d.old_w_no, d.new_w_no,
               -- the words are distinct on each side, so the union's size is worked out from the intersection's
               CASE WHEN len(a.w) + len(b.w) > 0
                    THEN len(list_intersect(a.w, b.w)) / (len(a.w) + len(b.w) - len(list_intersect(a.w, b.w)))
                    ELSE 0 END AS similarity
        FROM (SELECT DISTINCT old_w_no, new_w_no FROM tmp_de_pairs) AS d
        JOIN tmp_de_words AS a ON a.w_no = d.old_w_no
        JOIN tmp_de_words AS b ON b.w_no = d.new_w_no
        """
    )
    # Step 3: the pairs that are the same service by a link, or by CPV codes and a similar title. First, by numbers
    # alone, the pairs that can be: linked (found from the few links), or with titles at least as similar as the
    # lowest threshold asks.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_linked AS
        SELECT DISTINCT x.x_no, n.a_no
        FROM tmp_de_exits AS x JOIN tmp_de_links AS l ON l.ocid = x.ocid JOIN tmp_de_new AS n ON n.new_ocid = l.other
        """
    )
    lowest = min(TITLE_SIMILAR_SAME_CPV_CLASS, TITLE_SIMILAR, TITLE_SIMILAR_NO_CPV)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_candidates AS
        SELECT c.x_no, c.a_no, k.x_no IS NOT NULL AS linked, t.similarity
        FROM tmp_de_pairs AS c
        JOIN tmp_de_title_pairs AS t ON t.old_w_no = c.old_w_no AND t.new_w_no = c.new_w_no
        LEFT JOIN tmp_de_linked AS k ON k.x_no = c.x_no AND k.a_no = c.a_no
        WHERE t.similarity >= {lowest} OR k.x_no IS NOT NULL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_similar AS
        WITH scored AS (
            SELECT x.event_id AS exit_id, x.ocid AS old_ocid, n.new_ocid, n.new_award_id, n.new_date, n.new_title,
                   c.linked, c.similarity,
                   coalesce(list_has_any(o.divisions, k.divisions), FALSE) AS same_division,
                   coalesce(list_has_any(o.classes, k.classes), FALSE) AS same_class,
                   o.ocid IS NULL OR k.ocid IS NULL AS cpv_missing  -- no CPV code on one side
            FROM tmp_de_candidates AS c
            JOIN tmp_de_exits AS x USING (x_no)
            JOIN tmp_de_new AS n USING (a_no)
            LEFT JOIN tmp_de_classes AS o ON o.ocid = x.ocid
            LEFT JOIN tmp_de_classes AS k ON k.ocid = n.new_ocid
        )
        SELECT * FROM scored
        WHERE linked
           OR (same_class AND similarity >= {TITLE_SIMILAR_SAME_CPV_CLASS})
           OR (same_division AND similarity >= {TITLE_SIMILAR})
           OR (cpv_missing AND similarity >= {TITLE_SIMILAR_NO_CPV})
        """
    )
    # Step 4: the suppliers of those replacement awards, keyed as the leaving supplier is.
    supplier_id = identifier_key_sql(
        "nullif(trim(coalesce(t.identifier_scheme, q.identifier_scheme)), '') || '-' || "
        "nullif(trim(coalesce(t.identifier_id, q.identifier_id)), '')"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tmp_de_new_suppliers AS
        SELECT t.ocid, t.award_id, coalesce(t.name, q.name) AS name, {supplier_id} AS id_key,
               {name_key_sql("coalesce(t.name, q.name)")} AS nm_key
        FROM award_suppliers AS t
        LEFT JOIN parties AS q ON q.ocid = t.ocid AND q.party_id = t.party_id
        WHERE t.ocid IN (SELECT new_ocid FROM tmp_de_similar)
        """
    )
    _insert(
        con,
        f"""
        WITH matched AS (
            SELECT s.* EXCLUDE (old_ocid), x.*,
                   (SELECT string_agg(DISTINCT t.name, ', ' ORDER BY t.name) FROM tmp_de_new_suppliers AS t
                    WHERE t.ocid = s.new_ocid AND t.award_id IS NOT DISTINCT FROM s.new_award_id) AS new_suppliers,
                   CASE WHEN s.linked THEN 'the replacement process names the first one as related'
                        WHEN s.same_class THEN 'the same CPV class and a similar title'
                        WHEN s.same_division THEN 'the same CPV division and a similar title'
                        ELSE 'a similar title (no CPV codes to compare)' END AS match_basis
            FROM tmp_de_similar AS s
            JOIN tmp_de_exits AS x ON x.event_id = s.exit_id
            -- a different supplier: the new award has suppliers, and none of them is the one that left
            WHERE EXISTS (SELECT 1 FROM tmp_de_new_suppliers AS t
                          WHERE t.ocid = s.new_ocid AND t.award_id IS NOT DISTINCT FROM s.new_award_id)
              AND NOT EXISTS (SELECT 1 FROM tmp_de_new_suppliers AS t
                              WHERE t.ocid = s.new_ocid AND t.award_id IS NOT DISTINCT FROM s.new_award_id
                                AND (coalesce(t.id_key, '?') = x.id_key OR t.nm_key = x.nm_key))
            QUALIFY row_number() OVER (
                PARTITION BY s.exit_id
                ORDER BY s.linked DESC, s.new_date < x.event_date, abs(datediff('day', x.event_date, s.new_date)),
                         s.new_ocid, s.new_award_id) = 1
        ), notices AS (
            -- the notices of the replacement processes, with the awards each carries
            SELECT r.ocid, r.release_id, r.seq, tw_ts(r.release_date) AS released,
                   json_extract_string(r.data, '$.awards[*].id') AS award_ids
            FROM raw_releases AS r WHERE r.ocid IN (SELECT new_ocid FROM matched)
        ), first_notice AS (
            -- the first notice of the replacement process that carries the award
            SELECT m.exit_id, n.release_id AS new_release_id
            FROM matched AS m JOIN notices AS n ON n.ocid = m.new_ocid AND list_contains(n.award_ids, m.new_award_id)
            QUALIFY row_number() OVER (PARTITION BY m.exit_id ORDER BY n.released NULLS LAST, n.seq) = 1
        )
        SELECT m.ocid, 'provider_exit' AS event_type, m.new_date AS event_date, m.party_id,
               m.organisation_identifier, m.organisation_name, m.buyer_id, m.buyer_name, m.release_id,
               concat(
                   coalesce(m.organisation_name, 'The supplier'), '''s contract ', {_quoted("m.old_title")},
                   ' ended early (notice of ', {_date_text("m.event_date")}, '); on ', {_date_text("m.new_date")},
                   ' the same buyers awarded ', {_quoted("m.new_title")}, ' to ', coalesce(m.new_suppliers, '?'),
                   ' (', m.new_ocid, ').'
               ) AS summary,
               m.contract_id, m.award_id, m.planned_end_date, m.end_date, m.days_early, m.notice_type,
               m.new_ocid AS related_ocid, f.new_release_id AS related_release_id,
               m.new_suppliers AS related_supplier,
               'replacement within a year of the early end: ' || m.match_basis AS basis
        FROM matched AS m LEFT JOIN first_notice AS f USING (exit_id)
        """,
    )
    for table in (
        "tmp_de_buyers",
        "tmp_de_exits",
        "tmp_de_classes",
        "tmp_de_awarded",
        "tmp_de_exit_keys",
        "tmp_de_pairs",
        "tmp_de_new",
        "tmp_de_similar",
        "tmp_de_new_suppliers",
        "tmp_de_words",
        "tmp_de_title_pairs",
        "tmp_de_linked",
        "tmp_de_candidates",
    ):
        con.execute(f"DROP TABLE {table}")


__all__ = ["build_derived_events"]


def _notice_type(default: str, only: str | None = None) -> str:
    """SQL: the Find a Tender notice type of the release ``e`` (the first in order, or ``only`` that type), else
    ``default``."""
    which = f" AND d.notice_type = '{only}'" if only else ""
    return f"""coalesce((SELECT min(d.notice_type) FROM tmp_de_documents AS d
                         WHERE d.ocid = e.ocid AND d.release_id = e.release_id{which}), '{default}')"""


def _performance(con: duckdb.DuckDBPyConnection) -> None:
    """``performance_failure`` and ``kpi_below``: what the buyer published about the contract's performance (the
    Find a Tender contract performance notice, UK9). A failure or a rating repeated by later notices is told once,
    from the first notice that gave it."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_implementation AS
        WITH c AS (SELECT ocid, release_id, seq, released, unnest(x.contracts) AS c FROM tmp_de_releases)
        SELECT ocid, release_id, seq, released, c.id AS contract_id, c.awardID AS award_id,
               c.implementation AS implementation
        FROM c WHERE c.id IS NOT NULL AND c.implementation IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_failures AS
        WITH f AS (SELECT * EXCLUDE (implementation), unnest(implementation.performanceFailures) AS f
                   FROM tmp_de_implementation)
        SELECT *, md5(concat_ws('|', f.requirement, f.description, f.decisionDate, f.penaltyDate)) AS failure_key
        FROM f
        QUALIFY row_number() OVER (
            PARTITION BY ocid, contract_id, f.requirement, f.description, f.decisionDate, f.penaltyDate
            ORDER BY released NULLS LAST, seq) = 1
        """
    )
    penalty = money("TRY_CAST(e.f.penaltyValue.amount AS DOUBLE)", "e.f.penaltyValue.currency")
    _insert(
        con,
        f"""
        WITH failures AS (
            SELECT x.*, coalesce(x.award_id, k.award_id) AS concerned_award, k.title AS contract_title
            FROM tmp_de_failures AS x
            LEFT JOIN contracts AS k ON k.ocid = x.ocid AND k.contract_id = x.contract_id
        ),
        named AS (  -- the suppliers the failure names
            SELECT x.*, unnest(x.f.suppliers) AS who FROM failures AS x WHERE len(x.f.suppliers) > 0
        ),
        e AS (
            SELECT n.* EXCLUDE (who), n.who.id AS party_id, coalesce(p.name, n.who.name) AS name,
                   {_identifier("p.identifier_scheme", "p.identifier_id")} AS identifier
            FROM named AS n LEFT JOIN parties AS p ON p.ocid = n.ocid AND p.party_id = n.who.id
            UNION ALL BY NAME  -- else the suppliers of the contract's award
            SELECT x.*, s.party_id, s.name, s.identifier
            FROM failures AS x
            LEFT JOIN tmp_de_suppliers AS s ON s.ocid = x.ocid AND s.award_id = x.concerned_award
            WHERE len(coalesce(x.f.suppliers, [])) = 0
        )
        SELECT e.ocid, 'performance_failure' AS event_type, e.released::DATE AS event_date, e.party_id,
               e.identifier AS organisation_identifier, e.name AS organisation_name, p.buyer_id, p.buyer_name,
               e.release_id,
               concat(
                   coalesce(p.buyer_name, 'The buyer'), ' published on ', {_date_text("e.released")},
                   ' a failure to perform the contract ', {_quoted("coalesce(e.contract_title, p.title)")},
                   coalesce(' by ' || e.name, ''), '.',
                   coalesce(' Requirement not met: ' || rtrim(e.f.requirement, '.') || '.', ''),
                   coalesce(' What happened: ' || rtrim(e.f.description, '.') || '.', ''),
                   coalesce(' Decided on ' || {_date_text("tw_ts(e.f.decisionDate)")} || '.', ''),
                   coalesce(' Penalty: ' || {penalty}
                            || coalesce(' (' || coalesce(e.f.penaltyType, e.f.penaltyTypeEntered) || ')', '')
                            || '.', ''),
                   coalesce(' Partial termination: ' || rtrim(e.f.partialTermination, '.') || '.', '')
               ) AS summary,
               e.contract_id, e.concerned_award AS award_id, NULL AS planned_end_date, NULL AS end_date,
               NULL AS days_early, {_notice_type("performance failure", "UK9")} AS notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               'a performance failure the buyer published with the contract (implementation.performanceFailures)'
                   AS basis,
               e.failure_key
        FROM e JOIN processes AS p ON p.ocid = e.ocid
        """,
        detail="failure_key",
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE tmp_de_kpis AS
        WITH m AS (SELECT * EXCLUDE (implementation), unnest(implementation.metrics) AS m FROM tmp_de_implementation),
        o AS (SELECT ocid, release_id, seq, released, contract_id, award_id, m.id AS metric_id,
                     m.title AS metric_title, unnest(m.observations) AS o
              FROM m)
        SELECT ocid, release_id, seq, released, contract_id, award_id, metric_id, metric_title,
               o.id AS observation_id, o.measureClassification.id AS rating
        FROM o
        WHERE o.measureClassification.id IN ('below', 'significantlyBelow')
        QUALIFY row_number() OVER (
            PARTITION BY ocid, contract_id, metric_id, o.id ORDER BY released NULLS LAST, seq) = 1
        """
    )
    _insert(
        con,
        f"""
        WITH e AS (
            SELECT x.ocid, x.release_id, any_value(x.released) AS released, x.contract_id,
                   coalesce(any_value(x.award_id), any_value(k.award_id)) AS concerned_award,
                   any_value(k.title) AS contract_title, count(*) AS below,
                   string_agg(coalesce('"' || x.metric_title || '"', 'an untitled indicator')
                              || CASE WHEN x.rating = 'significantlyBelow' THEN ' (significantly below)'
                                      ELSE ' (below)' END, ', '
                              ORDER BY x.rating DESC, x.metric_title, x.metric_id) AS ratings
            FROM tmp_de_kpis AS x
            LEFT JOIN contracts AS k ON k.ocid = x.ocid AND k.contract_id = x.contract_id
            GROUP BY x.ocid, x.release_id, x.contract_id
        )
        SELECT e.ocid, 'kpi_below' AS event_type, e.released::DATE AS event_date, s.party_id,
               s.identifier AS organisation_identifier, s.name AS organisation_name, p.buyer_id, p.buyer_name,
               e.release_id,
               concat(
                   coalesce(p.buyer_name, 'The buyer'), ' published on ', {_date_text("e.released")}, ' that ',
                   coalesce(s.name, 'the supplier'), ' performed below the required standard on ', e.below,
                   ' key performance indicator', CASE WHEN e.below > 1 THEN 's' ELSE '' END, ' of the contract ',
                   {_quoted("coalesce(e.contract_title, p.title)")}, ': ', e.ratings, '.'
               ) AS summary,
               e.contract_id, e.concerned_award AS award_id, NULL AS planned_end_date, NULL AS end_date,
               NULL AS days_early, {_notice_type("key performance indicators", "UK9")} AS notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               e.below || ' rated below or significantly below (implementation.metrics, measureClassification)'
                   AS basis
        FROM e
        JOIN processes AS p ON p.ocid = e.ocid
        LEFT JOIN tmp_de_suppliers AS s ON s.ocid = e.ocid AND s.award_id = e.concerned_award
        """,
    )


def _removed_suppliers(con: duckdb.DuckDBPyConnection) -> None:
    """``supplier_removed``: a party given the role ``removedSupplier``, from the first notice that gave it."""
    _insert(
        con,
        f"""
        WITH u AS (SELECT ocid, release_id, seq, released, unnest(x.parties) AS party FROM tmp_de_releases),
        e AS (
            SELECT * FROM u WHERE list_contains(party.roles, 'removedSupplier')
            QUALIFY row_number() OVER (PARTITION BY ocid, party.id ORDER BY released NULLS LAST, seq) = 1
        )
        SELECT e.ocid, 'supplier_removed' AS event_type, e.released::DATE AS event_date, e.party.id AS party_id,
               {_identifier("e.party.identifier.scheme", "e.party.identifier.id")} AS organisation_identifier,
               e.party.name AS organisation_name, p.buyer_id, p.buyer_name, e.release_id,
               concat(
                   coalesce(p.buyer_name, 'The buyer'), ' published on ', {_date_text("e.released")}, ' that ',
                   coalesce(e.party.name, 'a supplier'), ' was removed as a supplier of ', {_quoted("p.title")},
                   '. The notice does not say why: check it.'
               ) AS summary,
               NULL AS contract_id, NULL AS award_id, NULL AS planned_end_date, NULL AS end_date,
               NULL AS days_early,
               {_notice_type("party role")} AS notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               'the party''s role became removedSupplier' AS basis
        FROM e JOIN processes AS p ON p.ocid = e.ocid
        """,
    )


def _payments_to_buyer(con: duckdb.DuckDBPyConnection) -> None:
    """``payment_to_buyer``: a transaction of a contract paid by a supplier of the process to its buyer or
    procuring entity, from the first notice that gave it, with the titles of the contract's documents first
    published in that notice (which often say what the payment was for)."""
    amount = money("e.value_amount", "e.value_currency")
    _insert(
        con,
        f"""
        WITH listed AS (
            SELECT ocid, release_id, seq, released, contract_id, award_id,
                   unnest(implementation.transactions) AS transaction
            FROM tmp_de_implementation
        ),
        given AS (  -- each transaction, from the first notice that gave it
            SELECT ocid, release_id, released, contract_id, award_id, transaction.id AS transaction_id
            FROM listed
            QUALIFY row_number() OVER (
                PARTITION BY ocid, contract_id, transaction.id ORDER BY released NULLS LAST, seq) = 1
        ),

        e AS (
            SELECT g.*, t.date AS paid, t.value_amount, t.value_currency, t.position, s.party_id, s.name,
                   s.identifier, k.title AS contract_title, k.award_id AS contract_award,
                   (SELECT string_agg('"' || rtrim(d.title, '.') || '"', '; ' ORDER BY d.document_id)
                    FROM tmp_de_documents AS d
                    WHERE d.ocid = g.ocid AND d.release_id = g.release_id AND d.scope IN ('contract', 'implementation')
                      AND d.parent_id = g.contract_id AND nullif(trim(d.title), '') IS NOT NULL) AS titles
            FROM given AS g
            JOIN transactions AS t
                ON t.ocid = g.ocid AND t.contract_id = g.contract_id AND t.transaction_id = g.transaction_id
            JOIN tmp_de_suppliers AS s ON s.ocid = t.ocid AND s.party_id = t.payer_id
            JOIN processes AS p ON p.ocid = t.ocid
            LEFT JOIN tenders AS r ON r.ocid = t.ocid
            LEFT JOIN contracts AS k ON k.ocid = t.ocid AND k.contract_id = t.contract_id
            WHERE t.payee_id IN (p.buyer_id, r.procuring_entity_id) AND t.payee_id IS DISTINCT FROM t.payer_id
            -- one row a transaction: the supplier as the contract's award names it, else its first name
            QUALIFY row_number() OVER (
                PARTITION BY g.ocid, g.contract_id, g.transaction_id
                ORDER BY s.award_id IS NOT DISTINCT FROM coalesce(g.award_id, k.award_id) DESC, s.name, s.award_id
            ) = 1
        )
        SELECT e.ocid, 'payment_to_buyer' AS event_type, e.released::DATE AS event_date, e.party_id,
               e.identifier AS organisation_identifier, e.name AS organisation_name, p.buyer_id, p.buyer_name,
               e.release_id,
               concat(
                   coalesce(e.name, 'The supplier'), ' paid ', coalesce(p.buyer_name, 'the buyer'),
                   coalesce(' ' || {amount}, ''), coalesce(' on ' || {_date_text("e.paid")}, ''),
                   ' under the contract ', {_quoted("coalesce(e.contract_title, p.title)")},
                   ': a payment from the supplier to the buyer, such as a repayment, penalty, service credit or ',
                   'settlement.',
                   coalesce(' The notice of ' || {_date_text("e.released")} || ' gives with it: ' || e.titles || '.',
                            '')
               ) AS summary,
               e.contract_id, coalesce(e.award_id, e.contract_award) AS award_id, NULL AS planned_end_date,
               NULL AS end_date, NULL AS days_early, {_notice_type("contract transaction")} AS notice_type,
               NULL AS related_ocid, NULL AS related_release_id, NULL AS related_supplier,
               'a transaction of the contract (implementation.transactions) paid by a supplier of the process to '
               || 'its buyer or procuring entity' AS basis,
               e.transaction_id
        FROM e JOIN processes AS p ON p.ocid = e.ocid
        """,
        detail="transaction_id",
    )
