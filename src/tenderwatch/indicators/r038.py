"""Excessive disqualified bids.

A **buyer**, **procuring entity** or **tenderer** is flagged when the share of its bids that were disqualified is
an outlier: at or above the upper fence Q3 + 1.5 × IQR of the shares of its peers (buyers among buyers, and so
on; quartiles by the R-8 method), or at or above a fixed **threshold** when one is set.

Bids are the submitted ones (any status but invited and withdrawn). A buyer's or a procuring entity's share is
its disqualified bids ÷ its submitted bids, over its processes with at least one submitted bid; it is evaluated
when it has at least **minimum_contracting_processes** such processes (2). A tenderer's share is its disqualified
bids ÷ its submitted bids (a bid made by a consortium counts for each member); it is evaluated when it submitted
at least **minimum_submitted_bids** bids (2). Each of the three groups has its own fence, and nothing is flagged
in a group whose fence is zero or below. Amounts, awards and currencies are not read.

Example: 150 buyers with bids have disqualification shares with Q1 = 0 and Q3 = 10%, so the upper fence is
10% + 1.5 × 10% = 25%. A trust that disqualified 9 of the 24 bids it received in 5 processes (37.5%) is
flagged.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import number, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal
from tenderwatch.indicators.r024 import bid_tenderers, common_names, party_keys, quartiles
from tenderwatch.indicators.views import key_of, name_of

GROUPS = {"buyer": "Buyer", "procuring_entity": "ProcuringEntity", "tenderer": "Tenderer"}
WORDS = {"buyer": "buyers", "procuring_entity": "procuring entities", "tenderer": "tenderers"}


class Settings(IndicatorSettings):
    """Settings of R038."""

    threshold: float | None = Field(
        default=None,
        description="A fixed share of disqualified bids (0 to 1) at or above which an organisation is flagged, "
        "instead of the upper fence Q3 + 1.5 × IQR of its group.",
    )
    minimum_submitted_bids: int = Field(
        default=2, description="Fewest submitted bids a tenderer must have made to be evaluated."
    )
    minimum_contracting_processes: int = Field(
        default=2,
        description="Fewest processes with submitted bids a buyer or procuring entity must have to be evaluated.",
    )


def _ctes(settings: Settings) -> str:
    return f"""
        {party_keys()},
        {bid_tenderers()},
        submitted AS (
            SELECT b.ocid, b.position, b.status = 'disqualified' AS disqualified
            FROM bids AS b
            WHERE b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn')
              AND b.ocid NOT IN (SELECT ocid FROM ind_excluded)
        ),
        per_process AS (
            SELECT ocid, count(*) AS bids, count(*) FILTER (WHERE disqualified) AS disqualified
            FROM submitted GROUP BY ocid
        ),
        -- the buyer and the procuring entity of each process that counts, read from their own tables (which saves
        -- the run making a copy of processes joined to tenders), then their keys and names from parties in one join
        named_as AS (
            SELECT 'buyer' AS subject, s.ocid, p.buyer_id AS party_id, p.buyer_name AS given_name, s.bids,
                   s.disqualified
            FROM per_process AS s JOIN processes AS p USING (ocid)
            WHERE p.buyer_id IS NOT NULL
            UNION ALL
            SELECT 'procuring_entity', s.ocid, p.procuring_entity_id, p.procuring_entity_name, s.bids, s.disqualified
            FROM per_process AS s JOIN tenders AS p USING (ocid)
            WHERE p.procuring_entity_id IS NOT NULL
        ),
        organisations AS (
            SELECT w.subject, {key_of("w.party_id", "w.given_name", "k")} AS subject_key,
                   {name_of("w.party_id", "w.given_name", "k")} AS name, w.ocid, w.bids, w.disqualified
            FROM named_as AS w
            LEFT JOIN tw_party_keys AS k ON k.ocid = w.ocid AND k.party_id = w.party_id
            UNION ALL
            -- each tenderer of each bid submitted: the bids of tw_bid_tenderers come with their status
            SELECT 'tenderer', t.tenderer_key, t.tenderer_name, t.ocid, 1,
                   CASE WHEN t.status = 'disqualified' THEN 1 ELSE 0 END
            FROM tw_bid_tenderers AS t
            WHERE t.status IS NOT NULL AND t.status NOT IN ('invited', 'withdrawn')
        ),
        shares AS (
            SELECT o.subject, o.subject_key, count(DISTINCT o.ocid) AS processes,
                   sum(o.bids) AS bids, sum(o.disqualified) AS disqualified, sum(o.disqualified) / sum(o.bids) AS share
            FROM organisations AS o
            GROUP BY o.subject, o.subject_key
            HAVING CASE WHEN subject = 'tenderer' THEN sum(bids) >= {int(settings.minimum_submitted_bids)}
                        ELSE count(DISTINCT ocid) >= {int(settings.minimum_contracting_processes)} END
        ),
        {_fences(settings, "shares")}
    """


def _fences(settings: Settings, shares: str) -> str:
    """Return the CTE ``fences`` (subject, n, q1, q3, cut) over ``shares``, a relation of (subject, share)."""
    return f"""fences AS (
            SELECT subject, n, q1, q3, coalesce({literal(settings.threshold)}, q3 + 1.5 * (q3 - q1)) AS cut
            FROM ({quartiles("share", shares, "subject")})
        )"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R038."""
    source = "the fixed threshold" if settings.threshold is not None else "the upper fence (Q3 + 1.5 × IQR)"
    words = "CASE s.subject " + " ".join(f"WHEN '{key}' THEN '{word}'" for key, word in WORDS.items()) + " END"
    flagged = "coalesce(f.cut > 0 AND s.share >= f.cut, FALSE)"
    return f"""
        WITH {_ctes(settings)},
        named AS (  -- the rows of the organisations flagged (only a flag's sentence names them)
            SELECT o.subject, o.subject_key, o.name
            FROM organisations AS o
            SEMI JOIN (SELECT s.subject, s.subject_key FROM shares AS s JOIN fences AS f USING (subject)
                       WHERE {flagged}) AS s USING (subject, subject_key)
        ),
        {common_names("names", "named", "subject, subject_key", "name")}
        SELECT s.subject, s.subject_key AS subject_id, NULL AS ocid, {flagged} AS flagged, s.share AS value,
               json_object('bids', s.bids, 'disqualified', s.disqualified, 'share', s.share,
                           'processes', s.processes, 'threshold', f.cut, 'q1', f.q1, 'q3', f.q3,
                           'compared_with', f.n) AS evidence,
               CASE WHEN s.subject = 'tenderer'
                    THEN n.name || ' had ' || s.disqualified || ' of its ' || s.bids || ' bids disqualified ('
                    ELSE n.name || ' disqualified ' || s.disqualified || ' of the ' || s.bids
                         || ' bids it received in ' || s.processes || ' processes ('
               END
               || {percent("s.share")} || '), at or above ' || {percent("f.cut")} || ', {source} among '
               || {number("f.n")} || ' ' || {words} || '.' AS sentence
        FROM shares AS s JOIN fences AS f USING (subject) LEFT JOIN names AS n USING (subject, subject_key)
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return each group's quartiles and fence, named as Cardinal names them (Buyer_q1, Tenderer_upper_fence…)."""
    names = ["upper_fence"] if settings.threshold is not None else ["q1", "q3", "upper_fence"]
    group = "CASE subject " + " ".join(f"WHEN '{key}' THEN '{name}'" for key, name in GROUPS.items()) + " END"
    rows = " UNION ALL ".join(
        f"SELECT {group} || '_{name}' AS name, {'cut' if name == 'upper_fence' else name} AS value FROM fences"
        for name in names
    )
    # the shares are the values of the rows this run evaluated (one per organisation)
    return f"WITH {_fences(settings, '(SELECT subject, value AS share FROM tw_evaluated)')} {rows}"


INDICATOR = Indicator(
    code="R038",
    title="Excessive disqualified bids",
    subjects=("buyer", "procuring_entity", "tenderer"),
    description="An unusually high share of the bids a buyer received, or a tenderer made, were disqualified.",
    why="A buyer that disqualifies many bids may be using technicalities to choose its winners; a tenderer often "
    "disqualified may be bidding only to make up the numbers.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("bids.status", "bids.tenderer_ids", "processes.buyer_id|tenders.procuring_entity_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R038",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/038.html",
    ),
    cardinal=True,
    differences=(
        "minimum_contracting_processes counts a buyer's or procuring entity's processes, as its name says; Cardinal "
        "compares it with the number of bids they received.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
    ),
)
