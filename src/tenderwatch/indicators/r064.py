"""Contract modified.

A **process** with at least one contract is flagged when its contracts have been modified at least
**minimum_modifications** times (once, by default).

The number of modifications is the larger of the contract amendments published (``contracts.amendments``) and
the UK10 contract change notices among the contract documents (``documents.noticeType``, Procurement Act 2023). The
latest amendment's date and rationale are given in the evidence.

Example: a waste collection contract has two amendments, "Extension of the contract period" on 1 April 2023 and
"Additional service volumes" on 1 October 2023: flagged, with a value of 2.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import iso_date, long_date
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R064."""

    minimum_modifications: int = Field(
        default=1, ge=1, description="Fewest modifications of a process's contracts that raise a flag."
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R064."""
    minimum = int(settings.minimum_modifications)
    return f"""
        WITH contracted AS (
            SELECT DISTINCT c.ocid FROM contracts AS c WHERE c.ocid NOT IN (SELECT ocid FROM ind_excluded)
        ),
        amended AS (
            SELECT ocid, count(*) AS amendments,
                   max(date) AS latest,
                   arg_max(coalesce(nullif(trim(rationale), ''), nullif(trim(description), '')),
                           (date, parent_id, position, amendment_id))
                       AS latest_reason
            FROM amendments WHERE scope = 'contract' GROUP BY ocid
        ),
        notices AS (
            SELECT ocid, count(DISTINCT coalesce(document_id, url)) AS notices FROM documents
            WHERE scope = 'contract' AND notice_type = 'UK10' GROUP BY ocid
        ),
        counted AS (
            SELECT c.ocid, coalesce(a.amendments, 0) AS amendments, coalesce(n.notices, 0) AS notices,
                   greatest(coalesce(a.amendments, 0), coalesce(n.notices, 0)) AS modifications,
                   a.latest, a.latest_reason
            FROM contracted AS c LEFT JOIN amended AS a USING (ocid) LEFT JOIN notices AS n USING (ocid)
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, modifications >= {minimum} AS flagged,
               modifications AS value,
               json_object('modifications', modifications, 'amendments', amendments, 'uk10_notices', notices,
                           'latest_amendment', {iso_date("latest")}, 'latest_reason', latest_reason,
                           'minimum_modifications', {minimum}) AS evidence,
               'The contract was modified ' || CASE modifications WHEN 1 THEN 'once' WHEN 2 THEN 'twice'
                                                ELSE modifications || ' times' END || ' after it was signed'
               || coalesce('; the latest change' || coalesce(' (' || {long_date("latest")} || ')', '') || ': "'
                           || latest_reason || '"', '') || '.' AS sentence
        FROM counted
    """


INDICATOR = Indicator(
    code="R064",
    title="Contract has modifications",
    subjects=("process",),
    description="A contract was changed after it was signed.",
    why="Changes after signature can alter the price, scope or term that was competed; each one is worth checking, "
    "and many of them suggest the contract was not what was really needed, or was bid low to be changed later.",
    sql=sql,
    settings=Settings,
    needs=("contracts.contract_id", "amendments.amendment_id|documents.notice_type"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R064",
        "Find a Tender, Notice types and sequences (UK10 contract change notice)",
    ),
    differences=("UK10 contract change notices count as modifications as well as OCDS amendments.",),
)
