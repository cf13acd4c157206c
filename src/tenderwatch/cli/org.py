"""``tenderwatch org``: who is who. Show an organisation, correct the matching, load ownership data.

The commands (register them in ``cli/__init__.py``):

- ``tenderwatch org show NAME-OR-ID``: the organisation, its group, identifiers, names, contracts and track record;
- ``tenderwatch org merge A B [...] --reason TEXT``: add a merge rule to the overrides file and resolve again;
- ``tenderwatch org split --name NAME [--postcode PC] --reason TEXT``: add a split rule and resolve again;
- ``tenderwatch org load-ownership FILE``: store beneficial-ownership statements and resolve again;
- ``tenderwatch export organisations [--out FILE]`` (:func:`export_organisations_command`): every party with its
  organisation, group and how it was linked, as CSV.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console, error_console
from tenderwatch.exceptions import InputError, TenderwatchError, unwritable
from tenderwatch.resolve import (
    add_rule,
    load_organisation_settings,
    load_ownership,
    organisation_profile,
    parse_org_id,
    resolve_organisations,
)
from tenderwatch.settings import read_settings_file
from tenderwatch.util import plural

app = typer.Typer(
    help="Organisations: who is who, their corporate groups, and corrections to the matching.", no_args_is_help=True
)

EXPORT_COLUMNS = (
    "ocid",
    "party_id",
    "party_key",
    "name",
    "roles",
    "identifiers",
    "postal_code",
    "organisation_id",
    "organisation_name",
    "link_method",
    "link_score",
    "link_detail",
    "group_id",
    "group_name",
    "ultimate_parent_id",
    "ultimate_parent_name",
)


def _org_settings(settings_file: Path | None) -> Any:
    return load_organisation_settings(read_settings_file(settings_file))


def _money(amount: Any, currency: Any) -> str:
    if amount is None:
        return "-"
    return f"{float(amount):,.0f} {currency or ''}".strip()


def _show_text(profile: Any) -> None:
    org = profile.organisation
    out = console.print
    out(f"{org['name']}  [{org['organisation_id']}]", markup=False)
    out(f"  in {plural(org['processes'], 'process', 'processes')} as {', '.join(org['roles'] or [])}", markup=False)
    if org.get("group_id"):
        out(f"  group: {org['group_name']} ({org['group_source']})", markup=False)
    for link in profile.group_chain:
        out(
            f"    {link['child_name']} → {link['parent_name']}: {link['relation']} (as of {link['as_of']}; "
            f"{link['source_url'] or link['source_title']})",
            markup=False,
        )
    if profile.identifiers:
        out("identifiers: " + ", ".join(item["identifier"] for item in profile.identifiers), markup=False)
    out("names seen: " + "; ".join(f"{item['name']} ({item['parties']})" for item in profile.names), markup=False)
    out(
        "matched by: " + ", ".join(f"{item['link_method']} ({item['parties']})" for item in profile.link_methods),
        markup=False,
    )
    for title, totals in (("as supplier", profile.supplier_totals), ("as buyer", profile.buyer_totals)):
        if totals:
            out(f"awards {title}, by year:", markup=False)
            for row in totals:
                out(
                    f"  {row['year'] or 'no date'}  {plural(row['awards'], 'award'):>12}  "
                    f"{_money(row['amount'], row['currency'])}",
                    markup=False,
                )
    if profile.group_totals:
        out("group totals, by year:", markup=False)
        for row in profile.group_totals:
            out(
                f"  {row['role']:<8} {row['year'] or 'no date'}  {plural(row['awards'], 'award'):>12}  "
                f"{_money(row['amount'], row['currency'])}",
                markup=False,
            )
    for title, contracts in (
        ("latest awards as supplier", profile.supplier_contracts),
        ("latest awards as buyer", profile.buyer_contracts),
    ):
        if contracts:
            out(f"{title}:", markup=False)
            for row in contracts[:10]:
                other = row.get("buyer_name") or row.get("suppliers") or ""
                date = str(row["date"])[:10] if row["date"] else "no date"
                out(
                    f"  {date}  {row['ocid']}  {_money(row['amount'], row['currency'])}  {other}  "
                    f"{(row['title'] or '')[:60]}",
                    markup=False,
                )
    if profile.timeline:
        out("track record:", markup=False)
        for event in profile.timeline:
            out(
                f"  {str(event.get('event_date') or '')[:10]}  {event.get('event_type')}: {event.get('summary') or ''}"
                f"  (matched by {event['matched_by']}; {event.get('source_url') or event.get('ocid') or ''})",
                markup=False,
            )
    else:
        out("track record: no events recorded", markup=False)
    if profile.alternatives:
        out(
            "other organisations with this name: "
            + "; ".join(f"{item['name']} [{item['organisation_id']}]" for item in profile.alternatives[:10]),
            markup=False,
        )


@app.command("show")
def show_command(
    name_or_id: Annotated[
        str,
        typer.Argument(help="A name (or part of one), an identifier such as GB-COH-00242246, or an organisation id."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Awards listed as supplier and as buyer.", min=0)] = 50,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Show one organisation: its corporate group with sources, identifiers, names seen, awards as supplier and
    as buyer with totals by year, and its track record.

    Example: tenderwatch org show "Serco Ltd"
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        profile = organisation_profile(workspace.store.con, name_or_id, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(profile.as_json(), indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        _show_text(profile)


def _selector(text: str) -> dict[str, str]:
    identifier = parse_org_id(text)
    return {"identifier": identifier} if identifier else {"name": text}


def _resolve_again(db: Path | None, settings_file: Path | None) -> None:
    settings = settings_for(db, settings_file)
    if not Path(settings.db).exists():
        return
    with open_workspace(settings) as workspace:
        result = resolve_organisations(workspace.store.con, _org_settings(settings_file))
    error_console.print(
        f"resolved {result.parties:,} parties into {result.organisations:,} organisations", markup=False
    )
    for label in result.unmatched_rules:
        error_console.print(f"warning: override {label} matches no party", markup=False)


@app.command("merge")
def merge_command(
    parties: Annotated[
        list[str],
        typer.Argument(
            help="Two or more names or identifiers (GB-COH-00242246) of the parties that are one organisation."
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why they are one organisation (kept in the file).")],
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Record that parties are one organisation, in the overrides file, and resolve again.

    Example: tenderwatch org merge "Serco Ltd" GB-COH-00242246 --reason "same company, number missing"
    """
    if len(parties) < 2:
        raise InputError("give at least two names or identifiers to merge")
    path = _org_settings(settings_file).overrides_file
    rule = add_rule(path, "merge", [_selector(item) for item in parties], reason)
    error_console.print(f"added {rule.label()} to {path}", markup=False)
    _resolve_again(db, settings_file)


@app.command("split")
def split_command(
    reason: Annotated[str, typer.Option("--reason", help="Why these parties are another organisation.")],
    name: Annotated[str | None, typer.Option("--name", help="Parties with this name (compared normalised).")] = None,
    identifier: Annotated[str | None, typer.Option("--identifier", help="Parties with this identifier.")] = None,
    postcode: Annotated[str | None, typer.Option("--postcode", help="Only those at this postcode.")] = None,
    ocid: Annotated[str | None, typer.Option("--ocid", help="One party: its process (with --party-id).")] = None,
    party_id: Annotated[str | None, typer.Option("--party-id", help="One party: its id in the process.")] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Record that some parties are an organisation apart from the one they were matched to, in the overrides
    file, and resolve again.

    Example: tenderwatch org split --name "Acme Care" --postcode "AB1 2CD" --reason "another Acme Care"
    """
    selector = {
        key: value
        for key, value in (
            ("name", name),
            ("identifier", identifier),
            ("postcode", postcode),
            ("ocid", ocid),
            ("party_id", party_id),
        )
        if value
    }
    if not selector:
        raise InputError("say which parties to split off", "give --name, --identifier, or --ocid and --party-id")
    path = _org_settings(settings_file).overrides_file
    rule = add_rule(path, "split", [selector], reason)
    error_console.print(f"added {rule.label()} to {path}", markup=False)
    _resolve_again(db, settings_file)


@app.command("load-ownership")
def load_ownership_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A Beneficial Ownership Data Standard file: a JSON array of "
            "statements, or JSON lines of statements or arrays.",
            dir_okay=False,
        ),
    ],
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Store the company and ownership statements of a BODS file (people's statements are left out), then
    resolve corporate groups again. A statement already stored is not stored twice. The companies' incorporation
    dates also serve the red flag TW108 (supplier incorporated shortly before the award): `tenderwatch flags`
    works it out again with them.

    Example: tenderwatch org load-ownership register.jsonl
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings) as workspace:
        stored, already, people = load_ownership(workspace.store.con, path)
        error_console.print(
            f"{path}: {stored:,} statements stored, {already:,} already stored, {people:,} "
            "statements about people left out",
            markup=False,
        )
        result = resolve_organisations(workspace.store.con, _org_settings(settings_file))
    error_console.print(f"{result.groups:,} corporate groups with organisations in the data", markup=False)


def export_organisations_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (CSV). Default: standard output.", dir_okay=False)
    ] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Write every party (one row per process and party) with its canonical organisation, its group and how it
    was matched, as CSV, for anyone who wants to check or reuse the matching.

    Example: tenderwatch export organisations --out organisations.csv
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        con = workspace.store.con
        if "organisation_parties" not in workspace.store.table_names():
            raise TenderwatchError("the store has no organisation tables yet", "run `tenderwatch rebuild`")
        cursor = con.execute(
            """
            SELECT p.ocid, p.party_id, p.party_key, p.name, array_to_string(p.roles, ';'),
                   array_to_string(p.identifiers, ';'), p.postal_code, p.organisation_id, o.name, p.link_method,
                   p.link_score, p.link_detail, o.group_id, o.group_name, o.ultimate_parent_id, o.ultimate_parent_name
            FROM organisation_parties AS p LEFT JOIN organisations AS o USING (organisation_id)
            ORDER BY p.organisation_id, p.ocid, p.party_key
            """
        )
        try:
            handle = sys.stdout if out is None else out.open("w", encoding="utf-8", newline="")
        except OSError as error:
            raise unwritable(out, error) from error
        count = 0
        try:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            while rows := cursor.fetchmany(10_000):
                writer.writerows(rows)
                count += len(rows)
        finally:
            if out is not None:
                handle.close()
    error_console.print(f"exported {count:,} parties", markup=False)
