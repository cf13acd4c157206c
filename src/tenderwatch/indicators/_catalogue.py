"""Pieces shared by the catalogue indicators fitted to UK data (R002 to R069).

Not an indicator (the registry only reads ``rNNN`` and ``twNNN`` modules). It holds what several of them need
and must define the same way:

- :func:`money` and :func:`percent`, which write amounts and shares the way sentences show them;
- :class:`ProcedureSettings` and :func:`procedure_class`, which sort a procedure into ``competitive``,
  ``non_competitive`` (no call for competition: direct and limited awards) or ``call_off`` (a call-off under a
  framework agreement or dynamic purchasing system, whose competition happened when the framework was let);
- :class:`ThresholdSettings`, the UK procurement thresholds, dated, with the rule that picks the one that applies
  to a process;
- :func:`facts`, common table expressions with the facts about each process those indicators read: its main
  CPV code, its awards' total value and date, its buyer (with a key that holds across processes), its threshold,
  and its suppliers.

Organisations are matched across processes by a key: the party id, unless it is a bare number of up to four
digits (Contracts Finder numbers the parties of each notice 0, 1, 2…, so such ids mean nothing outside their
notice); else the identifier (scheme and number, such as ``GB-COH-01234567``); else ``name:`` and the name in
capitals.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from tenderwatch.indicators.base import IndicatorSettings, literal

# ---------------------------------------------------------------------------------------------------------------
# Words and numbers in sentences
# ---------------------------------------------------------------------------------------------------------------


def money(amount: str, currency: str) -> str:
    """Return SQL text writing an amount for people: £1,234,567 in pounds, else 1,234,567 EUR."""
    number = f"format('{{:,.0f}}', CAST({amount} AS DOUBLE))"
    return (
        f"(CASE WHEN {currency} = 'GBP' THEN '£' || {number} "
        f"ELSE {number} || coalesce(' ' || nullif(trim({currency}), ''), '') END)"
    )


def percent(ratio: str, decimals: int = 0) -> str:
    """Return SQL text writing a ratio as a percentage (0.256 is 26%)."""
    return f"(format('{{:.{decimals}f}}', CAST(100.0 * ({ratio}) AS DOUBLE)) || '%')"


def number(value: str, decimals: int = 0) -> str:
    """Return SQL text writing a number with thousands separators."""
    return f"format('{{:,.{decimals}f}}', CAST({value} AS DOUBLE))"


def long_date(timestamp: str) -> str:
    """Return SQL text writing a timestamp's date for people: 3 March 2024."""
    return f"strftime({timestamp}, '%-d %B %Y')"


def iso_date(timestamp: str) -> str:
    """Return SQL text writing a timestamp's date as YYYY-MM-DD, for evidence."""
    return f"strftime({timestamp}, '%Y-%m-%d')"


# The divisions of the Common Procurement Vocabulary (Regulation (EC) No 213/2008), for sentences.
CPV_DIVISIONS = {
    "03": "agricultural, farming, fishing and forestry products",
    "09": "petroleum products, fuel, electricity and other energy",
    "14": "mining, basic metals and related products",
    "15": "food, beverages and tobacco",
    "16": "agricultural machinery",
    "18": "clothing, footwear and luggage",
    "19": "leather, textiles, plastic and rubber materials",
    "22": "printed matter",
    "24": "chemical products",
    "30": "office and computing equipment",
    "31": "electrical machinery, equipment and lighting",
    "32": "radio, television and telecommunication equipment",
    "33": "medical equipment, pharmaceuticals and personal care products",
    "34": "transport equipment",
    "35": "security, fire-fighting, police and defence equipment",
    "37": "musical instruments, sports goods, games and toys",
    "38": "laboratory, optical and precision equipment",
    "39": "furniture, furnishings, domestic appliances and cleaning products",
    "41": "collected and purified water",
    "42": "industrial machinery",
    "43": "mining, quarrying and construction machinery",
    "44": "construction structures and materials",
    "45": "construction work",
    "48": "software packages and information systems",
    "50": "repair and maintenance services",
    "51": "installation services",
    "55": "hotel, restaurant and retail services",
    "60": "transport services",
    "63": "supporting transport services and travel agencies",
    "64": "postal and telecommunications services",
    "65": "public utilities",
    "66": "financial and insurance services",
    "70": "real estate services",
    "71": "architectural, engineering and inspection services",
    "72": "IT services",
    "73": "research and development services",
    "75": "administration, defence and social security services",
    "76": "services related to the oil and gas industry",
    "77": "agricultural, forestry and horticultural services",
    "79": "business services such as legal, consulting, marketing and recruitment",
    "80": "education and training services",
    "85": "health and social work services",
    "90": "sewage, refuse, cleaning and environmental services",
    "92": "recreational, cultural and sporting services",
    "98": "other community, social and personal services",
}


def cpv_label(prefix: str) -> str:
    """Return SQL text naming a CPV prefix: 'health and social work services (CPV 85)', or 'CPV 8531'."""
    cases = " ".join(f"WHEN {literal(code)} THEN {literal(name)}" for code, name in CPV_DIVISIONS.items())
    return f"coalesce(CASE {prefix} {cases} END || ' (CPV ' || {prefix} || ')', 'CPV ' || {prefix})"


# ---------------------------------------------------------------------------------------------------------------
# Procedures
# ---------------------------------------------------------------------------------------------------------------

NON_COMPETITIVE_PROCEDURES = [
    "Negotiated procedure without prior publication",
    "Negotiated procedure without prior publication (OJEU)",
    "Award procedure without prior publication of a call for competition",
    "Award of contract without prior publication of a contract notice",
    "Single tender action (non-OJEU)",
    "Single tender action (below threshold)",
    "Direct award",
    "Other - Direct Award",
    "Below threshold - without competition",
]
COMPETITIVE_PROCEDURES = [
    "Open procedure",
    "Open procedure (OJEU)",
    "Open (non-OJEU)",
    "Restricted procedure",
    "Restricted procedure (OJEU)",
    "Competitive procedure with negotiation",
    "Competitive procedure with negotiation (OJEU)",
    "Negotiated procedure with prior call for competition",
    "Competitive dialogue",
    "Innovation partnership",
    "Competitive flexible procedure",
    "Competitive quotation (non-OJEU)",
    "Below threshold - open competition",
    "Below threshold - limited competition",
]
CALL_OFF_PROCEDURES = [
    "Call off from a Framework Agreement",
    "Call-off from a framework agreement",
    "Call off from a Dynamic Purchasing System",
    "Call-off from a dynamic purchasing system",
    "Award under framework",
]


class ProcedureSettings(IndicatorSettings):
    """How procedures are sorted into competitive, non-competitive and call-offs."""

    non_competitive_methods: list[str] = Field(
        default_factory=lambda: ["direct", "limited"],
        description="OCDS procurement methods that count as non-competitive (no call for competition), unless "
        "the procedure's name is in one of the lists below.",
    )
    non_competitive_procedures: list[str] = Field(
        default_factory=lambda: list(NON_COMPETITIVE_PROCEDURES),
        description="Procedures (procurementMethodDetails, any case) that are non-competitive whatever their "
        "method: UK names of direct awards under PCR 2015, the Procurement Act 2023 and Contracts Finder.",
    )
    competitive_procedures: list[str] = Field(
        default_factory=lambda: list(COMPETITIVE_PROCEDURES),
        description="Procedures (procurementMethodDetails, any case) that are competitive whatever their method "
        "(Contracts Finder codes competitive quotations as limited, and often gives no method).",
    )
    call_off_procedures: list[str] = Field(
        default_factory=lambda: list(CALL_OFF_PROCEDURES),
        description="Procedures (procurementMethodDetails, any case) that are call-offs under a framework "
        "agreement or dynamic purchasing system: neither competitive nor non-competitive here.",
    )


def _lowered(values: list[str]) -> str:
    return literal([value.strip().lower() for value in values] or [""])


def procedure_class(settings: ProcedureSettings, method: str, details: str) -> str:
    """Return a SQL CASE giving 'call_off', 'non_competitive', 'competitive' or NULL (not known).

    The procedure's name (``details``) decides first, then the OCDS method: direct and limited (by default) are
    non-competitive, open and selective competitive.
    """
    name = f"lower(trim({details}))"
    methods = literal(settings.non_competitive_methods or [""])
    return f"""(CASE
        WHEN list_contains({_lowered(settings.call_off_procedures)}, {name}) THEN 'call_off'
        WHEN list_contains({_lowered(settings.non_competitive_procedures)}, {name}) THEN 'non_competitive'
        WHEN list_contains({_lowered(settings.competitive_procedures)}, {name}) THEN 'competitive'
        WHEN list_contains({methods}, {method}) THEN 'non_competitive'
        WHEN {method} IN ('open', 'selective') THEN 'competitive'
    END)"""


def procedure_words(method: str, details: str) -> str:
    """Return SQL text naming a procedure in a sentence: its details in quotes, else its OCDS method."""
    return (
        f"coalesce('\"' || nullif(trim({details}), '') || '\"', 'a procedure the publisher calls ' || {method}, "
        "'an unnamed procedure')"
    )


# ---------------------------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------------------------


def _check_dated(values: dict[str, float]) -> dict[str, float]:
    if not values:
        raise ValueError("give at least one threshold")
    for key, value in values.items():
        try:
            dt.date.fromisoformat(key)
        except ValueError as error:
            raise ValueError(f"{key!r} is not a date (YYYY-MM-DD)") from error
        if value <= 0:
            raise ValueError("a threshold must be more than zero")
    return values


class ThresholdSettings(IndicatorSettings):
    """The UK procurement thresholds (in GBP), each from the date it applies.

    From 2022 the amounts include VAT (PCR 2015 as amended from 1 January 2022, then the Procurement Act 2023
    Schedule 1); the amounts of 2016 to 2021 are PCR 2015's, without VAT.
    """

    threshold_goods_services_central: dict[str, float] = Field(
        default_factory=lambda: {
            "2016-01-01": 106047.0,
            "2018-01-01": 118133.0,
            "2020-01-01": 122976.0,
            "2022-01-01": 138760.0,
            "2024-01-01": 139688.0,
            "2026-01-01": 135018.0,
        },
        description="Threshold for goods and services bought by central government, in GBP, by the date it "
        "applies from: PCR 2015 amounts (without VAT until 2021, with VAT from 2022), then the Procurement Act 2023 "
        "Schedule 1 amounts as amended from 1 January 2026. Earlier processes use the earliest amount.",
    )
    threshold_goods_services_sub_central: dict[str, float] = Field(
        default_factory=lambda: {
            "2016-01-01": 164176.0,
            "2018-01-01": 181302.0,
            "2020-01-01": 189330.0,
            "2022-01-01": 213477.0,
            "2024-01-01": 214904.0,
            "2026-01-01": 207720.0,
        },
        description="Threshold for goods and services bought by other public bodies (councils, NHS bodies…), in "
        "GBP, by the date it applies from (same sources).",
    )
    threshold_works: dict[str, float] = Field(
        default_factory=lambda: {
            "2016-01-01": 4104394.0,
            "2018-01-01": 4551413.0,
            "2020-01-01": 4733252.0,
            "2022-01-01": 5336937.0,
            "2024-01-01": 5372609.0,
            "2026-01-01": 5193000.0,
        },
        description="Threshold for works, in GBP, by the date it applies from (same sources).",
    )
    threshold_light_touch: dict[str, float] = Field(
        default_factory=lambda: {"2016-01-01": 589148.0, "2018-01-01": 615278.0, "2020-01-01": 663540.0},
        description="Threshold for light-touch services (social, health, education and similar), in GBP, by the "
        "date it applies from (same sources).",
    )
    light_touch_cpv_prefixes: list[str] = Field(
        default_factory=lambda: ["85"],
        description="CPV prefixes of the main item that put a process under the light-touch threshold (health and "
        "social work services by default), besides a tender.specialRegime of lightTouch.",
    )
    central_government_buyer_types: list[str] = Field(
        default_factory=lambda: [
            "TED_CA_TYPE:MINISTRY",
            "TED_CA_TYPE:NATIONAL_AGENCY",
            "UK_CA_TYPE:publicAuthorityCentralGovernment",
        ],
        description="Buyer classifications (scheme:id, from the buyer's details.classifications) of central "
        "government, which has the lower goods and services threshold.",
    )

    _dated = field_validator(
        "threshold_goods_services_central",
        "threshold_goods_services_sub_central",
        "threshold_works",
        "threshold_light_touch",
    )(_check_dated)


def _dated(values: dict[str, float], day: str) -> str:
    ordered = sorted(values.items(), reverse=True)
    cases = " ".join(
        f"WHEN {day} >= DATE {literal(start)} THEN CAST({float(amount)!r} AS DOUBLE)" for start, amount in ordered[:-1]
    )
    last = f"CAST({float(ordered[-1][1])!r} AS DOUBLE)"
    return f"(CASE {cases} ELSE {last} END)" if cases else last


# ---------------------------------------------------------------------------------------------------------------
# Facts about processes
# ---------------------------------------------------------------------------------------------------------------


def organisation_key(party_id: str, scheme: str, identifier: str, name: str) -> str:
    """Return SQL text of an organisation's key across processes (see the module docstring): the store's macro
    ``tw_party_key``, which also gives ``parties.party_key`` and ``bids.tenderer_keys``."""
    return f"tw_party_key({party_id}, {scheme}, {identifier}, {name})"


def fact_views() -> dict[str, str]:
    """Return the SELECT of each view :func:`facts` reads (see ``indicators.views``): the same for every setting.

    ``ind_cpv`` (ocid, cpv_code), ``ind_awarded`` (ocid, award_value, award_currency, award_date, awards),
    ``ind_buyer_rows`` (ocid, buyer_key, buyer_name, buyer_region, buyer_classifications: "scheme:id" of each
    classification of the buyer), ``ind_buyer_names`` (buyer_key, buyer_name), ``ind_supplied`` and
    ``ind_supplier_names``: as :func:`facts` describes their ``tw_`` namesakes.
    """
    buyer_key = organisation_key(
        "p.buyer_id",
        "coalesce(nullif(q.buyer_identifier_scheme, ''), b.identifier_scheme)",
        "coalesce(nullif(q.buyer_identifier_id, ''), b.identifier_id)",
        "p.buyer_name",
    )
    supplier_key = organisation_key("s.party_id", "s.identifier_scheme", "s.identifier_id", "s.name")
    return {
        "ind_cpv": """
            SELECT ocid, cpv_code FROM (
                SELECT i.ocid, i.cpv_code,
                       row_number() OVER (
                           PARTITION BY i.ocid
                           ORDER BY CASE i.scope WHEN 'tender' THEN 1 WHEN 'award' THEN 2 ELSE 3 END,
                                    i.parent_id NULLS FIRST, i.position, i.cpv_code
                       ) AS n
                FROM items AS i
                WHERE i.cpv_code IS NOT NULL AND i.ocid NOT IN (SELECT ocid FROM ind_excluded)
            ) WHERE n = 1""",
        "ind_awarded": """
            SELECT ocid,
                   CASE WHEN count(value_amount) = count(*) AND count(DISTINCT value_currency) = 1
                        THEN sum(value_amount)::DOUBLE END AS award_value,
                   CASE WHEN count(DISTINCT value_currency) = 1 THEN min(value_currency) END AS award_currency,
                   min(date) AS award_date, count(*) AS awards
            FROM ind_awards
            WHERE coalesce(status, '') NOT IN ('cancelled', 'unsuccessful')
            GROUP BY ocid""",
        "ind_buyer_rows": f"""
            SELECT p.ocid, {buyer_key} AS buyer_key, p.buyer_name, b.region AS buyer_region,
                   list_transform(
                       json_extract(b.details, '$.classifications[*]'),
                       lambda c: json_extract_string(c, '$.scheme') || ':' || json_extract_string(c, '$.id')
                   ) AS buyer_classifications
            FROM ind_processes AS p
            JOIN processes AS q USING (ocid)
            LEFT JOIN (
                SELECT y.*, row_number() OVER (
                    PARTITION BY y.ocid
                    ORDER BY y.party_id IS NOT DISTINCT FROM r.buyer_id DESC, y.position, y.party_id
                ) AS n
                FROM parties AS y JOIN processes AS r USING (ocid)
                WHERE list_contains(y.roles, 'buyer') OR y.party_id = r.buyer_id
            ) AS b ON b.ocid = p.ocid AND b.n = 1""",
        "ind_buyer_names": """
            SELECT buyer_key, buyer_name FROM (
                SELECT buyer_key, buyer_name,
                       row_number() OVER (PARTITION BY buyer_key ORDER BY count(*) DESC, buyer_name) AS n
                FROM ind_buyer_rows WHERE buyer_key IS NOT NULL AND buyer_name IS NOT NULL
                GROUP BY buyer_key, buyer_name
            ) WHERE n = 1""",
        "ind_supplied": f"""
            SELECT ocid, award_id, supplier_key, supplier_name, value_amount, value_currency, date,
                   CAST(value_amount / count(*) OVER (PARTITION BY ocid, award_id) AS DECIMAL(38, 6)) AS value_share
            FROM (
                SELECT a.ocid, a.award_id, {supplier_key} AS supplier_key, min(s.name) AS supplier_name,
                       min(a.value_amount) AS value_amount, min(a.value_currency) AS value_currency,
                       min(a.date) AS date
                FROM ind_awards AS a
                JOIN award_suppliers AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
                WHERE coalesce(a.status, '') NOT IN ('cancelled', 'unsuccessful')
                GROUP BY a.ocid, a.award_id, {supplier_key}
            )
            WHERE supplier_key IS NOT NULL""",
        "ind_supplier_names": """
            SELECT supplier_key, supplier_name FROM (
                SELECT supplier_key, supplier_name,
                       row_number() OVER (PARTITION BY supplier_key ORDER BY count(*) DESC, supplier_name) AS n
                FROM ind_supplied WHERE supplier_name IS NOT NULL GROUP BY supplier_key, supplier_name
            ) WHERE n = 1""",
    }


def facts(settings: object = None) -> str:
    """Return common table expressions (to follow ``WITH``) about the processes of ``ind_processes``.

    ``tw_cpv`` (ocid, cpv_code): the main CPV code, of the first tender item, else award item, else contract item.
    ``tw_awarded`` (ocid, award_value, award_currency, award_date, awards): the awards that are not cancelled or
    unsuccessful; the value is their total when every one has a value in one currency, else NULL.
    ``tw_buyers`` (ocid, buyer_key, buyer_name, buyer_region, central): the buyer, its key across processes, its
    most common name, the region of its address and whether it is central government.
    ``tw_supplied`` (ocid, award_id, supplier_key, supplier_name, value_amount, value_currency, date, value_share):
    each supplier of each of those awards once, with the award's value and its equal share among the suppliers
    (exact decimals, so that sums do not depend on the order of rows).
    ``tw_supplier_names`` (supplier_key, supplier_name): the most common name of each supplier.
    With :class:`ThresholdSettings`, ``tw_thresholds`` (ocid, threshold, threshold_kind); with
    :class:`ProcedureSettings`, ``tw_procedures`` (ocid, procedure_class, procedure, procedure_words): the
    class, the procedure's name (else its method) and the way a sentence names it.
    """
    central = literal(getattr(settings, "central_government_buyer_types", None) or [""])
    ctes = [
        "tw_cpv AS (SELECT * FROM ind_cpv)",
        "tw_awarded AS (SELECT * FROM ind_awarded)",
        f"""tw_buyer_rows AS (
            SELECT ocid, buyer_key, buyer_name, buyer_region,
                   coalesce(list_has_any(buyer_classifications, {central}), FALSE) AS central
            FROM ind_buyer_rows
        )""",
        "tw_buyer_names AS (SELECT * FROM ind_buyer_names)",
        """tw_buyers AS (
            SELECT r.ocid, r.buyer_key, coalesce(n.buyer_name, r.buyer_key) AS buyer_name, r.buyer_region, r.central
            FROM tw_buyer_rows AS r LEFT JOIN tw_buyer_names AS n USING (buyer_key)
        )""",
        "tw_supplied AS (SELECT * FROM ind_supplied)",
        "tw_supplier_names AS (SELECT * FROM ind_supplier_names)",
    ]
    if isinstance(settings, ThresholdSettings):
        prefixes = " OR ".join(
            f"starts_with(c.cpv_code, {literal(prefix.strip())})" for prefix in settings.light_touch_cpv_prefixes
        )
        day = "day"
        ctes.append(
            f"""tw_thresholds AS (
            SELECT ocid, threshold_kind,
                   CASE threshold_kind
                       WHEN 'light-touch services' THEN {_dated(settings.threshold_light_touch, day)}
                       WHEN 'works' THEN {_dated(settings.threshold_works, day)}
                       WHEN 'goods and services (central government)'
                           THEN {_dated(settings.threshold_goods_services_central, day)}
                       ELSE {_dated(settings.threshold_goods_services_sub_central, day)}
                   END AS threshold
            FROM (
                SELECT p.ocid,
                       CASE
                           WHEN coalesce(list_contains(t.special_regime, 'lightTouch'), FALSE)
                                OR coalesce({prefixes or "FALSE"}, FALSE) THEN 'light-touch services'
                           WHEN t.main_procurement_category = 'works' OR starts_with(c.cpv_code, '45') THEN 'works'
                           WHEN b.central THEN 'goods and services (central government)'
                           ELSE 'goods and services (other public bodies)'
                       END AS threshold_kind,
                       coalesce(p.tender_period_start, w.award_date, q.first_release_date) AS day
                FROM ind_processes AS p
                JOIN processes AS q USING (ocid)
                LEFT JOIN tenders AS t USING (ocid)
                LEFT JOIN tw_cpv AS c USING (ocid)
                LEFT JOIN tw_buyers AS b USING (ocid)
                LEFT JOIN tw_awarded AS w USING (ocid)
            )
        )"""
        )
    if isinstance(settings, ProcedureSettings):
        ctes.append(
            f"""tw_procedures AS (
            SELECT ocid, {procedure_class(settings, "procurement_method", "procurement_method_details")}
                       AS procedure_class,
                   coalesce(nullif(trim(procurement_method_details), ''), procurement_method) AS procedure,
                   {procedure_words("procurement_method", "procurement_method_details")} AS procedure_words
            FROM ind_processes
        )"""
        )
    return ",\n".join(ctes)


def market_ctes(cpv_digits: int, scope: str, minimum_processes: int) -> str:
    """Return CTEs (after those of :func:`facts`) about markets: the processes of one CPV prefix and currency,
    and with ``scope`` ``buyer_region`` of one buyer region too.

    ``supplied`` (ocid, supplier_key, value_share, currency, cpv, region): each supplier of each award with its
    market (region '' for a national market); ``markets`` (currency, cpv, region, total, processes, suppliers): the
    markets with at least ``minimum_processes`` processes and a total above zero; ``shares`` (currency, cpv,
    region, supplier_key, value, processes, share): each supplier's value and share of its market.
    """
    region = "b.buyer_region" if scope == "buyer_region" else "''"
    has_region = "nullif(trim(b.buyer_region), '') IS NOT NULL" if scope == "buyer_region" else "TRUE"
    return f"""supplied AS (
            SELECT s.ocid, s.supplier_key, s.value_share, s.value_currency AS currency,
                   left(c.cpv_code, {int(cpv_digits)}) AS cpv, {region} AS region
            FROM tw_supplied AS s JOIN tw_cpv AS c USING (ocid) LEFT JOIN tw_buyers AS b USING (ocid)
            WHERE s.value_share IS NOT NULL AND nullif(s.value_currency, '') IS NOT NULL AND {has_region}
        ),
        markets AS (
            SELECT currency, cpv, region, sum(value_share)::DOUBLE AS total, count(DISTINCT ocid) AS processes,
                   count(DISTINCT supplier_key) AS suppliers
            FROM supplied
            GROUP BY currency, cpv, region
            HAVING count(DISTINCT ocid) >= {int(minimum_processes)} AND sum(value_share) > 0
        ),
        shares AS (
            SELECT s.currency, s.cpv, s.region, s.supplier_key, sum(s.value_share)::DOUBLE AS value,
                   count(DISTINCT s.ocid) AS processes, sum(s.value_share)::DOUBLE / min(m.total) AS share
            FROM supplied AS s JOIN markets AS m USING (currency, cpv, region)
            GROUP BY s.currency, s.cpv, s.region, s.supplier_key
        )"""


def market_words(region: str) -> str:
    """Return SQL text ending a market's description: ' by buyers in <region>' or ' across all buyers'."""
    return f"(CASE WHEN {region} = '' THEN ' across all buyers' ELSE ' by buyers in ' || {region} END)"


THRESHOLD_REFERENCES = (
    "Public Contracts Regulations 2015, regulation 5 (thresholds, as amended every two years): "
    "https://www.legislation.gov.uk/uksi/2015/102/regulation/5",
    "Procurement Act 2023, Schedule 1 (thresholds, as enacted): https://www.legislation.gov.uk/ukpga/2023/54/schedule/1",
    "Threshold Amounts (Amendment) Regulations 2025, amounts from 1 January 2026 and before (as summarised by "
    "Devonshires)",
    "Cabinet Office, Guidance: Thresholds (the amounts include VAT)",
)
