"""Supplier with a high share of a buyer's spend.

A **supplier** is flagged, for a given buyer, when it won at least **threshold** (50% by default) of the value
that buyer awarded, in at least **minimum_supplier_processes** processes (2, so that one large contract alone
does not make a flag).

Each buyer is evaluated, in each currency, when it awarded at least **minimum_buyer_processes** processes (10)
with a value in that currency; one row is written for each of its suppliers. Awarded value counts the awards that
are not cancelled or unsuccessful; an award to several suppliers (a consortium) is shared equally among them.
With a **threshold** of 0, the cut is instead the upper fence Q3 + 1.5 × IQR of the shares of all
evaluated buyer-supplier pairs (quartiles by the R-8 method), never less than the smallest share above zero.

Example: a district council awarded £8,000,000 in 30 processes; one facilities company won 6 of them, worth
£4,400,000: 55% of the council's awarded value, flagged. The flag names the buyer in its evidence; a supplier
dominant at two buyers has two rows.

Buyers and suppliers are matched across processes by their party id (unless it is a bare number of up to four
digits, which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import facts, money, percent
from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of R040."""

    threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of a buyer's awarded value (0 to 1) at or above which a supplier is flagged; 0: the "
        "upper fence Q3 + 1.5 × IQR of all shares instead.",
    )
    minimum_buyer_processes: int = Field(
        default=10, ge=1, description="Fewest awarded processes (in one currency) a buyer must have to be evaluated."
    )
    minimum_supplier_processes: int = Field(
        default=2, ge=1, description="Fewest of the buyer's processes a supplier must have won to be flagged."
    )


def _ctes(settings: Settings) -> str:
    cut = literal(float(settings.threshold)) if settings.threshold else "greatest(q3 + 1.5 * (q3 - q1), smallest)"
    return f"""
        {facts(settings)},
        supplied AS (
            SELECT b.buyer_key, b.buyer_name, s.supplier_key, s.ocid, s.value_share, s.value_currency AS currency
            FROM tw_supplied AS s JOIN tw_buyers AS b USING (ocid)
            WHERE s.value_share IS NOT NULL AND nullif(s.value_currency, '') IS NOT NULL AND b.buyer_key IS NOT NULL
        ),
        buyers AS (
            SELECT buyer_key, currency, min(buyer_name) AS buyer_name, sum(value_share)::DOUBLE AS total,
                   count(DISTINCT ocid) AS processes
            FROM supplied
            GROUP BY buyer_key, currency
            HAVING count(DISTINCT ocid) >= {int(settings.minimum_buyer_processes)} AND sum(value_share) > 0
        ),
        pairs AS (
            SELECT buyer_key, currency, supplier_key, sum(value_share)::DOUBLE AS value,
                   count(DISTINCT ocid) AS processes
            FROM supplied
            GROUP BY buyer_key, currency, supplier_key
        ),
        shares AS (
            SELECT p.*, b.buyer_name, b.total, b.processes AS buyer_processes, p.value / b.total AS share
            FROM pairs AS p JOIN buyers AS b USING (buyer_key, currency)
        ),
        quartiles AS (
            SELECT count(*) AS pairs, tw_r8(list(share ORDER BY share), 0.25) AS q1,
                   tw_r8(list(share ORDER BY share), 0.75) AS q3, min(share) FILTER (WHERE share > 0) AS smallest
            FROM shares
        ),
        fence AS (
            SELECT pairs, q1, q3, q3 + 1.5 * (q3 - q1) AS upper_fence,
                   {cut} AS cut
            FROM quartiles
        )
    """


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R040."""
    return f"""
        WITH {_ctes(settings)}
        SELECT 'supplier' AS subject, s.supplier_key AS subject_id, NULL AS ocid,
               coalesce(s.share >= f.cut, FALSE) AND s.processes >= {int(settings.minimum_supplier_processes)}
                   AS flagged,
               s.share AS value,
               json_object('buyer', s.buyer_key, 'buyer_name', s.buyer_name, 'currency', s.currency,
                           'supplier_value', s.value, 'buyer_total', s.total, 'share', s.share,
                           'supplier_processes', s.processes, 'buyer_processes', s.buyer_processes,
                           'threshold', f.cut) AS evidence,
               coalesce(n.supplier_name, s.supplier_key) || ' won ' || {money("s.value", "s.currency")} || ' of the '
               || {money("s.total", "s.currency")} || ' that ' || s.buyer_name || ' awarded in '
               || s.buyer_processes || ' processes (' || {percent("s.share")} || ', in ' || s.processes
               || ' of them): at or above the ' || {percent("f.cut")} || ' that is flagged.' AS sentence
        FROM shares AS s CROSS JOIN fence AS f
        LEFT JOIN tw_supplier_names AS n USING (supplier_key)
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence of the shares."""
    return f"""
        WITH {_ctes(settings)}
        SELECT 'q1' AS name, q1 AS value FROM fence UNION ALL
        SELECT 'q3', q3 FROM fence UNION ALL
        SELECT 'upper_fence', upper_fence FROM fence UNION ALL
        SELECT 'pairs', pairs FROM fence
    """


INDICATOR = Indicator(
    code="R040",
    title="High share of buyer's spend",
    subjects=("supplier",),
    description="A supplier won a high share of the value one buyer awarded.",
    why="When one supplier takes most of what a buyer spends, the buyer may depend on it, and the pattern can come "
    "from favouritism or from procedures shaped around that supplier.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("awards.value_amount", "award_suppliers.party_id|award_suppliers.identifier_id|award_suppliers.name"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R040",
        "Cardinal's fences and R-8 quartiles: https://cardinal.readthedocs.io/en/latest/cli/indicators/",
    ),
    differences=(
        "A fixed share (50%) is the default cut; the outlier fence over all buyer-supplier pairs is an option.",
        "Shares are of awarded value, per currency, with consortium awards shared equally.",
    ),
)
