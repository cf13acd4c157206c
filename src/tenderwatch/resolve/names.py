"""Organisation names and postcodes, normalised so that spellings of one name compare equal.

Two forms of a name are kept:

- the **normalised name** (:func:`normalise_name`): HTML entities decoded (``&amp;`` → ``&``), accents removed,
  upper case, ``&`` and ``+`` written ``AND``, apostrophes dropped (``CHILDREN'S`` → ``CHILDRENS``), a trading
  name after ``T/A`` or ``TRADING AS`` cut off, every other punctuation mark a space, a leading ``THE`` dropped,
  legal forms in one spelling (``LIMITED`` → ``LTD``, ``PUBLIC LIMITED COMPANY`` → ``PLC``, ``COMMUNITY INTEREST
  COMPANY`` → ``CIC``, ``LIMITED LIABILITY PARTNERSHIP`` → ``LLP``, ``COMPANY`` → ``CO``, ``CORPORATION`` →
  ``CORP``, ``INCORPORATED`` → ``INC``, Welsh ``CYFYNGEDIG`` → ``LTD``) and single spaces.
  ``"The Serco Limited."`` and ``"SERCO LTD"`` both give ``SERCO LTD``;
- the **name key** (:func:`name_key`): the normalised name without the legal forms at its end, so ``SERCO LTD``,
  ``SERCO PLC`` and ``SERCO`` give ``SERCO``. Words such as ``GROUP`` or ``HOLDINGS`` are kept: a holding
  company is another organisation than its subsidiary.

Postcodes (:func:`normalise_postcode`): upper case without spaces, then a UK postcode is written with one space
before its last three characters (``rg279xb`` → ``RG27 9XB``); other postal codes are kept without spaces.

As for identifiers, the rules are DuckDB macros (:data:`MACROS`) run in the store, and the Python functions run
the same macros.
"""

from __future__ import annotations

import functools

import duckdb

LEGAL_FORMS = ("LTD", "PLC", "LLP", "LP", "CIC", "CIO", "INC", "CORP", "CO", "LLC", "SA", "GMBH", "BV", "AG")

_LEGAL_FORMS_SQL = "|".join(LEGAL_FORMS)

MACROS = f"""
CREATE OR REPLACE TEMP MACRO tw_name_clean(s) AS (
    -- entities decoded, accents removed, upper case, & written AND, apostrophes dropped, trading names cut
    regexp_replace(
        regexp_replace(
            replace(replace(
                upper(strip_accents(
                    regexp_replace(regexp_replace(replace(replace(replace(coalesce(s, ''),
                        '&amp;', '&'), '&apos;', ''''), '&quot;', '"'), '&#0*39;', '''', 'g'), '&#0*38;', '&', 'g')
                )),
                '&', ' AND '), '+', ' AND '),
            '[''’‘`]', '', 'g'),
        '[\\s(]+(T/A|T\\\\A|TRADING AS)[\\s)].*$', '')
);
CREATE OR REPLACE TEMP MACRO tw_name_forms(s) AS (
    -- legal forms in one spelling (s has single spaces around words)
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(s,
        ' PUBLIC LIMITED COMPANY ', ' PLC ', 'g'),
        ' COMMUNITY INTEREST COMPANY ', ' CIC ', 'g'),
        ' LIMITED LIABILITY PARTNERSHIP ', ' LLP ', 'g'),
        ' (LIMITED|CYFYNGEDIG|CYF) ', ' LTD ', 'g'),
        ' L T D ', ' LTD ', 'g'),
        ' P L C ', ' PLC ', 'g'),
        ' L L P ', ' LLP ', 'g'),
        ' COMPANY ', ' CO ', 'g'),
        ' CORPORATION ', ' CORP ', 'g'),
        ' INCORPORATED ', ' INC ', 'g'),
        ' CHARITABLE INCORPORATED ORGANISATION ', ' CIO ', 'g')
);
CREATE OR REPLACE TEMP MACRO tw_org_name(s) AS (
    nullif(
        regexp_replace(
            trim(tw_name_forms(tw_name_forms(
                ' ' || regexp_replace(trim(regexp_replace(tw_name_clean(s), '[^A-Z0-9]+', ' ', 'g')), '^THE ', '')
                || ' '
            ))),
            '\\s+', ' ', 'g'),
        '')
);
CREATE OR REPLACE TEMP MACRO tw_org_name_key(s) AS (
    nullif(regexp_replace(tw_org_name(s), '(^| )({_LEGAL_FORMS_SQL})( ({_LEGAL_FORMS_SQL}))*$', ''), '')
);
CREATE OR REPLACE TEMP MACRO tw_postcode(s) AS (
    CASE
        WHEN regexp_matches(upper(regexp_replace(coalesce(s, ''), '[^A-Za-z0-9]', '', 'g')),
                            '^[A-Z]{{1,2}}[0-9][A-Z0-9]?[0-9][A-Z]{{2}}$')
            THEN substr(upper(regexp_replace(s, '[^A-Za-z0-9]', '', 'g')), 1,
                        length(regexp_replace(s, '[^A-Za-z0-9]', '', 'g')) - 3)
                 || ' ' || right(upper(regexp_replace(s, '[^A-Za-z0-9]', '', 'g')), 3)
        ELSE nullif(upper(regexp_replace(coalesce(s, ''), '[^A-Za-z0-9]', '', 'g')), '')
    END
);
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the name and postcode macros on a connection."""
    con.execute(MACROS)


def _connection() -> duckdb.DuckDBPyConnection:
    from tenderwatch.resolve.identifiers import _connection as shared  # noqa: PLC0415

    return shared()


@functools.lru_cache(maxsize=4096)
def normalise_name(name: str | None) -> str | None:
    """Return the normalised name (``"The Serco Limited."`` → ``SERCO LTD``), or ``None`` if nothing is left."""
    return _connection().execute("SELECT tw_org_name(?::VARCHAR)", [name]).fetchall()[0][0]


@functools.lru_cache(maxsize=4096)
def name_key(name: str | None) -> str | None:
    """Return the name key: the normalised name without trailing legal forms (``Serco Ltd`` → ``SERCO``)."""
    return _connection().execute("SELECT tw_org_name_key(?::VARCHAR)", [name]).fetchall()[0][0]


@functools.lru_cache(maxsize=4096)
def normalise_postcode(postcode: str | None) -> str | None:
    """Return the postcode in one form (``rg279xb`` → ``RG27 9XB``), or ``None`` if empty."""
    return _connection().execute("SELECT tw_postcode(?::VARCHAR)", [postcode]).fetchall()[0][0]
