"""Delivery against real servers on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP server receiving webhooks.
Each match reaches each channel once: also when a server is down or failing, and when a process is killed between
the sync and the send or in the middle of a send (then a repeat carries the same delivery id)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tenderwatch import Workspace, load_settings
from tenderwatch.alerts import AlertSettings, Rules, add_watchlist
from tenderwatch.cli.alerts import app
from tests import ROOT
from tests.alerts import QUICK, Receiver, cli, free_port, history, load, news, rows

NEWS_SENTENCE_STARTS = (
    'The value of the contract "Integrated therapies for children and young people" went from £9,600,000',
    'The end date of the contract "Integrated therapies for children and young people"',
    'A change to the contract "Integrated therapies for children and young people" was published',
    'The contract "Integrated therapies for children and young people" with Tresswyn Therapy Services Ltd was marked',
    "Tresswyn Therapy Services Ltd's contract",
    'Ravensholt Borough Council awarded "Interim integrated therapies for children and young people"',
)


def _secrets(db: Path) -> dict[int, str]:
    with Workspace.open(load_settings(db=db, **QUICK)) as workspace:
        return dict(workspace.store.con.execute("SELECT watchlist_id, webhook_secret FROM watchlists").fetchall())


def _check_signed(receiver: Receiver, secrets: dict[int, str]) -> None:
    for headers, body, _ in receiver.posts:
        document = json.loads(body)
        expected = hmac.new(secrets[document["watchlist"]["id"]].encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-tenderwatch-signature"] == f"sha256={expected}"
        assert headers["x-tenderwatch-delivery"] == document["delivery_id"]
        assert headers["x-tenderwatch-event"] == document["change"]["kind"]


def test_each_alert_reaches_each_channel_once(scenario: Path, smtp: object, hook_port: int) -> None:
    db = str(scenario)
    with Receiver(hook_port) as receiver:
        code, out, err = cli(app, "send", "--db", db)

        assert (code, out.strip()) == (0, "e-mail: 7 alerts in 2 messages; webhooks: 8 delivered; 0 failed"), err
        mail = {rcpt[0]: (sender, message) for sender, rcpt, message in smtp.messages}
        assert sorted(mail) == ["nurses@example.org", "rep@example.org"]
        sender, message = mail["rep@example.org"]
        assert sender == "alerts@tenderwatch.example"
        assert message["Subject"] == 'tenderwatch: 6 new alerts for "Ravensholt"'
        assert message["Message-ID"].endswith("@tenderwatch.example>")
        body = message.get_content()
        assert body.startswith(
            '6 new alerts for your watchlist "Ravensholt" (matches buyer "ravensholt borough council").'
        )
        for start in NEWS_SENTENCE_STARTS:
            assert f"   {start}" in body
        assert "   Process: http://127.0.0.1:8000/processes/ocds-twdemo-700001" in body
        assert body.count("   Alert id: ") == 6
        assert len(message["X-Tenderwatch-Deliveries"].split()) == 6
        nurses = mail["nurses@example.org"][1].get_content()
        assert '1 new alert for your watchlist "School nursing"' in nurses
        assert 'Westmarch County Council invited bids for "School nursing service"' in nurses

        accepted = receiver.accepted()
        assert len(accepted) == 8 and all(len(bodies) == 1 for bodies in accepted.values())
        _check_signed(receiver, _secrets(scenario))
        exits = [
            json.loads(bodies[0]) for bodies in accepted.values() if json.loads(bodies[0])["watchlist"]["id"] == 2
        ]
        assert sorted(document["change"]["kind"] for document in exits) == ["provider_exit", "termination"]
        document = exits[0]
        assert document["links"]["process"] == "http://127.0.0.1:8000/processes/ocds-twdemo-700001"
        assert document["matched_because"] == "matches CPV 853…; terminations and provider exits"
        assert document["is_demo"] is True

        # Sent once: a second run has nothing to send.
        code, out, _ = cli(app, "send", "--db", db)
        assert out.strip() == "e-mail: 0 alerts in 0 messages; webhooks: 0 delivered; 0 failed"
        assert (len(smtp.messages), len(receiver.posts)) == (2, 8)

    code, out, _ = cli(app, "list", "--watchlist", "2", "--db", db)
    assert code == 0 and out.count("webhook delivered") == 2
    code, out, _ = cli(app, "changes", "--kind", "provider_exit", "--db", db)
    assert "Provider exit  ocds-twdemo-700001" in out and "Vennmoor Community Health NHS Trust" in out
    code, _, err = cli(app, "changes", "--kind", "gossip", "--db", db)
    assert code == 1 and err.startswith("error: there is no kind of change 'gossip'")


def test_failures_are_recorded_and_retried_next_time_without_repeats(
    scenario: Path, smtp: object, hook_port: int, monkeypatch: object
) -> None:
    db = str(scenario)
    port = os.environ["TENDERWATCH_ALERTS_SMTP_PORT"]
    monkeypatch.setenv("TENDERWATCH_ALERTS_SMTP_PORT", str(free_port()))  # the SMTP server is down
    with Receiver(hook_port) as receiver:
        # The first post fails once then succeeds; the second fails at every try: the address waits for next time.
        receiver.answers = [500, 200, 500, 502, 503, 500]

        code, out, err = cli(app, "send", "--db", db)

        assert code == 1
        assert out.strip() == "e-mail: 0 alerts in 0 messages; webhooks: 1 delivered; 8 failed; 6 waiting"
        lines = err.strip().splitlines()
        assert lines[0].startswith("e-mail: the SMTP server 127.0.0.1:") and "cannot be used" in lines[0]
        assert lines[1] == f"webhook http://127.0.0.1:{hook_port}/hook: answered HTTP 500"
        assert lines[2] == (
            "error: 14 alerts could not be delivered: they stay in the outbox and are tried again at the next "
            "`tenderwatch alerts send`"
        )
        with Workspace.open(load_settings(db=scenario, **QUICK)) as workspace:
            states = rows(
                workspace.store.con,
                "SELECT channel, status, attempts, count(*) AS n FROM alert_deliveries GROUP BY ALL ORDER BY ALL",
            )
            errors = rows(workspace.store.con, "SELECT DISTINCT channel, last_error FROM alert_deliveries "
                          "WHERE status = 'failed' ORDER BY 1")  # fmt: skip
        assert [(s["channel"], s["status"], s["attempts"], s["n"]) for s in states] == [
            ("email", "failed", 1, 7),
            ("webhook", "delivered", 2, 1),
            ("webhook", "failed", 4, 1),
            ("webhook", "pending", 0, 6),
        ]
        assert errors[1] == {"channel": "webhook", "last_error": "answered HTTP 500"}
        assert errors[0]["last_error"]  # the SMTP server's error, in one line

        monkeypatch.setenv("TENDERWATCH_ALERTS_SMTP_PORT", port)  # both are back
        code, out, err = cli(app, "send", "--db", db)

        assert (code, out.strip()) == (0, "e-mail: 7 alerts in 2 messages; webhooks: 7 delivered; 0 failed"), err
        accepted = receiver.accepted()
        assert len(accepted) == 8 and all(len(bodies) == 1 for bodies in accepted.values())
        assert len(smtp.messages) == 2
        _check_signed(receiver, _secrets(scenario))


def _subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TENDERWATCH_WORKERS": "1"}


def test_a_sync_killed_before_it_sends_loses_nothing(tmp_path: Path, smtp: object, hook_port: int) -> None:
    db = tmp_path / "store.duckdb"
    with Workspace.open(load_settings(db=db, **QUICK)) as workspace:
        load(workspace, tmp_path, "history", history())
        add_watchlist(workspace.store.con, "Ravensholt", Rules(buyers=["GB-DEMO-RBC"]), AlertSettings(),
                      email="rep@example.org", webhook_url=f"http://127.0.0.1:{hook_port}/hook")  # fmt: skip
    script = f"""
import os, signal
from pathlib import Path
from tests.alerts import QUICK, ensure_alerts_group, load, news
from tenderwatch import Workspace, load_settings
ensure_alerts_group()
workspace = Workspace.open(load_settings(db=Path({str(db)!r}), **QUICK))
run = load(workspace, Path({str(tmp_path)!r}), "news", news())
print(run.matches, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the sync dies before anything is sent
"""
    killed = subprocess.run([sys.executable, "-c", script], env=_subprocess_env(), capture_output=True, text=True,
                            check=False, timeout=120)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout.strip() == "6"

    with Receiver(hook_port) as receiver:
        code, out, err = cli(app, "send", "--db", str(db))
        assert (code, out.strip()) == (0, "e-mail: 6 alerts in 1 message; webhooks: 6 delivered; 0 failed"), err
        code, out, _ = cli(app, "send", "--db", str(db))
        assert out.strip() == "e-mail: 0 alerts in 0 messages; webhooks: 0 delivered; 0 failed"
        accepted = receiver.accepted()
    assert len(accepted) == 6 and all(len(bodies) == 1 for bodies in accepted.values())
    assert len(smtp.messages) == 1


def test_a_send_killed_mid_post_repeats_only_that_post_with_the_same_id(
    scenario: Path, smtp: object, hook_port: int
) -> None:
    script = (
        "from tests.alerts import ensure_alerts_group\nensure_alerts_group()\n"
        f"from tenderwatch.cli.alerts import app\napp(['send', '--db', {str(scenario)!r}])\n"
    )
    with Receiver(hook_port) as receiver:
        receiver.hold.clear()  # the receiver takes its time over the first post
        sender = subprocess.Popen([sys.executable, "-c", script], env=_subprocess_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)  # fmt: skip
        assert receiver.arrived.wait(120), "no webhook was posted"
        sender.kill()  # killed while the first post waits for its answer
        sender.wait(timeout=30)
        receiver.hold.set()

        code, out, err = cli(app, "send", "--db", str(scenario))

        # The e-mails went before the kill and are not sent again; every webhook is delivered now.
        assert (code, out.strip()) == (0, "e-mail: 0 alerts in 0 messages; webhooks: 8 delivered; 0 failed"), err
        accepted = receiver.accepted()
    assert len(smtp.messages) == 2
    assert len(accepted) == 8
    repeated = {key: bodies for key, bodies in accepted.items() if len(bodies) > 1}
    # Only the post in flight when the sender died came twice: same delivery id, same bytes, so same signature.
    assert len(repeated) == 1
    (bodies,) = repeated.values()
    assert bodies[0] == bodies[1]


def test_an_alert_shows_the_characters_a_publisher_wrote_as_references(tmp_path: Path, smtp: object) -> None:
    # Contracts Finder's titles carry "&amp;" for "&": the e-mail says "&", as the notice's page does
    db = tmp_path / "store.duckdb"
    with Workspace.open(load_settings(db=db, **QUICK)) as workspace:
        rules = Rules(keywords=["nursing"])
        add_watchlist(workspace.store.con, "Care", rules, AlertSettings(), email="rep@example.org")
        tender = news()[-1]
        tender["tender"]["title"] = "Residential &amp; Nursing Home Care"
        load(workspace, tmp_path, "care", [tender])
    code, _, err = cli(app, "send", "--db", str(db))
    assert code == 0, err
    body = smtp.messages[0][2].get_content()
    assert '"Residential & Nursing Home Care"' in body and "&amp;" not in body
