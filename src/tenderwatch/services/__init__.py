"""Statutory services at risk: which legal duties depend on an outsourced service, what happens if its provider
walks away, and how deep the subcontracting goes.

:func:`build_services` rebuilds the tables of the group "services" after every analysis:

- ``service_areas`` and ``service_duties``: the taxonomy shipped as ``src/tenderwatch/data/service_areas.yaml``
  (areas, the duties that rest on each with their legislation.gov.uk addresses, the assignment rules);
- ``service_assignments``: which processes buy each service, by which rule, corrected by the overrides file
  (:mod:`tenderwatch.services.assign`, :mod:`tenderwatch.services.overrides`);
- ``service_contracts``, ``service_markets`` and ``service_continuity``: who provides each service to each public
  body, the market across buyers, and a continuity-risk score whose parts each show their evidence
  (:mod:`tenderwatch.services.continuity`);
- ``subcontract_links`` and ``subcontract_chains``: prime contractor → subcontractor → sub-subcontractor, from the
  notices and the subcontracting file (:mod:`tenderwatch.services.subcontracting`).

:func:`tenderwatch.services.exit.exit_scenario` answers "what if this supplier (or group) walked away?" from those
tables; :func:`tenderwatch.services.briefing.extend_brief` adds the answer to briefing packs.

    with Workspace.open(settings) as workspace:
        result = build_services(workspace.store.con)
        print(result.line())

docs/statutory-services.md describes the method and its measured accuracy.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from tenderwatch.services.assign import assign_processes, match_rules
from tenderwatch.services.continuity import build_continuity, build_provision
from tenderwatch.services.files import ServicesFileError
from tenderwatch.services.overrides import Override, read_overrides
from tenderwatch.services.settings import ServicesSettings, load_services_settings
from tenderwatch.services.subcontracting import FileLink, build_chains, read_subcontracting_file
from tenderwatch.services.taxonomy import Area, Duty, Taxonomy, load_taxonomy
from tenderwatch.store import data_changed

SERVICE_TABLES = (
    "service_areas",
    "service_duties",
    "service_assignments",
    "service_contracts",
    "service_markets",
    "service_continuity",
    "subcontract_links",
    "subcontract_chains",
)


@dataclass
class ServicesResult:
    """What a rebuild of the services tables found."""

    areas: int = 0
    assignments: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    contracts: int = 0
    services_scored: int = 0
    high_risk: int = 0
    chains: int = 0
    deepest_chain: int = 0
    overrides: int = 0
    overrides_not_in_store: list[str] = field(default_factory=list)
    file_links: int = 0

    def line(self) -> str:
        """Return the one-line summary the CLI prints."""
        methods = ", ".join(f"{count:,} by {method}" for method, count in sorted(self.by_method.items()))
        text = (
            f"{self.assignments:,} assignments to {self.areas} service areas ({methods or 'none'}); "
            f"{self.services_scored:,} outsourced services scored, {self.high_risk:,} at high continuity risk; "
            f"{self.chains:,} subcontracting chains"
        )
        if self.chains:
            text += f" (deepest: {self.deepest_chain} levels below the prime contractor)"
        if self.overrides_not_in_store:
            text += f"; {len(self.overrides_not_in_store)} corrections name processes not in the store"
        return text


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables of the services group where they are missing, from their documented columns (the store
    creates them when the group is registered; this lets the library run on a store made before)."""
    package = resources.files("tenderwatch.services")
    for name in SERVICE_TABLES:
        text = package.joinpath(f"columns/{name}.csv").read_text(encoding="utf-8")
        described = [(row["column"], row["type"]) for row in csv.DictReader(text.splitlines())]
        present = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal "
                "AND database_name = current_database() ORDER BY column_index",
                [name],
            ).fetchall()
        ]
        if present and present != [column for column, _ in described]:
            # Every table of the group is rebuilt from scratch, so one made by another version is replaced.
            con.execute(f"DROP TABLE {name}")
        columns = ", ".join(f'"{column}" {kind}' for column, kind in described)
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def _resolve(path: Path, base: Path | None) -> Path:
    return path if path.is_absolute() or base is None else base / path


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, *, in_transaction: bool) -> Iterator[None]:
    if in_transaction:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def read_inputs(
    settings: ServicesSettings, *, base: Path | None = None
) -> tuple[Taxonomy, list[Override], list[FileLink]]:
    """Read and check the taxonomy, the overrides file and the subcontracting file named by the settings.

    :raises ServicesFileError: listing the problems of the first file that has any
    """
    taxonomy_path = _resolve(settings.taxonomy_file, base) if settings.taxonomy_file else None
    taxonomy = load_taxonomy(taxonomy_path)
    overrides = read_overrides(_resolve(settings.overrides_file, base), taxonomy)
    links = read_subcontracting_file(_resolve(settings.subcontracting_file, base))
    return taxonomy, overrides, links


def _write_taxonomy(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    con.execute("DELETE FROM service_areas")
    con.execute("DELETE FROM service_duties")
    con.executemany(
        "INSERT INTO service_areas VALUES (?, ?, ?, ?, ?, ?)",
        [
            [
                area.area_id,
                area.name,
                area.description,
                list(area.duty_ids),
                [f"{rule.rule_id}: {rule.describe()}" for rule in area.rules],
                taxonomy.source,
            ]
            for area in taxonomy.areas
        ],
    )
    rows = [
        [area.area_id, duty.duty_id, duty.legislation, duty.provision, duty.summary, duty.url, position]
        for area in taxonomy.areas
        for position, duty in enumerate(taxonomy.duties_of(area.area_id), start=1)
    ]
    if rows:
        con.executemany("INSERT INTO service_duties VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _urgency(con: duckdb.DuckDBPyConnection, flag_settings: object | None) -> None:
    """Evaluate the urgency direct award indicator (TW106) into ``tmp_sv_urgency`` (ocid, sentence)."""
    from tenderwatch.indicators import INDICATORS  # noqa: PLC0415 - the indicators import the store's tables
    from tenderwatch.indicators.settings import load_flag_settings  # noqa: PLC0415
    from tenderwatch.indicators.views import create_views  # noqa: PLC0415
    from tenderwatch.settings import read_settings_file  # noqa: PLC0415

    indicator = INDICATORS.get("TW106")
    if indicator is None:
        con.execute("CREATE OR REPLACE TEMP TABLE tmp_sv_urgency (ocid VARCHAR, sentence VARCHAR)")
        return
    chosen = flag_settings or load_flag_settings(None, read_settings_file())
    create_views(con, chosen.common)
    sql = indicator.sql(chosen.for_indicator("TW106", indicator.settings), chosen.common)
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_sv_urgency AS SELECT ocid, sentence FROM ({sql}) WHERE flagged")


def build_services(
    con: duckdb.DuckDBPyConnection,
    settings: ServicesSettings | None = None,
    *,
    base: Path | None = None,
    today: dt.date | None = None,
    flag_settings: object | None = None,
    in_transaction: bool = False,
) -> ServicesResult:
    """Rebuild every table of the services group from the normalised tables, ``contract_lifecycle``, the
    organisations, ``derived_events``, the track-record register and the three files (taxonomy, overrides,
    subcontracting). Call it after those are rebuilt and before the red flags are found (TW109 reads
    ``subcontract_chains``).

    The files are read and checked first; the tables are then replaced in one transaction of its own, or, with
    ``in_transaction``, in the one the caller has open. ``base`` is the folder relative file paths are read from
    (default: the working folder); ``today`` the day contracts in force and months left are counted from;
    ``flag_settings`` the indicator settings for the urgency part (default: the settings file's ``[flags]``).

    :raises ServicesFileError: if a file has problems (nothing is written)
    """
    settings = settings or load_services_settings()
    taxonomy, overrides, links = read_inputs(settings, base=base)
    result = ServicesResult(areas=len(taxonomy.areas), overrides=len(overrides), file_links=len(links))
    if not in_transaction:
        # The rules read the text of every process, a large temporary table: run before the transaction, so that
        # dropping it gives its memory back at once (a transaction keeps what it drops until it ends, and at a
        # million processes the steps below then ran out of the analysis memory limit).
        match_rules(con, taxonomy)
    with _transaction(con, in_transaction=in_transaction):
        ensure_tables(con)
        _write_taxonomy(con, taxonomy)
        result.assignments = assign_processes(con, taxonomy, overrides, matched=not in_transaction)
        if overrides:
            result.overrides_not_in_store = sorted(
                {item.ocid for item in overrides}
                - {
                    row[0]
                    for row in con.execute(
                        "SELECT ocid FROM processes WHERE list_contains(?, ocid)", [[item.ocid for item in overrides]]
                    ).fetchall()
                }
            )
        _urgency(con, flag_settings)
        result.contracts = build_provision(con, settings, today=today)
        result.chains = build_chains(con, links)
        data_changed(con)  # TW109 reads the chains, which the subcontracting file can change without new data
        result.services_scored = build_continuity(con, settings)
        con.execute("DROP TABLE IF EXISTS tmp_sv_urgency")
    result.by_method = dict(con.execute("SELECT method, count(*) FROM service_assignments GROUP BY method").fetchall())
    result.high_risk = con.execute("SELECT count(*) FROM service_continuity WHERE band = 'high'").fetchall()[0][0]
    result.deepest_chain = con.execute("SELECT coalesce(max(depth), 0) FROM subcontract_chains").fetchall()[0][0]
    return result


__all__ = [
    "SERVICE_TABLES",
    "Area",
    "Duty",
    "ServicesFileError",
    "ServicesResult",
    "ServicesSettings",
    "Taxonomy",
    "build_services",
    "ensure_tables",
    "load_services_settings",
    "load_taxonomy",
    "read_inputs",
]
