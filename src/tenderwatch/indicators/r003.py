"""Short submission period.

A process is flagged when its submission period, from ``tender.tenderPeriod.startDate`` to
``tender.tenderPeriod.endDate``, lasts fewer whole days than the **threshold**: 15 days by default, or the
threshold set for the process's procedure (``procurementMethodDetails``, matched exactly). The length is
counted in whole days, rounded down: 14 days and 23 hours count as 14. Set **procurement_methods** to
look only at some OCDS methods (open, selective, limited, direct).

Example: a council opens an open tender on 1 March at 09:00 and closes it on 10 March at 12:00. The period
is 9 whole days, under 15: flagged.

As in Cardinal, with one difference: dates without a time-zone offset and dates without a time are read
(in the ``naive_timezone`` setting) instead of being skipped.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of R003."""

    threshold: int = Field(default=15, description="Fewest days a submission period may last without a flag.")
    procurement_methods: list[str] = Field(
        default_factory=list,
        description="Only these OCDS procurement methods are looked at (empty: all, as in Cardinal).",
    )
    procurement_method_details: dict[str, int] = Field(
        default_factory=dict,
        description='A threshold per procedure, by its exact procurementMethodDetails, e.g. {"Open procedure" = 30}.',
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R003."""
    per_procedure = (
        "map_extract(MAP {"
        + ", ".join(f"{literal(k)}: {int(v)}" for k, v in settings.procurement_method_details.items())
        + "}, procurement_method_details)[1]"
        if settings.procurement_method_details
        else "NULL"
    )
    methods = (
        f"AND list_contains({literal(settings.procurement_methods)}, procurement_method)"
        if settings.procurement_methods
        else ""
    )
    return f"""
        WITH evaluated AS (
            SELECT ocid, procurement_method, procurement_method_details,
                   trunc((epoch(tender_period_end) - epoch(tender_period_start)) / 86400)::BIGINT AS days,
                   coalesce({per_procedure}, {int(settings.threshold)}) AS threshold
            FROM ind_processes
            WHERE tender_period_start IS NOT NULL AND tender_period_end IS NOT NULL {methods}
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, days < threshold AS flagged, 1.0 AS value,
               json_object('submission_period_days', days, 'threshold_days', threshold,
                           'procurement_method_details', procurement_method_details) AS evidence,
               'Bidders had ' || days || ' days to submit, fewer than the ' || threshold || ' days expected'
               || coalesce(' for "' || procurement_method_details || '"', '') || '.' AS sentence
        FROM evaluated
    """


INDICATOR = Indicator(
    code="R003",
    title="Short submission period",
    subjects=("process",),
    description="The time bidders had to submit a bid was shorter than the threshold.",
    why="A short deadline favours bidders who knew about the tender in advance and keeps others out.",
    sql=sql,
    settings=Settings,
    needs=("tenders.tender_period_start", "tenders.tender_period_end"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R003",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/003.html",
    ),
    cardinal=True,
    differences=(
        "Dates without an offset or without a time are read in the naive_timezone setting; Cardinal skips them.",
    ),
)
