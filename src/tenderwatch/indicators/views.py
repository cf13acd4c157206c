"""Views every indicator can read, built from the normalised tables with the common settings applied.

=======================  ====================================================================================
``ind_processes``        processes not excluded (tender status ``cancelled``, or a procedure listed in the
                         exclusions), with buyer, procuring entity, method, method details, tender dates and
                         ``price_comparison`` (whether bid prices may be compared, by the two lists)
``ind_untendered``       the ocids of the processes without a tender (``processes.has_tender``, kept when
                         normalising), read by ``ind_processes`` when it is made from ``tenders`` alone, for a
                         run whose statements read no column of ``processes`` itself from it
``ind_excluded``         the ocids of the processes excluded: a row of another table belongs to a process of
                         ``ind_processes`` when its ocid is ``NOT IN`` these (few) ocids, which costs much less
                         than a join with the million rows of ``ind_processes``
``ind_unpriced``         the ocids of the processes excluded or whose bid prices may not be compared
``ind_bids``             bids of those processes: ``submitted`` (a status other than invited and withdrawn),
                         ``amount`` (a DOUBLE), ``in_main_currency``
``ind_awards``           awards of those processes, with ``supplier_ids`` in order
``ind_bid_awards``       the awards (status, position and suppliers) of the processes with bid details, the
                         only ones Cardinal's bid indicators read: at a million processes 176,000 of the 1.1
                         million awards, so that the views and statements that read them do not each scan
                         every award with its suppliers
``ind_final_awards``     processes whose awards are all final (Cardinal's rule: awards and bid details are
                         present and every award status is active, cancelled, unsuccessful or absent), with
                         their active awards' ``winners`` and the number of active awards
``ind_main_currency``    one row: the main currency (the setting, else the currency of most bids)
``ind_party_keys``       each party of each process with its key across processes and its name
``ind_sole_winners``     processes with final awards, exactly one active award, to exactly one supplier
``ind_bid_tenderers``    each tenderer (with an id) of each bid of the processes of ``ind_processes``, keyed,
                         with the bid's position, status and date
``ind_price_gaps``       the gap between the winning bid and the second-lowest bid of each process with a sole
                         winner and comparable prices (R024 and R058)
``ind_cpv`` and others   the facts the catalogue's indicators share: main CPV code, awarded value, buyer and
                         its name, each supplier of each award and its name (see ``_catalogue.fact_views``)
=======================  ====================================================================================

A run of indicators makes a table of each of these that two or more of its statements read (see
:func:`shared_by`), so that the work is done once; ``ind_party_keys`` stays a view, as the key of each party is
kept in ``parties.party_key`` when normalising (and each bidder's in ``bids.tenderer_keys``), and so does
``ind_awards``, the awards as they are stored less those of the few processes excluded. So does
``ind_processes`` when none of the run's statements reads a column of ``processes`` itself from it: it is then a
scan of ``tenders`` with the few processes without a tender added, which costs each reader less than copying a
million joined rows costs the run.

Plus the macro ``tw_r8(sorted_list, p)``: the R-8 ("median-unbiased") quantile Cardinal uses, equal to
NumPy's ``method="median_unbiased"``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import duckdb

from tenderwatch.indicators._catalogue import fact_views, organisation_key
from tenderwatch.indicators.base import literal
from tenderwatch.indicators.settings import CommonSettings

# What each object reads of the others, in the order they are made.
DEPENDS = {
    "ind_untendered": (),
    "ind_processes": ("ind_untendered",),
    "ind_excluded": (),
    "ind_unpriced": ("ind_processes", "ind_excluded"),
    "ind_main_currency": (),
    "ind_bids": ("ind_excluded", "ind_unpriced", "ind_main_currency"),
    "ind_awards": ("ind_excluded",),
    "ind_bid_awards": ("ind_excluded",),
    "ind_final_awards": ("ind_bid_awards",),
    "ind_party_keys": (),
    "ind_sole_winners": ("ind_final_awards", "ind_bid_awards"),
    "ind_bid_tenderers": ("ind_excluded",),
    "ind_price_gaps": ("ind_sole_winners", "ind_unpriced", "ind_main_currency"),
    # the facts of the catalogue's indicators (see _catalogue.facts)
    "ind_cpv": ("ind_excluded",),
    "ind_awarded": ("ind_awards",),
    "ind_buyer_rows": ("ind_processes",),
    "ind_buyer_names": ("ind_buyer_rows",),
    "ind_supplied": ("ind_awards",),
    "ind_supplier_names": ("ind_supplied",),
}


# Views that only read rows of one table as they are: a table of them would be a copy, and making it costs more
# than reading the rows again (``ind_party_keys``: 3 million rows at a million processes; ``ind_awards``: 1.1
# million, 0.17 s to copy for Cardinal's eleven, against 0.02 s more for the one statement that reads it again;
# ``ind_untendered``: a filter of ``processes.has_tender``).
SCANS = frozenset({"ind_party_keys", "ind_awards", "ind_untendered"})

# The columns of ind_processes that come from processes itself rather than from tenders.
PROCESS_COLUMNS = frozenset({"buyer_id", "buyer_name", "title", "is_demo"})


def shared_by(statements: Iterable[str]) -> set[str]:
    """Return the objects that two or more of ``statements`` read, directly or through another object (other than
    those of ``SCANS``)."""
    counts = dict.fromkeys(DEPENDS, 0)
    for statement in statements:
        for name in read_by(statement):
            counts[name] += 1
    return {name for name, count in counts.items() if count >= 2 and name not in SCANS}


def read_by(statement: str) -> set[str]:
    """Return the objects a statement reads, directly or through another object."""
    read: set[str] = set()
    todo = [name for name in DEPENDS if name in statement]
    while todo:
        name = todo.pop()
        if name not in read:
            read.add(name)
            todo.extend(DEPENDS[name])
    return read


def key_of(party_id: str, name: str, keys: str) -> str:
    """Return SQL text of the key of a party named in a bid or award, given ``keys``, a row of ``ind_party_keys``
    joined on the process and the party id."""
    fallback = organisation_key(party_id, "NULL", "NULL", name)
    return f"coalesce({keys}.party_key, {fallback}, {party_id})"


def name_of(party_id: str, name: str, keys: str) -> str:
    """Return SQL text of a party's name: its name in ``parties``, else the name given with it, else its id."""
    return f"coalesce(nullif(trim({keys}.party_name), ''), nullif(trim({name}), ''), {party_id})"


R8_MACRO = """
CREATE OR REPLACE TEMP MACRO tw_r8(xs, p) AS
    CASE
        WHEN len(xs) = 0 THEN NULL
        WHEN floor((len(xs) + 1.0 / 3) * p + 1.0 / 3) <= 0 THEN xs[1]
        WHEN floor((len(xs) + 1.0 / 3) * p + 1.0 / 3) >= len(xs) THEN xs[len(xs)]
        ELSE xs[floor((len(xs) + 1.0 / 3) * p + 1.0 / 3)::BIGINT]
            + ((len(xs) + 1.0 / 3) * p + 1.0 / 3 - floor((len(xs) + 1.0 / 3) * p + 1.0 / 3))
            * (xs[floor((len(xs) + 1.0 / 3) * p + 1.0 / 3)::BIGINT + 1]
               - xs[floor((len(xs) + 1.0 / 3) * p + 1.0 / 3)::BIGINT])
    END
"""


def create_views(
    con: duckdb.DuckDBPyConnection,
    common: CommonSettings,
    *,
    materialise: Collection[str] = (),
    reading: Iterable[str] | None = None,
) -> None:
    """Create (or replace) the indicator views on this connection.

    Those named in ``materialise`` are made temporary tables instead, each worked out once: a run of many
    indicators then reads the joins and groupings they share instead of doing them again for each indicator (and
    for each of its quartiles). A call without it turns them all back into views. Given the statements a run is
    ``reading`` them for, ``ind_processes`` has only the columns they or the other views name.
    """
    con.execute(R8_MACRO)
    statements = view_statements(common)
    if reading is not None:
        texts = [*reading, *(sql for name, sql in statements.items() if name != "ind_processes")]
        # the columns of processes itself, named by a statement, or a view it reads, that reads ind_processes
        used = set().union(*(read_by(text) for text in reading))
        by_process = {
            word
            for text in [*reading, *(sql for name, sql in statements.items() if name in used)]
            if "ind_processes" in text
            for word in re.findall(r"\w+", text)
            if word in PROCESS_COLUMNS
        }
        statements = view_statements(
            common, named=set(re.findall(r"\w+", "\n".join(texts))), tenders_only=not by_process
        )
        # only what the run reads: another view may name a column this ind_processes leaves out (the views all
        # come back when the run ends, by a call without ``reading``)
        statements = {name: sql for name, sql in statements.items() if name in used}
        if not by_process:  # from tenders alone, a scan: each reader makes it again for less than a copy costs
            materialise = set(materialise) - {"ind_processes"}
    # the temporary tables and views there are, asked once (once per view cost a fiftieth of a second in all)
    existing = dict(
        con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary"
        ).fetchall()
    )
    for name, sql in statements.items():
        kind = "TABLE" if name in materialise else "VIEW"
        other = "VIEW" if kind == "TABLE" else "TABLE"
        if existing.get(name) == other:
            con.execute(f"DROP {other} {name}")
        con.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {sql}")


def view_statements(
    common: CommonSettings, *, named: Collection[str] | None = None, tenders_only: bool = False
) -> dict[str, str]:
    """Return the SELECT of each indicator view for these common settings, in the order they must be made; with
    ``named``, ``ind_processes`` gives only the columns ``named`` holds (and the ocid).

    With ``tenders_only`` (for statements that read none of the columns of ``processes`` itself from it),
    ``ind_processes`` reads ``tenders`` alone, with the processes that have no tender (``ind_untendered``) added:
    the same rows, without joining a million processes to a million tenders."""
    statements: dict[str, str] = {}

    def make(name: str, sql: str) -> None:
        statements[name] = sql

    excluded = literal(common.excluded_procurement_method_details)
    allow = common.price_comparison_procurement_methods
    deny = common.no_price_comparison_procurement_methods
    if allow:
        price_comparison = f"coalesce(list_contains({literal(allow)}, t.procurement_method_details), FALSE)"
    elif deny:
        price_comparison = f"NOT coalesce(list_contains({literal(deny)}, t.procurement_method_details), FALSE)"
    else:
        price_comparison = "TRUE"
    columns = {
        "ocid": "p.ocid",
        "buyer_id": "p.buyer_id",
        "buyer_name": "p.buyer_name",
        "title": "p.title",
        "is_demo": "p.is_demo",
        "procuring_entity_id": "t.procuring_entity_id",
        "procuring_entity_name": "t.procuring_entity_name",
        "procurement_method": "t.procurement_method",
        "procurement_method_details": "t.procurement_method_details",
        "tender_status": "t.status",
        "tender_period_start": "t.tender_period_start",
        "tender_period_end": "t.tender_period_end",
        "number_of_tenderers": "t.number_of_tenderers",
        "tender_value": "t.value_amount",
        "tender_currency": "t.value_currency",
        "price_comparison": price_comparison,
    }
    wanted = [
        name
        for name in columns
        if (named is None or name in named or name == "ocid") and not (tenders_only and name in PROCESS_COLUMNS)
    ]
    kept = f"""t.status IS DISTINCT FROM 'cancelled'
          AND NOT coalesce(list_contains({excluded}, t.procurement_method_details), FALSE)"""
    make("ind_untendered", "SELECT p.ocid FROM processes AS p WHERE NOT p.has_tender")
    if tenders_only:
        # a process without a tender has no tender columns: the same expressions over a row of nothing
        from_tenders = ",\n            ".join(
            f"{'t.ocid' if name == 'ocid' else columns[name]} AS {name}" for name in wanted
        )
        untendered = ",\n            ".join(f"{columns[name]} AS {name}" for name in wanted)
        make(
            "ind_processes",
            f"""
            SELECT
                {from_tenders}
            FROM tenders AS t
            WHERE t.ocid IS NOT NULL AND {kept}
            UNION ALL
            SELECT
                {untendered}
            FROM ind_untendered AS p LEFT JOIN tenders AS t ON FALSE
            """,
        )
    else:
        chosen = ",\n            ".join(f"{columns[name]} AS {name}" for name in wanted)
        make(
            "ind_processes",
            f"""
            SELECT
                {chosen}
            FROM processes AS p
            LEFT JOIN tenders AS t USING (ocid)
            WHERE {kept}
            """,
        )
    # every process has a row in processes, and at most one in tenders: those ruled out above are these
    make(
        "ind_excluded",
        f"""
        SELECT t.ocid FROM tenders AS t
        WHERE t.ocid IS NOT NULL
          AND (t.status = 'cancelled' OR coalesce(list_contains({excluded}, t.procurement_method_details), FALSE))
        """,
    )
    make(
        "ind_unpriced",
        "SELECT ocid FROM ind_excluded"
        + (
            ""
            if price_comparison == "TRUE"
            else " UNION ALL SELECT ocid FROM ind_processes WHERE NOT price_comparison"
        ),
    )
    main_currency = (
        literal(common.currency)
        if common.currency
        else """(SELECT value_currency FROM bids WHERE value_currency IS NOT NULL
                 GROUP BY value_currency ORDER BY count(*) DESC, value_currency LIMIT 1)"""
    )
    make("ind_main_currency", f"SELECT {main_currency} AS currency")
    make(
        "ind_bids",
        """
        SELECT
            b.ocid, b.bid_id, b.position, b.status, b.date, b.value_amount::DOUBLE AS amount,
            b.value_currency AS currency,
            b.tenderer_ids,
            b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn') AS submitted,
            b.value_currency = (SELECT currency FROM ind_main_currency) AS in_main_currency,
            b.ocid NOT IN (SELECT ocid FROM ind_unpriced) AS price_comparison
        FROM bids AS b
        WHERE b.ocid NOT IN (SELECT ocid FROM ind_excluded)
        """,
    )
    make(
        "ind_awards",
        """
        SELECT
            a.ocid, a.award_id, a.position, a.status, a.date, a.value_amount, a.value_currency, a.supplier_count,
            coalesce(a.supplier_ids, []::VARCHAR[]) AS supplier_ids
        FROM awards AS a
        WHERE a.ocid NOT IN (SELECT ocid FROM ind_excluded)
        """,
    )
    make(
        "ind_bid_awards",
        """
        SELECT a.ocid, a.position, a.status, a.supplier_count, coalesce(a.supplier_ids, []::VARCHAR[]) AS supplier_ids
        FROM awards AS a
        WHERE a.ocid IN (SELECT DISTINCT ocid FROM bids WHERE ocid NOT IN (SELECT ocid FROM ind_excluded))
        """,
    )
    make(
        "ind_final_awards",
        """
        SELECT
            a.ocid,
            count(*) FILTER (WHERE a.status = 'active') AS active_awards,
            -- in the order of the awards: sorting each list costs a third of an ordered aggregate (named fields,
            -- as Spark cannot take a field of a struct by its position)
            flatten(coalesce(list_transform(
                list_sort(
                    list({'position': a.position, 'suppliers': a.supplier_ids}) FILTER (WHERE a.status = 'active')
                ),
                lambda x: x.suppliers
            ), [])) AS winners
        FROM ind_bid_awards AS a
        GROUP BY a.ocid
        HAVING bool_and(a.status IS NULL OR a.status IN ('active', 'cancelled', 'unsuccessful'))
        """,
    )
    make(
        "ind_party_keys",
        """
        SELECT ocid, party_id, party_key, name AS party_name
        FROM parties WHERE party_id IS NOT NULL AND NOT repeated
        """,
    )
    make(
        "ind_sole_winners",
        """
        SELECT f.ocid, a.supplier_ids[1] AS winner_id
        FROM ind_final_awards AS f
        JOIN ind_bid_awards AS a ON a.ocid = f.ocid AND a.status = 'active'
        WHERE f.active_awards = 1 AND a.supplier_count = 1 AND len(a.supplier_ids) = 1
        """,
    )
    make(
        "ind_bid_tenderers",
        """
        SELECT u.ocid, u.position, u.status, u.date, u.tenderer_id, u.tenderers, u.tenderer_key, u.tenderer_name
        FROM (
            SELECT b.ocid, b.position, b.status, b.date, len(b.tenderer_ids) AS tenderers,
                   unnest(b.tenderer_ids) AS tenderer_id, unnest(b.tenderer_keys) AS tenderer_key,
                   unnest(b.tenderer_party_names) AS tenderer_name
            FROM bids AS b
            WHERE len(b.tenderer_ids) > 0 AND b.ocid NOT IN (SELECT ocid FROM ind_excluded)
        ) AS u
        WHERE u.tenderer_id IS NOT NULL
        """,
    )
    make(
        "ind_price_gaps",
        """
        WITH valid_prices AS (
            SELECT b.ocid, b.position, b.value_amount AS amount, b.value_currency AS currency,
                   b.tenderer_ids[1] AS tenderer_id, b.tenderer_keys[1] AS tenderer_key,
                   b.tenderer_party_names[1] AS tenderer_name
            FROM bids AS b
            WHERE b.ocid NOT IN (SELECT ocid FROM ind_unpriced) AND b.status = 'valid' AND b.value_amount IS NOT NULL
              AND b.value_currency = (SELECT currency FROM ind_main_currency)
              AND len(b.tenderer_ids) = 1 AND b.tenderer_ids[1] IS NOT NULL
        ),
        -- the winner's first bid and the rival's lowest each picked once, with all that is wanted of it
        gaps AS (
            SELECT b.ocid, any_value(b.currency) AS currency, w.winner_id,
                   min(b.amount) FILTER (WHERE b.tenderer_id = w.winner_id) AS winning_amount,
                   min(b.amount) FILTER (WHERE b.tenderer_id <> w.winner_id) AS rival_amount,
                   arg_min({'key': b.tenderer_key, 'name': b.tenderer_name}, b.position)
                       FILTER (WHERE b.tenderer_id = w.winner_id) AS winner,
                   arg_min({'id': b.tenderer_id, 'key': b.tenderer_key, 'name': b.tenderer_name},
                           (b.amount, b.position)) FILTER (WHERE b.tenderer_id <> w.winner_id) AS rival
            -- an inner join, written as a left one: DuckDB then builds its hash table of the 111,000 sole winners
            -- rather than of the 500,000 bids, whose number it underestimates (a third less time at a million)
            FROM valid_prices AS b LEFT JOIN ind_sole_winners AS w ON w.ocid = b.ocid
            WHERE w.ocid IS NOT NULL
            GROUP BY b.ocid, w.winner_id
            HAVING winning_amount > 0 AND rival_amount >= winning_amount
        )
        SELECT ocid, currency, winner_id, winning_amount, rival.id AS rival_id, rival_amount,
               winner.key AS winner_key, winner.name AS winner_name, rival.key AS rival_key,
               rival.name AS rival_name, (rival_amount - winning_amount) / winning_amount AS ratio
        FROM gaps
        """,
    )
    for name, sql in fact_views().items():
        make(name, sql)
    return statements
