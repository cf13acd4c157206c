"""Lowest bid disqualified.

A **process** is flagged when its lowest bid was disqualified while a higher bid was valid.

A process is looked at when bid prices may be compared in its procedure (see the common settings), it has at least
one ``active`` award (other awards may still be pending), and among its submitted bids (any status but invited and
withdrawn) with an amount in the main currency there is at least one ``valid`` bid. The lowest of those bids (on a
tie, the first published) is checked: the process is flagged if its status is ``disqualified``.

The award criteria are not read, so a process decided on quality as well as price can be flagged; check them
before drawing conclusions.

Example: a council receives bids of £180,000, £195,000 and £240,000 for a cleaning contract, disqualifies the
£180,000 bid and awards to the £195,000 one. Flagged: disqualifying the cheapest bid can be a way to steer a
contract to a preferred, dearer bidder.
"""

from __future__ import annotations

from tenderwatch.indicators._catalogue import money
from tenderwatch.indicators.base import Indicator


def sql(settings: object, common: object) -> str:
    """Return the SELECT that evaluates R036."""
    return f"""
        WITH priced AS (
            SELECT b.ocid, b.position, b.status, b.value_amount AS amount, b.value_currency AS currency
            FROM bids AS b
            WHERE b.ocid NOT IN (SELECT ocid FROM ind_unpriced)
              AND b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn')
              AND b.value_amount IS NOT NULL AND b.value_currency = (SELECT currency FROM ind_main_currency)
              AND b.ocid IN (SELECT ocid FROM ind_bid_awards WHERE status = 'active')
        ),
        ranked AS (  -- the lowest bid and the lowest valid one, each by its position (ties to the first)
            SELECT ocid, any_value(currency) AS currency, count(*) AS bids,
                   arg_min({{'status': status, 'position': position}}, (amount, position)) AS lowest,
                   min(amount) AS lowest_amount,
                   min(amount) FILTER (WHERE status = 'valid') AS lowest_valid_amount,
                   arg_min(position, (amount, position)) FILTER (WHERE status = 'valid') AS lowest_valid_position
            FROM priced
            GROUP BY ocid
            HAVING count(*) FILTER (WHERE status = 'valid') > 0
        ),
        named AS (  -- each bidder's name as parties gives it, else as the bid does (only a flag's sentence names it)
            SELECT r.ocid, b.tenderer_party_names[1] AS lowest_by, v.tenderer_party_names[1] AS lowest_valid_by
            FROM ranked AS r
            JOIN bids AS b ON b.ocid = r.ocid AND b.position = r.lowest.position
            JOIN bids AS v ON v.ocid = r.ocid AND v.position = r.lowest_valid_position
            WHERE r.lowest.status = 'disqualified'
        ),
        lowest AS (
            SELECT r.*, r.lowest.status AS lowest_status,
                   coalesce(n.lowest_by, 'an unnamed tenderer') AS lowest_tenderer,
                   coalesce(n.lowest_valid_by, 'an unnamed tenderer') AS lowest_valid_tenderer
            FROM ranked AS r LEFT JOIN named AS n USING (ocid)
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, lowest_status = 'disqualified' AS flagged,
               1.0 AS value,
               json_object('lowest_bid', lowest_amount, 'lowest_bid_status', lowest_status,
                           'lowest_tenderer', lowest_tenderer, 'lowest_valid_bid', lowest_valid_amount,
                           'lowest_valid_tenderer', lowest_valid_tenderer, 'currency', currency, 'bids', bids)
                   AS evidence,
               'The lowest bid, ' || {money("lowest_amount", "currency")} || ' from ' || lowest_tenderer
               || ', was disqualified, while a bid of ' || {money("lowest_valid_amount", "currency")} || ' from '
               || lowest_valid_tenderer || ' was valid.' AS sentence
        FROM lowest
    """


INDICATOR = Indicator(
    code="R036",
    title="Lowest bid disqualified",
    subjects=("process",),
    description="The lowest bid was disqualified while a dearer bid was valid.",
    why="Disqualifying the cheapest bid can steer a contract to a preferred, dearer bidder, and costs the public "
    "the difference.",
    sql=sql,
    needs=("bids.value_amount", "bids.status", "awards.status"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R036",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/036.html",
    ),
    cardinal=True,
    differences=(
        "Without a currency setting the main currency is the one most bids use, for the whole store; Cardinal takes "
        "the first one each of its threads meets, so its results can change from run to run.",
        "Amounts are compared as exact decimals.",
        "Bid amounts below zero are not read.",
    ),
)
