"""Any OCDS publisher (ocds-url)

Reads OCDS from any URL: a release package, a record package, a release or an array of them, JSON lines, a
gzip file or a zip archive of any of these (a publisher's bulk download), or an API that pages with
`links.next`, as the OCDS pagination extension describes and many publishers (Find a Tender and Contracts
Finder among them) do.

```sh
tenderwatch sync ocds-url --url https://data.example.org/ocds/releases.jsonl.gz
```

or, for `tenderwatch sync --all`, in the settings file:

```toml
[sources]
enabled = ["ocds-url"]

[sources.ocds-url]
urls = ["https://data.example.org/ocds/releases.jsonl.gz", "https://api.example.org/releases?page=1"]
```

## How a URL is read

- What a URL holds is told from its bytes, not its name: `PK` starts a zip archive (every member is read, in
  name order), `1f 8b` a gzip file, and JSON lines from JSON documents by their first lines, as `tenderwatch
  load` does.
- A JSON document with `links.next` is a page of an API: the next page is fetched, and so on until a page has
  no next link. Each page is committed with a checkpoint naming the next one, so a stopped sync resumes there.
- A large file is downloaded to a temporary file, not held in memory, and read in pieces of about 32 MB of JSON
  lines (or one zip member, or one document, at a time); each piece is committed with a checkpoint, so a
  stopped sync of a large file resumes after the last piece stored, provided the file has not changed (its
  SHA-256 is compared). The lines a piece holds are in its `member` (`lines 200001–260417`, after the zip
  member's name if any), and its releases' line numbers count from the start of the piece.
- The next sync of the same URL asks with `If-None-Match` / `If-Modified-Since` when the server gave an ETag or
  Last-Modified date: an unchanged file costs one request and nothing is read again. Otherwise the URL is read
  again from the start, and releases already stored are recognised by their hash and skipped.

## Limits

- `--since` and `--until` do not apply: a URL is read whole. For an API with date parameters, put them in the
  URL.
- A single JSON document (not JSON lines) is parsed in memory; a release package of several gigabytes needs
  as much memory. Bulk files published as JSON lines or zipped documents are read piece by piece.
- Linked releases in record packages (`{"url": …}` only) are not followed; a record without embedded releases
  or a `compiledRelease` is refused with the first URL it links to, to load instead.

## Politeness and repairs

As for every source: one request at a time, at least `min_interval` (1 s) apart per host, Retry-After honoured
on 429 and 503, backoff on server errors and broken connections. A document that fails a strict parse is tried
again after the known repairs (non-UTF-8 bytes, `1e9999`, leading zeros); one that still fails is quarantined
with its URL and reason.
"""

from __future__ import annotations

from urllib.parse import urljoin

from pydantic import Field

from tenderwatch.sources.base import UrlFeed
from tenderwatch.sources.settings import SourceSettings


class OcdsUrlSettings(SourceSettings):
    """Settings of the generic OCDS source."""

    base_url: str = Field(
        default="",
        description="A prefix for relative entries of `urls` and of `--url` (handy to read every feed through "
        "a mirror); empty means every URL is given in full.",
    )
    urls: list[str] = Field(
        default_factory=list,
        description="The URLs `tenderwatch sync --all` reads (when `ocds-url` is enabled); `--url` replaces "
        "them for one sync.",
    )
    min_interval: float = Field(
        default=1.0, ge=0, description="Fewest seconds between the starts of two requests to the same host."
    )


class OcdsUrl(UrlFeed):
    """Any OCDS release package, record package, JSON lines, gzip or zip URL, or API paging with links.next."""

    name = "ocds-url"
    title = "Any OCDS publisher"
    summary = "Any URL of OCDS: packages, JSON lines, gzip or zip bulk files, or an API paging with links.next."
    settings_model = OcdsUrlSettings

    def resolve(self, url: str) -> str:
        """Return ``url`` joined to the ``base_url`` setting when it is relative."""
        if url.startswith(("http://", "https://")):
            return url
        base = self.settings.base_url
        return urljoin(base if base.endswith("/") else base + "/", url) if base else url
