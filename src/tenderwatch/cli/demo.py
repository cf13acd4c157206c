"""``tenderwatch demo``: build a demo store from fictional data modelled on real stories."""

from __future__ import annotations

from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import ConsoleReporter, console
from tenderwatch.cli.serve import check_port, run_server
from tenderwatch.demo import DEFAULT_SEED, DEFAULT_SIZE, build_demo, stories

# How to serve the demo on another port, the demo having no --port option.
OTHER_PORT = "set another in TENDERWATCH_WEB_PORT, or build the demo without serving it with --no-serve"


def command(
    size: Annotated[
        int, typer.Option("--size", help="Number of synthetic releases to generate.", min=0)
    ] = DEFAULT_SIZE,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the synthetic population (same seed, same data).")
    ] = DEFAULT_SEED,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web app on the demo store when it is built.")
    ] = True,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Build a demo store: the four stories of outsourcing gone wrong, retold with fictional organisations,
    plus a seeded synthetic population of buyers, suppliers and contracts. All of it is marked as demo data.

    Example: tenderwatch demo --db demo.duckdb
    """
    settings = settings_for(db, settings_file)
    if serve:
        check_port(settings.web_host, settings.web_port, OTHER_PORT)
    with open_workspace(settings) as workspace, ConsoleReporter(settings) as reporter:
        result = build_demo(workspace, size, seed, reporter)
        status = workspace.status()
        story_rows = stories(workspace)
    out = console.print
    out("", markup=False)
    out(f"Demo store ready: {status.path}", markup=False)
    out(
        f"It holds {status.releases:,} releases in {status.processes:,} contracting processes "
        f"({result.loaded:,} new in this run). Every organisation in it is fictional.",
        markup=False,
    )
    out(
        f"  tenders {status.table_rows['tenders']:,}, awards {status.table_rows['awards']:,}, "
        f"contracts {status.table_rows['contracts']:,}, amendments {status.table_rows['amendments']:,}, "
        f"parties {status.table_rows['parties']:,}",
        markup=False,
    )
    out("The four stories (ocids to look up):", markup=False)
    for story in story_rows:
        out(f"  {story.ocid}  {story.title}" + (f"  (buyer: {story.buyer})" if story.buyer else ""), markup=False)
    db_arg = f" --db {settings.db}" if db else ""
    out("What to try next:", markup=False)
    out(f"  tenderwatch status{db_arg}                 what the store holds", markup=False)
    out(f"  tenderwatch flags{db_arg} --indicator TW106   urgency direct awards, with their evidence", markup=False)
    out(
        f"  tenderwatch brief process ocds-twdemo-000009{db_arg} --format pdf --out pack.pdf   a briefing pack",
        markup=False,
    )
    out(f"  tenderwatch org show Tresswyn{db_arg}        a supplier, its group and its record", markup=False)
    out(f"  tenderwatch serve{db_arg}                  the web app", markup=False)
    out(f"  tenderwatch export compiled-releases{db_arg} --out demo.jsonl", markup=False)
    out(
        f"  tenderwatch load{db_arg} your-ocds-file.json   (real data belongs in another store: use --db)",
        markup=False,
    )
    out("  docs/data-model.md lists every table and column to query with DuckDB.", markup=False)
    if serve:
        out("", markup=False)
        out(f"Open http://{settings.web_host}:{settings.web_port}/ in a browser to explore it.", markup=False)
        run_server(settings, settings.web_host, settings.web_port, OTHER_PORT)
