"""Contract value far from award.

A **process** is flagged when the value of its contracts differs from the value awarded by at least **threshold**
(20% by default) of the award, up or down.

Each contract that is not cancelled is matched with its award (``contracts.awardID``; a contract without one is
matched with the process's only award, when there is just one); pairs with both values in the same currency and an
award value above zero count. The process compares the total of its contracts with the total of their awards, in
one currency. The contract value is the one the latest notices give (after any amendments). The value is the
contract total divided by the award total.

Example: a council awards a highways maintenance contract for £2,000,000; its contract notice now says £2,600,000,
30% more: flagged. A contract at £1,900,000 (5% less) is not.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import money, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R059."""

    threshold: float = Field(
        default=0.2,
        gt=0,
        description="Difference between contract and award values, as a share of the award value, at or above "
        "which a process is flagged.",
    )


def contract_award_pairs() -> str:
    """Return the CTE ``pairs``: each contract (not cancelled) with its award, values in one currency."""
    return """pairs AS (
            SELECT c.ocid, c.contract_id, c.value_amount AS contract_value,
                   a.value_amount AS award_value, c.value_currency AS currency,
                   coalesce(c.amendment_count, 0) AS amendment_count
            FROM contracts AS c
            JOIN (SELECT *, count(*) OVER (PARTITION BY ocid) AS awards FROM ind_awards) AS a
              ON a.ocid = c.ocid AND (a.award_id = c.award_id OR (c.award_id IS NULL AND a.awards = 1))
            WHERE coalesce(c.status, '') <> 'cancelled' AND coalesce(a.status, '') NOT IN ('cancelled', 'unsuccessful')
              AND c.value_amount IS NOT NULL AND a.value_amount > 0 AND c.value_currency = a.value_currency
        )"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R059."""
    threshold = float(settings.threshold)
    return f"""
        WITH {contract_award_pairs()},
        compared AS (
            SELECT ocid, min(currency) AS currency, sum(contract_value)::DOUBLE AS contract_value,
                   sum(award_value)::DOUBLE AS award_value, count(*) AS contracts,
                   sum(contract_value)::DOUBLE / sum(award_value)::DOUBLE AS ratio
            FROM pairs
            GROUP BY ocid
            HAVING count(DISTINCT currency) = 1
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               abs(contract_value - award_value) >= {threshold!r} * award_value AS flagged,
               ratio AS value,
               json_object('contract_value', contract_value, 'award_value', award_value, 'currency', currency,
                           'ratio', ratio, 'contracts', contracts, 'threshold', {threshold!r}) AS evidence,
               'The contract' || CASE WHEN contracts > 1 THEN 's are' ELSE ' is' END || ' worth '
               || {money("contract_value", "currency")} || ', ' || {percent("abs(ratio - 1)")}
               || CASE WHEN ratio > 1 THEN ' more' ELSE ' less' END || ' than the '
               || {money("award_value", "currency")} || ' awarded.' AS sentence
        FROM compared
    """


INDICATOR = Indicator(
    code="R059",
    title="Contract value far from award",
    subjects=("process",),
    description="The value of a contract differs from the value awarded by a large share.",
    why="Bidders compete on the awarded price; a contract that is later worth much more (or covers much less) is "
    "no longer what was competed, and the change may favour the winner.",
    sql=sql,
    settings=Settings,
    needs=("awards.value_amount", "contracts.value_amount"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R059",
        "COVID-19 Contract Explorer, flag 8 (contract value more than 20% from the award)",
    ),
    differences=("Contracts are matched to their awards by award id, and totals are compared per process.",),
)
