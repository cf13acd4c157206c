"""Watchlists: each rule picks what a user would expect, history never floods a new watchlist, and the `watch`
commands save, show and remove them (the lead registers the sub-app as `tenderwatch watch`)."""

from __future__ import annotations

from pathlib import Path

from tenderwatch import Workspace, load_settings
from tenderwatch.alerts import AlertSettings, Rules, add_watchlist
from tenderwatch.cli.watch import app
from tests.alerts import QUICK, cli, rows

NEWS_KINDS = ["end_date_moved", "new_amendment", "new_direct_award", "provider_exit", "termination", "value_changed"]


def _matched(con: object, watchlist: int) -> list[tuple[str, str]]:
    found = rows(
        con,
        """
        SELECT c.kind, c.ocid FROM watchlist_matches AS m JOIN changes AS c USING (change_id)
        WHERE m.watchlist_id = ? ORDER BY 1, 2
        """,
        [watchlist],
    )
    return [(row["kind"], row["ocid"]) for row in found]


def test_each_watchlist_matches_what_its_rules_say_and_history_does_not_flood(scenario: Path) -> None:
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        con = workspace.store.con
        matched = {number: _matched(con, number) for number in range(1, 6)}
        deliveries = rows(
            con, "SELECT watchlist_id, channel, count(*) AS n FROM alert_deliveries GROUP BY ALL ORDER BY 1, 2"
        )
        ending = rows(con, "SELECT sentence FROM changes WHERE kind = 'ending_soon' ORDER BY ocid")

    # Saved on the empty store, by the buyer's name in any case: the news, not the history loaded after it.
    assert [kind for kind, _ in matched[1]] == NEWS_KINDS
    # CPV 853 and terminations or exits only.
    assert matched[2] == [("provider_exit", "ocds-twdemo-700001"), ("termination", "ocds-twdemo-700001")]
    # A keyword with any ending, and a backfill of 500 days: the tender of a year ago, found when it was saved;
    # the 1% correction since is not a change.
    assert matched[3] == [("new_tender", "ocds-twdemo-700002")]
    # Contracts ending within 14 months: told when each came that close, and the news of those processes.
    assert sorted({kind for kind, _ in matched[4]}) == sorted({*NEWS_KINDS, "ending_soon"})
    assert [ocid for kind, ocid in matched[4] if kind == "ending_soon"] == ["ocds-twdemo-700001", "ocds-twdemo-700003"]
    assert ending[0]["sentence"].startswith(
        'The contract "Integrated therapies for children and young people" with Tresswyn Therapy Services Ltd for '
        "Ravensholt Borough Council ends on "
    )
    # Region UKJ (the buyer is in UKJ2) and worth at least £10m: not the £2.4m direct award.
    assert [kind for kind, _ in matched[5]] == [k for k in NEWS_KINDS if k != "new_direct_award"]
    assert [(d["watchlist_id"], d["channel"], d["n"]) for d in deliveries] == [
        (1, "email", 6),
        (1, "webhook", 6),
        (2, "webhook", 2),
        (3, "email", 1),
    ]


def test_flag_supplier_and_group_rules(scenario: Path, tmp_path: Path) -> None:
    from tenderwatch.resolve import OrganisationSettings, resolve_organisations

    groups = tmp_path / "groups.yaml"
    groups.write_text(
        """
groups:
  - id: tresswyn
    name: Tresswyn Care Group
    ultimate_parent: {name: Tresswyn Care Group plc, source_url: "https://example.org/annual-report",
                      source_title: Annual report, as_of: "2025-12-31"}
    companies:
      - {name: Tresswyn Therapy Services Ltd, identifier: GB-COH-09876543, relation: wholly owned subsidiary,
         source_url: "https://example.org/annual-report", source_title: Annual report, as_of: "2025-12-31"}
""",
        encoding="utf-8",
    )
    settings = AlertSettings()
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        con = workspace.store.con
        flags = workspace.flags(["R004"]).flags
        resolve_organisations(
            con,
            OrganisationSettings(
                probabilistic=False, shipped_groups=False, groups_files=[groups], overrides_file=tmp_path / "none.yaml"
            ),
        )

        flagged = add_watchlist(con, "Flagged", Rules(flag_codes=["r004"]), settings, backfill_days=30)
        supplier = add_watchlist(con, "Tresswyn", Rules(suppliers=["gb-coh-09876543"]), settings, backfill_days=30)
        group = add_watchlist(con, "Group", Rules(groups=["Tresswyn Care Group"]), settings, backfill_days=30)

        news = {(c["kind"], c["ocid"], c["related_ocid"]) for c in rows(
            con, "SELECT kind, ocid, related_ocid FROM changes WHERE kind <> 'ending_soon' AND release_date > ?",
            [flagged.backfill_from])}  # fmt: skip
        with_flag = {flag.ocid for flag in flags}
        assert with_flag, "R004 flags the direct award of the story"
        expected = sorted((kind, ocid) for kind, ocid, related in news if {ocid, related} & with_flag)
        assert _matched(con, flagged.watchlist_id) == expected
        # The supplier that left, by its company number in any case: its contract's news and its exit.
        leaving = [kind for kind, _ in _matched(con, supplier.watchlist_id)]
        assert leaving == [k for k in NEWS_KINDS if k != "new_direct_award"]
        assert _matched(con, group.watchlist_id) == _matched(con, supplier.watchlist_id)


def test_watch_commands_save_show_and_remove(scenario: Path) -> None:
    db = str(scenario)

    code, out, err = cli(
        app, "add", "Council exits", "--buyer", "Ravensholt Borough Council", "--supplier", "Nobody Ltd",
        "--supplier", "Tresswyn Therapy Services Ltd", "--exits", "--email", "rep@example.org", "--webhook",
        "https://example.org/hook", "--backfill-days", "30", "--db", db,
    )  # fmt: skip

    assert code == 0, err
    assert out.splitlines()[:3] == [
        "saved watchlist 6",
        '6. "Council exits"',
        '    matches buyer "Ravensholt Borough Council"; supplier "Nobody Ltd" or "Tresswyn Therapy Services Ltd"; '
        "terminations and provider exits",
    ]
    assert "    e-mail digest to rep@example.org" in out
    assert "    webhook https://example.org/hook (signing secret " in out
    assert "    Atom feed http://127.0.0.1:8000/watchlists/6/feed.atom?token=" in out
    assert "    2 matches, 4 deliveries waiting" in out
    assert 'note: no supplier "Nobody Ltd" is in the store yet' in err

    code, out, _ = cli(app, "list", "--db", db)
    assert code == 0
    assert out.count("matches ") == 6 and "signing secret" not in out
    assert "    6 matches, 12 deliveries waiting" in out  # the first watchlist: e-mail and webhook for 6 changes
    code, out, _ = cli(app, "list", "--secrets", "--db", db)
    assert out.count("signing secret") == 3

    code, out, _ = cli(app, "remove", "6", "--db", db)
    assert (code, out.strip()) == (0, 'removed watchlist 6 "Council exits" (2 matches, 4 alerts not sent)')
    code, out, _ = cli(app, "list", "--db", db)
    assert "Council exits" not in out
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        assert rows(workspace.store.con, "SELECT * FROM alert_deliveries WHERE watchlist_id = 6") == []


def test_bad_watchlists_are_refused_in_one_line(scenario: Path) -> None:
    db = str(scenario)
    cases = {
        ("add", "Nothing"): "error: a watchlist needs at least one rule, or it would send every change in the store",
        ("add", "x", "--cpv", "8x5"): "error: '8x5' is not a CPV code or prefix",
        ("add", "x", "--flag", "R999"): "error: there is no red flag 'R999'",
        ("add", "x", "--kind", "rumour"): "error: there is no kind of change 'rumour'",
        ("add", "x", "--exits", "--email", "rep at example"): "error: 'rep at example' is not an e-mail address",
        ("add", "x", "--exits", "--webhook", "ftp://x.org/h"): "error: 'ftp://x.org/h' is not a web address",
        ("add", "x", "--min-value", "lots"): "error: 'lots' is not an amount",
        ("add", "x", "--ending-within", "0"): "error: ending within 0 months is out of range",
        ("add", "x", "--exits", "--owner", "nobody"): "error: there is no web user 'nobody'",
        ("remove", "99"): "error: there is no watchlist 99",
    }
    for args, message in cases.items():
        code, out, err = cli(app, *args, "--db", db)
        assert code == 1, args
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(message + ": "), (args, err)
    code, out, _ = cli(app, "list", "--db", db)
    assert out.count("matches ") == 5  # nothing was saved
    code, _, err = cli(app, "list", "--db", str(scenario.with_name("mistyped.duckdb")))
    assert code == 1 and err.startswith("error: there is no store at ")
    assert not scenario.with_name("mistyped.duckdb").exists()
