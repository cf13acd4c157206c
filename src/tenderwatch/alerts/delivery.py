"""Delivering the outbox: e-mail digests over SMTP and signed webhooks, each delivery recorded as it happens.

:func:`send_alerts` reads every delivery that is ``pending`` or ``failed`` in ``alert_deliveries`` and:

- **e-mail**: sends one digest per watchlist (at most ``digest_limit`` alerts per message) through the SMTP server
  of the settings; when the server accepts a message, its deliveries are marked ``delivered`` in one statement,
  committed at once. The message's Message-ID is made from its delivery ids, and each alert in it shows its id.
- **webhook**: posts each delivery as JSON, signed with the watchlist's secret (header
  ``X-Tenderwatch-Signature: sha256=<HMAC-SHA256 of the body, hex>``) and carrying its id (header
  ``X-Tenderwatch-Delivery``); an error, a timeout or a 408, 429 or 5xx answer is tried again after a wait that
  doubles each time (or the Retry-After the receiver asks for, up to a minute). A 2xx answer marks it
  ``delivered``, committed at once; otherwise it is marked ``failed`` with the error and tried again at the next
  run. Once an address has failed in a run, its other deliveries wait for the next run.

So a delivery is never marked delivered unless the server or receiver accepted it, and never sent again once it
is marked. The one window left is a process killed (or a connection lost) after the server accepted a message
and before the mark committed: that message is sent again at the next run, with the same delivery id and the
same Message-ID, so the receiver can recognise the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import duckdb

from tenderwatch import __version__
from tenderwatch.alerts.changes import KINDS
from tenderwatch.alerts.settings import AlertSettings
from tenderwatch.exceptions import TenderwatchError
from tenderwatch.queries.process import notice_url
from tenderwatch.util import plain_entities

if TYPE_CHECKING:
    import httpx

RETRY_AFTER_LIMIT = 60.0
ERROR_LIMIT = 300


class DeliveryError(TenderwatchError):
    """Raised by ``tenderwatch alerts send`` when some alerts could not be delivered (they stay queued)."""

    hint = "they stay in the outbox and are tried again at the next `tenderwatch alerts send`"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@dataclass
class SendResult:
    """What a run of :func:`send_alerts` did."""

    emails: int = 0
    email_alerts: int = 0
    webhooks: int = 0
    failed: int = 0
    waiting: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """Return the one-line summary the CLI prints."""
        text = (
            f"e-mail: {_count(self.email_alerts, 'alert')} in {_count(self.emails, 'message')}; "
            f"webhooks: {self.webhooks:,} delivered; {self.failed:,} failed"
        )
        if self.waiting:
            text += f"; {self.waiting:,} waiting"
        return text


@dataclass
class Delivery:
    """One queued delivery with what it delivers."""

    delivery_id: str
    match_id: str
    watchlist_id: int
    watchlist_name: str
    channel: str
    target: str
    attempts: int
    secret: str
    reason: str
    change: dict[str, Any]
    notice: str | None


_QUERY = """
SELECT d.delivery_id, d.match_id, d.watchlist_id, w.name, d.channel, d.target, d.attempts, w.webhook_secret,
       m.reason, c.change_id, c.kind, c.ocid, c.release_id, c.release_date, c.object_type, c.object_id,
       c.before_value, c.after_value, c.amount, c.currency, c.title, c.buyer_name, c.supplier_names, c.sentence,
       c.related_ocid, c.related_release_id, c.added_at,
       (SELECT any_value(r.source) FROM raw_releases AS r WHERE r.ocid = c.ocid AND r.release_id = c.release_id)
FROM alert_deliveries AS d
JOIN watchlist_matches AS m ON m.match_id = d.match_id
JOIN watchlists AS w ON w.watchlist_id = d.watchlist_id
JOIN changes AS c ON c.change_id = m.change_id
WHERE d.channel = ? AND d.status IN ('pending', 'failed')
ORDER BY d.watchlist_id, d.target, c.release_date NULLS LAST, c.change_id
"""


def queued(con: duckdb.DuckDBPyConnection, channel: str) -> list[Delivery]:
    """Return the deliveries of a channel still to make (pending or failed), by watchlist and notice date."""
    result = []
    for row in con.execute(_QUERY, [channel]).fetchall():
        (delivery_id, match_id, watchlist_id, name, channel_, target, attempts, secret, reason, *change, source) = row
        keys = (
            "id", "kind", "ocid", "release_id", "release_date", "object_type", "object_id", "before", "after",
            "amount", "currency", "title", "buyer", "suppliers", "sentence", "related_ocid", "related_release_id",
            "found_at",
        )  # fmt: skip
        values = dict(zip(keys, change, strict=True))
        # e-mails and webhooks carry the texts with the character references some publishers leave in them resolved
        for key in ("title", "buyer", "sentence"):
            values[key] = plain_entities(values[key])
        notice = notice_url(values["ocid"], values["release_id"], source) if values["release_id"] else None
        result.append(
            Delivery(delivery_id, match_id, watchlist_id, name, channel_, target, attempts, secret, reason, values,
                     notice)
        )  # fmt: skip
    return result


def _mark(
    con: duckdb.DuckDBPyConnection, ids: list[str], *, delivered: bool, tries: int = 1, error: str | None = None
) -> None:
    """Record the outcome of deliveries in one statement (committed at once: no transaction is open)."""
    con.execute(
        """
        UPDATE alert_deliveries
        SET status = CASE WHEN ? THEN 'delivered' ELSE 'failed' END, attempts = attempts + ?,
            last_error = CASE WHEN ? THEN last_error ELSE ? END, last_attempt_at = now(),
            delivered_at = CASE WHEN ? THEN now() END
        WHERE list_contains(?, delivery_id)
        """,
        [delivered, tries, delivered, (error or "")[:ERROR_LIMIT], delivered, ids],
    )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:ERROR_LIMIT]


def process_link(base_url: str, ocid: str) -> str:
    """Return the address of a process's page on the web app."""
    return f"{base_url.rstrip('/')}/processes/{quote(ocid, safe='')}"


def kind_label(kind: str) -> str:
    """Return a kind of change as a short heading, such as 'New direct award'."""
    return kind.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------------------------------- e-mail


def _day(value: Any) -> str:
    return value.strftime("%-d %B %Y") if isinstance(value, datetime) else "an undated notice"


def digest(deliveries: list[Delivery], settings: AlertSettings) -> EmailMessage:
    """Return the e-mail digest of deliveries of one watchlist to one address."""
    first = deliveries[0]
    count = len(deliveries)
    ids = sorted(delivery.delivery_id for delivery in deliveries)
    domain = settings.email_from.rsplit("@", 1)[-1].strip(">") or "tenderwatch"
    message = EmailMessage()
    message["Subject"] = f'tenderwatch: {count} new alert{"s" if count != 1 else ""} for "{first.watchlist_name}"'
    message["From"] = settings.email_from
    message["To"] = first.target
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{hashlib.sha256(' '.join(ids).encode()).hexdigest()[:40]}@{domain}>"
    message["X-Tenderwatch-Watchlist"] = str(first.watchlist_id)
    message["X-Tenderwatch-Deliveries"] = " ".join(ids)
    lines = [
        f'{count} new alert{"s" if count != 1 else ""} for your watchlist "{first.watchlist_name}" ({first.reason}).',
        "",
    ]
    for number, delivery in enumerate(deliveries, 1):
        change = delivery.change
        released = change["release_date"]
        lines.append(f"{number}. {kind_label(change['kind'])}: {change['title'] or change['ocid']}")
        lines.append(f"   {change['sentence']}")
        lines.append(f"   Process: {process_link(settings.base_url, change['ocid'])}")
        if change["release_id"]:
            where = delivery.notice or f"release {change['release_id']} of {change['ocid']}"
            lines.append(f"   Notice ({_day(released) if released else 'undated'}): {where}")
        lines.append(f"   Alert id: {delivery.delivery_id}")
        lines.append("")
    lines += [
        "Each alert is a fact taken from a public notice, to be checked there; it is not a verdict.",
        f"Stop these alerts: tenderwatch watch remove {first.watchlist_id}",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def _connect(settings: AlertSettings) -> smtplib.SMTP:
    host = settings.smtp_host or ""
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, settings.smtp_port, timeout=settings.smtp_timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_emails(con: duckdb.DuckDBPyConnection, settings: AlertSettings, result: SendResult) -> None:
    deliveries = queued(con, "email")
    if not deliveries:
        return
    if not settings.smtp_host:
        result.waiting += len(deliveries)
        result.problems.append(
            f"e-mail: {len(deliveries):,} alerts wait because no SMTP server is set (alerts.smtp_host)"
        )
        return
    groups: dict[tuple[int, str], list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.watchlist_id, delivery.target), []).append(delivery)
    batches = [
        items[start : start + settings.digest_limit]
        for items in groups.values()
        for start in range(0, len(items), settings.digest_limit)
    ]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        _mark(con, [delivery.delivery_id for delivery in deliveries], delivered=False, error=_one_line(error))
        result.failed += len(deliveries)
        result.problems.append(f"e-mail: the SMTP server {where} cannot be used: {_one_line(error)}")
        return
    try:
        for number, batch in enumerate(batches):
            ids = [delivery.delivery_id for delivery in batch]
            try:
                smtp.send_message(digest(batch, settings))
            except (OSError, smtplib.SMTPException) as error:
                _mark(con, ids, delivered=False, error=_one_line(error))
                result.failed += len(batch)
                result.problems.append(f"e-mail to {batch[0].target}: {_one_line(error)}")
                if isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                    # The connection is gone: the other messages wait for the next run.
                    rest = [delivery.delivery_id for later in batches[number + 1 :] for delivery in later]
                    if rest:
                        _mark(con, rest, delivered=False, tries=0, error="not tried: " + _one_line(error))
                        result.failed += len(rest)
                    break
            else:
                _mark(con, ids, delivered=True)
                result.emails += 1
                result.email_alerts += len(batch)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


# --------------------------------------------------------------------------------------------------- webhooks


def payload(delivery: Delivery, settings: AlertSettings) -> bytes:
    """Return the JSON body posted for a delivery (the same bytes at every try, so its signature is too)."""
    change = dict(delivery.change)
    for key in ("release_date", "found_at"):
        if isinstance(change[key], datetime):
            change[key] = change[key].isoformat()
    if change["amount"] is not None:
        change["amount"] = float(change["amount"])
    change["suppliers"] = list(change["suppliers"] or [])
    change["kind_meaning"] = KINDS.get(change["kind"], "")
    document = {
        "delivery_id": delivery.delivery_id,
        "match_id": delivery.match_id,
        "watchlist": {"id": delivery.watchlist_id, "name": delivery.watchlist_name},
        "matched_because": delivery.reason,
        "change": change,
        "links": {"process": process_link(settings.base_url, change["ocid"]), "notice": delivery.notice},
        "is_demo": change["ocid"].startswith(("ocds-twdemo-", "ocds-twsynth-")),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """Return the value of the X-Tenderwatch-Signature header: ``sha256=`` and the HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_LIMIT)
    return None


def _post(client: httpx.Client, delivery: Delivery, body: bytes, settings: AlertSettings) -> tuple[bool, str, int]:
    """Post one delivery, trying again as the settings say; return (delivered, last error, tries)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"tenderwatch/{__version__}",
        "X-Tenderwatch-Delivery": delivery.delivery_id,
        "X-Tenderwatch-Event": delivery.change["kind"],
        "X-Tenderwatch-Signature": signature(delivery.secret, body),
    }
    import httpx  # noqa: PLC0415 (imported when first needed: it takes a fifth of a second)

    error = ""
    for attempt in range(1, settings.webhook_attempts + 1):
        wait = None
        try:
            response = client.post(delivery.target, content=body, headers=headers)
        except httpx.HTTPError as problem:
            error = f"no answer: {_one_line(problem)}"
            again = True
        else:
            if 200 <= response.status_code < 300:
                return True, "", attempt
            error = f"answered HTTP {response.status_code}"
            again = response.status_code in (408, 429) or response.status_code >= 500
            wait = _retry_after(response)
        if not again or attempt == settings.webhook_attempts:
            return False, error, attempt
        time.sleep(wait if wait is not None else settings.webhook_backoff_seconds * 2 ** (attempt - 1))
    return False, error, settings.webhook_attempts


def _send_webhooks(con: duckdb.DuckDBPyConnection, settings: AlertSettings, result: SendResult) -> None:
    deliveries = queued(con, "webhook")
    if not deliveries:
        return
    broken: dict[str, str] = {}
    import httpx  # noqa: PLC0415

    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        for delivery in deliveries:
            if delivery.target in broken:
                result.waiting += 1  # the address failed earlier in this run: tried again at the next
                continue
            delivered, error, tries = _post(client, delivery, payload(delivery, settings), settings)
            _mark(con, [delivery.delivery_id], delivered=delivered, tries=tries, error=error)
            if delivered:
                result.webhooks += 1
            else:
                result.failed += 1
                broken[delivery.target] = error
    for target, error in broken.items():
        result.problems.append(f"webhook {target}: {error}")


def send_alerts(con: duckdb.DuckDBPyConnection, settings: AlertSettings) -> SendResult:
    """Deliver every pending or failed delivery of the outbox (e-mail digests, then webhooks), recording each
    outcome as it happens; return what was done. No transaction may be open on ``con``."""
    result = SendResult()
    _send_emails(con, settings, result)
    _send_webhooks(con, settings, result)
    return result
