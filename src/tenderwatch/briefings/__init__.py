"""Briefing packs: the facts of a contract, buyer or supplier with their sources, the questions they raise,
and ready drafts of a Freedom of Information request and a public question.

Every fact, flag and question carries the number of its source in the pack's numbered source list, and every
source is a public notice (with its link where the publisher is known) or the register entry it came from.
Questions are generated from specific facts and flags by the rules in :mod:`tenderwatch.briefings.questions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from tenderwatch.queries import Chart, format_money
from tenderwatch.queries.organisation import Profile, profile
from tenderwatch.queries.process import Notice, ProcessView, process_view
from tenderwatch.util import plural


@dataclass
class Source:
    """One numbered source: a notice or a register entry."""

    number: int
    label: str
    url: str | None
    where: str | None = None


@dataclass
class Fact:
    """One fact with the source it came from."""

    label: str
    text: str
    source: int | None
    ocid: str | None = None  # for a track-record event, the process it is about


@dataclass
class Question:
    """A question for scrutiny, the fact or flag that raises it, and its source."""

    text: str
    because: str
    source: int | None


@dataclass
class Brief:
    """A briefing pack."""

    kind: str
    key: str
    title: str
    subtitle: str
    is_demo: bool
    facts: list[Fact]
    timeline: list[Fact]
    charts: list[Chart]
    flags: list[Fact]
    track_record: list[Fact]
    questions: list[Question]
    foi_request: str
    public_question: str
    sources: list[Source]
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%d %B %Y"))
    earlier_failures: list[Fact] = field(default_factory=list)
    """For a process: contracts of the same buyer, or of public bodies in the same region, that failed before."""
    earlier_failures_where: str = ""


class _Sources:
    """Numbers sources in the order they are first cited."""

    def __init__(self) -> None:
        self.items: list[Source] = []
        self._index: dict[tuple[str, str | None], int] = {}

    def cite(self, label: str, url: str | None, where: str | None = None) -> int:
        key = (label, url)
        if key not in self._index:
            self.items.append(Source(len(self.items) + 1, label, url, where))
            self._index[key] = len(self.items)
        return self._index[key]

    def notice(self, ocid: str, notice: Notice | None) -> int | None:
        if notice is None:
            return None
        tags = ", ".join(notice.tags) or "notice"
        where = None if notice.url else f"{notice.source_name}{(' ' + notice.pointer) if notice.pointer else ''}"
        published = notice.when or notice.date
        return self.cite(f"{tags} notice {notice.release_id} of {ocid}, published {published}", notice.url, where)


def _latest(notices: list[Notice], *tags: str, otherwise: str = "last") -> Notice | None:
    """Return the latest notice carrying one of the tags (tender, award, contract...), else the first or last notice
    (``otherwise``): the facts of a tender usually come with the earliest notice, those of a contract the latest."""
    tagged = [notice for notice in notices if any(tag.lower().startswith(tags) for tag in notice.tags)]
    if tagged:
        return tagged[-1]
    if not notices:
        return None
    return notices[0] if otherwise == "first" else notices[-1]


def build_brief(con: duckdb.DuckDBPyConnection, kind: str, key: str) -> Brief | None:
    """Build the briefing pack of a process (``kind`` = process), buyer or supplier, or None if it is unknown."""
    from tenderwatch.services.briefing import extend_brief  # noqa: PLC0415

    if kind == "process":
        view = process_view(con, key)
        brief = _process_brief(con, view) if view else None
    else:
        found = profile(con, kind, key)
        brief = _profile_brief(con, found) if found else None
    if brief is not None:
        extend_brief(con, brief)  # the statutory duties at stake and, for a supplier, what its exit would leave
    return brief


def _process_brief(con: duckdb.DuckDBPyConnection, view: ProcessView) -> Brief:
    from tenderwatch.briefings.questions import foi_request, process_questions, public_question  # noqa: PLC0415

    sources = _Sources()
    tender = sources.notice(view.ocid, _latest(view.notices, "tender", "planning", otherwise="first"))
    award = sources.notice(view.ocid, _latest(view.notices, "award", otherwise="first"))
    contract = sources.notice(view.ocid, _latest(view.notices, "contract"))
    facts = [Fact("Buyer", view.buyer_name or "not published", tender or award)]
    method = view.procurement_method_details or view.procurement_method or "not published"
    if view.procurement_method:
        method += f" (OCDS method: {view.procurement_method})"
    facts.append(Fact("How it was bought", method, tender or award))
    if view.rationale:
        facts.append(Fact("Reason given for the procedure", view.rationale, tender or award))
    if view.rationale_classifications:
        facts.append(Fact("Legal ground (code)", ", ".join(view.rationale_classifications), tender or award))
    if view.legal_basis:
        facts.append(Fact("Legal basis", view.legal_basis, tender or award))
    if view.tender_value:
        facts.append(Fact("Estimated value", view.tender_value, tender))
    for item in view.awards:
        suppliers = (
            "; ".join(supplier["name"] or supplier["id"] or "" for supplier in item["suppliers"]) or "not named"
        )
        text = f"{item['value']} to {suppliers}"
        if item["date"]:
            text += f", on {item['date']}"
        facts.append(Fact(f"Award {item['award_id'] or ''}".strip(), text, award))
    for item in view.contracts:
        text = f"{item['value']} now; runs {item['start'] or '?'} to {item['end'] or '?'}"
        if item["max_extent"] and item["max_extent"] != item["end"]:
            text += f", and up to {item['max_extent']} if every extension is used"
        if item["status"]:
            text += f"; status {item['status']}"
        if item["amendment_count"]:
            text += f"; changed {item['amendment_count']} time(s) since it was signed"
        facts.append(Fact(f"Contract {item['contract_id'] or ''}".strip(), text, contract))
    if view.number_of_tenderers is not None:
        facts.append(Fact("Bids received", str(view.number_of_tenderers), award or tender))
    if view.tenderers:
        names = "; ".join(item["name"] or item["party_id"] or "" for item in view.tenderers)
        facts.append(Fact("Bidders", names, award or tender))
    subcontracts = [item for item in view.related if "subContract" in (item["relationship"] or [])]
    if subcontracts:
        names = "; ".join(item["title"] or item["identifier"] or "" for item in subcontracts)
        facts.append(Fact("Subcontracts published", names, contract or award))

    timeline = [
        Fact(
            notice.date[:10] if notice.date else "undated",
            f"{', '.join(notice.tags) or 'notice'}: {notice.release_id}",
            sources.notice(view.ocid, notice),
        )
        for notice in view.notices
    ]
    for item in view.amendments:
        timeline.append(
            Fact(
                item["date"] or "undated",
                f"{item['scope']} changed: {item['description'] or item['rationale'] or ''}",
                sources.notice(view.ocid, next((n for n in view.notices if n.release_id == item["release_id"]), None))
                or contract
                or tender,
            )
        )
    timeline.sort(key=lambda fact: fact.label)
    flags = [Fact(flag["code"], flag["sentence"] or "", award or tender) for flag in view.flags]
    # the suppliers' records, then the other bidders' (each party as it appears in this process: a party id such as
    # Contracts Finder's "0" names a different organisation in every process)
    seen: set[str] = set()
    suppliers = [supplier["id"] for item in view.awards for supplier in item["suppliers"] if supplier["id"]]
    track_record = _track_record(con, view.ocid, suppliers, sources, seen)
    bidders = [item["party_id"] for item in view.tenderers if item["party_id"] and item["party_id"] not in suppliers]
    bidders_record = _track_record(con, view.ocid, bidders, sources, seen)
    earlier, region = _earlier_failures(con, view.ocid, sources)
    questions = process_questions(
        view,
        facts,
        flags,
        track_record,
        {"tender": tender, "award": award, "contract": contract},
        earlier,
        bidders_record,
    )
    track_record = sorted(track_record + bidders_record, key=lambda fact: fact.label)
    return Brief(
        kind="process",
        key=view.ocid,
        title=view.title,
        subtitle=f"Contracting process {view.ocid}, bought by {view.buyer_name or 'an unnamed buyer'}",
        is_demo=view.is_demo,
        facts=facts,
        timeline=timeline,
        charts=view.charts,
        flags=flags,
        track_record=track_record,
        earlier_failures=earlier,
        earlier_failures_where=region,
        questions=questions,
        foi_request=foi_request(
            view.buyer_name, view.title, view.ocid, questions, view, earlier_failures=bool(earlier)
        ),
        public_question=public_question(view.buyer_name, view.title, facts, questions),
        sources=sources.items,
    )


def _profile_brief(con: duckdb.DuckDBPyConnection, found: Profile) -> Brief:
    from tenderwatch.briefings.questions import (  # noqa: PLC0415
        profile_foi_request,
        profile_questions,
        public_question,
    )

    sources = _Sources()
    summary = sources.cite(
        f"tenderwatch summary of the {found.kind}'s published notices (each listed on its page)",
        None,
        f"{'buyers' if found.kind == 'buyer' else 'suppliers'}/{found.party_id}",
    )
    facts = [Fact("Name", found.name, summary)]
    if len(found.names_seen) > 1:
        facts.append(Fact("Also published as", "; ".join(found.names_seen[1:6]), summary))
    if found.identifiers:
        facts.append(
            Fact("Identifiers", ", ".join(f"{i['scheme']} {i['identifier']}" for i in found.identifiers), summary)
        )
    for total in found.totals:
        facts.append(
            Fact(
                f"Total awarded ({total['currency'] or 'no currency'})",
                f"{total['total_text']} in {plural(total['awards'], 'award')} across "
                f"{plural(total['processes'], 'process', 'processes')}",
                summary,
            )
        )
    for item in found.counterparts[:5]:
        share = f" ({(item['share'] or 0):.0%} of the value)" if item["share"] else ""
        label = "Supplier" if found.kind == "buyer" else "Buyer"
        facts.append(Fact(label, f"{item['name'] or item['counterpart_id']}: {item['total_text']}{share}", summary))
    direct = sum(item["processes"] for item in found.procedures if item.get("class") == "non_competitive")
    every = sum(item["processes"] for item in found.procedures)
    if every:
        facts.append(
            Fact(
                "Awarded without competition",
                f"{direct} of {plural(every, 'process', 'processes')} (direct or limited)",
                summary,
            )
        )
    for item in found.ending_soon[:10]:
        facts.append(
            Fact(
                "Ends soon",
                f"{item['title'] or item['ocid']}: {item['ends']}"
                + (f" (at the latest {item['max_extent']})" if item["max_extent"] else "")
                + f", {item['value']}",
                sources.cite(f"process {item['ocid']}", None, item["ocid"]),
            )
        )
    flags = [
        Fact(
            flag["code"],
            flag["sentence"] or "",
            sources.cite(f"process {flag['ocid']}", None, flag["ocid"]) if flag["ocid"] else summary,
        )
        for flag in found.flags[:40]
    ]
    track_record = _track_record(con, None, [found.party_id] if found.kind == "supplier" else [], sources, set())
    questions = profile_questions(found, facts, flags, track_record, summary)
    buyer_name = (
        found.name if found.kind == "buyer" else (found.counterparts[0]["name"] if found.counterparts else None)
    )
    return Brief(
        kind=found.kind,
        key=found.party_id,
        title=found.name,
        subtitle=f"{found.kind.capitalize()} profile ({found.party_id})",
        is_demo=found.is_demo,
        facts=facts,
        timeline=[
            Fact(
                str(row["year"]),
                f"{plural(row['processes'], 'process', 'processes')}, {format_money(row['total'], row['currency'])}",
                summary,
            )
            for row in found.by_year
        ],
        charts=found.charts,
        flags=flags,
        track_record=track_record,
        questions=questions,
        foi_request=profile_foi_request(found, buyer_name),
        public_question=public_question(buyer_name, found.name, facts, questions),
        sources=sources.items,
    )


# Events in the notices that show an outsourced contract failing: what the lessons of earlier failures are drawn from.
FAILURE_EVENTS = (
    "terminated_early",
    "ended_early",
    "provider_exit",
    "performance_failure",
    "kpi_below",
    "payment_to_buyer",
    "supplier_removed",
)
EARLIER_FAILURES = 5


def _earlier_failures(con: duckdb.DuckDBPyConnection, ocid: str, sources: _Sources) -> tuple[list[Fact], str]:
    """The latest failures of other contracts of the same buyer (by name), else of public bodies in the buyer's
    region (as its address gives it), from ``derived_events``: up to :data:`EARLIER_FAILURES`, the buyer's own
    first; and the region."""
    from tenderwatch.queries import has_table, rows  # noqa: PLC0415

    if not has_table(con, "derived_events"):
        return [], ""
    found = rows(
        con,
        """
        WITH here AS (
            SELECT p.ocid, lower(trim(p.buyer_name)) AS buyer, nullif(lower(trim(b.region)), '') AS region,
                   b.region AS region_name
            FROM processes AS p
            LEFT JOIN parties AS b ON b.ocid = p.ocid AND b.party_id = p.buyer_id AND NOT b.repeated
            WHERE p.ocid = ?
            LIMIT 1
        )
        SELECT d.event_date, d.ocid, d.release_id, d.buyer_name, d.summary, h.region_name,
               lower(trim(d.buyer_name)) = h.buyer AS same_buyer
        FROM derived_events AS d
        CROSS JOIN here AS h
        LEFT JOIN parties AS b ON b.ocid = d.ocid AND b.party_id = d.buyer_id AND NOT b.repeated
        WHERE d.ocid <> h.ocid AND list_contains(?, d.event_type)
          AND (lower(trim(d.buyer_name)) = h.buyer OR lower(trim(b.region)) = h.region)
        ORDER BY same_buyer DESC, d.event_date DESC NULLS LAST, d.event_id
        LIMIT ?
        """,
        [ocid, list(FAILURE_EVENTS), EARLIER_FAILURES],
    )
    facts = [
        Fact(
            str(row["event_date"] or "undated"),
            row["summary"] or "",
            sources.cite(f"notice {row['release_id']} of {row['ocid']}", None, row["ocid"]),
            row["ocid"],
        )
        for row in found
    ]
    return facts, next((row["region_name"] for row in found if row["region_name"]), "")


def _track_record(
    con: duckdb.DuckDBPyConnection, ocid: str | None, party_ids: list[str], sources: _Sources, seen: set[str]
) -> list[Fact]:
    """Events in the record of organisations and their groups: curated in the register (each with its public
    source) and found in the notices (each with its notice); events in ``seen`` are left out, and those given are
    added to it.

    With ``ocid``, each party id is the id of a party of that process, and its names, identifiers and organisation
    are those of that party there; without, a party id is a profile's key (an organisation id, or a party id as
    published)."""
    from tenderwatch.queries import has_table, rows  # noqa: PLC0415
    from tenderwatch.queries.organisation import organisation_of, track_record_of  # noqa: PLC0415

    facts: list[Fact] = []
    # with ocid: the party of that process; without: a profile's key
    where = "ocid = $ocid AND party_id = $party" if ocid else "party_id = $party"
    for party_id in party_ids:
        params = {"ocid": ocid, "party": party_id} if ocid else {"party": party_id}
        named = f"SELECT name FROM award_suppliers WHERE {where} AND name IS NOT NULL"
        if ocid:  # a bidder is named in parties, not in the awards
            named += f" UNION SELECT name FROM parties WHERE {where} AND name IS NOT NULL"
        names = [row["name"] for row in rows(con, f"SELECT DISTINCT name FROM ({named}) ORDER BY name", params)]
        identifiers = [
            row["org_id"]
            for row in rows(
                con,
                "SELECT DISTINCT scheme || '-' || identifier AS org_id FROM party_identifiers "
                f"WHERE {where} AND scheme IS NOT NULL ORDER BY 1",
                params,
            )
        ]
        key: str | None = party_id
        if ocid:  # the organisation this party of this process was matched to (a profile key is one already)
            key = None
            if has_table(con, "organisation_parties"):
                sql = f"SELECT min(organisation_id) AS organisation_id FROM organisation_parties WHERE {where}"
                key = rows(con, sql, params)[0]["organisation_id"]
        organisation = organisation_of(con, "supplier", key) if key else None
        for event in track_record_of(con, identifiers, names, organisation):
            if event["event_id"] in seen:
                continue
            seen.add(event["event_id"])
            if event["origin"] == "register":
                source = sources.cite(event.get("source_title") or "register entry", event.get("source_url"))
            else:
                label = f"notice {event.get('release_id')} of {event.get('ocid')}"
                source = sources.cite(label, None, event.get("ocid"))
            text = event.get("summary") or event.get("event_type") or ""
            if event.get("amount_text"):
                text = f"{text} ({event['amount_text']})"
            facts.append(Fact(event.get("date") or "", text, source, event.get("ocid")))
    facts.sort(key=lambda fact: fact.label)
    return facts


def as_dict(brief: Brief) -> dict[str, Any]:
    """Return the pack as plain data (for the JSON API)."""
    import dataclasses  # noqa: PLC0415

    data = dataclasses.asdict(brief)
    for chart in data["charts"]:
        chart.pop("spec", None)
    return data
