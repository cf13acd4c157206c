"""Single bid received.

A process whose OCDS ``procurementMethod`` is one of the **procurement_methods** (open and selective by
default) is flagged when it received exactly one bid. The number of bids is, in this order: the publisher's
``tender.numberOfTenderers``; else the ``bids`` count among the published bid statistics (as UK Find a Tender
publishes them, ``bids.statistics`` with measure ``bids``); else the number of distinct tenderers of
submitted bids in ``bids.details``.

Example: a county council advertises a home-care framework openly; the award notice says one bid was
received. Flagged.

Cardinal reads only ``numberOfTenderers``, and only when it is written as the integer ``1`` (``1.0`` does
not count); tenderwatch reads the bid statistics and bid details too, and any numeric 1.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of R018."""

    procurement_methods: list[str] = Field(
        default_factory=lambda: ["open", "selective"],
        description="OCDS procurement methods in which a single bid is a red flag.",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R018."""
    return f"""
        WITH uncounted AS (  -- the processes whose tender does not give the number of tenderers
            SELECT ocid FROM tenders WHERE number_of_tenderers IS NULL
        ),
        statistics AS (  -- the number of bids from bid statistics, where the tender does not give it
            SELECT ocid, max(value) AS bids FROM bid_statistics
            WHERE measure = 'bids' AND related_lot IS NULL AND ocid IN (SELECT ocid FROM uncounted)
            GROUP BY ocid
        ),
        from_bids AS (  -- counted from bid details, where the tender does not give it
            SELECT ocid, count(DISTINCT tenderer) AS bids
            FROM (SELECT ocid, unnest(tenderer_ids) AS tenderer FROM ind_bids WHERE submitted)
            WHERE ocid IN (SELECT ocid FROM uncounted)
            GROUP BY ocid
        ),
        counted AS (
            SELECT p.ocid, p.procurement_method,
                   coalesce(p.number_of_tenderers, s.bids::BIGINT, d.bids) AS bids,
                   CASE WHEN p.number_of_tenderers IS NOT NULL THEN 'tender.numberOfTenderers'
                        WHEN s.bids IS NOT NULL THEN 'bids.statistics'
                        WHEN d.bids IS NOT NULL THEN 'bids.details' END AS source
            FROM ind_processes AS p
            LEFT JOIN statistics AS s USING (ocid)
            LEFT JOIN from_bids AS d USING (ocid)
            WHERE list_contains({literal(settings.procurement_methods)}, p.procurement_method)
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, bids = 1 AS flagged, 1.0 AS value,
               json_object('bids', bids, 'counted_from', source, 'procurement_method', procurement_method) AS evidence,
               'Only one bid was received in this ' || procurement_method || ' procedure (from '
               || source || ').' AS sentence
        FROM counted
        WHERE bids IS NOT NULL
    """


INDICATOR = Indicator(
    code="R018",
    title="Single bid received",
    subjects=("process",),
    description="Only one bid was received in a competitive procedure.",
    why="A competition with one bidder is no competition: the price and terms were not tested against rivals.",
    sql=sql,
    settings=Settings,
    needs=("tenders.number_of_tenderers|bid_statistics.value|bids.tenderer_ids", "tenders.procurement_method"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R018",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/018.html",
    ),
    cardinal=True,
    differences=(
        "Bids are also counted from bid statistics and bid details when numberOfTenderers is absent.",
        "A numberOfTenderers of 1.0 counts as one bid.",
    ),
)
