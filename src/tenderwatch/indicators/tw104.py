"""Very large contract for its buyer.

A **process** is flagged when one of its contracts is worth more than **share** (50% by default) of what its
buyer awards in an average year, in the same currency, and at least **min_amount** (1,000,000 in that
currency).

Values and dates come from the contract lifecycle table (``contract_lifecycle``): each contract, and each award
with no contract yet, counts once, at its current value, in the year of its award (else of its signature, else
of its start). Cancelled ones are left out. A buyer's **average annual awarded value** is the total of those
values in one currency divided by the number of calendar years from its first award to its last in the store,
gaps included. Buyers are told apart by their party id, unless it is a bare number of up to four digits (some
publishers number the parties of each notice 1, 2, 3...), then by their identifier (scheme and number), then by
their name in capitals. A buyer needs at least **min_buyer_awards** (10) contracts in that currency for its
average to mean anything; processes of buyers with fewer are not evaluated. Per process, the largest contract is
reported.

Example: a district council awards £24,000,000 over six years in the store, £4,000,000 a year on average. A
£3,000,000 waste contract is 75% of an average year: flagged (over 50% and over 1,000,000).
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW104."""

    share: float = Field(
        default=0.5,
        gt=0,
        description="Share of the buyer's average annual awarded value (0.5 is half) above which a contract is very "
        "large for it.",
    )
    min_amount: float = Field(
        default=1_000_000,
        ge=0,
        description="Smallest contract value, in the contract's currency, that can be flagged.",
    )
    min_buyer_awards: int = Field(
        default=10,
        ge=1,
        description="Fewest contracts (and awards without a contract) a buyer needs in a currency for its average "
        "to be used.",
    )


def _money(amount: str, currency: str) -> str:
    number = f"format('{{:,.0f}}', {amount})"
    return f"(CASE WHEN {currency} = 'GBP' THEN '£' || {number} ELSE {number} || coalesce(' ' || {currency}, '') END)"


BUYER_KEY = """CASE
            WHEN p.buyer_id IS NOT NULL AND NOT regexp_matches(p.buyer_id, '^\\s*[0-9]{1,4}\\s*$') THEN p.buyer_id
            WHEN coalesce(p.buyer_identifier_id, b.identifier_id) IS NOT NULL
                THEN upper(trim(coalesce(p.buyer_identifier_scheme, b.identifier_scheme, ''))) || '-'
                     || upper(trim(coalesce(p.buyer_identifier_id, b.identifier_id)))
            WHEN p.buyer_name IS NOT NULL THEN 'name:' || upper(trim(p.buyer_name))
        END"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW104."""
    share = literal(float(settings.share))
    min_amount = literal(float(settings.min_amount))
    return f"""
        WITH buyer_parties AS (
            SELECT ocid, party_id, min(identifier_scheme) AS identifier_scheme, min(identifier_id) AS identifier_id
            FROM parties GROUP BY ocid, party_id
        ),
        buyers AS (
            SELECT p.ocid, p.buyer_id, p.buyer_name, {BUYER_KEY} AS buyer_key
            FROM processes AS p
            LEFT JOIN buyer_parties AS b ON b.ocid = p.ocid AND b.party_id = p.buyer_id
        ),
        contracts_valued AS (
            SELECT l.ocid, l.contract_id, l.award_id, b.buyer_key, b.buyer_id, b.buyer_name,
                   l.current_value_amount AS amount, l.current_value_currency AS currency,
                   extract(year FROM coalesce(l.award_date, l.date_signed, l.start_date)) AS year
            FROM contract_lifecycle AS l
            JOIN buyers AS b ON b.ocid = l.ocid
            WHERE l.row_type IN ('contract', 'award') AND l.status <> 'cancelled'
              AND l.current_value_amount > 0 AND l.current_value_currency IS NOT NULL AND b.buyer_key IS NOT NULL
              AND coalesce(l.award_date, l.date_signed, l.start_date) IS NOT NULL
        ),
        baselines AS (
            SELECT buyer_key, currency, count(*) AS contracts, sum(amount) AS total,
                   min(year) AS first_year, max(year) AS last_year, max(year) - min(year) + 1 AS years,
                   sum(amount) / (max(year) - min(year) + 1) AS average_year
            FROM contracts_valued
            GROUP BY buyer_key, currency
            HAVING count(*) >= {int(settings.min_buyer_awards)}
        ),
        compared AS (
            SELECT c.*, s.contracts, s.total, s.first_year, s.last_year, s.years, s.average_year,
                   c.amount::DOUBLE / s.average_year::DOUBLE AS ratio
            FROM contracts_valued AS c
            JOIN baselines AS s USING (buyer_key, currency)
            WHERE c.ocid NOT IN (SELECT ocid FROM ind_excluded)
        ),
        largest AS (
            SELECT * FROM compared
            QUALIFY row_number() OVER (
                PARTITION BY ocid ORDER BY ratio DESC, contract_id NULLS LAST, award_id NULLS LAST) = 1
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               ratio > {share} AND amount >= {min_amount} AS flagged,
               round(ratio, 4) AS value,
               json_object('contract_id', contract_id, 'award_id', award_id, 'amount', amount, 'currency', currency,
                           'buyer_id', buyer_id, 'buyer_average_year', round(average_year, 2),
                           'buyer_total', total, 'buyer_contracts', contracts, 'buyer_years', years,
                           'first_year', first_year, 'last_year', last_year, 'ratio', round(ratio, 4),
                           'share', {share}, 'min_amount', {min_amount}) AS evidence,
               'This contract, worth ' || {_money("amount", "currency")} || ', is '
               || round(100 * ratio)::BIGINT || '% of what ' || coalesce(buyer_name, 'its buyer')
               || ' awards in an average year (' || {_money("average_year", "currency")} || ' a year over '
               || contracts || ' contracts from ' || first_year || ' to ' || last_year || '), above the '
               || round(100 * {share})::BIGINT || '% threshold.' AS sentence
        FROM largest
    """


INDICATOR = Indicator(
    code="TW104",
    title="Very large contract for buyer",
    subjects=("process",),
    description="A contract is worth more than a set share of what its buyer awards in an average year.",
    why="A contract that large concentrates a buyer's spending, and its risks, on one supplier; if it fails or is "
    "badly managed, the buyer's services and budget are exposed.",
    sql=sql,
    settings=Settings,
    needs=("contract_lifecycle.current_value_amount", "contract_lifecycle.award_date|contract_lifecycle.start_date"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R016 (a value that is an outlier for its "
        "category); the yardstick here, the buyer's own average year, is tenderwatch's",
        "redflags.eu (K-Monitor): 'high value' flags on framework agreements",
    ),
    differences=(
        "The yardstick is the buyer's own average year in the store rather than a fixed amount or a statistical "
        "fence, so small and large buyers are judged by their own scale.",
    ),
)
