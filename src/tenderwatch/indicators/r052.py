"""Small first contract, then much larger.

A **process** is flagged when its award to a supplier is worth at least **ratio** times (10 by default) the first
purchase the same buyer made from that supplier, and comes within **window_days** days (730) of it: a foot in the
door followed by much bigger business.

For each buyer-supplier pair and currency, the first purchase is the pair's earliest award date, and its value is
the largest value awarded to the pair on that date. Every later process of the pair within the window is
evaluated. The value of a process for a supplier is the total of the awards it won in it (not cancelled or
unsuccessful, each with a value, in one currency); when a process has several suppliers, the one with the highest
ratio decides. First purchases of zero are not compared.

Example: a council's first contract with a software company, in May 2022, was a £15,000 pilot. In January 2023
the same council awarded it £900,000: 60 times as much, flagged.

Buyers and suppliers are matched across processes by their party id (unless it is a bare number of up to four
digits, which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import facts, iso_date, long_date, money, number
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R052."""

    ratio: float = Field(
        default=10.0, gt=1, description="How many times the first purchase a later award must reach to be flagged."
    )
    window_days: int = Field(
        default=730, ge=1, description="Days after the first purchase within which later awards are evaluated."
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R052."""
    ratio = float(settings.ratio)
    days = int(settings.window_days)
    return f"""
        WITH {facts(settings)},
        purchases AS (
            SELECT s.ocid, b.buyer_key, b.buyer_name, s.supplier_key, s.value_currency AS currency,
                   sum(s.value_amount)::DOUBLE AS amount, min(s.date) AS day
            FROM tw_supplied AS s JOIN tw_buyers AS b USING (ocid)
            WHERE b.buyer_key IS NOT NULL AND nullif(s.value_currency, '') IS NOT NULL
            GROUP BY s.ocid, b.buyer_key, b.buyer_name, s.supplier_key, s.value_currency
            HAVING count(s.value_amount) = count(*) AND min(s.date) IS NOT NULL
        ),
        firsts AS (
            SELECT * FROM (
                SELECT buyer_key, supplier_key, currency, ocid AS first_ocid, amount AS first_amount,
                       day AS first_day,
                       row_number() OVER (PARTITION BY buyer_key, supplier_key, currency
                                          ORDER BY day, amount DESC, ocid) AS n
                FROM purchases
            ) WHERE n = 1
        ),
        later AS (
            SELECT * FROM (
                SELECT p.*, f.first_ocid, f.first_amount, f.first_day, p.amount / f.first_amount AS ratio,
                       row_number() OVER (PARTITION BY p.ocid
                                          ORDER BY p.amount / f.first_amount DESC, p.supplier_key) AS n
                FROM purchases AS p JOIN firsts AS f USING (buyer_key, supplier_key, currency)
                WHERE p.day > f.first_day AND p.day <= f.first_day + INTERVAL '{days}' DAY AND f.first_amount > 0
            ) WHERE n = 1
        )
        SELECT 'process' AS subject, l.ocid AS subject_id, l.ocid, l.ratio >= {ratio!r} AS flagged, l.ratio AS value,
               json_object('award_value', l.amount, 'currency', l.currency, 'supplier', l.supplier_key,
                           'buyer', l.buyer_key, 'first_ocid', l.first_ocid, 'first_value', l.first_amount,
                           'first_date', {iso_date("l.first_day")}, 'award_date', {iso_date("l.day")},
                           'ratio', l.ratio, 'ratio_threshold', {ratio!r}, 'window_days', {days}) AS evidence,
               'The first contract ' || l.buyer_name || ' gave ' || coalesce(n.supplier_name, l.supplier_key)
               || ', on '
               || {long_date("l.first_day")} || ', was worth ' || {money("l.first_amount", "l.currency")}
               || '; this award, ' || trunc((epoch(l.day) - epoch(l.first_day)) / 86400)::BIGINT
               || ' days later, is worth ' || {money("l.amount", "l.currency")} || ': ' || {number("l.ratio")}
               || ' times as much.' AS sentence
        FROM later AS l LEFT JOIN tw_supplier_names AS n USING (supplier_key)
    """


INDICATOR = Indicator(
    code="R052",
    title="Small contract, then larger",
    subjects=("process",),
    description="A supplier's award is many times larger than its first purchase from the same buyer, soon after.",
    why="A small first contract can be awarded with little scrutiny; when much larger contracts follow, the first "
    "may have been a way in, giving the supplier an inside track.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "awards.date",
        "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name",
    ),
    references=("Open Contracting Partnership, Red Flags for Integrity (2024), R052",),
    differences=(
        "The catalogue does not fix the size of the jump or the period; tenderwatch compares each later award with "
        "the first within two years.",
    ),
)
