"""Live sources: sync UK Find a Tender, UK Contracts Finder and any OCDS publisher into the store.

    with Workspace.open(load_settings(db="my.duckdb")) as workspace:
        result = sync(workspace, ["uk-find-a-tender"], since="2026-09-03", until="2026-09-04")
        for summary in result.sources:
            print(summary.line())

Each source is one module (``SOURCES``, in alphabetical order), whose docstring is its documentation page. A
sync is incremental and resumable: the checkpoint of every page commits with the page's releases (tables
``sync_windows`` and ``sync_pages``, the table group "sources", which rebuilds keep). See
:mod:`tenderwatch.sources.runner` for how windows, pages and pieces are read, :mod:`tenderwatch.sources.http`
for how requests are paced and retried, and :mod:`tenderwatch.sources.payload` for repairs and quarantine.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tenderwatch.exceptions import InputError
from tenderwatch.sources.base import DatedApi, Source
from tenderwatch.sources.exceptions import FetchError, SourceError
from tenderwatch.sources.ocds_url import OcdsUrl
from tenderwatch.sources.settings import CommonSettings, SourcesSettings, load_source_settings
from tenderwatch.sources.uk_contracts_finder import ContractsFinder
from tenderwatch.sources.uk_find_a_tender import FindATender

if TYPE_CHECKING:
    from tenderwatch.sources.runner import SyncReporter, SyncResult
    from tenderwatch.workspace import Workspace

# Alphabetical; the key is the name users type.
SOURCES: dict[str, type[Source]] = {source.name: source for source in (OcdsUrl, ContractsFinder, FindATender)}

__all__ = [
    "SOURCES",
    "FetchError",
    "SourceError",
    "SourceInfo",
    "load_source_settings",
    "parse_when",
    "source_infos",
    "source_page",
    "sources_pages",
    "sync",
]


def parse_when(text: str, zone: ZoneInfo | None, what: str) -> datetime:
    """Return a ``--since``/``--until`` value as a time in UTC: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]``,
    read in ``zone`` (the publisher's time zone) unless it carries an offset or ``Z``.

    :raises InputError: if the text is not such a date
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else None
        if parsed is None:
            day = date.fromisoformat(value)
            parsed = datetime(day.year, day.month, day.day)
    except ValueError as error:
        raise InputError(
            f"{what} {text!r} is not a date", "give YYYY-MM-DD or YYYY-MM-DDTHH:MM (UK time for the UK sources)"
        ) from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def sync(
    workspace: Workspace,
    names: list[str] | None = None,
    *,
    all_sources: bool = False,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    sample: int | None = None,
    urls: list[str] | None = None,
    refetch: bool = False,
    settings: SourcesSettings | None = None,
    reporter: SyncReporter | None = None,
) -> SyncResult:
    """Sync the sources named (or, with ``all_sources``, those the ``enabled`` setting lists) into the store,
    then compile, normalise and analyse what changed.

    ``since`` and ``until`` bound the dated sources (text is read in each publisher's time zone); without
    ``since``, a source goes on from where its last sync ended. ``sample`` stops each source after that many
    releases and records no checkpoint. ``urls`` are read by ``ocds-url`` in place of its ``urls`` setting.
    ``refetch`` reads the windows from ``since`` again even where an earlier sync read them.
    An error that stops one source is in its summary (``SyncResult.errors``); the others go on.

    :raises InputError: if the sources, dates or URLs asked for make no sense
    :raises SettingsError: if the ``[sources]`` settings are invalid
    """
    from tenderwatch.sources.runner import Syncer, SyncRequest  # noqa: PLC0415

    settings = settings or load_source_settings()
    chosen = _choose(names or [], all_sources=all_sources, settings=settings)
    if sample is not None and sample < 1:
        raise InputError(f"--sample {sample} is not a number of releases", "give a whole number of 1 or more")
    dated = [name for name in chosen if SOURCES[name].dated]
    if (since is not None or until is not None) and not dated:
        raise InputError(
            "--since and --until apply to the dated sources only",
            f"{', '.join(chosen)} reads each URL whole; put dates in the URL if its API takes them",
        )
    if refetch and since is None:
        raise InputError("--refetch needs --since", "give the dates to read again with --since (and --until)")
    if urls and all(SOURCES[name].dated for name in chosen):
        raise InputError("--url is for the ocds-url source", "run `tenderwatch sync ocds-url --url URL`")
    requests = []
    for name in chosen:
        source = SOURCES[name](settings.of(name), settings.common)
        if isinstance(source, DatedApi):
            start = _when(since, source.timezone, "--since")
            end = _when(until, source.timezone, "--until")
            if start is not None and start >= (end or datetime.now(UTC)):
                raise InputError(
                    f"--since {since} is not before {'--until ' + str(until) if end else 'now'}",
                    "give a --since earlier than --until",
                )
            requests.append(SyncRequest(source, start, end, refetch=refetch))
        else:
            feeds = list(urls) if urls else list(getattr(settings.of(name), "urls", []))
            if not feeds:
                raise InputError(
                    f"{name} has no URL to read",
                    f"give --url URL, or list them in the settings file: [sources.{name}] urls = [...]",
                )
            requests.append(SyncRequest(source, urls=feeds))
    return Syncer(workspace, settings, reporter, sample=sample).run(requests)


def _when(value: str | datetime | None, zone: ZoneInfo, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return parse_when(value, zone, what)


def _choose(names: list[str], *, all_sources: bool, settings: SourcesSettings) -> list[str]:
    if all_sources and names:
        raise InputError("give a SOURCE or --all, not both", "see `tenderwatch sync --help`")
    if all_sources:
        if not settings.common.enabled:
            raise InputError(
                "no sources are enabled for --all",
                'list them in the settings file: [sources] enabled = ["uk-find-a-tender", "uk-contracts-finder"]',
            )
        return list(dict.fromkeys(settings.common.enabled))
    if not names:
        raise InputError("name a SOURCE to sync, or give --all", "see `tenderwatch sources` for the sources there are")
    for name in names:
        if name not in SOURCES:
            raise InputError(f"unknown source {name!r}", f"the sources are {', '.join(SOURCES)}")
    return list(dict.fromkeys(names))


@dataclass
class SourceInfo:
    """A source as ``tenderwatch sources`` lists it."""

    name: str
    title: str
    summary: str
    where: str
    """The base URL in use, or the URLs ``--all`` reads."""
    enabled: bool
    """Whether ``tenderwatch sync --all`` syncs it."""
    documentation: str
    """The source's page (Markdown)."""
    synced_until: datetime | None = None
    unfinished: int = 0


def source_infos(settings: SourcesSettings | None = None, con: Any = None) -> list[SourceInfo]:
    """Return every source with its settings in use and, given a store's connection, how far it is synced."""
    from tenderwatch.sources import checkpoint  # noqa: PLC0415

    settings = settings or load_source_settings()
    has_tables = False
    if con is not None:
        names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        has_tables = "sync_windows" in names
    result = []
    for name, source in SOURCES.items():
        options = settings.of(name)
        where = (
            options.base_url or source.official_url  # type: ignore[attr-defined]
            if source.dated
            else ", ".join(getattr(options, "urls", [])) or "the URLs given with --url"
        )
        info = SourceInfo(
            name, source.title, source.summary, where, name in settings.common.enabled, source_page(name)
        )
        if has_tables:
            info.synced_until = checkpoint.synced_until(con, name)
            info.unfinished = con.execute(
                "SELECT count(*) FROM sync_windows WHERE source = ? AND status <> 'done'", [name]
            ).fetchall()[0][0]
        result.append(info)
    return result


# ----------------------------------------------------------------------------------------------- docs


def _settings_table(model: type[Any], prefix: str) -> list[str]:
    lines = ["| setting | environment variable | default | description |", "|---|---|---|---|"]
    for field_name, field in model.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default
        shown = "empty" if default in (None, "", []) else f"`{default}`"
        variable = f"TENDERWATCH_SOURCES_{prefix}{field_name.upper()}"
        description = (field.description or "").replace("|", "&#124;")
        lines.append(f"| `{field_name}` | `{variable}` | {shown} | {description} |")
    return lines


def source_page(name: str) -> str:
    """Return the documentation page of one source, from its module's docstring and its settings."""
    from tenderwatch.docgen import GENERATED  # noqa: PLC0415

    source = SOURCES[name]
    module = inspect.getmodule(source)
    doc = inspect.cleandoc(module.__doc__ or "") if module else ""
    _, _, body = doc.partition("\n")
    env = name.upper().replace("-", "_") + "_"
    lines = [
        f"# {source.title} (`{name}`)",
        "",
        GENERATED,
        "",
        source.summary,
        "",
        body.strip(),
        "",
        "## Settings",
        "",
        f"In the `[sources.{name}]` table of the settings file (see [index.md](index.md) for the settings shared by "
        "every source):",
        "",
        *_settings_table(source.settings_model, env),
        "",
    ]
    return "\n".join(lines)


def sources_pages() -> dict[str, str]:
    """Return the generated pages of ``docs/sources/``: file name → Markdown."""
    pages = {"index.md": _index_page()}
    for name in SOURCES:
        pages[f"{name}.md"] = source_page(name)
    return pages


def _index_page() -> str:
    from tenderwatch.docgen import GENERATED  # noqa: PLC0415

    lines = [
        "# Live sources",
        "",
        GENERATED,
        "",
        "`tenderwatch sync SOURCE` fetches today's notices straight from a publisher's API into the store, then",
        "compiles, normalises and analyses what changed, like `tenderwatch load`. `tenderwatch sources` lists the",
        "sources; `tenderwatch sync --all` syncs those the settings file enables. To run it every day, see",
        "[scheduling.md](../scheduling.md).",
        "",
        "| source | what it covers |",
        "|---|---|",
        *[f"| [`{name}`]({name}.md) | {source.summary} |" for name, source in SOURCES.items()],
        "",
        "```sh",
        "tenderwatch sync uk-find-a-tender                              # from where the last sync ended",
        "tenderwatch sync uk-find-a-tender --since 2026-09-03 --until 2026-09-04   # one day, UK time",
        "tenderwatch sync uk-contracts-finder --sample 50               # a quick look: 50 releases, no checkpoint",
        "tenderwatch sync ocds-url --url https://data.example.org/ocds/releases.jsonl.gz",
        "tenderwatch sync --all",
        "```",
        "",
        "## Incremental, and safe to stop",
        "",
        "A dated source is read in windows (6 hours for Find a Tender, 15 days for Contracts Finder), oldest",
        "first, each page by following the API's `links.next`. The releases of every page commit in one",
        "transaction with the page's row in `sync_pages` and the window's checkpoint in `sync_windows` (the next",
        "page to fetch, or `done`). A sync stopped at any moment, even by a power cut, resumes at the page it",
        "stopped at and ends with the same store as one that was never stopped. Without `--since`, a sync goes on",
        "from the end of the last window synced (the first ever sync goes back `first_sync_days`); with",
        "`--since`, windows already done are skipped, unless `--refetch` asks to read them again. A release",
        "already stored (same content) is never stored twice, so the small overlap between windows and repeated",
        "runs are harmless.",
        "",
        "A page that is full (as many releases as asked for) but has no next link makes its window **suspect**:",
        "the window is read again as two halves, and so on down to the source's shortest window, because an API",
        "that drops its next link would otherwise lose releases without an error. If even the shortest window",
        "comes back that way, it is recorded as done with a note saying releases may be missing, shown after",
        "the sync; read it again later with `--since`, `--until` and `--refetch`.",
        "",
        "## Polite",
        "",
        "One request at a time, at least `min_interval` seconds apart per host. HTTP 429 and 503 wait for",
        "`Retry-After` (seconds or a date), or `retry_after_default` when it is absent. Other server errors,",
        "timeouts, broken connections and bodies cut short are retried after an exponential backoff with jitter.",
        "A host whose name cannot be looked up (no network, or a mistyped `base_url`) is tried only once more,",
        "so a machine without a connection gets its error in seconds rather than a minute.",
        "After `max_attempts`, the sync of that source stops with one line naming the window that failed; what",
        "was read before is kept, the other sources go on, the exit code is 1, and the next sync retries the",
        "window. Every request says `User-Agent: tenderwatch/VERSION (open contracting data reader)`, followed",
        "by the `contact` setting when you give one. Proxies set in `HTTPS_PROXY`/`HTTP_PROXY` are used.",
        "",
        "## Repairs and quarantine",
        "",
        "Pages are parsed with a strict JSON parser. Only when that fails are the known repairs tried: bytes",
        "that are not UTF-8 read as Windows-1252, numbers too large for JSON (`1e9999`) written as `9999999`,",
        "leading zeros (`000`) removed, all outside strings. A page that still fails is fetched once more",
        "(`invalid_json_refetches`), then **quarantined**: `sync_pages` keeps it with its URL and the",
        "parser's message, `rejects` records it (see `tenderwatch status --rejects`), and the window goes on",
        "with the next link found in it, or, if there is none, is read again in halves so that the releases",
        "around the bad one are still found. Non-finite numbers never reach the store. The bytes of every page",
        "as received are kept, gzip-compressed, in `sync_pages.raw` (`keep_pages`). Releases the checks refuse",
        "(no id, no date…) go to `rejects` as with `tenderwatch load`.",
        "",
        "```sql",
        "-- pages quarantined, and why",
        "SELECT source, url, reason FROM sync_pages WHERE outcome = 'quarantined';",
        "-- how far each source is synced",
        "SELECT source, max(window_end) FROM sync_windows WHERE status = 'done' GROUP BY source;",
        "```",
        "",
        "## What a sync prints",
        "",
        "On a terminal, a progress bar per source with the window being read, its pages, releases, rate and",
        "retries, and the time left. Elsewhere (cron), one line per window. Then one line per source:",
        "",
        "```",
        "uk-find-a-tender: 431 new, 5 changed, 12 unchanged, 0 quarantined releases (4 of 4 windows read, "
        "8 pages, 1 retry, 1 min 32 s)",
        "```",
        "",
        "*New* releases were not in the store; *changed* ones are new versions of a release already stored (same",
        "ocid and id, other content); *unchanged* ones were stored already; *quarantined* ones were refused by",
        "the checks (see `rejects`).",
        "",
        "## Settings shared by every source",
        "",
        "In the `[sources]` table of the settings file; each source's own settings are on its page. Every",
        "setting can also be given as an environment variable, which wins over the file (lists comma-separated).",
        "",
        "```toml",
        "[sources]",
        'enabled = ["uk-find-a-tender", "uk-contracts-finder"]',
        'contact = "newsdesk@example.org"',
        "",
        "[sources.uk-find-a-tender]",
        'base_url = "https://fts-mirror.example.org/api/1.0/"',
        "```",
        "",
        *_settings_table(CommonSettings, ""),
        "",
    ]
    return "\n".join(lines)
