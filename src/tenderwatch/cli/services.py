"""``tenderwatch services``: statutory services at risk. Which processes buy which statutory service (and by which
rule), the continuity risk of each outsourced service, what would happen if a provider walked away, corrections to
the assignments, and subcontracting chains (see docs/statutory-services.md).

The commands (register the sub-app as ``tenderwatch services`` in ``cli/__init__.py``):

- ``services areas``: the service areas with their statutory duties;
- ``services list``: processes assigned to areas, with the rule that assigned each;
- ``services risk``: continuity scores, highest first, with their parts and evidence;
- ``services exit SUPPLIER-OR-GROUP``: the provider-exit scenario;
- ``services assign OCID AREA`` and ``services unassign OCID AREA``: corrections (kept in the overrides file);
- ``services chain OCID``: a contract's subcontracting chain;
- ``services rebuild``: rebuild the services tables now (they are rebuilt after every load);
- ``services check``: check the taxonomy, overrides and subcontracting files;
- ``services accuracy FILE``: precision and recall of the assignment against a labelled sample.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console, error_console
from tenderwatch.exceptions import InputError, unwritable
from tenderwatch.queries import format_money, has_table
from tenderwatch.services import ServicesFileError, build_services, load_services_settings, read_inputs
from tenderwatch.services.accuracy import measure, read_labels
from tenderwatch.services.exit import exit_scenario
from tenderwatch.services.graph import chain_svg, level_name
from tenderwatch.services.overrides import Override, today_text, write_override
from tenderwatch.services.reports import areas, assignments, chain, continuity
from tenderwatch.settings import read_settings_file

app = typer.Typer(
    help="Statutory services at risk: duties that depend on outsourced services, continuity risk, provider exits and "
    "subcontracting chains.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Show at most this many rows.")]


class Band(StrEnum):
    """Bands of the continuity score."""

    high = "high"
    medium = "medium"
    low = "low"


def _settings(settings_file: Path | None) -> Any:
    return load_services_settings(read_settings_file(settings_file))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_plain(value), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _refuse(error: ServicesFileError, what: str) -> None:
    for problem in error.problems:
        error_console.print(f"error: {problem}", markup=False)
    error_console.print(f"{what}: fix the entries above and try again (docs/statutory-services.md)", markup=False)
    raise typer.Exit(1)


def _require(con: Any) -> None:
    """Stop with a one-line error when the services tables have not been built in this store."""
    if not has_table(con, "service_continuity"):
        raise InputError(
            "the statutory-services tables have not been built in this store", "run `tenderwatch services rebuild`"
        )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print(text: str, **style: Any) -> None:
    console.print(text, markup=False, **style)


@app.command("areas")
def areas_command(
    output_json: JsonOption = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the statutory service areas, the duties that rest on each (with their legislation.gov.uk addresses),
    and how many processes and outsourced services each has in the store.

    Example: tenderwatch services areas
    """
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        found = areas(workspace.store.con)
    if output_json:
        _print_json(found)
        return
    if not found:
        _print("no service areas yet: run `tenderwatch services rebuild`")
        return
    for area in found:
        _print(
            f"{area['name']} ({area['area_id']}): {area['processes']:,} processes, {area['services']:,} outsourced "
            f"services, {area['high_risk']:,} at high risk",
            style="bold",
        )
        for duty in area["duties"]:
            _print(f"    {duty['legislation']}, {duty['provision']} <{duty['url']}>")


@app.command("list")
def list_command(
    buyer: Annotated[
        str | None, typer.Option("--buyer", "-b", help="Only processes of this buyer (party id, or part of the name).")
    ] = None,
    area: Annotated[str | None, typer.Option("--area", "-a", help="Only this service area (its id).")] = None,
    ocid: Annotated[str | None, typer.Option("--ocid", help="Only this process.")] = None,
    limit: LimitOption = 50,
    output_json: JsonOption = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List processes assigned to statutory service areas, each with the rule that assigned it and what the rule
    matched (or the correction that put it there).

    Example: tenderwatch services list --buyer "Ravensholt"
    """
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        found = assignments(workspace.store.con, buyer=buyer, area=area, ocid=ocid, per_page=min(limit, 200))
    if output_json:
        _print_json(found.items)
        return
    if not found.items:
        _print(
            "no processes are assigned to a statutory service area"
            + (" for these filters" if buyer or area or ocid else "")
        )
        return
    for item in found.items:
        _print(f"{item['ocid']}  {item['area_name']}  {item['title'] or ''}", style="bold")
        _print(f"    buyer: {item['buyer_name'] or item['buyer_id'] or 'not named'}")
        rule = "a correction in the overrides file" if item["method"] == "override" else f"rule {item['rule_id']}"
        _print(f"    assigned by {rule} ({item['method']}): {item['evidence']}")
    _print(f"{found.total:,} assignments" + (f", {len(found.items)} shown" if found.total > len(found.items) else ""))


@app.command("risk")
def risk_command(
    buyer: Annotated[
        str | None,
        typer.Option("--buyer", "-b", help="Only the services of this public body (its id, or part of its name)."),
    ] = None,
    area: Annotated[str | None, typer.Option("--area", "-a", help="Only this service area (its id).")] = None,
    band: Annotated[Band | None, typer.Option("--band", help="Only services in this band.")] = None,
    limit: LimitOption = 20,
    output_json: JsonOption = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Show the continuity risk of outsourced statutory services, highest first: the score, each part with its
    weight, and the evidence (providers, exits, urgency awards, market, dates, duties).

    Example: tenderwatch services risk --buyer "Ravensholt"
    """
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        found = continuity(
            workspace.store.con, buyer=buyer, area=area, band=band.value if band else None, per_page=min(limit, 200)
        )
    if output_json:
        _print_json(found.items)
        return
    if not found.items:
        _print("no outsourced statutory service is scored" + (" for these filters" if buyer or area or band else ""))
        return
    for item in found.items:
        _print(item["sentence"], style="bold")
        if item["duties"]:
            _print(f"    duties at stake: {'; '.join(item['duties'])}")
        for part in item["parts"]:
            value = "not measured" if part["value"] is None else f"{part['value']:.2f}"
            _print(f"    {part['label']}: {value} (weight {part['weight']})")
        evidence = item["evidence"]
        for provider in evidence.get("providers", []):
            kind = "public" if provider["public"] else "not public"
            _print(f"      provider: {provider['name']}, {_pct(provider['share'])} of the service ({kind})")
        for event in evidence.get("events", []):
            where = event["source_url"] or f"notice {event['release_id']} of {event['ocid']}"
            _print(f"      {event['event_date']} {event['event_type']}: {event['summary']} [{where}]")
        for award in evidence.get("urgency_awards", []):
            _print(f"      urgency award {award['ocid']}: {award['sentence']}")
    _print(f"{found.total:,} services" + (f", {len(found.items)} shown" if found.total > len(found.items) else ""))


@app.command("exit")
def exit_command(
    supplier: Annotated[
        str,
        typer.Argument(help="The supplier (party id, org-id such as GB-COH-01234567, or name) or corporate group."),
    ],
    output_json: JsonOption = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """What if this supplier (or group) walked away? List every statutory service and public body that depends on
    it, the value and the duties at stake, and who else provides the same service nearby.

    Example: tenderwatch services exit "Tresswyn Therapy Services Ltd"
    """
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        scenario = exit_scenario(workspace.store.con, supplier)
    if scenario is None:
        raise InputError(
            f"the store holds no supplier or corporate group {supplier!r}",
            "give a party id, an org-id such as GB-COH-01234567, a name, or a group id (see `tenderwatch org show`)",
        )
    if output_json:
        _print_json({**_plain(scenario), "summary": scenario.summary(), "duties": scenario.duties,
                     "totals": scenario.totals})  # fmt: skip
        return
    _print(scenario.summary(), style="bold")
    for service in scenario.services:
        money = ", ".join(item["text"] for item in service.value) or "no published value"
        state = "in force" if service.in_force else "no contract in force"
        _print(
            f"{service.commissioner_name or service.commissioner_id}: {service.area_name} — {_pct(service.share)} of "
            f"the service, {money} ({state})",
            style="bold",
        )
        for duty in service.duties:
            _print(f"    duty at stake: {duty['legislation']}, {duty['provision']} <{duty['url']}>")
        if service.score is not None:
            _print(f"    continuity risk {service.score:.0f} of 100 ({service.band})")
        for contract in service.contracts:
            _print(
                f"    {contract['ocid']} {contract['title'] or ''}: ends {contract['end_date'] or '?'}"
                + (f", at the latest {contract['latest_possible_end']}" if contract["latest_possible_end"] else "")
                + f" ({contract['status']})"
            )
        where = "nearby" if service.alternatives_scope == "region" else "elsewhere in the country"
        if service.alternatives:
            names = "; ".join(
                f"{item['name']}{' (public)' if item['public'] else ''}" for item in service.alternatives
            )
            _print(f"    other providers {where}: {names}")
        else:
            _print("    no other provider of this service is known")


def _correct(action: str, ocid: str, area: str, reason: str, db: Path | None, settings_file: Path | None) -> None:
    settings = settings_for(db, settings_file)
    services = _settings(settings_file)
    try:
        taxonomy, _, _ = read_inputs(services)
        write_override(services.overrides_file, taxonomy, Override(ocid, area, action, reason, today_text()))
    except ServicesFileError as error:
        _refuse(error, f"{services.overrides_file.name} was not changed")
    with open_workspace(settings) as workspace:
        known = workspace.store.con.execute("SELECT count(*) FROM processes WHERE ocid = ?", [ocid]).fetchall()[0][0]
        result = build_services(workspace.store.con, services)
    verb = "assigned to" if action == "assign" else "taken out of"
    error_console.print(f"{ocid} {verb} {area} in {services.overrides_file}", markup=False)
    if not known:
        error_console.print(
            f"note: the store holds no process {ocid}; the correction applies once it is loaded", markup=False
        )
    error_console.print(result.line(), markup=False)


@app.command("assign")
def assign_command(
    ocid: Annotated[str, typer.Argument(help="The process (ocid).")],
    area: Annotated[str, typer.Argument(help="The service area (its id; see `services areas`).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why: the next reader checks it.")],
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Put a process in a service area whatever the rules say. The correction is kept in the overrides file (the
    `[services] overrides_file` setting), so it survives rebuilds, and the services tables are rebuilt at once.

    Example: tenderwatch services assign ocds-b5fd17-1234 childrens_therapies --reason "speech therapy for pupils"
    """
    _correct("assign", ocid, area, reason, db, settings_file)


@app.command("unassign")
def unassign_command(
    ocid: Annotated[str, typer.Argument(help="The process (ocid).")],
    area: Annotated[str, typer.Argument(help="The service area (its id).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why: the next reader checks it.")],
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Take a process out of a service area whatever the rules say (kept in the overrides file, like `assign`).

    Example: tenderwatch services unassign ocds-b5fd17-1234 adult_social_care --reason "catering, not care"
    """
    _correct("unassign", ocid, area, reason, db, settings_file)


@app.command("chain")
def chain_command(
    ocid: Annotated[str, typer.Argument(help="A public process, or one of its subcontracts.")],
    svg: Annotated[
        Path | None, typer.Option("--svg", help="Also draw the chain as an SVG graph into this file.", dir_okay=False)
    ] = None,
    output_json: JsonOption = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Show the subcontracting chain of a contract: prime contractor, subcontractors and their subcontractors, the
    depth, and the source of every link.

    Example: tenderwatch services chain ocds-twdemo-000002 --svg chain.svg
    """
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        view = chain(workspace.store.con, ocid)
    if view is None:
        raise InputError(
            f"no subcontracting is known for {ocid!r}",
            "check the ocid, or add the links you know to the subcontracting file (docs/statutory-services.md)",
        )
    if svg is not None:
        try:
            svg.write_text(chain_svg(view.buyer_name, view.nodes, view.links), encoding="utf-8")
        except OSError as error:
            raise unwritable(svg, error) from error
    if output_json:
        _print_json(view)
        return
    _print(f"{view.ocid} {view.title or ''} (bought by {view.buyer_name or 'an unnamed buyer'})", style="bold")
    _print(f"subcontracted {view.depth} level{'s' if view.depth != 1 else ''} below the prime contractor")
    if view.path:
        _print(f"deepest path: {view.path}")
    if view.declared and view.description:
        _print(f"the award says: {view.description}")
    for link in view.links:
        _print(
            f"  {level_name(link['level'])} (level {link['level']}): {link['subcontractor_name']}, for "
            f"{link['contractor_name']}"
            + (f", {format_money(link['value_amount'], link['value_currency'])}" if link["value_amount"] else "")
        )
        _print(
            f"      source: {link['source']}: {link['source_detail']}"
            + (f" <{link['source_url']}>" if link["source_url"] else "")
        )
    if svg is not None:
        error_console.print(f"graph written to {svg}", markup=False)


@app.command("rebuild")
def rebuild_command(db: DbOption = None, settings_file: SettingsOption = None) -> None:
    """Rebuild the services tables now from the store and the three files (taxonomy, overrides, subcontracting).
    Loads and rebuilds do this on their own; run it after editing a file.

    Example: tenderwatch services rebuild
    """
    services = _settings(settings_file)
    with open_workspace(settings_for(db, settings_file)) as workspace:
        try:
            result = build_services(workspace.store.con, services)
        except ServicesFileError as error:
            _refuse(error, "the services tables were not rebuilt")
    error_console.print(result.line(), markup=False)


@app.command("check")
def check_command(settings_file: SettingsOption = None) -> None:
    """Check the service-areas file, the overrides file and the subcontracting file named by the settings, without
    opening the store.

    Example: tenderwatch services check
    """
    services = _settings(settings_file)
    try:
        taxonomy, overrides, links = read_inputs(services)
    except ServicesFileError as error:
        _refuse(error, "the files are not valid")
    _print(
        f"{len(taxonomy.areas)} service areas and {len(taxonomy.duties)} duties ({taxonomy.source}); "
        f"{len(overrides)} corrections ({services.overrides_file}); {len(links)} subcontracting links "
        f"({services.subcontracting_file}): all valid"
    )


@app.command("accuracy")
def accuracy_command(
    labels: Annotated[
        Path, typer.Argument(help="A CSV of labelled processes (columns ocid and areas).", dir_okay=False)
    ],
    split: Annotated[str | None, typer.Option("--split", help="Only the rows of this split (dev or test).")] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Measure the assignment against processes labelled by hand: precision and recall per area and overall.

    Example: tenderwatch services accuracy tests/fixtures/services/labelled_notices.csv
    """
    try:
        found = read_labels(labels, split)
    except ServicesFileError as error:
        _refuse(error, f"{labels.name} cannot be used")
    with open_workspace(settings_for(db, settings_file), read_only=True) as workspace:
        _require(workspace.store.con)
        report = measure(workspace.store.con, found)
    for line in report.lines():
        _print(line)
