"""Watchlists and alerts: what changed in the notices, who asked to hear about it, and delivering it once.

After each load or sync (in :meth:`tenderwatch.Workspace.analyse`, after the red flags), :func:`update_alerts`
runs one transaction that

1. finds the real changes in the notices of every process with new releases (:mod:`tenderwatch.alerts.changes`),
   and adds the provider exits found in the notices (``derived_events``);
2. matches them against every watchlist (:mod:`tenderwatch.alerts.watchlists`);
3. queues one delivery per match and channel (e-mail digest, webhook) in the outbox ``alert_deliveries``;
4. records the run in ``alert_runs`` with the last release it read.

All four commit together with nothing else in between, so a process killed at any moment leaves either all of a
run or none of it; a run that did not commit is done again by the next one. ``tenderwatch alerts send``
(:func:`tenderwatch.alerts.delivery.send_alerts`) then delivers what is queued and records each delivery as it
goes. Atom feeds need no delivery: the web app reads the matches from its snapshot.

    with Workspace.open(settings) as workspace:
        add_watchlist(workspace.store.con, "Greyvale exits", Rules(buyers=["Greyvale CCG"], kinds=["termination"]),
                      load_alert_settings(), email="rep@example.org")
        workspace.load(["new-notices.jsonl"])     # finds the changes and matches them (in analyse)
        send_alerts(workspace.store.con, load_alert_settings())

docs/alerts.md explains the rules, the kinds of change, the channels and what is guaranteed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from tenderwatch.alerts.changes import (
    EXIT_KINDS,
    KINDS,
    ReadChanges,
    find_changes,
    performance_changes,
    provider_exit_changes,
    read_changes,
)
from tenderwatch.alerts.settings import AlertSettings, load_alert_settings
from tenderwatch.alerts.watchlists import (
    Rules,
    Watchlist,
    add_watchlist,
    check_rules,
    get_watchlists,
    match_all,
    parse_amount,
    remove_watchlist,
)


@dataclass
class AlertRun:
    """What one run of :func:`compute_alerts` did."""

    run_id: int | None
    processes: int
    changes: int
    matches: int


def compute_alerts(
    con: duckdb.DuckDBPyConnection, settings: AlertSettings | None = None, *, read: ReadChanges | None = None
) -> AlertRun:
    """Find the changes in the processes with releases stored since the last run, match them and the contracts
    ending soon against every watchlist, and queue their deliveries. Runs inside the caller's transaction; the
    changes in the notices are those ``read`` holds, when it read them from the last run's point.

    A run is recorded (and gets a number) only when there were new releases or new changes, so running it again
    with nothing new changes nothing.
    """
    settings = settings or load_alert_settings()
    last_run, since, top = _positions(con)
    run_id = last_run + 1
    processes = added = 0
    if top > since:
        processes, added = find_changes(con, since, run_id, settings.value_change_percent, read)
    added += provider_exit_changes(con, run_id)
    added += performance_changes(con, run_id)
    recorded = top > since or added > 0
    if recorded:
        con.execute(
            "INSERT INTO alert_runs VALUES (?, ?, ?, ?, 0, now())", [run_id, max(top, since), processes, added]
        )
    matches = match_all(con, settings, run_id if recorded else None)
    if recorded:
        con.execute("UPDATE alert_runs SET matches = ? WHERE run_id = ?", [matches, run_id])
    return AlertRun(run_id if recorded else None, processes, added, matches)


def _positions(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """Return the last run's number, the last release it read, and the last release stored."""
    return con.execute(
        """
        SELECT coalesce(max(run_id), 0), coalesce(max(seq), 0), (SELECT coalesce(max(seq), 0) FROM raw_releases)
        FROM alert_runs
        """
    ).fetchall()[0]


def update_alerts(con: duckdb.DuckDBPyConnection, settings: AlertSettings | None = None) -> AlertRun:
    """Run :func:`compute_alerts` in a transaction of its own and commit it; the notices are read for changes
    before the transaction, so that their work tables are freed as it goes (the changes are added inside it)."""
    settings = settings or load_alert_settings()
    _, since, top = _positions(con)
    read = read_changes(con, since, settings.value_change_percent) if top > since else None
    con.execute("BEGIN TRANSACTION")
    try:
        result = compute_alerts(con, settings, read=read)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def alerts_behind(con: duckdb.DuckDBPyConnection) -> bool:
    """Return whether releases were stored after the last run looked for changes (a run was interrupted, or
    analysis is off)."""
    since = con.execute("SELECT coalesce(max(seq), 0) FROM alert_runs").fetchall()[0][0]
    return con.execute("SELECT coalesce(max(seq), 0) FROM raw_releases").fetchall()[0][0] > since


__all__ = [
    "EXIT_KINDS",
    "KINDS",
    "AlertRun",
    "AlertSettings",
    "Rules",
    "Watchlist",
    "add_watchlist",
    "alerts_behind",
    "check_rules",
    "compute_alerts",
    "get_watchlists",
    "load_alert_settings",
    "parse_amount",
    "remove_watchlist",
    "update_alerts",
]
