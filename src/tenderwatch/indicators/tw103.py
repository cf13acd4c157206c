"""Very long contract.

A **process** is flagged when one of its contracts could run, with every extension option used, for at least
**min_years** years (10 by default), or when it has no end at all and its notices call it indefinite.

The term runs from the start of the contract period (else the date the contract was signed, else the award date)
to the latest possible end (``maxExtentDate``), else the end date. Dates come from the contract lifecycle table
(``contract_lifecycle``): the contract's, else its award's, else, for a process not yet awarded, the contract
period announced in the tender, so a long contract is flagged while it is being bought. When a period gives only
its length in days (``durationInDays``), that length is the term. The term is counted in years of 365.25 days,
rounded to one decimal, so "1 April 2016 to 31 March 2026" is 10.0 years. A contract with no end date, no
latest end and no length is *indefinite* when its title or description (or the tender's) matches
**indefinite_pattern** ("indefinite", "open-ended", "rolling contract", "evergreen", "no end date"...). Cancelled
tenders, awards and contracts are not evaluated. Per process, the longest term is reported.

Why 10 years by default: framework agreements may last at most 4 years (PCR 2015 regulation 33(3); Procurement
Act 2023 section 47), and ordinary service contracts in UK data mostly run 1 to 5 years, with extensions up to
about 7. Flagging from 4 years, as redflags.eu does, would flag a large share of normal contracts; 10 years
singles out contracts that take a service out of competition for a decade, such as lead-provider contracts in
health care. Lower it to watch a sector where terms are short.

Example: four clinical commissioning groups tender a cancer and end-of-life care contract from 1 April 2016 to
31 March 2026, with no extension: 10.0 years, flagged while still at tender.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW103."""

    min_years: float = Field(
        default=10.0,
        gt=0,
        description="Shortest term, in years with every extension used, that counts as very long.",
    )
    indefinite_pattern: str = Field(
        default=r"(?i)\b(indefinite(ly)?|open[- ]ended|rolling (contract|agreement|arrangement)|evergreen"
        r"|no (fixed )?end date|until (further notice|terminated))\b",
        description="Regular expression that marks a contract without an end date as indefinite, matched against "
        "the titles and descriptions of the contract, its award and the tender.",
    )


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW103."""
    min_years = literal(float(settings.min_years))
    pattern = literal(settings.indefinite_pattern)
    min_years_text = literal(f"{settings.min_years:g}")
    return f"""
        WITH terms AS (
            SELECT l.ocid, l.row_type, l.contract_id, l.award_id,
                   coalesce(l.start_date, l.date_signed, l.award_date) AS term_start,
                   coalesce(l.max_extent_date, l.current_end_date) AS term_end,
                   CASE WHEN l.max_extent_date IS NOT NULL THEN 'latest possible end'
                        WHEN l.current_end_date IS NOT NULL THEN 'end date' END AS end_kind,
                   coalesce(c.period_duration_days, a.contract_period_duration_days, t.contract_period_duration_days)
                       AS duration_days,
                   concat_ws(' ', l.title, c.description, a.description, t.title, t.description) AS words
            FROM contract_lifecycle AS l
            LEFT JOIN contracts AS c ON c.ocid = l.ocid AND c.contract_id = l.contract_id
            LEFT JOIN awards AS a ON a.ocid = l.ocid AND a.award_id = l.award_id
            LEFT JOIN tenders AS t ON t.ocid = l.ocid
            WHERE l.ocid IN (SELECT ocid FROM ind_processes) AND l.status <> 'cancelled'
        ),
        measured AS (
            SELECT *,
                   round(CASE WHEN term_end IS NOT NULL AND term_start IS NOT NULL AND term_end > term_start
                              THEN (epoch(term_end) - epoch(term_start)) / 86400.0
                              WHEN term_end IS NULL AND duration_days > 0 THEN duration_days END / 365.25, 1) AS years,
                   term_end IS NULL AND coalesce(duration_days, 0) <= 0
                       AND regexp_matches(words, {pattern}) AS indefinite
            FROM terms
        ),
        longest AS (  -- a window, not DISTINCT ON: its sort of every row spills to disk, as DISTINCT ON did not
            SELECT * FROM measured
            WHERE years IS NOT NULL OR indefinite
            QUALIFY row_number() OVER (
                PARTITION BY ocid
                ORDER BY indefinite DESC, years DESC NULLS LAST, contract_id NULLS LAST, award_id NULLS LAST
            ) = 1
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               indefinite OR years >= {min_years} AS flagged,
               coalesce(years, 1.0) AS value,
               json_object('term_years', years, 'indefinite', indefinite, 'min_years', {min_years},
                           'start_date', term_start::DATE, 'end_date', term_end::DATE, 'end_used', end_kind,
                           'duration_days', duration_days, 'from', row_type, 'contract_id', contract_id,
                           'award_id', award_id) AS evidence,
               CASE WHEN indefinite
                    THEN 'The contract has no end date and its notice describes it as indefinite or open-ended.'
                    ELSE CASE row_type WHEN 'process' THEN 'The contract being tendered' ELSE 'This contract' END
                         || CASE WHEN end_kind = 'latest possible end' THEN ', with every extension option used,'
                                 ELSE '' END
                         || ' would run for ' || years || ' years'
                         || CASE WHEN term_end IS NOT NULL
                                 THEN ' (' || {_day("term_start")} || ' to ' || {_day("term_end")} || ')'
                                 ELSE ' (' || duration_days || ' days)' END
                         || ', at least the ' || {min_years_text} || ' years counted as very long.'
               END AS sentence
        FROM longest
    """


INDICATOR = Indicator(
    code="TW103",
    title="Very long contract",
    subjects=("process",),
    description="A contract runs, with all its extension options, for many years (10 by default), or has no end.",
    why="A very long contract shuts a service away from competition for years, binds future budgets and councils, "
    "and leaves the buyer dependent on one provider.",
    sql=sql,
    settings=Settings,
    needs=(
        "contract_lifecycle.start_date|contract_lifecycle.date_signed|contract_lifecycle.award_date",
        "contract_lifecycle.max_extent_date|contract_lifecycle.current_end_date",
    ),
    references=(
        "redflags.eu (K-Monitor, Transparency International Hungary): 'long or indefinite duration', over 4 years",
        "Public Contracts Regulations 2015, regulation 33(3): frameworks at most 4 years: "
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/33",
        "Procurement Act 2023, section 47: maximum term of frameworks: "
        "https://www.legislation.gov.uk/ukpga/2023/54/section/47",
    ),
    differences=(
        "redflags.eu flags from 4 years; the default here is 10 years (see the methodology), and the term includes "
        "every extension option (maxExtentDate).",
    ),
)
