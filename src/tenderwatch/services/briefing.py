"""The statutory-services part of a briefing pack: the duties at stake, the continuity risk, what would happen if
the provider walked away, and the subcontracting chain, each fact citing its source, with the questions they raise.

:func:`extend_brief` adds them to a pack built by :func:`tenderwatch.briefings.build_brief`:

- a **process** pack: the service areas the process buys and the duties resting on them, the continuity risk of
  that service for its buyer, the exit scenario of each of its suppliers, and its subcontracting chain;
- a **supplier** pack: the exit scenario (every statutory service and public body that depends on it);
- a **buyer** pack: the continuity risk of each of its outsourced statutory services.

Duties cite their provision on legislation.gov.uk; services, scores and scenarios cite the notices they rest on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from tenderwatch.queries import evidence_of, has_table, rows
from tenderwatch.services.exit import AmbiguousSupplierError, exit_scenario
from tenderwatch.services.reports import buyer_continuity, chain

if TYPE_CHECKING:
    from tenderwatch.briefings import Brief


def _cite(brief: Brief, label: str, url: str | None, where: str | None = None) -> int:
    """Return the number of a source in the pack, adding it when it is not there yet."""
    from tenderwatch.briefings import Source  # noqa: PLC0415 - the briefings package imports the queries

    for source in brief.sources:
        if (source.label, source.url) == (label, url):
            return source.number
    brief.sources.append(Source(len(brief.sources) + 1, label, url, where))
    return len(brief.sources)


def _notices(brief: Brief, ocids: list[str]) -> int | None:
    if not ocids:
        return None
    shown = ", ".join(ocids[:6]) + (" and more" if len(ocids) > 6 else "")
    return _cite(brief, f"the notices of {shown}", None, ocids[0])


def _duty(brief: Brief, duty: dict[str, Any]) -> int:
    return _cite(brief, f"{duty['legislation']}, {duty['provision']} (legislation.gov.uk)", duty["url"])


def extend_brief(con: duckdb.DuckDBPyConnection, brief: Brief) -> Brief:
    """Add the statutory-services facts and questions to a briefing pack (in place) and return it. A store or
    snapshot without the services tables leaves the pack as it is."""
    if not has_table(con, "service_continuity"):
        return brief
    if brief.kind == "process":
        _process(con, brief)
    elif brief.kind == "supplier":
        _supplier(con, brief, brief.key)
    elif brief.kind == "buyer":
        _buyer(con, brief)
    return brief


def _fact(brief: Brief, label: str, text: str, source: int | None) -> None:
    from tenderwatch.briefings import Fact  # noqa: PLC0415

    brief.facts.append(Fact(label, text, source))


def _question(brief: Brief, text: str, because: str, source: int | None) -> None:
    from tenderwatch.briefings import Question  # noqa: PLC0415

    brief.questions.append(Question(text, because, source))


def _process(con: duckdb.DuckDBPyConnection, brief: Brief) -> None:
    ocid = brief.key
    assigned = rows(con, "SELECT * FROM service_assignments WHERE ocid = ? ORDER BY area_name", [ocid])
    notice = _notices(brief, [ocid])
    for item in assigned:
        duties = rows(con, "SELECT * FROM service_duties WHERE area_id = ? ORDER BY position", [item["area_id"]])
        how = "a correction by a user" if item["method"] == "override" else f"rule {item['rule_id']}"
        _fact(brief, "Statutory service", f"{item['area_name']} (assigned by {how}: {item['evidence']})", notice)
        for duty in duties:
            _fact(brief, "Statutory duty at stake", f"{duty['legislation']}, {duty['provision']}: {duty['summary']}",
                  _duty(brief, duty))  # fmt: skip
        scored = rows(
            con,
            "SELECT * FROM service_continuity WHERE area_id = ? AND commissioner_id IN "
            "(SELECT commissioner_id FROM service_contracts WHERE ocid = ? AND area_id = ?) ORDER BY score DESC",
            [item["area_id"], ocid, item["area_id"]],
        )
        for service in scored:
            source = _notices(brief, list(_evidence(service).get("processes", [])))
            _fact(brief, "Continuity risk", service["sentence"], source)
            if service["band"] == "high" and duties:
                _question(
                    brief,
                    f"If the provider of {item['area_name'].lower()} for {service['commissioner_name']} stopped "
                    f"tomorrow, how would the duty under {duties[0]['legislation']}, {duties[0]['provision']} be met, "
                    "and where is the written contingency plan?",
                    f"The service scores {service['score']:.0f} of 100 for continuity risk.",
                    source,
                )
    suppliers = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT supplier_party_id FROM service_contracts "
            "WHERE ocid = ? AND supplier_party_id IS NOT NULL",
            [ocid],
        ).fetchall()
    ]
    for party_id in suppliers:
        _supplier(con, brief, party_id, brief_of_process=True)
    view = chain(con, ocid)
    if view is not None and view.links:
        source = _notices(brief, sorted({link["ocid"] for link in view.links if link["ocid"]}))
        _fact(
            brief,
            "Subcontracting chain",
            f"{view.depth} level{'s' if view.depth != 1 else ''} below the prime contractor: {view.path}",
            source,
        )
        if view.depth >= 2:
            _question(
                brief,
                "Who actually delivers this service, what does each level of the subcontracting chain do and charge, "
                "and how does the buyer hold each of them to the contract's standards?",
                f"The work is passed down {view.depth} levels: {view.path}.",
                source,
            )


def _evidence(service: dict[str, Any]) -> dict[str, Any]:
    return evidence_of(service.get("evidence"))


def _supplier(con: duckdb.DuckDBPyConnection, brief: Brief, key: str, *, brief_of_process: bool = False) -> None:
    try:
        scenario = exit_scenario(con, key)
    except AmbiguousSupplierError:
        return
    if scenario is None or not scenario.services:
        return
    ocids = sorted({contract["ocid"] for service in scenario.services for contract in service.contracts})
    source = _notices(brief, ocids)
    _fact(brief, "If this supplier walked away" if not brief_of_process else "If the supplier walked away",
          scenario.summary(), source)  # fmt: skip
    if brief_of_process:
        return
    for service in scenario.services:
        share = f"{service.share:.0%} of it" if service.share is not None else "part of it"
        others = "; ".join(item["name"] for item in service.alternatives[:3]) or "no other provider is known"
        where = "nearby" if service.alternatives_scope == "region" else "elsewhere"
        service_source = _notices(brief, sorted({contract["ocid"] for contract in service.contracts}))
        _fact(
            brief,
            "Depends on it",
            f"{service.area_name} for {service.commissioner_name}: {share}"
            f"{', a contract in force' if service.in_force else ''}; other providers {where}: {others}",
            service_source,
        )
        for duty in service.duties:
            _duty(brief, duty)
    duties = scenario.duties
    if duties:
        first = duties[0]
        _question(
            brief,
            f"Which public bodies have assessed what would happen to their statutory duties (such as "
            f"{first['legislation']}, {first['provision']}) if {scenario.label} stopped providing these services, "
            "and what would replace it?",
            scenario.summary(),
            _duty(brief, first),
        )


def _buyer(con: duckdb.DuckDBPyConnection, brief: Brief) -> None:
    found = buyer_continuity(con, brief.key)
    if found is None:
        return
    for service in found["services"]:
        evidence = service["evidence"]
        source = _notices(brief, list(evidence.get("processes", [])))
        _fact(brief, "Outsourced statutory service", service["sentence"], source)
        for duty in evidence.get("duties", []):
            _fact(brief, "Statutory duty at stake", f"{duty['legislation']}, {duty['provision']}: {duty['summary']}",
                  _duty(brief, duty))  # fmt: skip
        if service["band"] == "high":
            _question(
                brief,
                f"What is the council's or commissioner's plan if the provider of {service['area_name'].lower()} "
                "leaves, and is there an in-house or public fallback?",
                service["sentence"],
                source,
            )
