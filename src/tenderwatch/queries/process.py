"""One contracting process: how it was bought, who bid and won, what it costs now, every notice, its red flags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import duckdb

from tenderwatch.queries import (
    BUYER_KEY,
    SUPPLIER_KEY,
    SUPPLIER_ORGANISATION,
    Chart,
    buyer_organisation,
    copies_table,
    evidence_of,
    format_money,
    has_table,
    rows,
    with_tax,
)


@dataclass
class Notice:
    """One release (notice) of the process, with where it came from."""

    release_id: str
    date: str | None
    tags: list[str]
    source: str | None
    pointer: str | None
    package_uri: str | None
    url: str | None
    # when it was published, for people: the day and time in the store's time zone (the day alone when the notice
    # gives no time, or midnight UTC, as publishers who give dates only write them); ``date`` is the date as the
    # notice gives it
    when: str | None = None

    @property
    def source_name(self) -> str | None:
        """Where the notice was read: the address it was fetched from, or the name of the file it was loaded from
        (without the folders of the machine that loaded it)."""
        if not self.source or self.source.startswith(("http://", "https://")):
            return self.source
        return PurePath(self.source).name or self.source


@dataclass
class ProcessView:
    """Everything the contract page shows."""

    ocid: str
    title: str
    description: str | None
    is_demo: bool
    buyer_id: str | None
    buyer_profile: str | None
    buyer_name: str | None
    publisher: str | None
    procurement_method: str | None
    procurement_method_details: str | None
    rationale: str | None
    rationale_classifications: list[str]
    legal_basis: str | None
    tender_status: str | None
    tender_value: str | None
    tender_period: tuple[str | None, str | None]
    number_of_tenderers: int | None
    tenderers: list[dict[str, Any]]
    bid_statistics: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    awards: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    amendments: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    related: list[dict[str, Any]]
    notices: list[Notice]
    flags: list[dict[str, Any]]
    score: dict[str, Any] | None
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    # the same rows in words, for the page (see lifecycle_lines)
    lifecycle_lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    # the process this one copies (an aggregator's copy of its notices, see process_copies), and its own copies
    copy_of: str | None = None
    copies: list[str] = field(default_factory=list)


# The ocid prefix under which Open Opps (Spend Network) republishes Contracts Finder's notices.
OPEN_OPPS_CF = "ocds-0c46vo-0001-"


def notice_url(ocid: str, release_id: str, source: str | None) -> str | None:
    """Return the public page of a notice, where the publisher is known (Find a Tender, Contracts Finder, and
    Contracts Finder's notices as Open Opps republishes them)."""
    if ocid.startswith("ocds-h6vhtk-"):
        return f"https://www.find-tender.service.gov.uk/Notice/{release_id}"
    if ocid.startswith("ocds-b5fd17-"):
        notice = release_id.removeprefix("ocds-b5fd17-").split("-", 5)
        return "https://www.contractsfinder.service.gov.uk/Notice/" + "-".join(notice[:5])
    if ocid.startswith(OPEN_OPPS_CF) and len(ocid) == len(OPEN_OPPS_CF) + 36:
        # Open Opps republishes each Contracts Finder notice under an ocid of its own that ends with the notice's id
        return "https://www.contractsfinder.service.gov.uk/Notice/" + ocid.removeprefix(OPEN_OPPS_CF)
    if source and source.startswith(("http://", "https://")):
        return source
    return None


# Everything a contract page shows, as one row per process with nested lists, in parts: each part is a query
# keyed by ocid, and the page joins them. ``{only}`` selects the processes (``ocid = $ocid`` for one page). A read
# snapshot stores each part as a table (``page_<part>``), ordered and indexed by ocid, so a page is one lookup.
PARTS = {
    # each supplier with its id as published and the key of its profile (see tenderwatch.queries.SUPPLIER_KEY)
    "awarded": f"""
    SELECT a.ocid, a.award_id,
           list({{{{'id': s.party_id, 'name': s.name, 'profile': {SUPPLIER_KEY}}}}} ORDER BY s.position)
               FILTER (WHERE s.ocid IS NOT NULL) AS suppliers
    FROM awards AS a LEFT JOIN award_suppliers AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
    {SUPPLIER_ORGANISATION}
    WHERE a.{{only}} GROUP BY a.ocid, a.award_id
    """,
    "award_list": """
    SELECT a.ocid, list({{'award_id': a.award_id, 'title': a.title, 'status': a.status,
        'date': a.date::DATE::VARCHAR, 'value_amount': a.value_amount::DOUBLE, 'value_currency': a.value_currency,
        'value_includes_tax': a.value_includes_tax,
        'start': a.contract_period_start::DATE::VARCHAR, 'end': a.contract_period_end::DATE::VARCHAR,
        'suppliers': coalesce(w.suppliers, [])}} ORDER BY a.position) AS awards
    FROM awards AS a LEFT JOIN {awarded} AS w ON w.ocid = a.ocid AND w.award_id IS NOT DISTINCT FROM a.award_id
    WHERE a.{only} GROUP BY a.ocid
    """,
    "contract_list": """
    SELECT ocid, list({{'contract_id': contract_id, 'award_id': award_id, 'title': title, 'status': status,
        'start': period_start::DATE::VARCHAR, 'end': period_end::DATE::VARCHAR,
        'max_extent': period_max_extent::DATE::VARCHAR, 'value_amount': value_amount::DOUBLE,
        'value_currency': value_currency, 'value_includes_tax': value_includes_tax,
        'signed': date_signed::DATE::VARCHAR, 'amendment_count': amendment_count}}
        ORDER BY position) AS contracts
    FROM contracts WHERE {only} GROUP BY ocid
    """,
    "notice_list": """
    SELECT r.ocid, list({{'release_id': r.release_id, 'date': r.release_date, 'tags': r.tags, 'source': r.source,
        'pointer': r.pointer, 'package_uri': json_extract_string(k.metadata, '$.uri'),
        -- a time of exactly midnight UTC is a date given without its time (some publishers write every date
        -- so): the day alone, not "01:00" in summer
        'when': CASE WHEN length(r.release_date) > 10
                          AND NOT regexp_matches(r.release_date, 'T00:00(:00(\\.0+)?)?(Z|[+]00:?00)$')
                     THEN strftime(TRY_CAST(r.release_date AS TIMESTAMPTZ), '%Y-%m-%d %H:%M')
                     ELSE TRY_CAST(left(r.release_date, 10) AS DATE)::VARCHAR END}}
        ORDER BY r.release_date, r.seq) AS notices
    FROM raw_releases AS r LEFT JOIN packages AS k USING (package_hash) WHERE r.{only} GROUP BY r.ocid
    """,
    "flag_list": """
    SELECT ocid, list({{'code': code, 'subject': subject, 'subject_id': subject_id, 'value': value,
        'evidence': evidence, 'sentence': sentence}} ORDER BY code, subject, subject_id) AS flags
    FROM flags WHERE {only} GROUP BY ocid
    """,
    "tenderer_list": """
    SELECT ocid, list({{'party_id': party_id, 'name': name}} ORDER BY position) AS tenderers
    FROM tenderers WHERE {only} GROUP BY ocid
    """,
    "statistic_list": """
    SELECT ocid, list({{'measure': measure, 'value': value, 'currency': currency, 'related_lot': related_lot}}
        ORDER BY position) AS stats
    FROM bid_statistics WHERE {only} GROUP BY ocid
    """,
    "lot_list": """
    SELECT ocid, list({{'lot_id': lot_id, 'title': title, 'status': status, 'value_amount': value_amount::DOUBLE,
        'value_currency': value_currency, 'value_includes_tax': value_includes_tax}} ORDER BY position) AS lots
    FROM lots WHERE {only} GROUP BY ocid
    """,
    "amendment_list": """
    SELECT ocid, list({{'scope': scope, 'parent_id': parent_id, 'date': date::DATE::VARCHAR, 'rationale': rationale,
        'description': description, 'release_id': release_id}} ORDER BY date NULLS LAST, scope, position) AS amendments
    FROM amendments WHERE {only} GROUP BY ocid
    """,
    "document_list": """
    SELECT ocid, list({{'scope': scope, 'document_type': document_type, 'notice_type': notice_type, 'title': title,
        'url': url, 'published': date_published::DATE::VARCHAR}}
        ORDER BY date_published NULLS LAST, scope, position) AS documents
    FROM documents WHERE {only} GROUP BY ocid
    """,
    "related_list": """
    SELECT ocid, list({{'relationship': relationship, 'title': title, 'scheme': scheme, 'identifier': identifier,
        'uri': uri}} ORDER BY scope, position) AS related
    FROM related_processes WHERE {only} GROUP BY ocid
    """,
}

PAGE_SELECT = """
SELECT p.ocid, coalesce(p.title, p.ocid) AS title, p.description, p.is_demo, p.buyer_id,
       {buyer_key} AS buyer_profile, p.buyer_name,
       p.publisher_name AS publisher, t.procurement_method, t.procurement_method_details,
       t.procurement_method_rationale AS rationale,
       coalesce(t.procurement_method_rationale_classifications, []) AS rationale_classifications,
       nullif(concat_ws(' ', t.legal_basis_scheme, t.legal_basis_id), '') AS legal_basis,
       t.status AS tender_status, t.value_amount::DOUBLE AS tender_value_amount, t.value_currency AS tender_currency,
       t.value_includes_tax AS tender_includes_tax,
       t.min_value_amount::DOUBLE AS tender_min_amount, t.min_value_currency AS tender_min_currency,
       t.tender_period_start::DATE::VARCHAR AS tender_period_start,
       t.tender_period_end::DATE::VARCHAR AS tender_period_end, t.number_of_tenderers,
       coalesce(tl.tenderers, []) AS tenderers, coalesce(sl.stats, []) AS bid_statistics,
       coalesce(ll.lots, []) AS lots,
       coalesce(al.awards, []) AS awards, coalesce(cl.contracts, []) AS contracts,
       coalesce(ml.amendments, []) AS amendments, coalesce(dl.documents, []) AS documents,
       coalesce(rl.related, []) AS related, coalesce(nl.notices, []) AS notices, coalesce(fl.flags, []) AS flags,
       CASE WHEN ps.ocid IS NOT NULL THEN {{'flags_raised': ps.flags_raised, 'flags_applicable': ps.flags_applicable,
            'score': ps.score, 'codes': ps.codes}} END AS score
FROM {processes} AS p
LEFT JOIN (SELECT * FROM {tenders} WHERE {only}) AS t USING (ocid)
LEFT JOIN (SELECT * FROM {award_list} WHERE {only}) AS al USING (ocid)
LEFT JOIN (SELECT * FROM {contract_list} WHERE {only}) AS cl USING (ocid)
LEFT JOIN (SELECT * FROM {notice_list} WHERE {only}) AS nl USING (ocid)
LEFT JOIN (SELECT * FROM {flag_list} WHERE {only}) AS fl USING (ocid)
LEFT JOIN (SELECT * FROM {tenderer_list} WHERE {only}) AS tl USING (ocid)
LEFT JOIN (SELECT * FROM {statistic_list} WHERE {only}) AS sl USING (ocid)
LEFT JOIN (SELECT * FROM {lot_list} WHERE {only}) AS ll USING (ocid)
LEFT JOIN (SELECT * FROM {amendment_list} WHERE {only}) AS ml USING (ocid)
LEFT JOIN (SELECT * FROM {document_list} WHERE {only}) AS dl USING (ocid)
LEFT JOIN (SELECT * FROM {related_list} WHERE {only}) AS rl USING (ocid)
LEFT JOIN (SELECT * FROM {process_scores} WHERE {only}) AS ps USING (ocid)
{buyer_organisation}
WHERE p.{only}
"""


def part_sql(name: str, only: str, tables: dict[str, str] | None = None) -> str:
    """Return one part of the page query for the processes matching ``only``."""
    names = {part: (tables or {}).get(part, part) for part in PARTS}
    return PARTS[name].replace("{only}", only).format(**names)


def page_sql(
    only: str = "ocid = $ocid", *, parts: dict[str, str] | None = None, sources: dict[str, str] | None = None
) -> str:
    """Return the page query for the processes matching ``only`` (by default the one in ``$ocid``).

    ``parts`` names the table holding each part (a read snapshot stores them), else the parts are computed;
    ``sources`` names a table to read instead of ``processes``, ``tenders``, ``process_scores`` or
    ``organisation_parties``, one that holds at least the processes asked for.
    """
    read = {
        name: (sources or {}).get(name, name)
        for name in ("processes", "tenders", "process_scores", "organisation_parties")
    }
    # every table joined is filtered to the processes asked for: a join with the whole of a table (the tenders, every
    # party's organisation) holds all of it in memory, which at a million processes is more than the limit
    matched = read.pop("organisation_parties")
    organisation = buyer_organisation(f"(SELECT * FROM {matched} WHERE {only})")
    keys = {"buyer_key": BUYER_KEY, "buyer_organisation": organisation, **read}
    if parts is not None:
        return PAGE_SELECT.replace("{only}", only).format(**parts, **keys)
    ctes = ",\n".join(f"{name} AS ({part_sql(name, only)})" for name in PARTS)
    return "WITH " + ctes + "\n" + PAGE_SELECT.replace("{only}", only).format(**{part: part for part in PARTS}, **keys)


def process_view(
    con: duckdb.DuckDBPyConnection, ocid: str, tables: frozenset[str] | None = None
) -> ProcessView | None:
    """Return the contract page of one process, or None if the store has no such process.

    A read snapshot holds the parts of every page ready made; on a store, the page is computed.
    """
    if has_table(con, "process_pages", tables):
        # a read snapshot keeps each page as the JSON text of the row the page query gives
        pages = con.execute("SELECT page FROM process_pages WHERE ocid = ?", [ocid]).fetchall()
        found = [json.loads(page) for (page,) in pages]
    else:
        found = rows(con, page_sql(), {"ocid": ocid})
    if not found:
        return None
    p = found[0]
    for item in (*p["awards"], *p["contracts"], *p["lots"]):
        money = format_money(item["value_amount"], item["value_currency"])
        item["value"] = with_tax(money, item["value_includes_tax"])
    for flag in p["flags"]:
        flag["evidence"] = evidence_of(flag["evidence"])
    for statistic in p["bid_statistics"]:
        statistic["label"], statistic["shown"] = statistic_text(statistic)
    lifecycle = (
        rows(con, "SELECT * EXCLUDE (ocid) FROM contract_lifecycle WHERE ocid = ?", [ocid])
        if has_table(con, "contract_lifecycle", tables)
        else []
    )
    events = (
        rows(con, "SELECT * FROM derived_events WHERE ocid = ? ORDER BY event_date", [ocid])
        if has_table(con, "derived_events", tables)
        else []
    )
    copies = rows(
        con, f"SELECT * FROM {copies_table(con, tables)} WHERE ? IN (ocid, original_ocid) ORDER BY ocid", [ocid]
    )
    tender = (p["tender_value_amount"], p["tender_currency"])
    view = ProcessView(
        ocid=ocid,
        title=p["title"],
        description=p["description"],
        is_demo=bool(p["is_demo"]),
        buyer_id=p["buyer_id"],
        buyer_profile=p["buyer_profile"],
        buyer_name=p["buyer_name"],
        publisher=p["publisher"],
        procurement_method=p["procurement_method"],
        procurement_method_details=p["procurement_method_details"],
        rationale=p["rationale"],
        rationale_classifications=p["rationale_classifications"],
        legal_basis=legal_basis_text(p["legal_basis"]),
        tender_status=p["tender_status"],
        tender_value=with_tax(
            estimate_text(*tender, p["tender_min_amount"], p["tender_min_currency"]), p["tender_includes_tax"]
        ),
        tender_period=(p["tender_period_start"], p["tender_period_end"]),
        number_of_tenderers=p["number_of_tenderers"],
        tenderers=p["tenderers"],
        bid_statistics=p["bid_statistics"],
        lots=p["lots"],
        awards=p["awards"],
        contracts=p["contracts"],
        amendments=p["amendments"],
        documents=p["documents"],
        related=p["related"],
        notices=[
            Notice(**notice, url=notice_url(ocid, notice["release_id"], notice["source"])) for notice in p["notices"]
        ],
        flags=p["flags"],
        score=p["score"],
        lifecycle=lifecycle,
        events=events,
        copy_of=next((row["original_ocid"] for row in copies if row["ocid"] == ocid), None),
        copies=[row["ocid"] for row in copies if row["original_ocid"] == ocid],
    )
    view.lifecycle_lines = lifecycle_lines(lifecycle)
    view.charts = _value_chart(view, tender)
    return view


# The lifecycle's statuses in words.
_STATUS_WORDS = {
    "planned": "planned",
    "tendering": "at tender: no award published yet",
    "awarded": "awarded, not started yet",
    "active": "running",
    "ended": "ended",
    "terminated_early": "terminated early",
    "cancelled": "cancelled",
}


def _day(value: Any) -> str | None:
    """The day of a timestamp, as the page writes days (the connection's time zone is the store's)."""
    if value is None:
        return None
    return value.date().isoformat() if hasattr(value, "date") else str(value)[:10]


def _months(value: Any) -> str:
    number = float(value)
    text = f"{abs(number):g}"
    return f"{text} month" if text == "1" else f"{text} months"


def lifecycle_lines(lifecycle: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Say each row of ``contract_lifecycle`` in words: what it is, where it stands, its value and end date when
    first published and now, the options left to extend it, and the notices those facts come from."""
    lines = []
    for row in lifecycle:
        name = row["title"] or row["contract_id"] or row["award_id"] or "the process"
        kind = {"contract": "contract", "award": "award (no contract published yet)"}.get(
            row["row_type"], "process (no award yet)"
        )
        status = _STATUS_WORDS.get(row["status"], row["status"])
        if row["terminated"] and row["termination_date"] is not None:
            status += f" (stopped on {_day(row['termination_date'])})"
        first = with_tax(
            format_money(row["original_value_amount"], row["original_value_currency"]),
            row.get("original_value_includes_tax"),
        )
        now = with_tax(
            format_money(row["current_value_amount"], row["current_value_currency"]),
            row.get("current_value_includes_tax"),
        )
        if row["original_value_amount"] is None or first == now:
            value = now
        else:
            value = f"{first} when first published; {now} now"
            if row["value_growth"] is not None:
                value += f" ({row['value_growth']:+.0%})"
        first_end, end = _day(row["original_end_date"]), _day(row["current_end_date"])
        if end is None and first_end is None:
            ending = "not published"
        elif first_end in (None, end):
            ending = end
        else:
            ending = f"{first_end} when first published; {end} now"
            added = row["months_added"]
            if added:
                ending += f" ({_months(added)} added)" if added > 0 else f" (brought forward by {_months(added)})"
        latest = _day(row["max_extent_date"])
        # options still to use: not for a contract that has ended, was cancelled or was terminated
        if latest and row["extension_months_available"] and row["status"] in ("awarded", "active"):
            latest += f" ({_months(row['extension_months_available'])} of extension options left)"
        months_left = row["months_left"]
        lines.append(
            {
                "name": name,
                "kind": kind,
                "suppliers": "; ".join(row["supplier_names"] or []),
                "status": status,
                "value": value,
                "end": ending,
                "latest_end": latest,
                "months_left": None if months_left is None else _months(months_left),
                "changes": row["amendment_count"] or 0,
                "first_notice": row["original_release_id"],
                "latest_notice": row["current_release_id"],
            }
        )
    return lines


# The bid statistics publishers give (OCDS's bid statistics extension and the UK extension's), in words; the
# amounts among them are written as money.
_STATISTICS = {
    "requests": "requests to take part",
    "bids": "bids received",
    "validBids": "valid bids",
    "electronicBids": "bids made electronically",
    "smeBids": "bids from small and medium-sized firms (SMEs)",
    "foreignBids": "bids from abroad",
    "foreignBidsFromEU": "bids from elsewhere in the EU",
    "foreignBidsFromNonEU": "bids from outside the EU",
    "tendersAbnormallyLow": "bids rejected as abnormally low",
    "disqualifiedBids": "bids disqualified",
    "finalStageBids": "bids assessed at the final stage",
    "smeFinalStageBids": "bids from SMEs assessed at the final stage",
    "vcseFinalStageBids": "bids from voluntary, community and social enterprises assessed at the final stage",
    "lowestValidBidValue": "lowest valid bid",
    "highestValidBidValue": "highest valid bid",
}
_STATISTIC_AMOUNTS = ("lowestValidBidValue", "highestValidBidValue")


def statistic_text(statistic: dict[str, Any]) -> tuple[str, str]:
    """Return a bid statistic's name and value for people: "Bids received", "15"; "Lowest valid bid", "£270,559".
    A measure not known is shown as published."""
    measure, value = statistic["measure"], statistic["value"]
    label = _STATISTICS.get(measure, measure or "statistic")
    label = label[:1].upper() + label[1:]
    if statistic.get("related_lot"):
        label += f" (lot {statistic['related_lot']})"
    if value is None:
        return label, "not published"
    if measure in _STATISTIC_AMOUNTS or statistic.get("currency"):
        return label, format_money(value, statistic.get("currency"))
    number = float(value)
    return label, f"{number:,.0f}" if number.is_integer() else f"{number:,g}"


# Legal bases as publishers give them (scheme and id), in words.
_LEGAL_BASES = {
    "UKPGA 2023/54": "Procurement Act 2023",
    "CELEX 32014L0024": "Directive 2014/24/EU on public procurement "
    "(in the UK, the Public Contracts Regulations 2015)",
    "CELEX 32014L0025": "Directive 2014/25/EU on utilities (in the UK, the Utilities Contracts Regulations 2016)",
    "CELEX 32014L0023": "Directive 2014/23/EU on concessions (in the UK, the Concession Contracts Regulations 2016)",
    "CELEX 32009L0081": "Directive 2009/81/EC on defence and security (in the UK, the Defence and Security Public "
    "Contracts Regulations 2011)",
}


def legal_basis_text(legal_basis: str | None) -> str | None:
    """Return a legal basis in words, followed by its code as published ("Procurement Act 2023 (UKPGA 2023/54)")."""
    if not legal_basis:
        return legal_basis
    words = _LEGAL_BASES.get(legal_basis)
    return f"{words} ({legal_basis})" if words else legal_basis


def estimate_text(amount: Any, currency: str | None, least: Any, least_currency: str | None) -> str | None:
    """Return a tender's estimated value for people: a range where the notice gives a minimum below the value,
    "at least" where the minimum is all it gives (the tenders table then reads the minimum as the value)."""
    if amount is None:
        return None
    if least is not None and least_currency == currency and 0 < least <= amount:
        if least == amount:
            return f"at least {format_money(amount, currency)}"
        return f"{format_money(least, currency)} to {format_money(amount, currency)}"
    return format_money(amount, currency)


def _value_chart(view: ProcessView, tender: tuple[Any, Any]) -> list[Chart]:
    """The value of the process at each stage: estimate, awards, contracts now (in one currency)."""
    points = []
    if tender[0] is not None:
        points.append(("tender estimate", tender[0], tender[1]))
    points += [
        (f"award {award['award_id'] or ''}".strip(), award["value_amount"], award["value_currency"])
        for award in view.awards
    ]
    points += [
        (f"contract {contract['contract_id'] or ''}".strip(), contract["value_amount"], contract["value_currency"])
        for contract in view.contracts
    ]
    points = [point for point in points if point[1] is not None]
    currencies = {point[2] for point in points}
    if len(points) < 2 or len(currencies) != 1:
        return []
    currency = currencies.pop()
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 420,
        "height": 30 * len(points),
        "data": {"values": [{"stage": label, "amount": float(amount)} for label, amount, _ in points]},
        "mark": {"type": "bar", "color": "#1d4f91"},
        "encoding": {
            "y": {"field": "stage", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "amount", "type": "quantitative", "title": f"value ({currency})", "axis": {"format": "~s"}},
        },
    }
    table = [[label, format_money(amount, currency)] for label, amount, _ in points]
    return [Chart("Value at each stage", spec, ["stage", "value"], table)]
