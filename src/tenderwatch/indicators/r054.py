"""Direct award grown past threshold.

A **process** awarded by a **non-competitive** procedure (a direct award or a limited procedure without a call
for competition) is flagged when its award value was below the procurement threshold but its contract is now
worth the threshold or more: the contract grew, by amendment, into one that would have had to be competed.

Evaluated: each non-competitive process with an award value in pounds (the total of its awards that are not
cancelled or unsuccessful) below the UK threshold that applies to it, and a contract value in pounds (the total of
its contracts that are not cancelled, as the latest notices give it). GBP only, since the thresholds are in
pounds. The value is the contract value divided by the threshold. The number of contract amendments published is
given in the evidence.

The threshold of a process is that of light-touch services (a ``specialRegime`` of lightTouch, or a main CPV code
starting 85), else works (``mainProcurementCategory`` works or CPV 45), else goods and services, lower for
central government buyers; each amount applies from a date (the process's tender start, else its first award,
else its first notice). Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the
settings), else by their OCDS method: direct and limited are non-competitive.

Example: an agency directly awards a £120,000 IT support contract (below the £139,688 central government threshold);
two amendments later the contract is worth £210,000: flagged.
"""

from __future__ import annotations

from tenderwatch.indicators._catalogue import (
    THRESHOLD_REFERENCES,
    ProcedureSettings,
    ThresholdSettings,
    facts,
    money,
)
from tenderwatch.indicators.base import Indicator


class Settings(ThresholdSettings, ProcedureSettings):
    """Settings of R054."""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R054."""
    return f"""
        WITH {facts(settings)},
        contracted AS (
            SELECT c.ocid,
                   CASE WHEN count(c.value_amount) = count(*) AND count(DISTINCT c.value_currency) = 1
                        THEN sum(c.value_amount)::DOUBLE END AS contract_value,
                   min(c.value_currency) AS currency
            FROM contracts AS c
            WHERE c.ocid NOT IN (SELECT ocid FROM ind_excluded) AND coalesce(c.status, '') <> 'cancelled'
            GROUP BY c.ocid
        ),
        amended AS (SELECT ocid, count(*) AS amendments FROM amendments WHERE scope = 'contract' GROUP BY ocid),
        grown AS (
            SELECT p.ocid, r.procedure, r.procedure_words, w.award_value, c.contract_value, h.threshold,
                   h.threshold_kind, coalesce(a.amendments, 0) AS amendments
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            JOIN tw_awarded AS w USING (ocid)
            JOIN contracted AS c USING (ocid)
            JOIN tw_thresholds AS h USING (ocid)
            LEFT JOIN amended AS a USING (ocid)
            WHERE r.procedure_class = 'non_competitive' AND w.award_currency = 'GBP' AND c.currency = 'GBP'
              AND w.award_value < h.threshold AND c.contract_value IS NOT NULL
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, contract_value >= threshold AS flagged,
               contract_value / threshold AS value,
               json_object('award_value', award_value, 'contract_value', contract_value, 'threshold', threshold,
                           'threshold_kind', threshold_kind, 'amendments', amendments, 'procedure', procedure)
                   AS evidence,
               'The contract was awarded without competition, by ' || procedure_words || ', for '
               || {money("award_value", "'GBP'")} || ', below the ' || {money("threshold", "'GBP'")}
               || ' threshold for ' || threshold_kind || '; '
               || CASE WHEN amendments > 0 THEN 'after ' || amendments || ' amendment'
                            || CASE WHEN amendments > 1 THEN 's' ELSE '' END || ' it'
                       ELSE 'it' END
               || ' is now worth ' || {money("contract_value", "'GBP'")} || ', above the threshold.' AS sentence
        FROM grown
    """


INDICATOR = Indicator(
    code="R054",
    title="Direct award grown past threshold",
    subjects=("process",),
    description="A contract awarded without competition below the threshold is now worth more than the threshold.",
    why="Awarding a contract just under the threshold without competition and then raising its value gets round "
    "the rule that contracts of that size must be advertised and competed.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.value_amount",
        "contracts.value_amount",
        "tenders.procurement_method|tenders.procurement_method_details",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R054",
        "Public Contracts Regulations 2015, regulation 72 (modifications of contracts): "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/72",
        *THRESHOLD_REFERENCES,
    ),
    differences=(
        "The growth is read from the award value and the contract's current value; an amendment is not required "
        "to be published, but the count of those published is given.",
        "Only values in pounds are compared, as published (usually without VAT).",
    ),
)
