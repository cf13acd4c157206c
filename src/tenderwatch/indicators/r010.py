"""Non-competitive award without a reason.

A **process** whose procedure is **non-competitive** (a direct award or a limited procedure without a call for
competition) is flagged when the publisher gave no reason for using it: no coded ground
(``tender.procurementMethodRationaleClassifications``, such as
``TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY``) and no usable text in
``tender.procurementMethodRationale``. A text is not usable when, trimmed, it is shorter than
**minimum_rationale_length** characters (4) or is one of the **placeholder_rationales** (such as "N/A", "Other"
or the Portuguese "Outra"), compared in any case.

Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the settings), else by their
OCDS method: direct and limited are non-competitive. Call-offs under a framework agreement or dynamic
purchasing system are not evaluated.

Example: an NHS trust awards a £90,000 contract by "Single tender action (non-OJEU)" and leaves the rationale
empty: flagged. A council awards by "Negotiated procedure without prior publication" with the ground
``D_TECHNICAL`` (only one supplier can do it for technical reasons): not flagged; whether the ground holds is for
a reader to judge.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, facts
from tenderwatch.indicators.base import Indicator, literal


class Settings(ProcedureSettings):
    """Settings of R010."""

    minimum_rationale_length: int = Field(
        default=4, ge=0, description="Fewest characters a rationale text must have, trimmed, to count as a reason."
    )
    placeholder_rationales: list[str] = Field(
        default_factory=lambda: [
            "n/a",
            "na",
            "none",
            "nil",
            "not applicable",
            "not specified",
            "not known",
            "unknown",
            "other",
            "others",
            "tbc",
            "outra",
            "otra",
            "otro",
        ],
        description="Rationale texts that give no reason (compared trimmed, in any case).",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R010."""
    placeholders = literal([text.strip().lower() for text in settings.placeholder_rationales] or [""])
    return f"""
        WITH {facts(settings)},
        judged AS (
            SELECT p.ocid, r.procedure, r.procedure_words, t.procurement_method_rationale AS rationale,
                   coalesce(t.procurement_method_rationale_classifications, []::VARCHAR[]) AS grounds,
                   length(trim(coalesce(t.procurement_method_rationale, '')))
                       >= {int(settings.minimum_rationale_length)}
                   AND nullif(trim(coalesce(t.procurement_method_rationale, '')), '') IS NOT NULL
                   AND NOT list_contains({placeholders}, lower(trim(coalesce(t.procurement_method_rationale, ''))))
                       AS has_reason
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            LEFT JOIN tenders AS t USING (ocid)
            WHERE r.procedure_class = 'non_competitive'
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               NOT has_reason AND len(grounds) = 0 AS flagged, 1.0 AS value,
               json_object('procedure', procedure, 'rationale', rationale, 'rationale_classifications', grounds,
                           'minimum_rationale_length', {int(settings.minimum_rationale_length)}) AS evidence,
               'The contract was awarded without a call for competition, by ' || procedure_words || ', and '
               || CASE WHEN nullif(trim(coalesce(rationale, '')), '') IS NULL THEN 'no reason was published.'
                       ELSE 'the only reason given was "' || trim(rationale) || '".' END AS sentence
        FROM judged
    """


INDICATOR = Indicator(
    code="R010",
    title="Unjustified non-competitive procedure",
    subjects=("process",),
    description="A contract was awarded without competition and no reason for it was published.",
    why="The law allows direct awards only on stated grounds (PCR 2015 regulation 32, Procurement Act 2023 "
    "Schedule 5); a direct award with no published reason cannot be checked against them.",
    sql=sql,
    settings=Settings,
    needs=(
        "tenders.procurement_method|tenders.procurement_method_details",
        "tenders.procurement_method_rationale|tenders.procurement_method_rationale_classifications",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R010",
        "Public Contracts Regulations 2015, regulation 32: https://www.legislation.gov.uk/uksi/2015/102/regulation/32",
        "Procurement Act 2023, Schedule 5: https://www.legislation.gov.uk/ukpga/2023/54/schedule/5",
    ),
    differences=(
        "Whether a reason is adequate is not judged: any coded ground or any text that is not a placeholder counts.",
        "Framework and dynamic purchasing system call-offs are not evaluated.",
    ),
)
