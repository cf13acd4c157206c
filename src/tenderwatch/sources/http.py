"""The one HTTP client of the live sources: polite, patient, and clear when it gives up.

- one request at a time, and at least the source's ``min_interval`` between the starts of two requests to the
  same host;
- HTTP 429 and 503 wait for the ``Retry-After`` header (seconds or a date), or ``retry_after_default`` when it
  is absent; a source may name more such answers (Contracts Finder's 403);
- other server errors (500, 502, 504, …), 408, timeouts, broken connections and bodies cut short wait with
  exponential backoff and jitter;
- a host name that cannot be looked up (no network, or a mistyped ``base_url``) is tried once more, not
  ``max_attempts`` times: waiting minutes for a connection that is not there helps nobody;
- after ``max_attempts`` attempts, or at once for an answer that will not change (400, 404, …), a
  :class:`~tenderwatch.sources.exceptions.FetchError` says what happened;
- every request names tenderwatch and its version in its User-Agent.
"""

from __future__ import annotations

import email.utils
import random
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from tenderwatch import __version__
from tenderwatch.sources.exceptions import FetchError
from tenderwatch.sources.settings import CommonSettings

if TYPE_CHECKING:
    import httpx

# Answers worth trying again after a pause (besides 429 and 503, which say how long to wait).
TRANSIENT_STATUSES = frozenset({408, 500, 502, 504, 520, 521, 522, 523, 524})
# Attempts at a request whose host name cannot be looked up: one more, for a resolver's passing hiccup.
NAME_LOOKUP_ATTEMPTS = 2
# Bodies larger than this are written to a temporary file while they arrive.
SPOOL_IN_MEMORY = 32 << 20


def user_agent(contact: str = "") -> str:
    """Return the User-Agent sent with every request."""
    agent = f"tenderwatch/{__version__} (open contracting data reader)"
    return f"{agent} {contact}".strip() if contact else agent


@dataclass
class Response:
    """A successful answer: its status (200 or 304), headers and body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    file: IO[bytes] | None = None
    """The body as a temporary file, when it was asked for as one."""
    attempts: int = 1

    @property
    def content_type(self) -> str:
        """Return the media type, without parameters, in lower case."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class Policy:
    """How one source wants its requests paced and its answers read."""

    min_interval: float
    headers: dict[str, str] = field(default_factory=dict)
    wait_for: Callable[[httpx.Response], float | None] | None = None
    """Returns a wait in seconds for answers this source uses to say "slow down" (besides 429 and 503)."""


class Fetcher:
    """Fetches URLs one at a time, pacing requests per host and retrying what is worth retrying."""

    def __init__(
        self,
        settings: CommonSettings,
        *,
        on_retry: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.on_retry = on_retry or (lambda message, wait: None)
        self.sleep = sleep
        self._last_start: dict[str, float] = {}
        import httpx  # noqa: PLC0415 (imported when first needed: it takes a fifth of a second)

        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            headers={"User-Agent": user_agent(settings.contact)},
            follow_redirects=True,
        )

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, policy: Policy, *, headers: dict[str, str] | None = None, to_file: bool = False
    ) -> Response:
        """Return the answer to a GET of ``url`` (200, or 304 to a conditional request), trying again as the
        module docstring says.

        :raises FetchError: when the answer is a client error, or the last attempt failed
        """
        import httpx  # noqa: PLC0415

        settings = self.settings
        request_headers = {**policy.headers, **(headers or {})}
        for attempt in range(1, settings.max_attempts + 1):
            self._pace(url, policy.min_interval)
            wait: float
            try:
                result = self._attempt(url, request_headers, to_file=to_file)
            except httpx.TimeoutException:
                reason = f"no answer within {settings.timeout:g} s"
                wait = self._backoff(attempt)
            except httpx.RequestError as error:  # broken connections, bodies cut short, bad compression
                reason = f"connection failed ({_describe(error)})"
                wait = self._backoff(attempt)
                if attempt >= NAME_LOOKUP_ATTEMPTS and _name_lookup_failed(error):
                    raise FetchError(
                        f"the host {urlsplit(url).hostname} could not be looked up ({_describe(error)}), "
                        f"{attempt} attempts made",
                        "check the network connection (and proxy) of this machine, and the source's base_url "
                        "setting; the windows already read are kept, and the next sync retries the rest",
                    ) from error
            else:
                response, body, file = result
                status = response.status_code
                special = policy.wait_for(response) if policy.wait_for else None
                if special is not None:
                    reason = f"HTTP {status}: the server asks us to slow down"
                    wait = _retry_after(response, special)
                elif status in (200, 304):
                    return Response(url, status, response.headers, body, file, attempt)
                elif status in (429, 503):
                    reason = f"HTTP {status}" + (" (too many requests)" if status == 429 else " (unavailable)")
                    wait = _retry_after(response, settings.retry_after_default)
                elif status in TRANSIENT_STATUSES or status >= 500:
                    reason = f"HTTP {status}"
                    wait = self._backoff(attempt)
                else:
                    raise FetchError(
                        f"HTTP {status} for {url}{_explain(body)}",
                        "check the source's base_url setting and the dates asked for",
                    )
                if file is not None:
                    file.close()
            if attempt == settings.max_attempts:
                raise FetchError(
                    f"{reason}, {attempt} attempts made",
                    "the windows already read are kept; run the same sync again later to retry",
                )
            if wait > settings.max_retry_wait:
                raise FetchError(
                    f"{reason}; the server asks for a pause of {wait:,.0f} s, more than max_retry_wait "
                    f"({settings.max_retry_wait:,.0f} s)",
                    "run the same sync again later to retry",
                )
            self.on_retry(f"{reason}; waiting {wait:,.1f} s before attempt {attempt + 1}", wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, url: str, headers: dict[str, str], *, to_file: bool
    ) -> tuple[httpx.Response, bytes, IO[bytes] | None]:
        with self.client.stream("GET", url, headers=headers) as response:
            if to_file and response.status_code == 200:
                file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
                try:
                    for chunk in response.iter_bytes(1 << 20):
                        file.write(chunk)
                except BaseException:
                    file.close()
                    raise
                file.seek(0)
                return response, b"", file
            return response, response.read(), None

    def _pace(self, url: str, interval: float) -> None:
        host = urlsplit(url).netloc
        last = self._last_start.get(host)
        if last is not None:
            remaining = last + interval - time.monotonic()
            if remaining > 0:
                self.sleep(remaining)
        self._last_start[host] = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        settings = self.settings
        wait = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
        return wait * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)


def _retry_after(response: httpx.Response, default: float) -> float:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), else ``default``."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _name_lookup_failed(error: BaseException) -> bool:
    """Return whether a failed request failed to look up its host's name (the cause of httpx's error)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, socket.gaierror):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(error: httpx.RequestError) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _explain(body: bytes) -> str:
    """Return the start of an error body, on one line, for the message."""
    text = " ".join(body[:300].decode("utf-8", "replace").split())
    return f": {text}" if text else ""
