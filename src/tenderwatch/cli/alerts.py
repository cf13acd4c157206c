"""``tenderwatch alerts``: send the queued alerts, and see the changes found and what was sent (docs/alerts.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from tenderwatch.alerts import KINDS, alerts_behind, load_alert_settings, update_alerts
from tenderwatch.alerts.delivery import DeliveryError, kind_label, send_alerts
from tenderwatch.cli.options import DbOption, SettingsOption, settings_for
from tenderwatch.cli.output import ConsoleReporter, console, error_console
from tenderwatch.cli.watch import open_existing
from tenderwatch.exceptions import InputError
from tenderwatch.settings import read_settings_file

app = typer.Typer(
    help="Alerts: send what the watchlists matched (e-mail digests, webhooks), and see changes and deliveries.",
    no_args_is_help=True,
)


@app.command("send")
def send_command(
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Send every queued alert: one e-mail digest per watchlist and a signed webhook post per alert. Each is
    recorded as delivered once the server accepts it; a failed one stays queued and is tried again next time.

    If the last load or sync stopped before it looked for changes, they are looked for first, so nothing is
    missed. Made to follow a sync in a cron job or a systemd timer; exits with 1 when something failed.

    Example: tenderwatch sync --all && tenderwatch alerts send
    """
    settings = settings_for(db, settings_file)
    alert_settings = load_alert_settings(read_settings_file(settings_file))
    with open_existing(settings) as workspace, ConsoleReporter(settings) as reporter:
        con = workspace.store.con
        if con.execute("SELECT count(*) FROM pending").fetchall()[0][0]:
            reporter.note("finishing the processes the last load left to compile")
            workspace.process_pending(reporter=reporter)
        if alerts_behind(con):
            reporter.note("looking for changes in the notices stored since alerts last ran")
            workspace.analyse(reporter=reporter)
            found = update_alerts(con, alert_settings)
            if found.run_id is not None:
                reporter.note(f"{found.changes:,} new changes, {found.matches:,} new matches")
        result = send_alerts(con, alert_settings)
    console.print(result.line(), markup=False)
    for problem in result.problems:
        error_console.print(problem, markup=False)
    if result.problems:
        raise DeliveryError(f"{result.failed + result.waiting:,} alerts could not be delivered")


@app.command("list")
def list_command(
    watchlist: Annotated[
        int | None, typer.Option("--watchlist", "-w", help="Only the matches of this watchlist.", show_default=False)
    ] = None,
    undelivered: Annotated[
        bool, typer.Option("--undelivered", help="Only matches with a delivery still waiting or failed.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most matches to show, newest first.")] = 50,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the latest matches of the watchlists, with what changed and how each delivery went.

    Example: tenderwatch alerts list --undelivered
    """
    settings = settings_for(db, settings_file)
    where, params = [], []
    if watchlist is not None:
        where.append("m.watchlist_id = ?")
        params.append(watchlist)
    if undelivered:
        where.append(
            "EXISTS (SELECT 1 FROM alert_deliveries AS d WHERE d.match_id = m.match_id AND d.status <> 'delivered')"
        )
    with open_existing(settings) as workspace:
        rows = workspace.store.con.execute(
            f"""
            SELECT m.watchlist_id, w.name, c.kind, c.ocid, c.release_id, c.release_date, c.sentence,
                   (SELECT list(d.channel || ' ' || d.status || CASE WHEN d.status = 'failed'
                        THEN ' after ' || d.attempts || ' tries: ' || coalesce(d.last_error, '') ELSE '' END
                        ORDER BY d.channel)
                    FROM alert_deliveries AS d WHERE d.match_id = m.match_id)
            FROM watchlist_matches AS m JOIN watchlists AS w USING (watchlist_id)
            JOIN changes AS c ON c.change_id = m.change_id
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY m.matched_at DESC, c.release_date DESC NULLS LAST, c.change_id
            LIMIT ?
            """,
            [*params, limit],
        ).fetchall()
    if not rows:
        console.print("no matches", markup=False)
        return
    for number, name, kind, ocid, release_id, released, sentence, deliveries in rows:
        date = released.strftime("%Y-%m-%d") if released is not None else "undated"
        console.print(f'{date}  {kind_label(kind)}  (watchlist {number} "{name}")', markup=False, style="bold")
        console.print(f"    {sentence}", markup=False)
        notice = f"notice: {ocid} release {release_id}" if release_id else f"process: {ocid}"
        console.print(f"    {notice}", markup=False)
        console.print(f"    {'; '.join(deliveries) if deliveries else 'Atom feed only'}", markup=False)


@app.command("changes")
def changes_command(
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Only changes of this kind: {', '.join(KINDS)}.", show_default=False),
    ] = None,
    ocid: Annotated[str | None, typer.Option("--ocid", help="Only the changes of this process.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most changes to show, newest first.")] = 50,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the latest changes found in the notices, whether or not a watchlist matched them, each with the
    notice it comes from.

    Example: tenderwatch alerts changes --kind termination --kind provider_exit
    """
    kinds = [value.lower().replace("-", "_") for value in kind or []]
    for value in kinds:
        if value not in KINDS:
            raise InputError(f"there is no kind of change {value!r}", f"use one of {', '.join(KINDS)}")
    settings = settings_for(db, settings_file)
    where, params = [], []
    if kinds:
        where.append("list_contains(?, kind)")
        params.append(kinds)
    if ocid is not None:
        where.append("ocid = ?")
        params.append(ocid)
    with open_existing(settings, read_only=True) as workspace:
        if "changes" not in workspace.store.table_names():
            raise InputError("this store has not looked for changes yet", "load or sync some notices first")
        rows = workspace.store.con.execute(
            f"""
            SELECT kind, ocid, release_id, release_date, sentence FROM changes
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY release_date DESC NULLS LAST, added_at DESC, change_id LIMIT ?
            """,
            [*params, limit],
        ).fetchall()
    if not rows:
        console.print("no changes found", markup=False)
        return
    for kind_, ocid_, release_id, released, sentence in rows:
        date = released.strftime("%Y-%m-%d") if released is not None else "undated"
        console.print(f"{date}  {kind_label(kind_)}  {ocid_}", markup=False, style="bold")
        console.print(f"    {sentence}", markup=False)
        if release_id:
            console.print(f"    notice: release {release_id}", markup=False)
