"""Deep subcontracting chain.

A **process** (a public contract) is flagged when its subcontracting chain goes more than **max_depth** levels (2 by
default) below the prime contractor: the prime contractor passes work to a subcontractor, which passes it on,
and so on, each link taking its own margin and putting the buyer further from whoever delivers the service.

The chains are those of the table ``subcontract_chains`` (see docs/statutory-services.md), rebuilt before the red
flags are found, from:

- processes whose ``relatedProcesses`` mark them as a subcontract of another (``subContract``, or ``parent`` in
  OCDS 1.2), followed up to the public process at the top;
- the subcontracts published in awards and winning bids (``subcontracting.subcontracts``, the OCDS subcontracting
  extension) and parties with the role ``subcontractor``;
- the subcontracting file people curate, each link with its public source.

Every public process with a known chain is evaluated; ``value`` is the depth. The evidence gives the depth, the
deepest path from the prime contractor down, the number of organisations and links, and where the links come
from.

Example: a national contact-tracing service is awarded to a prime contractor, which subcontracts the call centres
to a second company; that company hires the tracers through a staffing firm, which employs them through a payroll
company. The chain goes three levels below the prime contractor, more than two: flagged.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of TW109."""

    max_depth: int = Field(
        default=2,
        ge=0,
        description="A chain going more than this many levels of subcontracting below the prime contractor is "
        "flagged (1: subcontractors only; 2: they may subcontract once more).",
    )


NOTHING = """
    SELECT 'process' AS subject, NULL::VARCHAR AS subject_id, NULL::VARCHAR AS ocid, FALSE AS flagged,
           NULL::DOUBLE AS value, NULL::JSON AS evidence, NULL::VARCHAR AS sentence
    WHERE FALSE
"""


def _chains_exist() -> bool:
    """Whether the store creates ``subcontract_chains`` (the statutory-services tables are registered)."""
    from tenderwatch.store import tables  # noqa: PLC0415 - the store imports nothing from the indicators

    return "subcontract_chains" in tables()


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW109."""
    if not _chains_exist():
        return NOTHING
    limit = int(settings.max_depth)
    return f"""
        SELECT 'process' AS subject, c.ocid AS subject_id, c.ocid, c.depth > {limit} AS flagged,
               c.depth::DOUBLE AS value,
               json_object('depth', c.depth, 'max_depth', {limit}, 'path', c.path, 'organisations', c.organisations,
                           'links', c.links, 'primes', c.primes, 'sources', c.sources,
                           'declared_subcontracting', c.declared_subcontracting) AS evidence,
               'The work is subcontracted ' || c.depth || ' levels below the prime contractor ('
               || coalesce(c.path, array_to_string(c.primes, ', ')) || '), more than the ' || {limit}
               || ' counted as deep; ' || c.organisations || ' organisations stand between the buyer and whoever '
               || 'delivers the service.' AS sentence
        FROM subcontract_chains AS c
        WHERE c.ocid IN (SELECT ocid FROM ind_processes) AND c.links > 0
    """


INDICATOR = Indicator(
    code="TW109",
    title="Deep subcontracting chain",
    subjects=("process",),
    description="The work of a public contract is passed down a chain of subcontractors more levels deep than the "
    "setting allows.",
    why="Each level of subcontracting takes its own margin and puts the buyer further from whoever delivers the "
    "service, so nobody can say who is accountable when it fails.",
    sql=sql,
    settings=Settings,
    needs=("subcontract_chains.depth",),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024): R071 'contractor subcontracts all or most of "
        "the work' and R072 'high prevalence of subcontracts' (catalogued, not computed)",
        "OCDS subcontracting extension (awards[].subcontracting): "
        "https://extensions.open-contracting.org/en/extensions/subcontracting/master/",
        "OCDS relatedProcess codelist (subContract in OCDS 1.1, parent in OCDS 1.2)",
    ),
    differences=(
        "The catalogue's R071 and R072 measure the share of work subcontracted; this indicator measures how many "
        "levels the chain goes down, which the catalogue does not cover.",
    ),
)
