"""Amendments raised the price.

A **process** is flagged when a contract that has been amended is now worth more than its award, by more than
**minimum_increase** (0% by default: any rise).

Each contract that is not cancelled is matched with its award (``contracts.awardID``; a contract without one is
matched with the process's only award, when there is just one); pairs with both values in the same currency and an
award value above zero count. Only contracts with at least one published amendment (``contracts.amendments``, as
Find a Tender's UK10 contract change notices publish them) are evaluated. The process compares their current
total, as the latest notices give it, with the total of their awards. The value is the rise as a share of the
award (0.3 for 30%).

Example: a contract awarded at £1,000,000 has two amendments, "Additional service volumes" and "Extension of the
contract period"; it is now worth £1,450,000, 45% more: flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import money, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings
from tenderwatch.indicators.r059 import contract_award_pairs


class Settings(IndicatorSettings):
    """Settings of R069."""

    minimum_increase: float = Field(
        default=0.0,
        ge=0,
        description="Rise of the contract value over the award value, as a share of the award, that must be "
        "exceeded for a flag (0: any rise).",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R069."""
    minimum = float(settings.minimum_increase)
    return f"""
        WITH {contract_award_pairs()},
        amended AS (
            SELECT ocid, parent_id AS contract_id, count(*) AS amendments FROM amendments
            WHERE scope = 'contract' GROUP BY ocid, parent_id
        ),
        compared AS (
            SELECT p.ocid, min(p.currency) AS currency, sum(p.contract_value)::DOUBLE AS contract_value,
                   sum(p.award_value)::DOUBLE AS award_value,
                   sum(greatest(coalesce(a.amendments, 0), p.amendment_count)) AS amendments,
                   sum(p.contract_value)::DOUBLE / sum(p.award_value)::DOUBLE - 1 AS increase
            FROM pairs AS p
            LEFT JOIN amended AS a ON a.ocid = p.ocid AND a.contract_id IS NOT DISTINCT FROM p.contract_id
            WHERE coalesce(a.amendments, 0) > 0 OR p.amendment_count > 0
            GROUP BY p.ocid
            HAVING count(DISTINCT p.currency) = 1
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, increase > {minimum!r} AS flagged, increase AS value,
               json_object('contract_value', contract_value, 'award_value', award_value, 'currency', currency,
                           'increase', increase, 'amendments', amendments, 'minimum_increase', {minimum!r})
                   AS evidence,
               'After ' || amendments || ' amendment' || CASE WHEN amendments > 1 THEN 's' ELSE '' END
               || ' the contract is worth ' || {money("contract_value", "currency")} || ', '
               || {percent("increase")} || ' more than the ' || {money("award_value", "currency")} || ' awarded.'
                   AS sentence
        FROM compared
    """


INDICATOR = Indicator(
    code="R069",
    title="Amendments increase price",
    subjects=("process",),
    description="An amended contract is now worth more than the value awarded.",
    why="Raising the price after the award changes the deal that was competed: the winner may have bid low "
    "knowing the price would rise, and others never had the chance to bid for the larger contract.",
    sql=sql,
    settings=Settings,
    needs=("awards.value_amount", "contracts.value_amount", "amendments.amendment_id|contracts.amendment_count"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R069",
        "Public Contracts Regulations 2015, regulation 72 (modifications of contracts): "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/72",
    ),
    differences=(
        "The rise is measured from the award value to the contract's current value, not amendment by amendment "
        "(OCDS amendments do not carry values).",
    ),
)
