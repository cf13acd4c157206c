"""Generate a seeded, synthetic population of OCDS 1.1 releases that looks like UK public procurement.

The releases are for demonstrations, tests and benchmarks. Nothing in them is real:

- every release carries the top-level extension field ``"x_demo": true``;
- every ocid starts with :data:`DEMO_OCID_PREFIX` (``ocds-twsynth-``);
- public bodies have made-up place names and a number (``"Quenholt District Council 17"``), suppliers have
  made-up names, and document links point at the reserved ``.invalid`` domain. Company and charity numbers are
  random, so some of them may match a real registration by chance: never join this data with a real register.

The same ``(n, seed)`` always gives the same releases, byte for byte, and the first ``k`` releases do not depend on
``n``. The generator streams: it holds the small synthetic population (a few hundred buyers, a few thousand
suppliers) and at most two contracting processes in flight, so ``n`` can be in the millions.

What the population looks like:

- buyers: county, district, unitary and metropolitan councils, NHS trusts, clinical commissioning groups (integrated
  care boards from July 2022), central government offices, police and fire bodies, with identifiers in the schemes
  ``GB-LAE``, ``GB-NHS`` and ``GB-GOR``, addresses with a UK region and postcode, and a buyer-type classification;
- suppliers: companies with ``GB-COH`` numbers, charities with ``GB-CHC`` numbers (some also a company), Scottish
  companies (``SC`` numbers) and NHS trusts. A quarter of suppliers appear under several spellings of their name
  (``"KORVALE CARE LIMITED"``, ``"Korvale Care Ltd"``), sometimes with the leading zeros of the company number
  dropped, and now and then with no identifier at all (a publisher-local ``GB-CFS-`` party id instead);
- spend is skewed: buyers and suppliers are chosen with Pareto weights and values are lognormal, so a few of each
  hold most of the money;
- every ``procurementMethod`` (open, selective, limited, direct), with UK ``procurementMethodDetails`` of the Public
  Contracts Regulations 2015 or, from 24 February 2025, of the Procurement Act 2023; rationales (and, for
  negotiated procedures without prior publication, ``procurementMethodRationaleClassifications``) on the limited
  and direct awards;
- items with CPV codes (social care and health 85, business services 79, environmental 90, works 45, IT 72, and
  others), lots, tenderers and ``numberOfTenderers`` (single bidders included), ``bids`` statistics and details,
  framework agreements and their call-offs (``relatedProcesses``), awards, contracts with periods and
  ``maxExtentDate``, amendments that raise values or extend periods, cancellations, terminations, documents,
  milestones and transactions.

Each contracting process has about three releases (tender, award, contract, and sometimes amendments), each
carrying only the sections it changes, in increasing date order. Release dates fall in 2016-2026.
"""

from __future__ import annotations

import bisect
import json
import os
import random
from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import islice
from math import exp
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["DEMO_OCID_PREFIX", "generate_releases", "write_jsonl", "write_release_packages"]

DEMO_OCID_PREFIX = "ocds-twsynth-"
PUBLISHER_NAME = "tenderwatch synthetic demo data"
PACKAGE_PUBLISHED_DATE = "2026-12-31T23:59:59Z"
DOCUMENT_BASE_URL = "https://demo.invalid/tenderwatch/synthetic"

# Release dates stay in this range; the first release of a process falls before FIRST_RELEASE_LAST.
FIRST_DAY = date(2016, 1, 4).toordinal()
FIRST_RELEASE_LAST = date(2025, 9, 30).toordinal()
LAST_DAY = date(2026, 12, 31).toordinal()
PROCUREMENT_ACT_DAY = date(2025, 2, 24).toordinal()
ICB_DAY = date(2022, 7, 1).toordinal()

_JSON_SEPARATORS = (",", ":")
_BATCH_LINES = 2000

# ---------------------------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------------------------

# fmt: off
# (region, weight by population, postcode areas)
_REGIONS = (
    ("North East", 4.0, ("NE", "SR", "DH", "TS", "DL")),
    ("North West", 11.0, ("M", "L", "PR", "BL", "CH", "CA", "WA", "LA")),
    ("Yorkshire and The Humber", 8.0, ("LS", "S", "BD", "HU", "YO", "HD", "DN")),
    ("East Midlands", 7.0, ("NG", "LE", "DE", "NN", "LN")),
    ("West Midlands", 9.0, ("B", "CV", "WV", "ST", "WR", "HR", "TF")),
    ("East of England", 9.0, ("CB", "NR", "IP", "CO", "CM", "PE", "LU", "SG")),
    ("London", 14.0, ("E", "N", "SE", "SW", "W", "NW", "EC", "WC")),
    ("South East", 14.0, ("RG", "OX", "GU", "BN", "ME", "CT", "TN", "MK", "SO", "PO", "HP")),
    ("South West", 8.5, ("BS", "EX", "PL", "TR", "BA", "GL", "SN", "TA", "BH", "DT")),
    ("Wales", 5.0, ("CF", "SA", "NP", "LL", "LD", "SY")),
    ("Scotland", 8.5, ("EH", "G", "AB", "DD", "KY", "IV", "PA", "FK")),
    ("Northern Ireland", 3.0, ("BT",)),
)
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Invented place names (head + tail) and company names (head + middle + tail), built from syllables that avoid
# real towns; public bodies also carry a number ("Quenholt District Council 17").
_PLACE_HEADS = (
    "Quen", "Vel", "Zar", "Quor", "Jask", "Thal", "Brel", "Dorn", "Drev", "Gryn", "Hask", "Ivo", "Jarn", "Lisk",
    "Nym", "Orv", "Pell", "Rusk", "Sarn", "Tov", "Ulm", "Vorn", "Xan", "Yell", "Zenn", "Bix", "Vask", "Ostr",
)
_PLACE_TAILS = (
    "by", "holt", "mere", "wick", "stead", "ham", "ford", "ley", "dale", "combe", "bury", "mouth", "thorpe",
    "worth", "field", "ton", "minster", "well",
)
_STEM_HEADS = (
    "Ab", "Bel", "Cor", "Dra", "Ex", "Fen", "Gal", "Hal", "Kel", "Lum", "Mar", "Nov", "Or", "Pra", "Quar", "Ros",
    "Sev", "Tal", "Ver", "Wyn", "Zel", "Bryn", "Cal", "Dun", "Ev", "Gor", "Hex", "Jun", "Kor", "Lys",
)
_STEM_MIDDLES = ("a", "e", "i", "o", "y", "ar", "en", "is", "u")
_STEM_TAILS = (
    "ane", "ara", "ion", "ora", "ix", "ley", "mont", "stone", "vale", "well", "wood", "ton", "gate",
    "field", "ova", "wyn", "brook", "haven", "more",
)

# Sectors: key, mainProcurementCategory, share of processes, log-median value, sigma, chance a supplier is a
# charity, supplier name words, and (CPV code, CPV description, title phrases).
_SECTORS = (
    ("social_care", "services", 0.21, 11.7, 1.7, 0.22,
     ("Care", "Homecare", "Care Services", "Support Services", "Supported Living", "Community Care"),
     (("85311100", "Welfare services for the elderly",
       ("Home care for older people", "Extra care housing support", "Day opportunities for older people")),
      ("85311200", "Welfare services for the handicapped",
       ("Supported living for adults with learning disabilities", "Short breaks for disabled adults")),
      ("85311300", "Welfare services for children and young people",
       ("Residential placements for looked-after children", "Family support service",
        "Independent fostering placements")),
      ("85312000", "Social work services without accommodation", ("Carers' support service", "Advocacy service")),
      ("85312400", "Welfare services not delivered through residential institutions",
       ("Floating housing support", "Domestic abuse support service")),
      ("85320000", "Social services", ("Reablement service for adults", "Early help service for families")),
      ("85311000", "Social work services with accommodation",
       ("Care home beds for older people", "Nursing home placements")))),
    ("health", "services", 0.14, 12.0, 1.9, 0.07,
     ("Health", "Healthcare", "Medical", "Clinical Services", "Therapies", "Diagnostics"),
     (("85100000", "Health services", ("Community diagnostic services", "Out-of-hours GP service")),
      ("85121000", "Medical practice services", ("Primary medical services contract", "GP practice services")),
      ("85141200", "Services provided by nurses", ("Health visiting and school nursing", "District nursing support")),
      ("85142100", "Physiotherapy services", ("Musculoskeletal physiotherapy", "Community physiotherapy")),
      ("85323000", "Community health services",
       ("Sexual health services", "Drug and alcohol treatment service", "Community mental health support")),
      ("85143000", "Ambulance services", ("Non-emergency patient transport",)),
      ("85145000", "Services provided by medical laboratories", ("Pathology services",)))),
    ("business", "services", 0.11, 10.5, 1.6, 0.01,
     ("Consulting", "Associates", "Partners", "Recruitment", "Solutions", "Advisory"),
     (("79410000", "Business and management consultancy services",
       ("Transformation consultancy support", "Advice on service redesign")),
      ("79620000", "Supply services of personnel including temporary staff",
       ("Agency social workers", "Temporary staffing")),
      ("79600000", "Recruitment services", ("Recruitment advertising and executive search",)),
      ("79710000", "Security services", ("Manned guarding of council buildings", "Security for hospital sites")),
      ("79512000", "Call centre", ("Out-of-hours contact centre",)),
      ("79211000", "Accounting services", ("Payroll and accounts processing",)),
      ("79110000", "Legal advisory and representation services", ("External legal advice",)),
      ("79993000", "Building and facilities management services", ("Integrated facilities management",)),
      ("79340000", "Advertising and marketing services", ("Public information campaign",)))),
    ("environment", "services", 0.09, 11.9, 1.9, 0.02,
     ("Environmental Services", "Waste Management", "Cleaning Services", "Recycling", "Grounds Maintenance"),
     (("90511000", "Refuse collection services", ("Household waste and recycling collection",)),
      ("90510000", "Refuse disposal and treatment", ("Residual waste treatment",)),
      ("90910000", "Cleaning services", ("Cleaning of council buildings",)),
      ("90911200", "Building-cleaning services", ("Hospital domestic cleaning",)),
      ("90610000", "Street-cleaning and sweeping services", ("Street cleansing",)),
      ("90620000", "Snow-clearing services", ("Winter gritting and snow clearance",)),
      ("90700000", "Environmental services", ("Environmental monitoring",)))),
    ("construction", "works", 0.12, 12.2, 2.0, 0.0,
     ("Construction", "Building Contractors", "Civil Engineering", "Build", "Developments", "Contractors"),
     (("45210000", "Building construction work",
       ("New primary school building", "Extra care housing scheme construction")),
      ("45214200", "Construction work for school buildings", ("School extension works",)),
      ("45233142", "Road-repair works", ("Highways resurfacing programme", "Pothole repairs")),
      ("45453100", "Refurbishment work", ("Refurbishment of council housing", "Ward refurbishment")),
      ("45310000", "Electrical installation work", ("Electrical rewiring of housing stock",)),
      ("45330000", "Plumbing and sanitary works", ("Heating and plumbing upgrades",)),
      ("45111000", "Demolition, site preparation and clearance work", ("Demolition and site clearance",)))),
    ("it", "services", 0.10, 11.0, 1.8, 0.0,
     ("Digital", "Technology", "Software", "Systems", "Data", "IT Solutions"),
     (("72000000", "IT services: consulting, software development, Internet and support",
       ("Digital services support",)),
      ("72212000", "Programming services of application software", ("Case management system development",)),
      ("72267000", "Software maintenance and repair services",
       ("Social care case management system support", "Electronic patient record support")),
      ("72253000", "Helpdesk and support services", ("IT service desk",)),
      ("72300000", "Data services", ("Data hosting and analytics",)),
      ("72700000", "Computer network services", ("Wide area network services",)))),
    ("facilities", "services", 0.08, 11.3, 1.7, 0.02,
     ("Facilities", "Services", "Catering", "Maintenance", "Property Services", "Transport"),
     (("55520000", "Catering services", ("Hospital patient catering",)),
      ("55524000", "School catering services", ("School meals service",)),
      ("50700000", "Repair and maintenance services of building installations",
       ("Planned and reactive building maintenance",)),
      ("50800000", "Miscellaneous repair and maintenance services", ("Fleet maintenance",)),
      ("60130000", "Special-purpose road passenger-transport services",
       ("Home-to-school transport", "Special educational needs transport")),
      ("71000000", "Architectural, construction, engineering and inspection services",
       ("Multi-disciplinary design consultancy",)),
      ("80500000", "Training services", ("Workforce training programme",)))),
    ("goods", "goods", 0.10, 10.1, 1.8, 0.0,
     ("Supplies", "Medical", "Products", "Distribution", "Equipment"),
     (("33140000", "Medical consumables", ("Wound care products",)),
      ("33600000", "Pharmaceutical products", ("Pharmaceutical supplies",)),
      ("33100000", "Medical equipments", ("Diagnostic imaging equipment", "Community equipment for daily living")),
      ("30213000", "Personal computers", ("Laptop refresh",)),
      ("09310000", "Electricity", ("Supply of electricity",)),
      ("34144900", "Electric vehicles", ("Electric fleet vehicles",)),
      ("39130000", "Office furniture", ("Office furniture",)))),
    ("community", "services", 0.05, 10.3, 1.5, 0.6,
     ("Community Services", "Advice", "Learning", "Leisure", "Projects"),
     (("98000000", "Other community, social and personal services",
       ("Voluntary sector support", "Community grants administration")),
      ("85312300", "Guidance and counselling services", ("Young people's counselling service", "Debt advice service")),
      ("80000000", "Education and training services", ("Adult community learning",)),
      ("92000000", "Recreational, cultural and sporting services", ("Leisure centre operation", "Library services")))),
)
_SECTOR_KEYS = tuple(s[0] for s in _SECTORS)

# Buyer kinds: key, count, name patterns, identifier scheme, spend scale, TED buyer type, sector weights.
_BUYER_KINDS = (
    ("county", 24, ("{place}shire County Council {n}",), "GB-LAE", 1.6, "REGIONAL_AUTHORITY",
     {"social_care": 3, "health": 0.5, "business": 1, "environment": 0.8, "construction": 1.5, "it": 1,
      "facilities": 1.2, "goods": 0.5, "community": 1}),
    ("district", 110, ("{place} District Council {n}", "{place} Borough Council {n}"), "GB-LAE", 0.35,
     "REGIONAL_AUTHORITY",
     {"social_care": 0.3, "health": 0.1, "business": 1, "environment": 3, "construction": 1.5, "it": 1,
      "facilities": 1, "goods": 0.4, "community": 1}),
    ("unitary", 60, ("{place} City Council {n}", "{place} Metropolitan Borough Council {n}", "{place} Council {n}"),
     "GB-LAE", 1.8, "REGIONAL_AUTHORITY",
     {"social_care": 2.5, "health": 0.5, "business": 1, "environment": 1.5, "construction": 1.5, "it": 1,
      "facilities": 1.2, "goods": 0.5, "community": 1}),
    ("trust", 60, ("{place} Hospitals NHS Foundation Trust {n}", "{place} Community Health NHS Trust {n}"),
     "GB-NHS", 1.3, "BODY_PUBLIC",
     {"social_care": 0.1, "health": 3, "business": 0.8, "environment": 0.5, "construction": 0.8, "it": 1,
      "facilities": 1.5, "goods": 3, "community": 0.1}),
    ("commissioner", 35, ("NHS {place} Clinical Commissioning Group {n}",), "GB-NHS", 2.0, "BODY_PUBLIC",
     {"social_care": 1.5, "health": 4, "business": 0.7, "it": 0.4, "community": 0.5}),
    ("central", 18, ("Office for {topic} Delivery {n}", "{topic} Services Agency {n}"), "GB-GOR", 5.0, "MINISTRY",
     {"social_care": 0.3, "health": 0.5, "business": 2, "construction": 1, "it": 2, "facilities": 1, "goods": 1}),
    ("emergency", 15, ("{place} Police and Crime Commissioner {n}", "{place} Fire and Rescue Authority {n}"),
     "GB-GOR", 0.8, "REGIONAL_AGENCY",
     {"business": 1, "construction": 0.8, "it": 1.5, "facilities": 1.5, "goods": 2}),
)
_TOPICS = (
    "Health and Care", "Schools", "Courts", "Roads", "Work and Skills", "Housing", "Rivers and Coasts", "Culture",
    "Trade", "Prisons", "Benefits", "Borders", "Energy", "Land Registry", "Heritage", "Digital",
)

# Procedures: (procurementMethod, procurementMethodDetails, weight, kind); kind is "competitive", "framework call",
# "negotiated" (reg. 32, with a rationale classification), "direct" or "direct small".
_PCR_PROCEDURES = (
    ("open", "Open procedure", 24, "competitive"),
    ("open", "Open (non-OJEU)", 12, "competitive"),
    ("open", "Competitive quotation (non-OJEU)", 6, "competitive"),
    ("selective", "Restricted procedure", 8, "competitive"),
    ("selective", "Competitive procedure with negotiation", 5, "competitive"),
    ("selective", "Competitive dialogue", 1.5, "competitive"),
    ("selective", "Innovation partnership", 0.3, "competitive"),
    ("selective", "Call off from a Dynamic Purchasing System", 3, "competitive"),
    ("limited", "Call off from a Framework Agreement", 14, "framework call"),
    ("limited", "Negotiated procedure without prior publication", 5, "negotiated"),
    ("limited", "Award procedure without prior publication of a call for competition", 4, "negotiated"),
    ("direct", "Single tender action (below threshold)", 10, "direct small"),
    ("direct", "Single tender action (non-OJEU)", 5, "direct small"),
    ("direct", "Direct award under a waiver of contract procedure rules", 3, "direct"),
)
_PA_PROCEDURES = (
    ("open", "Open procedure", 26, "competitive"),
    ("open", "Below threshold - open competition", 16, "competitive"),
    ("selective", "Competitive flexible procedure", 11, "competitive"),
    ("selective", "Below threshold - limited competition", 6, "competitive"),
    ("limited", "Award under framework", 14, "framework call"),
    ("limited", "Call off from a Dynamic Purchasing System", 4, "framework call"),
    ("direct", "Direct award", 7, "negotiated"),
    ("direct", "Below threshold - without competition", 16, "direct small"),
)
_NEGOTIATED_GROUNDS = (
    ("D_EXTREME_URGENCY", "Extreme urgency brought about by events unforeseeable by the contracting authority",
     "An existing provider gave notice at short notice and the service could not stop, so there was no time "
     "for a competition."),
    ("D_TECHNICAL", "The works, supplies or services can be provided only by a particular economic operator "
     "for technical reasons",
     "Only the existing supplier can maintain the system without a costly and risky replacement."),
    ("D_PROTECT_RIGHTS", "The works, supplies or services can be provided only by a particular economic operator "
     "due to the protection of exclusive rights",
     "The supplier holds the exclusive rights to the software and data involved."),
    ("D_NO_TENDERS_REQUESTS", "No tenders or no suitable tenders/requests to participate in response to an "
     "open or restricted procedure",
     "An earlier open procedure attracted no suitable tenders."),
    ("D_REPETITION_EXISTING", "New works/services, constituting a repetition of existing works/services",
     "More of the same service from the existing provider, as allowed in the original contract notice."),
)
_DIRECT_RATIONALES = (
    "Below the value at which the buyer's standing orders require quotes.",
    "Continuity of care: service users are already supported by this provider.",
    "Spot purchase of an individual placement chosen to meet assessed needs.",
    "Waiver approved by the chief officer: specialist provider with no alternative in the area.",
    "Short extension of an existing arrangement while a new procurement is prepared.",
)
_FRAMEWORK_RATIONALES = (
    "Direct award under an existing framework agreement.",
    "Call-off under a framework agreement after a further competition among its suppliers.",
)
_DURATIONS = (3, 6, 12, 12, 12, 24, 24, 36, 36, 36, 48, 48, 60, 60, 84, 120)
_AMENDMENT_REASONS = (
    ("Extension of the contract period", "Option to extend used."),
    ("Additional service volumes", "Demand was higher than forecast, so the value was raised."),
    ("Change to the specification", "Scope changed to cover an additional service."),
    ("Price uplift", "Annual price review in line with the contract's inflation clause."),
)
_TERMINATION_REASONS = (
    "The provider gave notice and withdrew from the contract.",
    "The buyer ended the contract early after repeated performance failures.",
    "The provider entered administration.",
    "Ended early by agreement between the parties.",
)
# fmt: on


def _month_add(ordinal: int, months: int) -> int:
    """Return the ordinal of the same day of the month, ``months`` later (days past the 28th become the 28th)."""
    d = date.fromordinal(ordinal)
    year, month = divmod(d.month - 1 + months, 12)
    return date(d.year + year, month + 1, min(d.day, 28)).toordinal()


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


class _Random(random.Random):
    """``random.Random`` with cheaper integer draws (one ``random()`` call each), for speed.

    The draws are as uniform as a double allows, which is plenty for synthetic data, and they do not depend on
    the Python version's implementation of ``randrange``.
    """

    def randrange(self, start: int, stop: int | None = None) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class _Picker:
    """Weighted choice in O(log n) with a precomputed cumulative table."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: list | tuple, weights: list[float] | tuple[float, ...]) -> None:
        self.items = items
        self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total, 0, len(self.items) - 1)]


class _Org:
    """One organisation of the synthetic population: how to write it as a party, and how much it is chosen."""

    __slots__ = (
        "additional_identifiers",
        "address",
        "classification",
        "ids",
        "index",
        "kind",
        "local_id",
        "names",
        "scale",
        "scheme",
        "sector",
        "sector_picker",
        "successor",
        "value_scale",
        "weight",
    )

    def __init__(self) -> None:
        self.additional_identifiers = None
        self.classification = None
        self.scale = None
        self.sector_picker = None
        self.successor = None

    def party(self, name_variant: int, id_variant: int, roles: list[str]) -> dict:
        """Return this organisation as an OCDS party (a fresh dict), spelt in the given variant."""
        if id_variant < 0:  # a publisher-local party id and no identifier, as in some Contracts Finder data
            party: dict = {"id": self.local_id, "name": self.names[name_variant]}
        else:
            ident = self.ids[id_variant]
            party = {
                "id": f"{self.scheme}-{ident}",
                "name": self.names[name_variant],
                "identifier": {"scheme": self.scheme, "id": ident},
            }
            if self.additional_identifiers:
                party["additionalIdentifiers"] = [dict(a) for a in self.additional_identifiers]
        party["address"] = dict(self.address)
        if self.classification:
            party["details"] = {"classifications": [{"scheme": "TED_CA_TYPE", "id": self.classification}]}
        elif self.scale:
            party["details"] = {"scale": self.scale}
        party["roles"] = roles
        return party


class _Population:
    """The buyers and suppliers for one seed."""

    def __init__(self, rng: random.Random) -> None:
        self.region_picker = _Picker(_REGIONS, [r[1] for r in _REGIONS])
        places: dict[str, None] = {}
        while len(places) < 320:
            places[rng.choice(_PLACE_HEADS) + rng.choice(_PLACE_TAILS)] = None
        self.places = list(places)
        self.buyers: list[_Org] = []
        self._make_buyers(rng)
        self.buyer_picker = _Picker(self.buyers, [b.weight for b in self.buyers])
        self.suppliers: dict[str, list[_Org]] = {key: [] for key in _SECTOR_KEYS}
        self._make_suppliers(rng)
        self.supplier_pickers = {}
        self.major_pickers = {}
        for key, pool in self.suppliers.items():
            self.supplier_pickers[key] = _Picker(pool, [s.weight for s in pool])
            ranked = sorted(pool, key=lambda s: -s.weight)[: max(3, len(pool) // 40)]
            self.major_pickers[key] = _Picker(ranked, [s.weight for s in ranked])

    def _address(self, rng: random.Random, region=None) -> dict:
        region = region or self.region_picker.pick(rng)
        area = rng.choice(region[2])
        letters = _POSTCODE_LETTERS
        postcode = f"{area}{rng.randint(1, 29)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        return {
            "locality": rng.choice(self.places),
            "region": region[0],
            "postalCode": postcode,
            "countryName": "United Kingdom",
        }

    def _make_buyers(self, rng: random.Random) -> None:
        n = 0
        for kind, count, patterns, scheme, scale, ted, sector_weights in _BUYER_KINDS:
            picker = _Picker(_SECTOR_KEYS, [sector_weights.get(s[0], 0) * s[2] for s in _SECTORS])
            for _ in range(count):
                n += 1
                org = _Org()
                org.index = n
                org.local_id = f"GB-CFS-{100000 + n}"
                org.kind = kind
                place = self.places[n % len(self.places)]
                name = rng.choice(patterns).format(place=place, n=n, topic=rng.choice(_TOPICS))
                org.names = [name, name.upper()]
                org.scheme = scheme
                org.ids = [f"Z{n:03d}"]
                org.address = self._address(rng)
                org.classification = ted
                pareto = rng.paretovariate(1.5)
                org.weight = pareto * scale
                org.value_scale = scale**0.5 * pareto**0.2
                org.sector_picker = picker
                if kind == "commissioner":  # from July 2022 the commissioner's successor body buys instead
                    successor = _Org()
                    successor.index = n
                    successor.local_id = f"GB-CFS-{150000 + n}"
                    successor.kind = kind
                    icb = name.replace("Clinical Commissioning Group", "Integrated Care Board")
                    successor.names = [icb, icb.upper()]
                    successor.scheme = scheme
                    successor.ids = [f"QZ{n:03d}"]
                    successor.address = org.address
                    successor.classification = ted
                    successor.sector_picker = picker
                    successor.weight = org.weight
                    successor.value_scale = org.value_scale
                    org.successor = successor
                self.buyers.append(org)
        # NHS trusts also sell health services to councils and commissioners.
        self.nhs_suppliers = [b for b in self.buyers if b.kind == "trust"]

    def _make_suppliers(self, rng: random.Random) -> None:
        seen: dict[str, None] = {}
        sector_picker = _Picker(_SECTORS, [s[2] for s in _SECTORS])
        index = 0
        while index < 3200:
            sector = sector_picker.pick(rng)
            stem = rng.choice(_STEM_HEADS) + rng.choice(_STEM_MIDDLES) + rng.choice(_STEM_TAILS)
            charity = rng.random() < sector[5]
            if charity:
                base = rng.choice(("{s} Trust", "{s} Foundation", "{s} Community Association", "{s} Charity"))
                base = base.format(s=stem)
            else:
                base = f"{stem} {rng.choice(sector[6])}"
            if base in seen:
                continue
            seen[base] = None
            index += 1
            org = _Org()
            org.index = index
            org.local_id = f"GB-CFS-{200000 + index}"
            org.kind = "charity" if charity else "company"
            org.sector = sector[0]
            org.address = self._address(rng)
            org.weight = rng.paretovariate(1.1)
            org.scale = "large" if org.weight > 6 else "sme"
            if charity:
                number = str(rng.randint(1000000, 1199999))
                org.scheme = "GB-CHC"
                org.ids = [number]
                org.names = [base, f"The {base}", base.upper()]
                if rng.random() < 0.4:  # a charitable company
                    org.additional_identifiers = [{"scheme": "GB-COH", "id": f"{rng.randint(1000000, 13999999):08d}"}]
            else:
                org.scheme = "GB-COH"
                if rng.random() < 0.05:
                    number = f"SC{rng.randint(100000, 799999)}"
                    org.ids = [number]
                else:
                    number = f"{rng.randint(600000, 15999999):08d}"
                    stripped = number.lstrip("0")
                    org.ids = [number, stripped] if stripped != number else [number]
                plc = org.weight > 12 and rng.random() < 0.5
                if plc:
                    org.names = [f"{base} plc", f"{base} PLC".upper(), f"{base} Public Limited Company"]
                else:
                    org.names = [
                        f"{base} Limited",
                        f"{base} Ltd",
                        f"{base} LIMITED".upper(),
                        f"{base} Ltd.",
                        f"{base} LTD".upper(),
                        base,
                    ]
            if rng.random() >= 0.25:  # three suppliers in four are always spelt the same way
                org.names = org.names[:1]
                org.ids = org.ids[:1]
            self.suppliers[org.sector].append(org)
        for trust in self.nhs_suppliers:
            trust.sector = "health"
            self.suppliers["health"].append(trust)

    def buyer_at(self, rng: random.Random, day: int) -> _Org:
        buyer = self.buyer_picker.pick(rng)
        if buyer.successor is not None and day >= ICB_DAY:
            return buyer.successor
        return buyer


class _Appearance:
    """How one organisation is spelt throughout one contracting process, with its roles so far."""

    __slots__ = ("id", "id_variant", "name", "name_variant", "org", "roles")

    def __init__(self, rng: random.Random, org: _Org, messy: bool, local_ids: bool = True) -> None:
        self.org = org
        self.roles: list[str] = []
        self.name_variant = 0
        self.id_variant = 0
        if messy:
            if len(org.names) > 1 and rng.random() < 0.5:
                self.name_variant = rng.randrange(len(org.names))
            if len(org.ids) > 1 and rng.random() < 0.4:
                self.id_variant = 1
            if local_ids and rng.random() < 0.08:
                self.id_variant = -1
        self.name = org.names[self.name_variant]
        self.id = org.local_id if self.id_variant < 0 else f"{org.scheme}-{org.ids[self.id_variant]}"

    def add_role(self, role: str) -> None:
        if role not in self.roles:
            self.roles.append(role)

    def party(self) -> dict:
        return self.org.party(self.name_variant, self.id_variant, list(self.roles))

    def ref(self) -> dict:
        return {"id": self.id, "name": self.name}


# ---------------------------------------------------------------------------------------------------------------
# Dates and values
# ---------------------------------------------------------------------------------------------------------------

# ISO dates of every day from 2015 to 2064 (contract periods run on well past the last release date), and
# publication times of day from 07:00:00 to 18:59:53 in steps of 7 seconds: looked up, not formatted, for speed.
_DAY_ZERO = date(2015, 1, 1).toordinal()
_ISO_DAYS = tuple(date.fromordinal(_DAY_ZERO + i).isoformat() for i in range(date(2065, 1, 1).toordinal() - _DAY_ZERO))
_TIMES = tuple(f"T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}" for t in range(7 * 3600, 19 * 3600, 7))


def _day(ordinal: int) -> str:
    return _ISO_DAYS[ordinal - _DAY_ZERO]


def _stamp(ordinal: int, rng: random.Random) -> str:
    return _day(ordinal) + _TIMES[int(rng.random() * len(_TIMES))] + _OFFSETS[ordinal - _DAY_ZERO]


def _at(ordinal: int, clock: str) -> str:
    """A time of day between 02:00 and 23:00 (when the UK's offset is that of the whole day), in UK time."""
    return f"{_day(ordinal)}T{clock}{_OFFSETS[ordinal - _DAY_ZERO]}"


def _uk_times(clock: time) -> tuple[str, ...]:
    """The same time of day on every day of _ISO_DAYS, in UK time with its offset that day, as Find a Tender
    writes dates (``2021-08-31T23:59:59+01:00`` in summer, ``2021-12-31T23:59:59Z`` in winter)."""
    zone = ZoneInfo("Europe/London")
    written = []
    for day in _ISO_DAYS:
        offset = datetime.combine(date.fromisoformat(day), clock, zone).utcoffset()
        written.append(f"{day}T{clock.isoformat()}{'+01:00' if offset else 'Z'}")
    return tuple(written)


# the first and last moments of each day (contract periods run from one to the other), and the UK's offset at noon
_STARTS = _uk_times(time(0, 0, 0))
_ENDS = _uk_times(time(23, 59, 59))
_OFFSETS = tuple(moment[19:] for moment in _uk_times(time(12, 0, 0)))


def _start(ordinal: int) -> str:
    return _STARTS[ordinal - _DAY_ZERO]


def _end(ordinal: int) -> str:
    return _ENDS[ordinal - _DAY_ZERO]


def _money(amount: float) -> dict:
    if amount >= 10000:
        value: float = int(amount / 100 + 0.5) * 100
    else:
        value = round(amount, 2)
    return {"amount": value, "currency": "GBP"}


# ---------------------------------------------------------------------------------------------------------------
# One contracting process
# ---------------------------------------------------------------------------------------------------------------


class _Stream:
    """The endless, deterministic sequence of releases for one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = _Random(seed)
        self.pop = _Population(self.rng)
        self.pcr_picker = _Picker(_PCR_PROCEDURES, [p[2] for p in _PCR_PROCEDURES])
        self.pa_picker = _Picker(_PA_PROCEDURES, [p[2] for p in _PA_PROCEDURES])
        self.sector_by_key = {s[0]: s for s in _SECTORS}
        self.frameworks: dict[str, tuple[str, str]] = {}
        self.seq = 0

    def releases(self) -> Iterator[dict]:
        """Yield releases for ever; ocids mostly consecutive, with now and then two processes interleaved."""
        rng = self.rng
        live: list[Iterator[dict]] = []
        while True:
            if not live or (len(live) < 2 and rng.random() < 0.03):
                self.seq += 1
                live.insert(0, self._process(self.seq))
            release = next(live[0], None)
            if release is None:
                live.pop(0)
                continue
            yield release

    def _process(self, seq: int) -> Iterator[dict]:
        rng = self.rng
        pop = self.pop
        ocid = f"{DEMO_OCID_PREFIX}{seq:08d}"
        day = rng.randint(FIRST_DAY, FIRST_RELEASE_LAST)
        buyer_org = pop.buyer_at(rng, day)
        sector = self.sector_by_key[buyer_org.sector_picker.pick(rng)]
        sector_key, category = sector[0], sector[1]
        procedure = (self.pa_picker if day >= PROCUREMENT_ACT_DAY else self.pcr_picker).pick(rng)
        method, details, _, kind = procedure
        competitive = kind == "competitive"
        framework = competitive and rng.random() < 0.05
        messy = rng.random() < 0.3

        buyer = _Appearance(rng, buyer_org, messy, local_ids=False)
        buyer.add_role("buyer")
        buyer_ref = buyer.ref()

        # What is bought.
        cpvs = sector[7]
        main = rng.choice(cpvs)
        title = rng.choice(main[2])
        if framework:
            title = f"Framework agreement: {title.lower()}"
        year = date.fromordinal(day).year
        tender_id = f"{buyer_org.ids[0]}-{year}-{seq:06d}"
        n_items = 1 if rng.random() < 0.6 else rng.randint(2, 3)
        items = []
        for i in range(n_items):
            cpv = main if i == 0 else rng.choice(cpvs)
            items.append(
                {
                    "id": str(i + 1),
                    "description": rng.choice(cpv[2]),
                    "classification": {"scheme": "CPV", "id": cpv[0], "description": cpv[1]},
                    "quantity": 1 if category != "goods" else rng.randint(1, 500),
                }
            )
        n_lots = rng.randint(2, 4) if competitive and not framework and rng.random() < 0.15 else 0
        if n_lots:
            for i, it in enumerate(items):
                it["relatedLot"] = str(i % n_lots + 1)

        # How much.
        if kind == "direct small":
            estimate = min(exp(10.1 + 0.9 * rng.gauss(0, 1)), 139000.0)
        else:
            estimate = exp(sector[3] + sector[4] * rng.gauss(0, 1)) * buyer_org.value_scale
            if framework:
                estimate *= 8
            estimate = min(estimate, 2.5e9)
        months = rng.choice(_DURATIONS)
        if kind == "direct small" and months > 24:
            months = 12
        extension_months = rng.choice((0, 0, 12, 12, 24)) if months >= 12 else 0

        # Who wins.
        if framework:
            n_winners = rng.randint(3, 8)
        elif n_lots:
            n_winners = n_lots
        else:
            n_winners = 1
        winners: list[_Appearance] = []
        chosen: list[_Org] = [buyer_org]
        majors = estimate > 5e6 and rng.random() < 0.7
        picker = pop.major_pickers[sector_key] if majors else pop.supplier_pickers[sector_key]
        attempts = 0
        while len(winners) < n_winners and attempts < 50:
            attempts += 1
            org = picker.pick(rng)
            if org in chosen:
                continue
            chosen.append(org)
            winners.append(_Appearance(rng, org, messy))
            picker = pop.supplier_pickers[sector_key]

        rel_no = 0

        def new_release(tags: list[str], when: int) -> dict:
            nonlocal rel_no
            rel_no += 1
            return {
                "ocid": ocid,
                "id": f"{ocid}-{rel_no:02d}",
                "date": _stamp(when, rng),
                "tag": tags,
                "initiationType": "tender",
                "x_demo": True,
            }

        tender: dict = {
            "id": tender_id,
            "title": title,
            "description": f"{buyer_org.names[0]} is buying {title[0].lower()}{title[1:]}"
            f" for {months} months"
            + (f", with an option to extend by up to {extension_months} months." if extension_months else "."),
            "status": "active",
            "value": _money(estimate),
            "procurementMethod": method,
            "procurementMethodDetails": details,
            "mainProcurementCategory": category,
            "items": items,
        }
        if day >= PROCUREMENT_ACT_DAY:
            tender["legalBasis"] = {"scheme": "UKPGA", "id": "2023/54"}
        elif kind != "direct small" and estimate > 200000:
            tender["legalBasis"] = {"scheme": "CELEX", "id": "32014L0024"}
        if framework:
            tender["techniques"] = {"hasFrameworkAgreement": True}
        if kind == "negotiated":
            code, code_description, text = rng.choice(_NEGOTIATED_GROUNDS)
            tender["procurementMethodRationale"] = text
            if day < PROCUREMENT_ACT_DAY:
                tender["procurementMethodRationaleClassifications"] = [
                    {"scheme": "TED_PT_AWARD_CONTRACT_WITHOUT_CALL", "id": code, "description": code_description}
                ]
        elif kind in ("direct", "direct small"):
            tender["procurementMethodRationale"] = rng.choice(_DIRECT_RATIONALES)
        elif kind == "framework call":
            tender["procurementMethodRationale"] = rng.choice(_FRAMEWORK_RATIONALES)
        related = None
        if kind == "framework call" and sector_key in self.frameworks:
            fw_ocid, fw_title = self.frameworks[sector_key]
            related = [
                {"id": "1", "relationship": ["framework"], "title": fw_title, "scheme": "ocid", "identifier": fw_ocid}
            ]
        if framework:
            self.frameworks[sector_key] = (ocid, title)

        # ---- tender notice (competitive procedures only)
        if competitive:
            close = day + rng.randint(21, 56)
            tender["tenderPeriod"] = {"startDate": _stamp(day, rng), "endDate": _at(close, "12:00:00")}
            award_day = close + rng.randint(20, 120)
            start = award_day + rng.randint(20, 90)
            planned = self._period(start, months, extension_months)
            tender["contractPeriod"] = dict(planned)
            if n_lots:
                lots = [
                    (f"Lot {i + 1}: {rng.choice(main[2]).lower()}", estimate / n_lots * rng.uniform(0.6, 1.4))
                    for i in range(n_lots)
                ]
                tender["lots"] = [
                    {"id": str(i + 1), "title": lot_title, "status": "active", "value": _money(lot_value)}
                    for i, (lot_title, lot_value) in enumerate(lots)
                ]
            if rng.random() < 0.5:
                tender["documents"] = [self._document(ocid, "tender-notice", "tenderNotice", "Contract notice", day)]
                if rng.random() < 0.4:
                    tender["documents"].append(
                        self._document(ocid, "specification", "technicalSpecifications", "Specification", day)
                    )
            if rng.random() < 0.1:
                tender["milestones"] = [
                    {
                        "id": "1",
                        "title": "Market engagement event",
                        "type": "engagement",
                        "dueDate": _start(day + 7),
                        "status": "met",
                    }
                ]
            release = new_release(["tender"], day)
            release["parties"] = [buyer.party()]
            release["buyer"] = dict(buyer_ref)
            release["tender"] = tender
            if related:
                release["relatedProcesses"] = related
            notice_id = release["id"]
            yield release

            if rng.random() < 0.06 and close - day > 10:  # a clarification that moves the deadline
                when = close - rng.randint(3, 9)
                new_close = close + 14
                release = new_release(["tenderAmendment"], when)
                release["buyer"] = dict(buyer_ref)
                amended: dict = {
                    "id": tender_id,
                    "tenderPeriod": {"endDate": _at(new_close, "12:00:00")},
                    "amendments": [
                        {
                            "id": "1",
                            "date": release["date"],
                            "rationale": "Clarification of the specification",
                            "description": "Closing date extended by two weeks.",
                            "amendsReleaseID": notice_id,
                            "releaseID": release["id"],
                        }
                    ],
                }
                if rng.random() < 0.5:
                    estimate *= rng.uniform(1.05, 1.4)
                    amended["value"] = _money(estimate)
                    amended["amendments"][0]["description"] += " Estimated value revised upwards."
                release["tender"] = amended
                close = new_close
                award_day = max(award_day, close + 20)
                yield release

            if rng.random() < 0.03:
                when = close + rng.randint(10, 60)
                if when <= LAST_DAY:
                    release = new_release(["tenderCancellation"], when)
                    release["buyer"] = dict(buyer_ref)
                    release["tender"] = {
                        "id": tender_id,
                        "status": "cancelled",
                        "statusDetails": rng.choice(
                            ("No compliant bids received", "Requirement withdrawn", "Budget no longer available")
                        ),
                    }
                    yield release
                return
        else:
            award_day = day
            start = award_day + rng.randint(0, 45)
            planned = self._period(start, months, extension_months)

        if award_day > LAST_DAY:
            return

        # ---- award
        tender_update: dict = {"id": tender_id, "status": "complete"}
        if competitive:
            if framework:
                n_bids = n_winners + rng.randint(0, 6)
            elif details.startswith(("Open", "Below threshold - open")):
                n_bids = 1 if rng.random() < 0.12 else min(2 + int(rng.expovariate(0.3)), 25)
            else:
                n_bids = 1 if rng.random() < 0.07 else rng.randint(2, 6)
            n_bids = max(n_bids, n_winners)
            tender_update["numberOfTenderers"] = n_bids
        else:
            tender_update = dict(tender, status="complete")
            tender_update["contractPeriod"] = dict(planned)
            n_bids = 1 if kind != "framework call" or rng.random() < 0.6 else rng.randint(2, 5)
            tender_update["numberOfTenderers"] = n_bids

        tenderers = list(winners)
        list_tenderers = competitive and n_bids <= 10 and rng.random() < 0.5
        if list_tenderers:
            pool = pop.supplier_pickers[sector_key]
            attempts = 0
            while len(tenderers) < n_bids and attempts < 40:
                attempts += 1
                org = pool.pick(rng)
                if org in chosen:
                    continue
                chosen.append(org)
                tenderers.append(_Appearance(rng, org, messy))
            tender_update["tenderers"] = [t.ref() for t in tenderers]
            tender_update["numberOfTenderers"] = max(n_bids, len(tenderers))
            for t in tenderers:
                t.add_role("tenderer")
        for w in winners:
            w.add_role("supplier")

        award_value = estimate * rng.uniform(0.75, 1.08)
        awards = []
        if n_lots and len(winners) == n_lots:
            for i, w in enumerate(winners):
                lot_title, lot_value = lots[i]
                lot_amount = lot_value * rng.uniform(0.8, 1.05)
                awards.append(
                    {
                        "id": f"{tender_id}-A{i + 1}",
                        "title": lot_title,
                        "status": "active",
                        "date": _stamp(award_day, rng),
                        "value": _money(lot_amount),
                        "suppliers": [w.ref()],
                        "relatedLots": [str(i + 1)],
                        "contractPeriod": {"startDate": planned["startDate"], "endDate": planned["endDate"]},
                    }
                )
        else:
            awards.append(
                {
                    "id": f"{tender_id}-A1",
                    "title": title,
                    "status": "active",
                    "date": _stamp(award_day, rng),
                    "value": _money(award_value),
                    "suppliers": [w.ref() for w in winners],
                    "contractPeriod": {"startDate": planned["startDate"], "endDate": planned["endDate"]},
                }
            )
        if not winners:  # nobody could be found: the award fell through
            awards[0]["status"] = "unsuccessful"
            del awards[0]["value"], awards[0]["suppliers"]

        combined = not competitive and rng.random() < 0.3
        release = new_release(["award", "contract"] if combined else ["award"], award_day)
        release["parties"] = [buyer.party()] + [t.party() for t in tenderers]
        release["buyer"] = dict(buyer_ref)
        release["tender"] = tender_update
        release["awards"] = awards
        if related and not competitive:
            release["relatedProcesses"] = related
        if list_tenderers and rng.random() < 0.5:
            release["bids"] = self._bids(tenderers, n_bids, winners, award_value, close)
        elif competitive and rng.random() < 0.2:
            release["bids"] = {"statistics": [{"id": "1", "measure": "bids", "value": n_bids, "date": _start(close)}]}
        if rng.random() < 0.3:
            for award in awards:
                award["documents"] = [
                    self._document(ocid, f"award-{award['id']}", "awardNotice", "Award notice", award_day)
                ]
        if not winners:
            yield release
            return

        # ---- contract
        contract_day = award_day if combined else award_day + rng.randint(5, 40)
        if contract_day > LAST_DAY:
            yield release
            return
        if contract_day > start:  # the contract was signed after its planned start: it starts on signature
            start = contract_day
            planned = self._period(start, months, extension_months)
        contracts = []
        for award in awards:
            contract = {
                "id": award["id"].replace("-A", "-C"),
                "awardID": award["id"],
                "title": award["title"],
                "status": "active",
                "period": dict(planned),
                "value": dict(award["value"]),
                "dateSigned": _start(contract_day),
            }
            if rng.random() < 0.25:
                contract["documents"] = [
                    self._document(
                        ocid, f"contract-{contract['id']}", "contractSigned", "Signed contract", contract_day
                    )
                ]
            if rng.random() < 0.15:
                contract["milestones"] = [
                    {
                        "id": "1",
                        "title": "Service goes live",
                        "type": "delivery",
                        "dueDate": _start(start),
                        "status": "met",
                    },
                    {
                        "id": "2",
                        "title": "First annual review",
                        "type": "reporting",
                        "dueDate": _start(start + 365),
                        "status": rng.choice(("met", "scheduled", "notMet")),
                    },
                ]
            contracts.append(contract)
        contract_id, award_id, value = contracts[0]["id"], contracts[0]["awardID"], contracts[0]["value"]["amount"]
        if not combined:
            yield release
            release = new_release(["contract"], contract_day)
            release["buyer"] = dict(buyer_ref)
        release["contracts"] = contracts
        contract_release_id = release["id"]
        yield release

        # ---- life of the contract: payments, amendments, termination
        end = _month_add(start, months) - 1
        last = contract_day
        if rng.random() < 0.05:
            when = max(last + 1, start + rng.randint(30, 200))
            if when <= LAST_DAY:
                buyer.add_role("payer")
                winners[0].add_role("payee")
                release = new_release(["implementation"], when)
                release["parties"] = [buyer.party(), winners[0].party()]
                release["buyer"] = dict(buyer_ref)
                n_tx = rng.randint(1, 4)
                release["contracts"] = [
                    {
                        "id": contract_id,
                        "awardID": award_id,
                        "implementation": {
                            "transactions": [
                                {
                                    "id": str(i + 1),
                                    "date": _start(start + (when - start) * (i + 1) // n_tx),
                                    "value": _money(value / (n_tx * rng.uniform(1.5, 4))),
                                    "payer": buyer.ref(),
                                    "payee": winners[0].ref(),
                                }
                                for i in range(n_tx)
                            ]
                        },
                    }
                ]
                last = when
                yield release
        amended_from = contract_release_id
        n_amendments = 0
        if rng.random() < 0.15:
            n_amendments = 1 if rng.random() < 0.75 else 2
        for i in range(n_amendments):
            when = max(last + rng.randint(30, 400), start + 60)
            if when > LAST_DAY or when >= end:
                break
            reason, why = rng.choice(_AMENDMENT_REASONS)
            release = new_release(["contractAmendment"], when)
            update: dict = {"id": contract_id, "awardID": award_id}
            description = why
            if reason == "Extension of the contract period":
                extra = rng.choice((6, 12, 12, 24))
                end = _month_add(end + 1, extra) - 1
                update["period"] = {"endDate": _end(end)}
                if extension_months == 0 or end > _month_add(start, months + extension_months):
                    update["period"]["maxExtentDate"] = _end(end)
                description = f"{why} End date moved by {extra} months to {_day(end)}."
                if rng.random() < 0.5:
                    value *= 1 + extra / max(months, 1) * rng.uniform(0.8, 1.0)
                    update["value"] = _money(value)
            else:
                value *= rng.uniform(1.03, 1.6)
                update["value"] = _money(value)
                description = f"{why} New value {update['value']['amount']:.0f} GBP."
            update["amendments"] = [
                {
                    "id": str(i + 1),
                    "date": release["date"],
                    "rationale": reason,
                    "description": description,
                    "amendsReleaseID": amended_from,
                    "releaseID": release["id"],
                }
            ]
            release["buyer"] = dict(buyer_ref)
            release["contracts"] = [update]
            amended_from = release["id"]
            last = when
            yield release
        if rng.random() < 0.035:
            when = max(last + 1, start + rng.randint(60, 900))
            if start < when < end and when <= LAST_DAY:
                release = new_release(["contractTermination"], when)
                release["buyer"] = dict(buyer_ref)
                release["contracts"] = [
                    {
                        "id": contract_id,
                        "awardID": award_id,
                        "status": "terminated",
                        "period": {"endDate": _end(when), "maxExtentDate": _end(when)},
                        "documents": [
                            {
                                "id": "termination",
                                "documentType": "contractTerminationNotice",
                                "title": "Contract terminated early",
                                "description": rng.choice(_TERMINATION_REASONS),
                                "datePublished": release["date"],
                                "language": "en",
                            }
                        ],
                    }
                ]
                yield release

    @staticmethod
    def _period(start: int, months: int, extension_months: int) -> dict:
        end = _month_add(start, months) - 1
        period = {"startDate": _start(start), "endDate": _end(end)}
        if extension_months:
            period["maxExtentDate"] = _end(_month_add(start, months + extension_months) - 1)
        return period

    def _document(self, ocid: str, doc_id: str, doc_type: str, title: str, day: int) -> dict:
        return {
            "id": doc_id,
            "documentType": doc_type,
            "title": title,
            "url": f"{DOCUMENT_BASE_URL}/{ocid}/{doc_id}.pdf",
            "datePublished": _stamp(day, self.rng),
            "format": "application/pdf",
            "language": "en",
        }

    def _bids(
        self, tenderers: list[_Appearance], n_bids: int, winners: list[_Appearance], award_value: float, close: int
    ) -> dict:
        rng = self.rng
        details = []
        winner_ids = {w.id for w in winners}
        for i, t in enumerate(tenderers):
            won = t.id in winner_ids
            status = "valid" if won or rng.random() < 0.85 else rng.choice(("disqualified", "withdrawn"))
            amount = award_value if won else award_value * rng.uniform(0.9, 1.5)
            details.append(
                {
                    "id": str(i + 1),
                    "date": _at(close, "11:00:00"),
                    "status": status,
                    "tenderers": [t.ref()],
                    "value": _money(amount),
                }
            )
        return {
            "statistics": [{"id": "1", "measure": "bids", "value": n_bids, "date": _start(close)}],
            "details": details,
        }


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def generate_releases(n: int, seed: int = 0) -> Iterator[dict]:
    """Yield exactly n OCDS 1.1 releases (dicts), deterministic for (n, seed).

    The releases are the first ``n`` of an endless stream fixed by ``seed``, so the first ``k`` releases are the
    same for any ``n >= k``. The last processes may be cut short (a tender with no award yet), as in a real feed.
    Every release is a fresh dict that the caller may change.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if n == 0:
        return iter(())
    return islice(_Stream(seed).releases(), n)


def _write_lines(path: str | os.PathLike, lines: Iterator[str]) -> int:
    written = 0
    with Path(path).open("wb") as f:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= _BATCH_LINES:
                data = "".join(batch).encode("utf-8")
                f.write(data)
                written += len(data)
                batch.clear()
        if batch:
            data = "".join(batch).encode("utf-8")
            f.write(data)
            written += len(data)
    return written


def write_jsonl(path: str | os.PathLike, n: int, seed: int = 0) -> int:
    """Write the releases as JSON lines (compact, UTF-8); return bytes written."""
    # All the generated text is ASCII, so escaping non-ASCII (the default, and the faster encoder) changes nothing.
    dumps = json.JSONEncoder(separators=_JSON_SEPARATORS).encode
    return _write_lines(path, (dumps(r) + "\n" for r in generate_releases(n, seed)))


def write_release_packages(path: str | os.PathLike, n: int, seed: int = 0, per_package: int = 1000) -> int:
    """Write JSON lines where each line is a release package of up to per_package releases.

    Each package has ``uri``, ``publisher`` ``{"name": "tenderwatch synthetic demo data"}``, ``publishedDate``,
    ``version`` ``"1.1"`` and ``releases``. Returns the bytes written.
    """
    if per_package < 1:
        raise ValueError(f"per_package must be 1 or more, not {per_package}")
    dumps = json.JSONEncoder(separators=_JSON_SEPARATORS).encode

    def packages() -> Iterator[str]:
        releases = generate_releases(n, seed)
        number = 0
        while True:
            chunk = list(islice(releases, per_package))
            if not chunk:
                return
            number += 1
            package = {
                "uri": f"{DOCUMENT_BASE_URL}/seed-{seed}/package-{number:06d}.json",
                "publisher": {"name": PUBLISHER_NAME},
                "publishedDate": PACKAGE_PUBLISHED_DATE,
                "version": "1.1",
                "releases": chunk,
            }
            yield dumps(package) + "\n"

    return _write_lines(path, packages())
