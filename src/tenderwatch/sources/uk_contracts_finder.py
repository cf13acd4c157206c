"""UK Contracts Finder

Contracts Finder (CF) publishes English public-sector notices below the procurement thresholds, and copies of
many above them, from 2014 to now, under the Open Government Licence. Since 24 February 2025 new Procurement
Act processes publish on Find a Tender instead; processes begun under the old rules go on using Contracts
Finder. Ocids start `ocds-b5fd17-` followed by a GUID. The package `publisher` is often the e-tendering
system or the buyer, never a reliable name for the buyer.

## What tenderwatch asks for

`GET {base_url}Published/Notices/OCDS/Search?limit=100&publishedFrom=YYYY-MM-DD&publishedTo=YYYY-MM-DD`, then
every `links.next` URL the API gives, until a page has none.

- **Windows of 15 days**, on a grid of UK dates from 1 January 2014, oldest first, with dates and no times, as
  Kingfisher Collect asks (`united_kingdom_contracts_finder_base.py`; commit f81811d0, "Otherwise the API only
  returns data from some months ago"). The window that ends today is asked for up to tomorrow's date and is
  read again by the next sync, so notices published later today are not missed.
- `publishedFrom`/`publishedTo` filter on "latest edit and first publication in current stage" (CF
  documentation), so an edited notice comes back in a later window; an edit is stored as a changed release,
  and an unchanged copy is recognised and skipped.
- Before October 2022 the search answered with an array of packages under `results` (Kingfisher Collect
  issue #968); tenderwatch reads either shape.

## Politeness

- One request at a time, at least `min_interval` (1 s) apart: without a delay about 1,500 requests of a crawl
  were refused, with 1 s about 500 (Kingfisher Collect issue #612).
- **HTTP 403** is how CF says "too many requests" ("no further requests should be made until after 5
  minutes", CF documentation), and so is a page of HTML in place of JSON ("Request forbidden … The request
  rate limit may have been exceeded"). Both wait `forbidden_wait` (300 s) and try again. 429 honours
  `Retry-After`.

## Quirks, and what tenderwatch does about them

- **Encoding.** CF has sent ISO-8859-1 bytes whatever its header says (Kingfisher Collect transcodes every
  response, commits f2921c12 and ca2363ba). A page that is not valid UTF-8 is read as Windows-1252 (a superset of
  ISO-8859-1) and stored as UTF-8; a page that is valid UTF-8 is left alone. The bytes as received are kept in
  `sync_pages`.
- **HTML entities in text**: `&#039;UK FILM&#039;`, `ST HELENS &amp; KNOWSLEY`, `&pound;`, seen in real CF
  packages. With `unescape_html` on (the default) they are decoded in every string of a release before it is
  stored, so names match and pages read well; the original page is kept in `sync_pages`.
- **OCDS 1.0 until about 2022**, with deprecated fields: `tender.minValue`, `xClassifications`, awards whose
  suppliers carry `sme` and `vco` booleans and `x_awardValue`, a `buyer` object and no `parties` (Kingfisher
  Collect set `ocds_version = '1.0'` from 2021 to October 2022). Releases are stored as published; the
  normalised tables read both shapes (the buyer from `buyer`, suppliers from the awards).
- Supplier identifiers are usually empty (`{"scheme": "", "id": ""}`): in real 2020 awards, 199 of 1,499
  supplier entries had a Companies House number. Organisations are then matched by name.
- The same release can come both inside a package and bare, and again in the next window; it is stored once.
- **Tender notices marked unsuccessful on publication**: 385 of the 500 CF tender notices of early 2020 in the real
  data, and 206 of the 221 of 2014-15, carry the tender status `unsuccessful` in a notice dated before their own
  deadline for bids, when no bid can have been judged. The status is stored as published; the contract lifecycle,
  the alerts and the indicators TW105 and TW107 read it as a failed procedure only from a notice dated on or after
  the deadline.
- **The anticipated contract period in milestones.** Notices in OCDS 1.0 give no `contractPeriod` but two tender
  milestones, "Contract start" and "Contract end" ("Anticipated contract start date"). In the 2019-20 notices they
  carry the dates; in those of about 2014 to 2016 they are empty and the `tenderPeriod` holds the contract's period
  instead (197 of the 221 such notices in the real data span more than 90 days, many 1 April to 31 March), with no
  deadline for bids. The tenders table reads the contract period from either, and no deadline from the second
  (see the data model). Some processes hold the same notice in both forms, and merged, the older form's contract
  start or end is left in the `tenderPeriod`; a tender period date equal to the milestone's is not read either.
- **A single estimate as the minimum.** Notices in OCDS 1.0 often give the estimated value as `tender.minValue`
  with a `value` of 0 or none (548 of the 1,199 tenders of CF notices in the real data). The tenders table reads
  that minimum as the estimate, so a watchlist's "worth at least" and the indicators that read estimates see it.
- Releases with an empty `date` occur (one in the real 2020 awards); they are refused with `no-date` in
  `rejects`, since OCDS needs the date to put releases in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import Field

from tenderwatch.sources.base import DatedApi, Window
from tenderwatch.sources.payload import Page, unescape_html
from tenderwatch.sources.settings import SourceSettings

if TYPE_CHECKING:
    import httpx

OFFICIAL_URL = "https://www.contractsfinder.service.gov.uk/"


class ContractsFinderSettings(SourceSettings):
    """Settings of UK Contracts Finder."""

    base_url: str = Field(
        default=OFFICIAL_URL,
        description="Where the site lives (the folder holding `Published/`); point it at a mirror or a caching "
        "proxy if you use one.",
    )
    min_interval: float = Field(default=1.0, ge=0, description="Fewest seconds between the starts of two requests.")
    page_size: int = Field(default=100, ge=1, le=100, description="Releases asked for per page (`limit`, 1–100).")
    forbidden_wait: float = Field(
        default=300.0,
        ge=0,
        description='Seconds to wait after HTTP 403 or a page of HTML, CF\'s way of saying "too many requests".',
    )
    unescape_html: bool = Field(
        default=True,
        description="Decode HTML character references (`&amp;`, `&#039;`, `&pound;`) in the text of releases "
        "before they are stored; the page as received is kept in `sync_pages` either way.",
    )


class ContractsFinder(DatedApi):
    """UK Contracts Finder: the OCDS search in 15-day windows."""

    name = "uk-contracts-finder"
    title = "UK Contracts Finder"
    summary = "English notices below the thresholds (and copies of many above), 2014 to now."
    settings_model = ContractsFinderSettings
    official_url = OFFICIAL_URL
    anchor = datetime(2014, 1, 1)
    step = timedelta(days=15)
    max_length = timedelta(days=16)  # 15 local days, plus the hour the autumn clock change adds
    min_length = timedelta(days=1)
    granularity = timedelta(days=1)

    def first_url(self, window: Window) -> str:
        """Return the first page of a window, in UK dates."""
        assert window.start is not None and window.end is not None
        start = self.local_date(window.start, ceiling=False)
        end = self.local_date(window.end, ceiling=True)
        return (
            f"{self.base_url}Published/Notices/OCDS/Search?limit={self.page_size}"
            f"&publishedFrom={start}&publishedTo={end}"
        )

    def wait_for(self, response: httpx.Response) -> float | None:
        """Return ``forbidden_wait`` for a 403, or for a page of HTML where JSON was asked for."""
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code == 403 or (response.status_code == 200 and media_type == "text/html"):
            return float(self.settings.forbidden_wait)  # type: ignore[attr-defined]
        return None

    def transform(self, page: Page) -> Page:
        """Unwrap the pre-2022 ``results`` array, and decode HTML entities when ``unescape_html`` is on."""
        value: Any = page.value
        quirks = list(page.quirks)
        changed = False
        if isinstance(value, dict) and isinstance(value.get("results"), list) and "releases" not in value:
            value = value["results"]
            changed = True
            quirks.append("packages taken out of the pre-2022 `results` array")
        if self.settings.unescape_html:  # type: ignore[attr-defined]
            value, count = unescape_html(value)
            if count:
                changed = True
                quirks.append(f"HTML entities decoded in {count} string(s)")
        if not changed:
            return page
        return Page(orjson.dumps(value), value, page.repairs, quirks)
