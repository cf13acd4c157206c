"""``tenderwatch status``: what the store holds."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console
from tenderwatch.util import plural


def command(
    rejects: Annotated[
        bool, typer.Option("--rejects", help="List the most recent rejects with where they were and why.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many rejects to list with --rejects.", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Show what the store holds: releases and processes by publisher and ocid prefix, dates, tables,
    processes that copy another's notices, rejects.

    Example: tenderwatch status --rejects
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        status = workspace.status()
        rows = workspace.rejects(limit) if rejects else []
    if as_json:
        data = dataclasses.asdict(status)
        if rejects:
            data["recent_rejects"] = [dataclasses.asdict(row) for row in rows]
        console.print_json(json.dumps(data))
        return
    out = console.print
    out(f"store: {status.path}", markup=False)
    out(
        f"{status.releases:,} releases ({status.compiled_releases:,} of them publishers' compiled releases) "
        f"in {plural(status.processes, 'process', 'processes')}, from {plural(status.loads, 'run')}",
        markup=False,
    )
    if status.first_release_date:
        out(f"release dates: {status.first_release_date[:10]} to {status.last_release_date[:10]}", markup=False)
    if status.publishers:
        out("by ocid prefix and publisher:", markup=False)
        width = max(14, *(len(item.ocid_prefix or "(no registered prefix)") for item in status.publishers))
        for item in status.publishers:
            prefix = item.ocid_prefix or "(no registered prefix)"
            publisher = item.publisher or "(no package)"
            if item.is_demo:
                publisher = "DEMO DATA, fictional: " + publisher
            out(
                f"  {prefix:<{width}} {publisher[:60]:<60} {item.processes:>9,} processes "
                f"{item.releases:>10,} releases",
                markup=False,
            )
    out("tables:", markup=False)
    for name, count in status.table_rows.items():
        out(f"  {name:<22} {count:>12,} rows", markup=False)
    if status.copies:
        out(
            f"{plural(status.copies, 'process', 'processes')} republish another's notices under another ocid "
            "(see process_copies): counted once, as the originals",
            markup=False,
        )
    if status.rejects:
        parts = ", ".join(f"{count:,} {scope}" for scope, count in status.rejects.items())
        out(f"rejects: {parts}", markup=False)
        for scope, code, count in status.reject_codes:
            out(f"  {scope:<8} {code:<14} {count:>9,}", markup=False)
        if not rejects:
            out("  (list them with: tenderwatch status --rejects)", markup=False)
    else:
        out("rejects: none", markup=False)
    if status.pending:
        out(
            f"{status.pending:,} processes wait to be compiled: run `tenderwatch rebuild` (or any load) to finish",
            markup=False,
        )
    if status.needs_rebuild:
        out("the normalised tables come from another version of tenderwatch: run `tenderwatch rebuild`", markup=False)
    for row in rows:
        out(f"- [{row.scope}/{row.code}] {row.location}: {row.reason}", markup=False)
