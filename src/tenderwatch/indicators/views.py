"""Views every indicator can read, built from the normalised tables with the common settings applied.

=======================  ====================================================================================
``ind_processes``        processes not excluded (tender status ``cancelled``, or a procedure listed in the
                         exclusions), with buyer, procuring entity, method, method details, tender dates and
                         ``price_comparison`` (whether bid prices may be compared, by the two lists)
``ind_bids``             bids of those processes: ``submitted`` (a status other than invited and withdrawn),
                         ``amount`` (a DOUBLE), ``in_main_currency``
``ind_awards``           awards of those processes, with ``supplier_ids`` in order
``ind_final_awards``     processes whose awards are all final (Cardinal's rule: awards and bid details are
                         present and every award status is active, cancelled, unsuccessful or absent), with
                         their active awards' ``winners`` and the number of active awards
``ind_main_currency``    one row: the main currency (the setting, else the currency of most bids)
=======================  ====================================================================================

Plus the macro ``tw_r8(sorted_list, p)``: the R-8 ("median-unbiased") quantile Cardinal uses, equal to
NumPy's ``method="median_unbiased"``.
"""

from __future__ import annotations

import duckdb

from tenderwatch.indicators.base import literal
from tenderwatch.indicators.settings import CommonSettings

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


def create_views(con: duckdb.DuckDBPyConnection, common: CommonSettings) -> None:
    """Create (or replace) the indicator views on this connection."""
    excluded = literal(common.excluded_procurement_method_details)
    allow = common.price_comparison_procurement_methods
    deny = common.no_price_comparison_procurement_methods
    if allow:
        price_comparison = f"coalesce(list_contains({literal(allow)}, t.procurement_method_details), FALSE)"
    elif deny:
        price_comparison = f"NOT coalesce(list_contains({literal(deny)}, t.procurement_method_details), FALSE)"
    else:
        price_comparison = "TRUE"
    con.execute(R8_MACRO)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW ind_processes AS
        SELECT
            p.ocid, p.buyer_id, p.buyer_name, p.title, p.is_demo,
            t.procuring_entity_id, t.procurement_method, t.procurement_method_details, t.status AS tender_status,
            t.tender_period_start, t.tender_period_end, t.number_of_tenderers, t.value_amount AS tender_value,
            t.value_currency AS tender_currency,
            {price_comparison} AS price_comparison
        FROM processes AS p
        LEFT JOIN tenders AS t USING (ocid)
        WHERE t.status IS DISTINCT FROM 'cancelled'
          AND NOT coalesce(list_contains({excluded}, t.procurement_method_details), FALSE)
        """
    )
    main_currency = (
        literal(common.currency)
        if common.currency
        else """(SELECT value_currency FROM bids WHERE value_currency IS NOT NULL
                 GROUP BY value_currency ORDER BY count(*) DESC, value_currency LIMIT 1)"""
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW ind_main_currency AS SELECT {main_currency} AS currency")
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW ind_bids AS
        SELECT
            b.ocid, b.bid_id, b.position, b.status, b.date, b.value_amount::DOUBLE AS amount,
            b.value_currency AS currency,
            b.tenderer_ids,
            b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn') AS submitted,
            b.value_currency = (SELECT currency FROM ind_main_currency) AS in_main_currency,
            p.price_comparison
        FROM bids AS b
        JOIN ind_processes AS p USING (ocid)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW ind_awards AS
        WITH suppliers AS (
            SELECT ocid, award_id, list(party_id ORDER BY position) FILTER (WHERE party_id IS NOT NULL) AS ids
            FROM award_suppliers
            GROUP BY ocid, award_id
        )
        SELECT
            a.ocid, a.award_id, a.position, a.status, a.date, a.value_amount, a.value_currency, a.supplier_count,
            coalesce(s.ids, []::VARCHAR[]) AS supplier_ids
        FROM awards AS a
        JOIN ind_processes AS p USING (ocid)
        LEFT JOIN suppliers AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW ind_final_awards AS
        SELECT
            a.ocid,
            count(*) FILTER (WHERE a.status = 'active') AS active_awards,
            list(a.supplier_ids ORDER BY a.position) FILTER (WHERE a.status = 'active') AS active_supplier_ids,
            flatten(coalesce(list(a.supplier_ids) FILTER (WHERE a.status = 'active'), [])) AS winners
        FROM ind_awards AS a
        WHERE a.ocid IN (SELECT ocid FROM bids)
        GROUP BY a.ocid
        HAVING bool_and(a.status IS NULL OR a.status IN ('active', 'cancelled', 'unsuccessful'))
        """
    )
