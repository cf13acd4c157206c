"""Price close to winning bid.

A **process** is flagged when the second-lowest bid is unusually close to the winning bid: the gap between
them, as a share of the winning bid, is at or below the lower fence Q1 − 1.5 × IQR of the gaps of all processes
(quartiles by the R-8 method), or at or below a fixed **threshold** when one is set. The winner and the runner-up
are flagged as tenderers too.

A process is compared when bid prices may be compared in its procedure (see the common settings), its awards are
all final (none pending), exactly one award is active and it went to exactly one supplier. Its bids are those
with the status ``valid``, an amount in the main currency and exactly one tenderer. The winning bid is the
winner's lowest bid; the second-lowest is the lowest bid by anybody else (on a tie, the first published). The
process is left out when either is missing, when the winning bid is zero, or when the other bid is lower than the
winning one (then the award was not decided on price alone).

The gap is (second-lowest − winning) ÷ winning. Nothing is flagged when the first quartile or the fence is zero
or below: with gaps spread widely, the fence falls below zero and the indicator stays silent, as in Cardinal.

Example: across 400 processes the gaps have Q1 = 6% and Q3 = 14%, so the lower fence is 6% − 1.5 × 8% = −6%, and
nothing is flagged. In a narrower market with Q1 = 10% and Q3 = 14%, the fence is 4%: a school's catering tender
won at £200,000 with the runner-up at £201,000 (a gap of 0.5%) is flagged, with both caterers.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import money, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal

# ---------------------------------------------------------------------------------------------------------------
# Pieces shared by Cardinal's bid-level indicators (R024, R025, R028, R030, R035, R036, R038, R048, R058)
# ---------------------------------------------------------------------------------------------------------------


def party_keys() -> str:
    """Return the common table expression ``tw_party_keys`` (ocid, party_id, party_key, party_name): each party of
    each process with its key across processes (the first entry of ``parties`` with that id wins).

    Not materialised: a statement that joins it twice would otherwise copy all its rows (3 million at a million
    processes) first, where reading them from ``parties`` again costs less."""
    return "tw_party_keys AS NOT MATERIALIZED (SELECT * FROM ind_party_keys)"


def bid_tenderers() -> str:
    """Return the common table expression ``tw_bid_tenderers`` (ocid, position, status, date, tenderer_id,
    tenderers, tenderer_key, tenderer_name): each tenderer with an id of each bid of the processes of
    ``ind_processes``, with the bid's position, status and date."""
    return "tw_bid_tenderers AS (SELECT * FROM ind_bid_tenderers)"


def common_names(name: str, source: str, keys: str, value: str) -> str:
    """Return the CTE ``name`` (``keys``, ``value``): the most common ``value`` of each ``keys`` in ``source``,
    ties broken alphabetically."""
    return f"""{name} AS (
            SELECT {keys}, arg_min({value}, (-n, {value})) AS {value}
            FROM (SELECT {keys}, {value}, count(*) AS n FROM {source} WHERE {value} IS NOT NULL GROUP BY ALL)
            GROUP BY {keys}
        )"""


def sole_winners() -> str:
    """Return the common table expression ``tw_sole_winners`` (ocid, winner_id): processes with final awards, one
    active award, made to exactly one supplier (with an id)."""
    return "tw_sole_winners AS (SELECT * FROM ind_sole_winners)"


def price_gaps() -> str:
    """Return the common table expressions ending in ``tw_price_gaps`` (ocid, currency, winner_id, winner_key,
    winner_name, winning_amount, rival_id, rival_key, rival_name, rival_amount, ratio): the gap between the winning
    bid and the second-lowest bid of each process R024 and R058 compare. Amounts are exact decimals."""
    return f"{party_keys()},\n        {sole_winners()},\n        tw_price_gaps AS (SELECT * FROM ind_price_gaps)"


def quartiles(values: str, source: str, group: str | None = None) -> str:
    """Return SQL text selecting ``n``, ``q1`` and ``q3`` (R-8) of the column ``values`` of ``source`` (with
    ``group``, for each value of that column, which comes first)."""
    by = f"{group}, " if group else ""
    return f"""SELECT {by}count({values}) AS n, tw_r8(list({values} ORDER BY {values}), 0.25) AS q1,
                      tw_r8(list({values} ORDER BY {values}), 0.75) AS q3
               FROM {source}{f" GROUP BY {group}" if group else ""}"""


def gap_evidence() -> str:
    """Return SQL text of the evidence of R024 and R058 over ``g``, a row of the price gaps with the fence's ``cut``,
    ``q1``, ``q3`` and ``n``. Each branch of their final query names it, so that it is worked out for the rows
    flagged only (not in a table expression every branch reads, which DuckDB makes whole)."""
    return """json_object('winner', g.winner_key, 'winner_name', g.winner_name,
                       'winning_bid', g.winning_amount, 'second_lowest_tenderer', g.rival_key,
                       'second_lowest_name', g.rival_name, 'second_lowest_bid', g.rival_amount,
                       'currency', g.currency, 'ratio', g.ratio, 'threshold', g.cut, 'q1', g.q1, 'q3', g.q3,
                       'processes_compared', g.n)"""


def meta_rows(columns: dict[str, str], source: str) -> str:
    """Return a SELECT of (name, value) rows: one per entry of ``columns`` (name: SQL expression) over the one row
    of ``source``."""
    return " UNION ALL ".join(
        f"SELECT {literal(name)} AS name, CAST({expression} AS DOUBLE) AS value FROM {source}"
        for name, expression in columns.items()
    )


# ---------------------------------------------------------------------------------------------------------------
# R024
# ---------------------------------------------------------------------------------------------------------------


class Settings(IndicatorSettings):
    """Settings of R024."""

    threshold: float | None = Field(
        default=None,
        description="A fixed gap (a ratio: 0.01 is 1%) at or below which a process is flagged, instead of the lower "
        "fence Q1 − 1.5 × IQR.",
    )


def _ctes(settings: Settings) -> str:
    threshold = literal(settings.threshold)
    return f"""
        {price_gaps()},
        quartiles AS ({quartiles("ratio", "tw_price_gaps")}),
        fence AS (
            SELECT n, q1, q3, q1 - 1.5 * (q3 - q1) AS lower_fence,
                   coalesce({threshold}, q1 - 1.5 * (q3 - q1)) AS cut,
                   CASE WHEN {threshold} IS NOT NULL THEN {threshold} > 0
                        ELSE q1 > 0 AND q1 - 1.5 * (q3 - q1) > 0 END AS active
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R024."""
    source = "the fixed threshold" if settings.threshold is not None else "the lower fence (Q1 − 1.5 × IQR)"
    gap = percent("g.ratio", 2)
    evidence = gap_evidence()
    return f"""
        WITH {_ctes(settings)},
        rated AS (
            SELECT g.*, coalesce(f.active AND g.ratio <= f.cut, FALSE) AS flagged, f.cut, f.q1, f.q3, f.n
            FROM tw_price_gaps AS g CROSS JOIN fence AS f
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, flagged, ratio AS value, {evidence} AS evidence,
               'The second-lowest bid (' || {money("rival_amount", "currency")} || ' by ' || rival_name
               || ') was only ' || {gap} || ' above the winning bid (' || {money("winning_amount", "currency")}
               || ' by ' || winner_name || '), at or below ' || {percent("cut", 2)}
               || ', {source} among ' || n || ' processes.' AS sentence
        FROM rated AS g
        UNION ALL
        SELECT 'tenderer', winner_key, ocid, flagged, 0.0, {evidence},
               winner_name || ' won with a bid only ' || {gap} || ' below the next one, by ' || rival_name || '.'
        FROM rated AS g
        UNION ALL
        SELECT 'tenderer', rival_key, ocid, flagged, 0.0, {evidence},
               rival_name || ' lost with a bid only ' || {gap} || ' above the winning one, by ' || winner_name || '.'
        FROM rated AS g
        WHERE rival_key IS DISTINCT FROM winner_key
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence, named as Cardinal names them."""
    names = ["lower_fence"] if settings.threshold is not None else ["q1", "q3", "lower_fence"]
    return f"WITH {_ctes(settings)} {meta_rows({name: name for name in names} | {'lower_fence': 'cut'}, 'fence')}"


INDICATOR = Indicator(
    code="R024",
    title="Price close to winning bid",
    subjects=("process", "tenderer"),
    description="The second-lowest bid is unusually close to the winning bid.",
    why="Bidders who agree who will win often have the losers bid just above the winner, so the prices look "
    "competitive while the winner is settled in advance.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("bids.value_amount", "bids.status", "bids.tenderer_ids", "awards.status", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R024",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/024.html",
    ),
    cardinal=True,
    differences=(
        "Without a currency setting the main currency is the one most bids use, for the whole store; Cardinal takes "
        "the first one each of its threads meets, so its results can change from run to run.",
        "Amounts are exact decimals, so the gaps do not depend on the order of the data.",
        "A process whose winning bid is zero is left out; Cardinal divides by zero.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
        "Bid amounts below zero are not read.",
    ),
)
