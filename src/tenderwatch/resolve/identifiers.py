"""Registered identifiers, normalised per scheme of the org-id.guide list, so that one organisation has one key.

Publishers write the same registration many ways: a Companies House number with or without its leading zeros
(``242246``, ``00242246``), with spaces or in lower case (``sc 123456``), an org-id repeated inside the id
(``GB-COH-00242246``), or a placeholder such as ``N/A`` or ``0``. :func:`normalise_identifier` turns a
(scheme, id) pair into one org-id string such as ``GB-COH-00242246``, or ``None`` when the id cannot be a real
registration in its scheme.

The rules are DuckDB macros (:data:`MACROS`), so the store normalises millions of identifiers in one query; the
Python function runs the same macros, so there is one definition only.

Rules by scheme:

- ``GB-COH`` (Companies House): spaces, dots, dashes and slashes removed; eight digits, zero-padded
  (``242246`` → ``00242246``); or a two-letter prefix (``SC``, ``NI``, ``OC``, ``SO``, ``NC``, ``FC``, ``IP``,
  ``RS``, ``CE``…) and six digits, zero-padded (``sc 1234`` → ``SC001234``); or ``R`` and seven digits
  (old Northern Ireland numbers). Anything longer, all zeros or with other letters is refused.
- ``GB-CHC`` (Charity Commission for England and Wales): the registered number without leading zeros, five to
  seven digits, keeping a ``-N`` suffix (a linked charity, a separate register entry).
- ``GB-SC`` (Scottish Charity Regulator): ``SC`` and six digits (``12345`` → ``SC012345``).
- ``GB-NIC`` (Charity Commission for Northern Ireland): the number without an ``NIC`` prefix or leading zeros.
- ``GB-NHS`` (NHS organisation codes), ``GB-GOR`` (government organisations), ``GB-LAE``/``GB-LAS``/``GB-LANI``/
  ``GB-PLA`` (local authorities), ``GB-PPON`` (public procurement organisation numbers), ``GB-CQC`` (Care
  Quality Commission) and ``GB-UKPRN`` (learning providers): upper case without spaces; the codes are kept as
  they are otherwise (leading zeros of NHS codes such as ``00L`` matter).
- ``GB-SRS`` (Contracts Finder's supplier registration ids): trimmed but not upper-cased, as the ids are
  case-sensitive tokens.
- any other scheme: trimmed, upper case, inner runs of spaces made one.

For every scheme, an empty id or a placeholder (``N/A``, ``NONE``, ``UNKNOWN``, ``TBC``, ``-``, all zeros…) gives
``None``. Scheme names are upper-cased and a few spellings seen in data are mapped to their code (``Companies
House`` → ``GB-COH``).
"""

from __future__ import annotations

import functools
import threading

import duckdb

# Scheme names seen in the data instead of org-id.guide codes.
SCHEME_ALIASES = {
    "COMPANIES HOUSE": "GB-COH",
    "GB-CH": "GB-COH",
    "CHARITY COMMISSION": "GB-CHC",
    "OSCR": "GB-SC",
}

# Schemes whose ids name one legal entity: two different ids in the same scheme are two different organisations,
# so the probabilistic linkage never joins organisations that carry different ids in one of these schemes.
ENTITY_SCHEMES = (
    "GB-COH",
    "GB-CHC",
    "GB-SC",
    "GB-NIC",
    "GB-PPON",
    "GB-NHS",
    "GB-GOR",
    "GB-LAE",
    "GB-UKPRN",
    "GB-CQC",
)

# Preference of schemes when an organisation carries several: its id is its first identifier in this order.
SCHEME_PREFERENCE = ("GB-COH", "GB-CHC", "GB-SC", "GB-NIC", "GB-PPON", "GB-NHS", "GB-GOR", "GB-LAE", "GB-UKPRN")

_PLACEHOLDERS = (
    "",
    "-",
    "--",
    "0",
    "N/A",
    "NA",
    "N.A.",
    "NONE",
    "NULL",
    "NIL",
    "UNKNOWN",
    "TBC",
    "TBA",
    "NOT APPLICABLE",
    "NOT KNOWN",
    "NOT PROVIDED",
)

_ALIASES_SQL = " ".join(f"WHEN '{alias}' THEN '{code}'" for alias, code in SCHEME_ALIASES.items())
_PLACEHOLDERS_SQL = ", ".join(f"'{value}'" for value in _PLACEHOLDERS)

# tw_org_scheme(scheme): the scheme's code, upper case. tw_org_id_part(scheme, id): the normalised id within the
# (already normalised) scheme, or NULL. tw_org_id(scheme, id): the org-id string, or NULL.
MACROS = f"""
CREATE OR REPLACE TEMP MACRO tw_org_scheme(s) AS (
    CASE upper(regexp_replace(trim(coalesce(s, '')), '\\s+', ' ', 'g'))
        WHEN '' THEN NULL
        {_ALIASES_SQL}
        ELSE upper(regexp_replace(trim(s), '\\s+', ' ', 'g'))
    END
);
CREATE OR REPLACE TEMP MACRO tw_org_id_raw(sch, v) AS (
    -- the id, trimmed, without the scheme repeated in front of it (GB-COH-01234567 in the id field)
    CASE WHEN upper(trim(v)) LIKE sch || '-%' AND length(trim(v)) > length(sch) + 1
         THEN trim(substr(trim(v), length(sch) + 2)) ELSE trim(v) END
);
CREATE OR REPLACE TEMP MACRO tw_org_id_check(x) AS (
    CASE WHEN x IS NULL OR upper(x) IN ({_PLACEHOLDERS_SQL}) OR regexp_matches(x, '^[0\\s\\-\\./]*$') THEN NULL
         ELSE x END
);
CREATE OR REPLACE TEMP MACRO tw_org_coh(c) AS (
    CASE
        WHEN regexp_matches(c, '^[0-9]{{1,8}}$') AND NOT regexp_matches(c, '^0+$') THEN lpad(c, 8, '0')
        WHEN regexp_matches(c, '^[A-Z]{{2}}[0-9]{{1,6}}$') AND NOT regexp_matches(c, '^[A-Z]{{2}}0+$')
            THEN substr(c, 1, 2) || lpad(substr(c, 3), 6, '0')
        WHEN regexp_matches(c, '^R[0-9]{{7}}$') THEN c
    END
);
CREATE OR REPLACE TEMP MACRO tw_org_chc(c) AS (
    CASE WHEN regexp_matches(c, '^0*[0-9]{{5,7}}(-[0-9]+)?$') THEN ltrim(c, '0') END
);
CREATE OR REPLACE TEMP MACRO tw_org_osc(c) AS (
    CASE WHEN regexp_matches(c, '^(SC)?[0-9]{{1,6}}$') AND NOT regexp_matches(c, '^(SC)?0+$')
         THEN 'SC' || lpad(regexp_extract(c, '[0-9]+$'), 6, '0') END
);
CREATE OR REPLACE TEMP MACRO tw_org_nic(c) AS (
    CASE WHEN regexp_matches(c, '^(NIC)?[0-9]{{1,7}}$') AND NOT regexp_matches(c, '^(NIC)?0+$')
         THEN ltrim(regexp_extract(c, '[0-9]+$'), '0') END
);
CREATE OR REPLACE TEMP MACRO tw_org_id_part(sch, v) AS (
    -- the raw id is bound once (as the lambda's argument), so the rules below do not repeat its expression
    list_transform([tw_org_id_raw(sch, v)], raw -> CASE
        WHEN sch IS NULL OR tw_org_id_check(raw) IS NULL THEN NULL
        WHEN sch = 'GB-COH' THEN tw_org_coh(upper(regexp_replace(raw, '[\\s\\.\\-/]', '', 'g')))
        WHEN sch = 'GB-CHC' THEN tw_org_chc(regexp_replace(raw, '\\s', '', 'g'))
        WHEN sch = 'GB-SC' THEN tw_org_osc(upper(regexp_replace(raw, '\\s', '', 'g')))
        WHEN sch = 'GB-NIC' THEN tw_org_nic(upper(regexp_replace(raw, '\\s', '', 'g')))
        WHEN sch IN ('GB-NHS', 'GB-GOR', 'GB-LAE', 'GB-LAS', 'GB-LANI', 'GB-PLA', 'GB-PPON', 'GB-CQC', 'GB-UKPRN',
                     'GB-EDU', 'GB-MPR')
            THEN tw_org_id_check(upper(regexp_replace(raw, '\\s', '', 'g')))
        WHEN sch = 'GB-SRS' THEN tw_org_id_check(regexp_replace(raw, '\\s', '', 'g'))
        ELSE tw_org_id_check(upper(regexp_replace(raw, '\\s+', ' ', 'g')))
    END)[1]
);
CREATE OR REPLACE TEMP MACRO tw_org_id(s, v) AS (
    list_transform([tw_org_scheme(s)], sch -> sch || '-' || tw_org_id_part(sch, v))[1]
);
CREATE OR REPLACE TEMP MACRO tw_parse_org_id(t) AS (
    -- an org-id written out (GB-COH-242246): the scheme is its first two dash-separated parts
    list_transform([trim(t)], x -> tw_org_id(
        split_part(x, '-', 1) || '-' || split_part(x, '-', 2),
        substr(x, length(split_part(x, '-', 1)) + length(split_part(x, '-', 2)) + 3)
    ))[1]
);
"""

_local = threading.local()


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the identifier macros on a connection."""
    con.execute(MACROS)


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        from tenderwatch.resolve.names import install_macros as install_name_macros  # noqa: PLC0415

        con = duckdb.connect()
        install_macros(con)
        install_name_macros(con)
        _local.con = con
    return con


def normalise_scheme(scheme: str | None) -> str | None:
    """Return the scheme's org-id.guide code in upper case (``gb-coh`` → ``GB-COH``), or ``None`` if empty."""
    return _connection().execute("SELECT tw_org_scheme(?::VARCHAR)", [scheme]).fetchall()[0][0]


@functools.lru_cache(maxsize=4096)
def normalise_identifier(scheme: str | None, identifier: str | None) -> str | None:
    """Return the org-id (``GB-COH-00242246``) for a scheme and id as published, or ``None`` if it is unusable."""
    return _connection().execute("SELECT tw_org_id(?::VARCHAR, ?::VARCHAR)", [scheme, identifier]).fetchall()[0][0]


def parse_org_id(text: str) -> str | None:
    """Return the normalised org-id for text such as ``GB-COH-242246`` or ``gb-chc-1109792``, or ``None``.

    The scheme is the first two dash-separated parts (``GB-COH``, ``XI-EORI``…), as org-id.guide codes are.
    """
    if text.strip().count("-") < 2:
        return None
    return _connection().execute("SELECT tw_parse_org_id(?::VARCHAR)", [text]).fetchall()[0][0]
