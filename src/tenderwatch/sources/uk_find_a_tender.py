"""UK Find a Tender

Find a Tender (FTS) is the UK government's service for notices above the procurement thresholds since
1 January 2021 (before that they went to the EU's Tenders Electronic Daily), and, since 24 February 2025, for
every notice under the Procurement Act 2023, from pipeline notices (UK1) to contract changes (UK10) and
terminations (UK12). Its API publishes each notice as an OCDS 1.1 release, under the Open Government Licence
v3. Ocids start `ocds-h6vhtk-`; release ids are notice numbers such as `083257-2026`.

## What tenderwatch asks for

`GET {base_url}ocdsReleasePackages?updatedFrom=…&updatedTo=…&limit=100`, then every `links.next` URL the API
gives, exactly as given, until a page has none. No other parameter is sent: the API answers 400 to one it does
not know, and the `stages` filter is reported to drop notices.

- **Windows of at most 6 hours**, on a grid of 00:00, 06:00, 12:00 and 18:00 UK time, oldest first, each
  asked for from 5 minutes before its start (the overlap) to its end. Long windows silently miss releases:
  Kingfisher Collect issues #877 (2021) and #1203 (2025) found every release only with short windows, and its
  maintainers shortened the window from a day to 12 hours to 6 hours in January 2026 (commit 9b6f7ada: "The
  endpoint doesn't return all available releases with a longer `step` value").
- **UK local time.** `updatedFrom` and `updatedTo` are `YYYY-MM-DDTHH:MM:SS` with no offset (19 characters,
  as the API documentation says), and the API reads them as UK local time: a request for 10:00–11:00 in July
  returned notices stamped 09:xx UTC (third-party test, jacekjastrzebski/uk-tenders-dbt-snowflake ADR 0018).
  Tenderwatch therefore sends UK wall-clock times. The hour before the autumn clock change happens twice; a
  window that starts or ends in it is widened by an hour so that it covers its span whichever way the API
  reads the time. A grid window across that change (7 real hours) is cut to keep every window within 6 hours.
- **Dates on the command line** without an offset (`--since 2026-09-03`) are UK local times too.

## Politeness

- One request at a time, at least `min_interval` (10 s) apart: "The API (using Amazon ELB) eventually responds
  with HTTP 429 '12 request limit in 2 minute exceeded'" (Kingfisher Collect, `united_kingdom_fts.py`, which
  waits 10 s too).
- HTTP 429 and 503 wait for `Retry-After`, or 30 s when it is absent, which it has been on the ELB's 429s
  (Kingfisher Collect commit 2e43c62d). The FTS documentation asks clients to wait for `Retry-After` on both.
- 504 has been seen without Retry-After (commit eec27537); it is retried with backoff like other server
  errors.

## Quirks, and what tenderwatch does about them

- **A page cut short of its next link.** From June to August 2026 the API sometimes answered the second page of
  a window without `links.next`, ending the window early with no error (Kingfisher Collect issue #1306). A page
  that is full (as many releases as asked for) but has no next link marks its window as suspect: the window is
  read again as two halves, down to 15-minute windows, and the page's releases are kept meanwhile.
- **`1e9999`.** FTS has sent `"maximumLotsBidPerSupplier": 1e9999` (release `083529-2026`), a number JSON
  cannot hold; strict parsers refuse the page. After a strict parse fails it is written as `9999999`, as
  Kingfisher Collect does (issue #592). Numbers with leading zeros (`000`), also seen (Kingfisher Collect
  commit f7b809f0), lose them. The page as received is kept in `sync_pages`.
- **Releases without an id** occur; they are refused with the reason `no-id` in `rejects`, and the rest of the
  page is stored.
- **Delta releases.** Modification notices (UK10, UK15) repeat awards with only `{id, amendments}`; the OCDS
  merge keeps the earlier award fields, which is why every process is compiled.
- **Values given only including taxes.** FTS gives a value's `amount` (without taxes, as OCDS defines a value)
  and, from the UK extension, `amountGross` (with them). Some award notices give `amountGross` alone (notice
  `094477-2026`: £256,378.74). The value is then that amount, and the tables' `value_includes_tax` column says so;
  the contract page writes "including taxes" after it. Where both are given, the amount without taxes is read.
  An `amountGross` that is not a believable number is set aside in `rejects`, as any amount is.
- Party ids such as `GB-FTS-141319` are unique only within one release; organisations are matched by their
  registered identifiers (`GB-PPON`, `GB-COH`, `GB-CHC`…) instead.

## Volume

One day (2026-09-03) had 436 releases in 5 pages: 4 windows and about 8 requests, under two minutes at the
default pace. A full history from 2021 is about 7,000 windows: start it with `--since 2021-01-01` and let it
run; it can be stopped and resumed at any time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from tenderwatch.sources.base import DatedApi, Window
from tenderwatch.sources.settings import SourceSettings

OFFICIAL_URL = "https://www.find-tender.service.gov.uk/api/1.0/"


class FindATenderSettings(SourceSettings):
    """Settings of UK Find a Tender."""

    base_url: str = Field(
        default=OFFICIAL_URL,
        description="Where the API lives (the folder holding `ocdsReleasePackages`); point it at a mirror or a "
        "caching proxy if you use one.",
    )
    min_interval: float = Field(
        default=10.0,
        ge=0,
        description="Fewest seconds between the starts of two requests (the API allows about 6 a minute).",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="Releases asked for per page (`limit`, 1–100).")


class FindATender(DatedApi):
    """UK Find a Tender: ``ocdsReleasePackages`` in windows of at most 6 hours."""

    name = "uk-find-a-tender"
    title = "UK Find a Tender"
    summary = "Notices above the UK thresholds since 2021, and every Procurement Act notice since February 2025."
    settings_model = FindATenderSettings
    official_url = OFFICIAL_URL
    anchor = datetime(2021, 1, 1)
    step = timedelta(hours=6)
    max_length = timedelta(hours=6)
    min_length = timedelta(minutes=15)
    overlap = timedelta(minutes=5)

    def first_url(self, window: Window) -> str:
        """Return the first page of a window: its UK local times, 5 minutes of overlap before its start."""
        assert window.start is not None and window.end is not None
        start = self.local_text(window.start - self.overlap, widen=-timedelta(hours=1))
        end = self.local_text(window.end, widen=timedelta(hours=1))
        return f"{self.base_url}ocdsReleasePackages?updatedFrom={start}&updatedTo={end}&limit={self.page_size}"
