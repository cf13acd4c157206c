"""``tenderwatch watch``: save, list and remove watchlists (see docs/alerts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenderwatch.alerts import KINDS, Rules, add_watchlist, get_watchlists, load_alert_settings, parse_amount
from tenderwatch.alerts import remove_watchlist as remove
from tenderwatch.alerts.changes import EXIT_KINDS
from tenderwatch.alerts.watchlists import Watchlist, unknown_values
from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import console, error_console
from tenderwatch.exceptions import InputError, StoreError
from tenderwatch.settings import Settings, read_settings_file
from tenderwatch.workspace import Workspace

app = typer.Typer(
    help="Watchlists: rules that pick the changes in the notices you want to hear about, and where to send them.",
    no_args_is_help=True,
)


def open_existing(settings: Settings, *, read_only: bool = False) -> Workspace:
    """Open the store, which must exist (a mistyped --db must not make an empty store)."""
    if not Path(settings.db).is_file():
        raise StoreError(
            f"there is no store at {settings.db}", "give the --db of your store, or load or sync some notices first"
        )
    return open_workspace(settings, read_only=read_only)


def _show(watchlist: Watchlist, base_url: str, *, secrets: bool) -> None:
    owner = f" (web user {watchlist.owner})" if watchlist.owner else ""
    console.print(f'{watchlist.watchlist_id}. "{watchlist.name}"{owner}', markup=False, style="bold")
    console.print(f"    matches {watchlist.rules.describe()}", markup=False)
    if watchlist.email:
        console.print(f"    e-mail digest to {watchlist.email}", markup=False)
    if watchlist.webhook_url:
        secret = f" (signing secret {watchlist.webhook_secret})" if secrets else ""
        console.print(f"    webhook {watchlist.webhook_url}{secret}", markup=False)
    console.print(f"    Atom feed {base_url.rstrip('/')}{watchlist.feed_path()}", markup=False)
    matches = f"{watchlist.matches:,} match{'' if watchlist.matches == 1 else 'es'}"
    waiting = f"{watchlist.waiting:,} deliver{'y' if watchlist.waiting == 1 else 'ies'} waiting"
    counts = f"    {matches}, {waiting}"
    if watchlist.failed:
        counts += f" ({watchlist.failed:,} failed: see `tenderwatch alerts list --undelivered`)"
    console.print(counts, markup=False)


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="A short name for the watchlist, such as 'Ravensholt therapies'.")],
    buyer: Annotated[
        list[str] | None,
        typer.Option(
            "--buyer",
            help="A buyer: party id, org-id (GB-GOR-D9802), organisation id or exact name.",
            show_default=False,
        ),
    ] = None,
    supplier: Annotated[
        list[str] | None,
        typer.Option("--supplier", help="A supplier, written like a buyer.", show_default=False),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="A corporate group, by id or name (see `tenderwatch org`).", show_default=False),
    ] = None,
    cpv: Annotated[
        list[str] | None,
        typer.Option("--cpv", help="A CPV code or its first digits, such as 85 or 8531.", show_default=False),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region", help="The buyer's region (NUTS/ITL code or prefix, region name) or town.", show_default=False
        ),
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option(
            "--keyword",
            help="A word or phrase in the title or description; therap* matches any ending.",
            show_default=False,
        ),
    ] = None,
    flag: Annotated[
        list[str] | None,
        typer.Option("--flag", help="A red-flag code the process must have, such as R004.", show_default=False),
    ] = None,
    min_value: Annotated[
        str | None,
        typer.Option(
            "--min-value",
            help="Value floor, such as 1000000 or 2.5m (in the contract's currency).",
            show_default=False,
        ),
    ] = None,
    ending_within: Annotated[
        int | None,
        typer.Option(
            "--ending-within",
            help="Only contracts ending within this many months; also tells you when one comes that close to its end.",
            show_default=False,
        ),
    ] = None,
    exits: Annotated[
        bool, typer.Option("--exits", help="Only terminations, cancellations and provider exits.")
    ] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Only this kind of change: {', '.join(KINDS)}.", show_default=False),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Send an e-mail digest here.", show_default=False)
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="Post each alert as signed JSON here.", show_default=False)
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="Show it to this web user on the Watchlists page (see `tenderwatch user`).",
            show_default=False,
        ),
    ] = None,
    backfill_days: Annotated[
        int | None,
        typer.Option(
            "--backfill-days",
            help="Also match the changes already in the store whose notice is at most "
            "this many days old (default: only changes found from now on).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Save a watchlist. A change matches when every rule given holds (one value of a rule given several times is
    enough). Alerts come from the next load or sync on; each has an Atom feed in the web app, and, with --email or
    --webhook, is sent by `tenderwatch alerts send`.

    Example: tenderwatch watch add "Ravensholt exits" --buyer "Ravensholt Borough Council" --exits
    """
    settings = settings_for(db, settings_file)
    alert_settings = load_alert_settings(read_settings_file(settings_file))
    kinds = list(kind or [])
    if exits:
        kinds += [value for value in EXIT_KINDS if value not in kinds]
    rules = Rules(
        buyers=buyer or [],
        suppliers=supplier or [],
        groups=group or [],
        cpv_prefixes=cpv or [],
        regions=region or [],
        keywords=keyword or [],
        flag_codes=flag or [],
        min_value=parse_amount(min_value) if min_value is not None else None,
        ending_within_months=ending_within,
        kinds=kinds,
    )
    if owner is not None:
        from tenderwatch.web.accounts import Accounts, accounts_path  # noqa: PLC0415

        path = accounts_path(Path(settings.db))
        if not path.is_file() or owner not in Accounts(path).users():
            raise InputError(f"there is no web user {owner!r}", f"create one with `tenderwatch user add {owner}`")
    with open_existing(settings) as workspace:
        con = workspace.store.con
        watchlist = add_watchlist(
            con, name, rules, alert_settings, owner=owner, email=email, webhook_url=webhook,
            backfill_days=backfill_days,
        )  # fmt: skip
        for line in unknown_values(con, watchlist.rules):
            error_console.print(f"note: {line}", markup=False)
    console.print(f"saved watchlist {watchlist.watchlist_id}", markup=False)
    _show(watchlist, alert_settings.base_url, secrets=True)
    if watchlist.webhook_url:
        console.print(
            "    keep the signing secret: each webhook body is signed with it (header X-Tenderwatch-Signature)",
            markup=False,
        )
    error_console.print(
        "the feed appears in the web app with the next load or sync; e-mail and webhooks go with "
        "`tenderwatch alerts send`",
        markup=False,
    )


@app.command("list")
def list_command(
    secrets: Annotated[bool, typer.Option("--secrets", help="Also show each webhook's signing secret.")] = False,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """List the watchlists with their rules, channels, feed address and how many matches each has.

    Example: tenderwatch watch list
    """
    settings = settings_for(db, settings_file)
    alert_settings = load_alert_settings(read_settings_file(settings_file))
    with open_existing(settings) as workspace:
        watchlists = get_watchlists(workspace.store.con)
    if not watchlists:
        console.print("no watchlists: save one with `tenderwatch watch add`", markup=False)
        return
    for watchlist in watchlists:
        _show(watchlist, alert_settings.base_url, secrets=secrets)


@app.command("remove")
def remove_command(
    number: Annotated[int, typer.Argument(help="The number of the watchlist (see `tenderwatch watch list`).")],
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Remove a watchlist, its matches and its queued alerts (nothing more is sent for it).

    Example: tenderwatch watch remove 3
    """
    settings = settings_for(db, settings_file)
    with open_existing(settings) as workspace:
        watchlist = remove(workspace.store.con, number)
    dropped = f", {watchlist.waiting:,} alerts not sent" if watchlist.waiting else ""
    matches = f"{watchlist.matches:,} match{'' if watchlist.matches == 1 else 'es'}"
    console.print(f'removed watchlist {number} "{watchlist.name}" ({matches}{dropped})', markup=False)
