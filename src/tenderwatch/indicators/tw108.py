"""Supplier incorporated shortly before the award.

A **supplier** of an award is flagged when it was incorporated (founded) no more than **days** days (365 by
default) before the award date, or after it.

The incorporation date is read from the party's ``details``, under any of the keys in **date_fields**
(``foundingDate``, as in the Beneficial Ownership Data Standard, ``incorporationDate``, ``dateOfIncorporation``).
It is looked for on the supplier's own party entry; failing that, in the company statements of beneficial-ownership
data loaded with ``tenderwatch org load-ownership`` (the ``foundingDate`` of a Beneficial Ownership Data Standard
entity statement with the same registered identifier; with **ownership_statements** on, the default); failing
that, on any party anywhere in the store with the same registered identifier. Identifiers match by scheme and
number, Companies House numbers with or without their leading zeros, so one notice or one statement that gives the
date serves all of that company's awards. The evidence says where the date came from (``incorporation_source``:
this notice, the ownership statement's id, or another notice). The award date is the award's ``date``, else the
date its contract was signed. Cancelled and unsuccessful awards are left out.

Only suppliers whose incorporation date is known are evaluated. Most OCDS publishers, UK ones included, do not
publish it: the indicator then evaluates nothing until ownership data are loaded, and the coverage report says
so. No date is guessed. With the real beneficial-ownership file of UK suppliers loaded beside the real Contracts
Finder data the tests use, 210 supplier awards in 62 processes are evaluated (none flagged: the newest company
was 477 days old at its award).

Example: a company incorporated on 2 February 2024 wins a £400,000 cleaning contract awarded on 15 July 2024, 164
days later: flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW108."""

    days: int = Field(
        default=365,
        ge=0,
        description="A supplier incorporated this many days or fewer before the award date (or after it) is flagged.",
    )
    date_fields: list[str] = Field(
        default_factory=lambda: ["foundingDate", "incorporationDate", "dateOfIncorporation"],
        description="Keys of a party's details object that hold its incorporation date, tried in this order.",
    )
    ownership_statements: bool = Field(
        default=True,
        description="Also read incorporation dates (`foundingDate`) from the company statements of "
        "beneficial-ownership data loaded with `tenderwatch org load-ownership`.",
    )


def _day(column: str) -> str:
    return f"strftime({column}, '%-d %B %Y')"


IDENTIFIER_KEY = """CASE
            WHEN nullif(trim({scheme}), '') IS NULL OR nullif(trim({id}), '') IS NULL THEN NULL
            WHEN upper(trim({scheme})) = 'GB-COH' AND regexp_matches(trim({id}), '^[0-9]{{1,8}}$')
                THEN 'GB-COH-' || lpad(trim({id}), 8, '0')
            ELSE upper(trim({scheme})) || '-' || upper(replace(trim({id}), ' ', ''))
        END"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW108."""
    days = int(settings.days)
    founded = (
        "coalesce("
        + ", ".join(f"tw_ts(json_extract_string(details, {literal('$.' + key)}))" for key in settings.date_fields)
        + ")"
        if settings.date_fields
        else "NULL::TIMESTAMPTZ"
    )
    party_key = IDENTIFIER_KEY.format(scheme="identifier_scheme", id="identifier_id")
    supplier_key = IDENTIFIER_KEY.format(scheme="s.identifier_scheme", id="s.identifier_id")
    statement_key = IDENTIFIER_KEY.format(scheme="i.scheme", id="i.id")
    registered = (
        f"""
            SELECT {statement_key} AS identifier, founded, statement_id
            FROM (SELECT statement_id, tw_ts(json_extract_string(data, '$.foundingDate')) AS founded,
                         unnest(from_json(json_extract(data, '$.identifiers'),
                                          '[{{"scheme": "VARCHAR", "id": "VARCHAR"}}]')) AS i
                  FROM ownership_statements WHERE statement_type = 'entityStatement')
            WHERE founded IS NOT NULL
        """
        if settings.ownership_statements
        else "SELECT NULL::VARCHAR AS identifier, NULL::TIMESTAMPTZ AS founded, NULL::VARCHAR AS statement_id"
    )
    return f"""
        WITH registered_dates AS ({registered}),
        registered AS (  -- one date per identifier from ownership statements: the earliest, with its statement
            SELECT identifier, min(founded) AS founded, arg_min(statement_id, (founded, statement_id)) AS statement_id
            FROM registered_dates WHERE identifier IS NOT NULL GROUP BY identifier
        ),
        dated_parties AS (
            SELECT ocid, party_id, {party_key} AS identifier, {founded} AS founded
            FROM parties
            WHERE details IS NOT NULL
        ),
        founded_by_identifier AS (  -- one date per identifier: the earliest given
            SELECT identifier, min(founded) AS founded FROM dated_parties
            WHERE identifier IS NOT NULL AND founded IS NOT NULL GROUP BY identifier
        ),
        signed AS (SELECT ocid, award_id, min(date_signed) AS date_signed FROM contracts GROUP BY ocid, award_id),
        suppliers AS (
            SELECT s.ocid, s.award_id, s.party_id, s.name, a.value_amount, a.value_currency,
                   coalesce(a.date, g.date_signed) AS awarded,
                   coalesce({supplier_key}, p.identifier) AS identifier,
                   coalesce(p.founded, r.founded, f.founded) AS founded,
                   CASE WHEN p.founded IS NOT NULL THEN 'this notice'
                        WHEN r.founded IS NOT NULL THEN 'ownership statement ' || r.statement_id
                        WHEN f.founded IS NOT NULL THEN 'another notice' END AS founded_source
            FROM award_suppliers AS s
            JOIN awards AS a ON a.ocid = s.ocid AND a.award_id IS NOT DISTINCT FROM s.award_id
            LEFT JOIN signed AS g ON g.ocid = s.ocid AND g.award_id = s.award_id
            LEFT JOIN dated_parties AS p ON p.ocid = s.ocid AND p.party_id = s.party_id
            LEFT JOIN registered AS r ON r.identifier = coalesce({supplier_key}, p.identifier)
            LEFT JOIN founded_by_identifier AS f ON f.identifier = coalesce({supplier_key}, p.identifier)
            WHERE s.ocid IN (SELECT ocid FROM ind_processes)
              AND coalesce(lower(a.status), '') NOT IN ('cancelled', 'unsuccessful')
        ),
        evaluated AS (
            SELECT *, datediff('day', founded::DATE, awarded::DATE) AS days_old
            FROM suppliers
            WHERE founded IS NOT NULL AND awarded IS NOT NULL
            -- a window, not DISTINCT ON, whose sort of every row does not spill to disk
            QUALIFY row_number() OVER (PARTITION BY ocid, coalesce(identifier, party_id, name)
                                       ORDER BY awarded, award_id) = 1
        )
        SELECT 'supplier' AS subject, coalesce(identifier, party_id, name) AS subject_id, ocid,
               days_old <= {days} AS flagged, days_old AS value,
               json_object('supplier', name, 'party_id', party_id, 'identifier', identifier,
                           'incorporated', founded::DATE, 'incorporation_source', founded_source,
                           'award_id', award_id, 'award_date', awarded::DATE,
                           'days_from_incorporation_to_award', days_old, 'threshold_days', {days},
                           'award_value', value_amount, 'award_currency', value_currency) AS evidence,
               coalesce(name, 'The supplier') || ' was incorporated on ' || {_day("founded")} || ' and awarded this '
               || 'contract on ' || {_day("awarded")} || ', '
               || CASE WHEN days_old < 0 THEN abs(days_old) || ' days before it was incorporated'
                       ELSE days_old || ' days later (' || {days} || ' days or fewer counts as newly formed)' END
               || '.' || CASE WHEN founded_source = 'this notice' THEN ''
                              ELSE ' The date of incorporation is from ' || founded_source || '.' END AS sentence
        FROM evaluated
    """


INDICATOR = Indicator(
    code="TW108",
    title="Supplier incorporated shortly before award",
    subjects=("supplier",),
    description="A supplier was incorporated shortly before (or after) it was awarded the contract.",
    why="A company formed just before winning public money may be a front, a vehicle set up for one contract, or "
    "unable to show the track record the contract needs.",
    sql=sql,
    settings=Settings,
    needs=("parties.details|ownership_statements.data", "awards.date|contracts.date_signed"),
    references=(
        "Opentender.eu / DIGIWHIST: 'new company' indicator, winner incorporated less than 365 days before the "
        "award (LotNewCompanyIndicatorPlugin)",
        "Beneficial Ownership Data Standard: entity statement foundingDate",
    ),
    differences=(
        "Opentender reads incorporation dates from company registers; here the dates published with the parties "
        "in the store are used, and those of the beneficial-ownership statements the user has loaded.",
        "An award made before the supplier's incorporation date is flagged too.",
    ),
)
