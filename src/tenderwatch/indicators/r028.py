"""Identical bid prices.

A **process** is flagged when two bids from different tenderers offered exactly the same price, in the same
currency. Every tenderer of those bids is flagged too.

A process is looked at when bid prices may be compared in its procedure (see the common settings) and it has at
least two submitted bids (any status but invited and withdrawn) with an amount and a currency. Bids are told apart
by the set of their tenderers: a consortium of A and B differs from A alone, while one tenderer repeating its own
price is not flagged. Amounts are compared exactly (100 and 100.00 are the same price); no main currency applies,
since equal prices must be in the same currency anyway.

Example: three firms bid for a county's gritting contract; two of them both bid exactly £412,750.00. The process
and both firms are flagged: independent estimates rarely agree to the penny.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from tenderwatch.indicators.base import Indicator


def exact(amount: str, currency: str) -> str:
    """Return SQL text writing an amount to the penny: £412,750.00 in pounds, else 412,750.00 EUR."""
    figure = f"format('{{:,.2f}}', CAST({amount} AS DOUBLE))"
    return f"(CASE WHEN {currency} = 'GBP' THEN '£' || {figure} ELSE {figure} || ' ' || {currency} END)"


def sql(settings: object, common: object) -> str:
    """Return the SELECT that evaluates R028."""
    return f"""
        WITH priced AS (  -- with each bidder's key and name (bids.tenderer_keys and tenderer_party_names)
            SELECT b.ocid, b.position, b.value_amount AS amount, b.value_currency AS currency,
                   -- the set of the bid's tenderers (a single tenderer is its own set: no sorting needed)
                   CASE WHEN len(b.tenderer_ids) = 1 AND b.tenderer_ids[1] IS NOT NULL THEN b.tenderer_ids
                        ELSE list_sort(list_distinct(list_filter(b.tenderer_ids, x -> x IS NOT NULL))) END AS id_set,
                   b.tenderer_ids, b.tenderer_keys, b.tenderer_party_names
            FROM bids AS b
            WHERE b.ocid NOT IN (SELECT ocid FROM ind_unpriced)
              AND b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn')
              AND b.value_amount IS NOT NULL AND b.value_currency IS NOT NULL AND b.tenderer_ids IS NOT NULL
        ),
        looked_at AS (SELECT ocid FROM priced GROUP BY ocid HAVING count(*) >= 2),
        same_price AS (  -- prices offered by bids of two or more different sets of tenderers
            SELECT ocid, amount, currency, count(*) AS bids
            FROM priced
            -- sets of tenderers are told apart only where two bids give one price (a sixth less time in all)
            SEMI JOIN (SELECT ocid, amount, currency FROM priced GROUP BY ALL HAVING count(*) >= 2)
                USING (ocid, amount, currency)
            GROUP BY ocid, amount, currency
            HAVING count(DISTINCT id_set) >= 2
        ),
        bidders AS (  -- each tenderer with an id of each priced bid of the processes looked at
            SELECT * FROM (
                SELECT ocid, amount, currency, unnest(tenderer_ids) AS tenderer_id,
                       unnest(tenderer_keys) AS tenderer_key, unnest(tenderer_party_names) AS tenderer_name
                FROM priced WHERE ocid IN (SELECT ocid FROM looked_at)
            ) WHERE tenderer_id IS NOT NULL
        ),
        sharing AS (  -- each tenderer of those bids, once per process
            SELECT DISTINCT ON (s.ocid, t.tenderer_key) s.ocid, t.tenderer_key, t.tenderer_name, s.amount, s.currency
            FROM same_price AS s
            JOIN bidders AS t USING (ocid, amount, currency)
            ORDER BY s.ocid, t.tenderer_key, s.amount, s.currency, t.tenderer_name
        ),
        processes AS (
            SELECT l.ocid, s.amount, s.currency, s.bids, s.prices,
                   (SELECT list(DISTINCT x.tenderer_name ORDER BY x.tenderer_name) FROM sharing AS x
                    WHERE x.ocid = l.ocid AND x.amount = s.amount AND x.currency = s.currency) AS names
            FROM looked_at AS l
            LEFT JOIN (
                SELECT ocid, arg_min(amount, (amount, currency)) AS amount, arg_min(currency, (amount, currency))
                       AS currency, arg_min(bids, (amount, currency)) AS bids, count(*) AS prices
                FROM same_price GROUP BY ocid
            ) AS s USING (ocid)
        ),
        shared_names AS (  -- the name of each tenderer sharing a price (only a flag's sentence names it)
            SELECT t.ocid, t.tenderer_key, min(t.tenderer_name) AS tenderer_name
            FROM bidders AS t
            SEMI JOIN sharing AS s ON s.ocid = t.ocid AND s.tenderer_key = t.tenderer_key
            GROUP BY t.ocid, t.tenderer_key
        ),
        tenderers AS (  -- each tenderer once per process (sharing has one row per tenderer and process)
            SELECT t.ocid, t.tenderer_key, n.tenderer_name, s.amount, s.currency
            FROM (SELECT DISTINCT ocid, tenderer_key FROM bidders) AS t
            LEFT JOIN sharing AS s ON s.ocid = t.ocid AND s.tenderer_key = t.tenderer_key
            LEFT JOIN shared_names AS n ON n.ocid = t.ocid AND n.tenderer_key = t.tenderer_key
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, amount IS NOT NULL AS flagged, 1.0 AS value,
               json_object('amount', amount, 'currency', currency, 'bids_at_that_price', bids,
                           'tenderers', names, 'identical_prices', prices) AS evidence,
               bids || ' bids from different tenderers (' || array_to_string(names, ', ') || ') offered exactly '
               || {exact("amount", "currency")}
               || CASE WHEN prices > 1 THEN ', and ' || (prices - 1) || ' other price was shared too' ELSE '' END
               || '.' AS sentence
        FROM processes
        UNION ALL
        SELECT 'tenderer', tenderer_key, ocid, amount IS NOT NULL, 1.0,
               json_object('amount', amount, 'currency', currency),
               tenderer_name || ' bid exactly ' || {exact("amount", "currency")}
               || ', the same price as a bid by another tenderer in this process.'
        FROM tenderers
    """


INDICATOR = Indicator(
    code="R028",
    title="Identical bid prices",
    subjects=("process", "tenderer"),
    description="Bids from different tenderers offered exactly the same price.",
    why="Independent bidders working out their own costs almost never arrive at the same price; identical bids "
    "suggest the prices were agreed or copied.",
    sql=sql,
    needs=("bids.value_amount", "bids.status", "bids.tenderer_ids"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R028",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/028.html",
    ),
    cardinal=True,
    differences=(
        "Amounts are compared as exact decimals rather than as floating-point numbers.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
        "Bid amounts below zero are not read.",
    ),
)
