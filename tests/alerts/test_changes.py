"""Changes found between consecutive notices: real differences only, each traceable to its notice, never twice."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from tenderwatch import Workspace, load_settings
from tenderwatch.alerts import AlertRun, AlertSettings, changes, update_alerts
from tests.alerts import QUICK, TODAY, analyse, history, load, news, republication, rows, write
from tests.records.test_derived import performance_histories  # the same UK9 notices

NEWS = [
    ("end_date_moved", "ocds-twdemo-700001", "ocds-twdemo-700001-04"),
    ("new_amendment", "ocds-twdemo-700001", "ocds-twdemo-700001-04"),
    ("new_direct_award", "ocds-twdemo-700003", "ocds-twdemo-700003-01"),
    ("provider_exit", "ocds-twdemo-700001", "ocds-twdemo-700001-05"),
    ("termination", "ocds-twdemo-700001", "ocds-twdemo-700001-05"),
    ("value_changed", "ocds-twdemo-700001", "ocds-twdemo-700001-04"),
]


def _long(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).strftime("%-d %B %Y")


def _changes(workspace: Workspace, where: str = "kind <> 'ending_soon'") -> list[dict]:
    return rows(workspace.store.con, f"SELECT * FROM changes WHERE {where} ORDER BY kind, ocid, release_id")


def test_news_gives_each_real_change_once_and_a_republication_nothing(
    scenario_store: tuple[Path, dict[str, AlertRun]], scenario: Path
) -> None:
    runs = scenario_store[1]
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        history_changes = _changes(workspace, f"run_id = {runs['history'].run_id}")
        changes = {
            c["kind"]: c for c in _changes(workspace, f"run_id = {runs['news'].run_id} AND kind <> 'ending_soon'")
        }
        notices = {
            (c["kind"], bool(rows(workspace.store.con, "SELECT 1 FROM raw_releases WHERE ocid = ? AND release_id = ?",
                                  [c["ocid"], c["release_id"]])))
            for c in changes.values()
        }  # fmt: skip
        nothing_new = update_alerts(workspace.store.con)

    assert [(c["kind"], c["ocid"]) for c in history_changes] == [
        ("new_award", "ocds-twdemo-700001"),
        ("new_tender", "ocds-twdemo-700001"),
        ("new_tender", "ocds-twdemo-700002"),
    ]
    assert (runs["news"].processes, runs["news"].changes) == (3, 6)
    assert sorted((c["kind"], c["ocid"], c["release_id"]) for c in changes.values()) == NEWS
    assert notices == {(kind, True) for kind, _, _ in NEWS}  # each names a notice in the store
    value = changes["value_changed"]
    assert value["sentence"] == (
        'The value of the contract "Integrated therapies for children and young people" went from £9,600,000 to '
        f"£11,500,000 (+20%), in the notice of {_long(-3)}."
    )
    assert (value["before_value"], value["after_value"], value["amount"]) == ("£9,600,000", "£11,500,000", 11500000)
    assert changes["end_date_moved"]["sentence"].endswith(f"(6 months later), in the notice of {_long(-3)}.")
    assert changes["termination"]["sentence"] == (
        'The contract "Integrated therapies for children and young people" with Tresswyn Therapy Services Ltd was '
        f"marked terminated in the notice of {_long(-2)}: it now ends on {_long(30)}, 550 days before its planned "
        f"end of {_long(580)}."
    )
    direct = changes["new_direct_award"]
    assert direct["sentence"] == (
        'Ravensholt Borough Council awarded "Interim integrated therapies for children and young people" to Vennmoor '
        'Community Health NHS Trust for £2,400,000 without a call for competition ("Negotiated procedure without '
        f'prior publication"), in the notice of {_long(-1)}.'
    )
    assert changes["new_amendment"]["sentence"].endswith("Extended by six months to cover the handover.")
    exit_ = changes["provider_exit"]
    assert (exit_["related_ocid"], exit_["before_value"], exit_["after_value"]) == (
        "ocds-twdemo-700003",
        "Tresswyn Therapy Services Ltd",
        "Vennmoor Community Health NHS Trust",
    )
    # The re-publication (new id, other date and number formats, same facts) is read, and gives nothing.
    assert (runs["republication"].processes, runs["republication"].changes) == (1, 0)
    assert nothing_new.run_id is None


def test_the_same_notices_give_the_same_ids_however_they_are_loaded(scenario: Path, tmp_path: Path) -> None:
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        step_by_step = {(c["change_id"], c["kind"], c["release_id"], c["sentence"]) for c in _changes(workspace)}
    with Workspace.open(load_settings(db=tmp_path / "at-once.duckdb", **QUICK)) as at_once:
        # Everything in one file: the re-publication first, the news in reverse order, the history last.
        at_once.load([str(write(tmp_path, "all", republication() + news()[::-1] + history()))])
        analyse(at_once)
        one_go = {(c["change_id"], c["kind"], c["release_id"], c["sentence"]) for c in _changes(at_once)}
    assert one_go == step_by_step
    assert len(one_go) == 9


def test_changes_are_kept_by_a_rebuild_and_not_found_again(scenario: Path) -> None:
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        before = _changes(workspace, "true")

        workspace.rebuild()
        found = analyse(workspace)

        assert found.run_id is None
        assert _changes(workspace, "true") == before


def test_a_small_correction_is_a_change_only_under_a_lower_threshold(scenario: Path) -> None:
    nursing = "ocid = 'ocds-twdemo-700002' AND kind = 'value_changed'"
    with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
        con = workspace.store.con
        assert _changes(workspace, nursing) == []  # 1% is under the default 10%
        con.execute("DELETE FROM changes")
        con.execute("DELETE FROM alert_runs")

        update_alerts(con, AlertSettings(value_change_percent=0.5))

        (found,) = _changes(workspace, nursing)
    assert found["sentence"] == (
        'The estimated value of the tender "School nursing service" went from £3,000,000 to £3,030,000 (+1%), '
        f"in the notice of {_long(-1)}."
    )


def test_the_demo_stories_give_their_terminations_exit_direct_award_and_scope_change(workspace: Workspace) -> None:
    stories = Path(str(resources.files("tenderwatch.demo").joinpath("stories/stories.jsonl")))
    workspace.load([str(stories)])

    analyse(workspace)

    found = {(c["ocid"], c["kind"]) for c in _changes(workspace)}
    assert {
        ("ocds-twdemo-000006", "new_tender"),
        ("ocds-twdemo-000008", "termination"),
        ("ocds-twdemo-000008", "provider_exit"),
        ("ocds-twdemo-000009", "new_direct_award"),
        ("ocds-twdemo-000010", "new_amendment"),
        ("ocds-twdemo-000010", "value_changed"),
        ("ocds-twdemo-000011", "termination"),
    } <= found
    (ran_its_course,) = _changes(workspace, "ocid = 'ocds-twdemo-000001' AND kind = 'termination'")
    # OCDS also calls a contract that ran its course terminated: the sentence says so.
    assert "ran its course" in ran_its_course["sentence"]


@pytest.mark.realdata
def test_real_notices_give_changes_that_each_name_their_notice(real: Path, workspace: Workspace) -> None:
    files = [
        str(real / name)
        for name in (
            "uk_fts_2026-09-03_page1_excerpt.json",
            "uk_fts_2026-09-03_page5_excerpt.json",
            "uk_fts_2026-10-06_release_package_limit4.json",
            "uk_fts_single_release_packages_2021-2026.jsonl",
            "paraguay_dncp_2017_releases.jsonl",
        )
    ]
    workspace.load(files)

    first = analyse(workspace)

    changes = _changes(workspace)
    assert first.changes == len(changes) > 0
    assert {"new_award", "new_direct_award", "new_tender", "tender_cancelled"} <= {c["kind"] for c in changes}
    orphans = rows(
        workspace.store.con,
        """
        SELECT c.change_id FROM changes AS c WHERE c.kind <> 'ending_soon' AND NOT EXISTS (
            SELECT 1 FROM raw_releases AS r WHERE r.ocid = c.ocid AND r.release_id = c.release_id)
        """,
    )
    assert orphans == []
    assert all(c["sentence"].endswith(".") for c in changes)
    workspace.load(files)  # the same notices again
    assert analyse(workspace).run_id is None
    assert len(_changes(workspace)) == len(changes)


def test_a_tender_marked_unsuccessful_on_publication_is_new_not_cancelled(real: Path, workspace: Workspace) -> None:
    # Contracts Finder gives most tender notices the status unsuccessful on the day they are published, before
    # bids are due: each is a new tender, and no procedure was stopped
    workspace.load([str(real / "uk_cf_2020_tenders_openopps.jsonl")])
    analyse(workspace)
    early = {
        row["ocid"]
        for row in rows(
            workspace.store.con,
            "SELECT ocid FROM tenders JOIN processes USING (ocid) "
            "WHERE tenders.status = 'unsuccessful' AND last_release_date < tender_period_end",
        )
    }
    kinds: dict[str, set[str]] = {}
    for change in _changes(workspace):
        kinds.setdefault(change["kind"], set()).add(change["ocid"])
    assert len(early) > 300
    assert early <= kinds["new_tender"]
    # the few marked unsuccessful by a notice dated after their deadline are still reported as stopped
    assert kinds["tender_cancelled"] and not kinds["tender_cancelled"] & early


def test_notices_read_a_slice_at_a_time_give_the_same_changes(
    real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first run after a large load reads its notices a slice of processes at a time; slices of 3 processes
    # must find what one slice finds, however the changes of a process fall
    files = [
        str(real / "uk_fts_single_release_packages_2021-2026.jsonl"),
        str(real / "paraguay_dncp_2017_releases.jsonl"),
    ]
    found = {}
    for size in (changes.CHANGES_SLICE, 3):
        monkeypatch.setattr(changes, "CHANGES_SLICE", size)
        with Workspace.open(load_settings(db=tmp_path / f"slices-{size}.duckdb", **QUICK)) as workspace:
            workspace.load(files)
            run = analyse(workspace)
            found[size] = {(c["change_id"], c["kind"], c["release_id"], c["sentence"]) for c in _changes(workspace)}
            assert run.processes > 3 * 6 and run.changes == len(found[size])
    assert found[3] == found[changes.CHANGES_SLICE] and len(found[3]) > 10


def test_a_contract_performance_notice_gives_a_poor_performance_change_for_each_failure(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = load(workspace, tmp_path, "uk9", performance_histories())
    again = analyse(workspace)

    found = _changes(workspace, "kind = 'poor_performance'")
    assert first.changes >= 3 and again.changes == 0  # each event once, never again
    assert sorted(c["after_value"] for c in found) == ["kpi below", "performance failure", "performance failure"]
    assert {(c["ocid"], c["release_id"], c["object_id"]) for c in found} == {
        ("ocds-t3st01-p13", "ocds-t3st01-p13-2", "C1")
    }
    assert all(c["supplier_names"] == ["Sample Care Ltd"] for c in found)
    assert any("Penalty: £25,000 (imposed)." in c["sentence"] for c in found)


def test_a_value_given_only_including_taxes_is_said_so_and_not_compared_with_one_without(
    real: Path, workspace: Workspace, tmp_path: Path
) -> None:
    # Find a Tender notice 094477-2026 gives its award's value only including taxes (amountGross)
    ocid = "ocds-h6vhtk-06e832"
    workspace.load([str(real / "uk_fts_2026-10-06_release_package_limit4.json")])
    analyse(workspace)
    awards = _changes(workspace, f"ocid = '{ocid}' AND kind LIKE 'new%award'")
    assert len(awards) == 1 and " to Chess ICT for £256,379 including taxes " in awards[0]["sentence"]
    assert [float(c["amount"]) for c in awards] == [256378.74]
    # a later notice gives the same award's value without taxes: a fifth less, but the value did not change
    later = {"ocid": ocid, "id": "094477-2026-update", "date": "2026-10-20T10:00:00+01:00", "tag": ["awardUpdate"],
             "awards": [{"id": "1", "value": {"amount": 213649, "currency": "GBP"}}]}  # fmt: skip
    load(workspace, tmp_path, "net", [later])
    assert _changes(workspace, f"ocid = '{ocid}' AND kind = 'value_changed'") == []
    # then one raises it, including taxes again: compared with the last value that included them, and said so
    raised = {**later, "id": "094477-2026-raised", "date": "2026-11-02T10:00:00Z",
              "awards": [{"id": "1", "value": {"amountGross": 320000, "currency": "GBP"}}]}  # fmt: skip
    load(workspace, tmp_path, "raised", [raised])
    changed = _changes(workspace, f"ocid = '{ocid}' AND kind = 'value_changed'")
    assert len(changed) == 1
    assert " went from £256,379 including taxes to £320,000 including taxes (+25%), " in changed[0]["sentence"]


def test_the_awards_of_a_framework_are_told_apart(real: Path, workspace: Workspace) -> None:
    # Find a Tender notice 083685-2026 awards 34 places on "Space Technology Solutions", none with a title of its
    # own: each change says which award it is about, so that a digest does not repeat one sentence 34 times
    workspace.load([str(real / "uk_fts_single_release_packages_2021-2026.jsonl")])
    analyse(workspace)
    ocid = "ocds-h6vhtk-0510f8"
    awards = _changes(workspace, f"ocid = '{ocid}' AND kind LIKE 'new%award'")
    assert len(awards) == 34
    assert len({c["sentence"] for c in awards}) == 34
    assert all(f'"Space Technology Solutions" (award {c["object_id"]}) to ' in c["sentence"] for c in awards)
    amendments = _changes(workspace, f"ocid = '{ocid}' AND kind = 'new_amendment' AND object_type = 'award'")
    assert amendments and len({c["sentence"] for c in amendments}) == len(amendments)
    # a process with one award names it by its title alone
    single = _changes(
        workspace, "kind LIKE 'new%award' AND ocid IN (SELECT ocid FROM awards GROUP BY ocid HAVING count(*) = 1)"
    )
    assert single and not any("(award " in c["sentence"] for c in single)
