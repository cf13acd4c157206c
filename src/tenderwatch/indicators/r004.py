"""Awarded without a prior call for competition.

A **process** that reached an award or a contract is flagged when no call for competition was published before
the decision:

- its procedure is **non-competitive** (a direct award or a limited procedure without a call for competition, see
  below), when **include_non_competitive** is true (the default); or
- whatever its procedure, nothing in the data shows it was advertised before the decision: no tender period
  (``tender.tenderPeriod``, its start, else its end) dated on or before it, and no tender notice (a document of
  one of the **notice_document_types**, ``tenderNotice``, or of the **notice_types**, the Procurement Act's UK4)
  published on or before it, or undated.

The decision date is the earliest award date, else the earliest contract signature date; when neither is
known, any tender period or tender notice counts as advertising. A procedure that is not non-competitive and
whose notices record bids from at least **competed_bids** suppliers (``tender.numberOfTenderers``, the count of
bids among the bid statistics, of any lot, or the bidders of the bid details) counts as advertised too: the bids
show that a call reached the market, though its notice is not among those held (a store of award notices alone,
say).

Call-offs under a framework agreement or dynamic purchasing system are not evaluated: the framework itself was
advertised. Procedures are sorted by their name (``procurementMethodDetails``, in the lists of the settings),
else by their OCDS method: direct and limited are non-competitive, open and selective competitive.

Example: a council awards a £400,000 home-care contract on 3 March 2024 by "Single tender action (non-OJEU)":
flagged, since that procedure has no call for competition. Another award, called "Open procedure", has no tender
period and no tender notice in the data: flagged too, since nothing shows it was advertised, unless its award
notice records that two or more suppliers bid.

tenderwatch sees only the notices the store holds: a call published only on another portal, under another ocid,
or before the first notice a sync or file gave, is not seen. The sentence says that it speaks of the notices held,
so that a reader can look for the call on the publisher's site.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import ProcedureSettings, facts, iso_date, long_date
from tenderwatch.indicators.base import Indicator, literal


class Settings(ProcedureSettings):
    """Settings of R004."""

    include_non_competitive: bool = Field(
        default=True,
        description="Flag every non-competitive procedure (direct and limited awards), which by design has no call "
        "for competition; false to flag only processes without signs of advertising.",
    )
    notice_document_types: list[str] = Field(
        default_factory=lambda: ["tenderNotice"],
        description="OCDS document types that are a call for competition.",
    )
    notice_types: list[str] = Field(
        default_factory=lambda: ["UK4"],
        description="UK notice types (documents[].noticeType) that are a call for competition: UK4 tender notice.",
    )
    competed_bids: int = Field(
        default=2,
        ge=0,
        description="A procedure that is not non-competitive and whose notices record bids from at least this many "
        "suppliers counts as advertised, though no call is among the notices held; 0 switches this off.",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R004."""
    document_types = literal(settings.notice_document_types or [""])
    notice_types = literal(settings.notice_types or [""])
    non_competitive = "procedure_class = 'non_competitive'" if settings.include_non_competitive else "FALSE"
    return f"""
        WITH {facts(settings)},
        decided AS (
            SELECT p.ocid, r.procedure_class, r.procedure, r.procedure_words,
                   coalesce(p.tender_period_start, p.tender_period_end) AS tender_period,
                   coalesce(w.award_date, c.signed) AS decided
            FROM ind_processes AS p
            JOIN tw_procedures AS r USING (ocid)
            LEFT JOIN tw_awarded AS w USING (ocid)
            LEFT JOIN (SELECT ocid, min(date_signed) AS signed FROM contracts GROUP BY ocid) AS c USING (ocid)
            WHERE (w.ocid IS NOT NULL OR c.ocid IS NOT NULL)
              AND r.procedure_class IS DISTINCT FROM 'call_off'
        ),
        notices AS (
            SELECT ocid, min(date_published) AS first_notice, bool_or(date_published IS NULL) AS undated
            FROM documents
            WHERE list_contains({document_types}, document_type) OR list_contains({notice_types}, notice_type)
            GROUP BY ocid
        ),
        bid_counts AS (  -- the most bids any notice records: the tender's, any lot's statistics, the bid details
            SELECT ocid, max(bids) AS bids
            FROM (
                SELECT ocid, number_of_tenderers AS bids FROM tenders WHERE number_of_tenderers IS NOT NULL
                UNION ALL
                SELECT ocid, max(value)::BIGINT FROM bid_statistics WHERE measure = 'bids' GROUP BY ocid
                UNION ALL
                SELECT ocid, count(DISTINCT tenderer)
                FROM (SELECT ocid, unnest(tenderer_ids) AS tenderer FROM ind_bids WHERE submitted)
                GROUP BY ocid
            )
            GROUP BY ocid
        ),
        judged AS (
            SELECT d.*, n.first_notice, b.bids,
                   coalesce(d.tender_period <= d.decided, d.tender_period IS NOT NULL AND d.decided IS NULL)
                   OR coalesce(n.undated OR n.first_notice <= d.decided, n.ocid IS NOT NULL AND d.decided IS NULL)
                       AS advertised,
                   {int(settings.competed_bids)} > 0 AND coalesce(b.bids >= {int(settings.competed_bids)}, FALSE)
                       AS competed
            FROM decided AS d LEFT JOIN notices AS n USING (ocid) LEFT JOIN bid_counts AS b USING (ocid)
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               ({non_competitive}) OR NOT (advertised OR competed) AS flagged, 1.0 AS value,
               json_object('procedure', procedure, 'procedure_class', procedure_class,
                           'decision_date', {iso_date("decided")}, 'tender_period', {iso_date("tender_period")},
                           'first_tender_notice', {iso_date("first_notice")}, 'advertised_before', advertised,
                           'bids_recorded', bids,
                           'include_non_competitive', {literal(settings.include_non_competitive)}) AS evidence,
               CASE WHEN {non_competitive}
                    THEN 'The contract was awarded by ' || procedure_words || ', a procedure without a call for '
                         || 'competition, so other suppliers were not invited to bid.'
                    -- what the store holds, which may be only some of the process's notices
                    ELSE 'No notice held for this process shows a call for competition before the award'
                         || coalesce(' on ' || {long_date("decided")}, '')
                         || ': no tender period or tender notice is dated before it'
                         || coalesce(' (the first tender notice is dated ' || {long_date("first_notice")} || ')', '')
                         || '.'
               END AS sentence
        FROM judged
    """


INDICATOR = Indicator(
    code="R004",
    title="No prior call for competition",
    subjects=("process",),
    description="A contract was awarded without a call for competition published before the award.",
    why="A contract that was never advertised could not be bid for by anyone but the suppliers the buyer chose, "
    "so nobody tested whether someone else would have done it better or for less.",
    sql=sql,
    settings=Settings,
    needs=(
        "awards.award_id|contracts.contract_id",
        "tenders.procurement_method|tenders.procurement_method_details",
        "tenders.tender_period_start|tenders.tender_period_end|documents.document_type",
    ),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R004",
        "Find a Tender, Notice types and sequences (UK4 tender notice; UK5 transparency notice before a direct award)",
    ),
    differences=(
        "Non-competitive procedures are flagged as such, even when a transparency notice (such as UK5) preceded "
        "them, since that notice is not a call for competition.",
        "Framework and dynamic purchasing system call-offs are not evaluated.",
        "A competitive procedure whose notices record bids from two or more suppliers is not flagged for want of a "
        "call among the notices held (setting competed_bids).",
    ),
)
