"""Award close to or above the estimate.

A **process** awarded in a **competitive** procedure is flagged when its award value is at or above
**minimum_ratio** (98% by default) of the buyer's estimate (``tender.value``): the winning price came in at, very
near or above the estimate.

The award value is the total of the process's awards that are not cancelled or unsuccessful, when each has a value
and all are in the estimate's currency. With **ignore_identical_values** (the default), a process whose award value
equals the estimate to the penny is not evaluated: UK publishers often copy the estimate into the award notice,
and tenderwatch cannot tell a copy from a bid. A process whose award is more than **maximum_ratio** times the
estimate (10) is not evaluated either: that is more likely an error in the data (an estimate of £1) than a price.
Set **include_non_competitive** to look at direct awards too (their price is not tested by competition, so the
estimate is often set to it). Call-offs under a framework agreement or dynamic purchasing system are left out.

Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the settings), else by their
OCDS method: open and selective are competitive.

Example: a council estimates a cleaning contract at £500,000 and, after an open procedure, awards it for
£495,000: 99% of the estimate, flagged. An award of £420,000 (84%) is not.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, facts, money, percent
from tenderwatch.indicators.base import Indicator, literal


class Settings(ProcedureSettings):
    """Settings of R031."""

    minimum_ratio: float = Field(
        default=0.98,
        gt=0,
        description="Award value as a share of the estimate at or above which a process is flagged.",
    )
    maximum_ratio: float = Field(
        default=10.0,
        ge=0,
        description="Processes whose award is more than this many times the estimate are left out as likely data "
        "errors, such as an estimate of £1 (0: keep them all).",
    )
    ignore_identical_values: bool = Field(
        default=True,
        description="Leave out processes whose award value equals the estimate exactly (often a copied value).",
    )
    include_non_competitive: bool = Field(
        default=False, description="Also evaluate non-competitive procedures (direct and limited awards)."
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R031."""
    classes = literal(["competitive", "non_competitive"] if settings.include_non_competitive else ["competitive"])
    identical = "AND w.award_value <> p.tender_value" if settings.ignore_identical_values else ""
    ratio = float(settings.minimum_ratio)
    ceiling = (
        f"AND w.award_value <= {float(settings.maximum_ratio)!r} * p.tender_value" if settings.maximum_ratio else ""
    )
    return f"""
        WITH {facts(settings)},
        compared AS (
            SELECT p.ocid, r.procedure, r.procedure_class, p.tender_value::DOUBLE AS estimate,
                   w.award_value, w.award_currency AS currency, w.award_value / p.tender_value::DOUBLE AS ratio
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            JOIN tw_awarded AS w USING (ocid)
            WHERE p.tender_value > 0 AND w.award_value IS NOT NULL AND w.award_currency = p.tender_currency
              AND list_contains({classes}, r.procedure_class) {identical} {ceiling}
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, ratio >= {ratio!r} AS flagged, ratio AS value,
               json_object('award_value', award_value, 'estimated_value', estimate, 'currency', currency,
                           'ratio', ratio, 'minimum_ratio', {ratio!r}, 'procedure', procedure) AS evidence,
               'The contract was awarded for ' || {money("award_value", "currency")} || ', '
               || CASE WHEN ratio >= 1.005 THEN {percent("ratio - 1")} || ' above'
                       WHEN ratio > 1 THEN 'just above'
                       WHEN ratio = 1 THEN 'exactly'
                       ELSE {percent("ratio")} || ' of' END
               || ' the buyer''s estimate of ' || {money("estimate", "currency")}
               || CASE WHEN ratio < 1 THEN ': close to it, at ' || {percent(literal(ratio))} || ' or more.'
                       ELSE '.' END AS sentence
        FROM compared
    """


INDICATOR = Indicator(
    code="R031",
    title="Award close to estimate",
    subjects=("process",),
    description="A competitive contract was awarded at or above, or very close to, the buyer's estimate.",
    why="Competition usually pushes prices below the buyer's estimate; a winning price at or above it suggests the "
    "bidders knew the budget, priced to it, or did not really compete.",
    sql=sql,
    settings=Settings,
    needs=(
        "tenders.value_amount",
        "awards.value_amount",
        "tenders.procurement_method|tenders.procurement_method_details",
    ),
    references=("Open Contracting Partnership, Red Flags for Integrity (2024), R031",),
    differences=(
        "Award values equal to the estimate to the penny are left out by default, as likely copies.",
        "Only competitive procedures are evaluated by default.",
        "Awards more than ten times the estimate are left out by default, as likely data errors.",
    ),
)
