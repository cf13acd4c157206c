"""Estimate unusual for its category.

A **process** is flagged when its estimated value (``tender.value``) is an outlier among the estimates of the same
kind of purchase: processes whose main CPV code starts with the same **cpv_digits** digits (2: the CPV division)
and whose estimate is in the same currency.

Each class with at least **minimum_processes** estimates above zero (20) is evaluated. Estimates span several
orders of magnitude, so by default (**log_scale**) the quartiles are taken of the values' logarithms: an estimate
is flagged when it is at or above Q3 + 1.5 × IQR, or at or below Q1 − 1.5 × IQR, of its class (quartiles by the
R-8 method, as Cardinal computes them). **direction** restricts the flag to estimates that are too ``high`` or too
``low``. Nothing is flagged in a class whose quartiles are equal. The main CPV code is that of the first tender
item, else of the first award item, else of the first contract item.

Example: 400 estimates for IT services (CPV 72) in pounds have quartiles of £40,000 and £400,000. On a log scale
the IQR is one power of ten, so the fences are 10^(4.6 − 1.5) = £1,265 and 10^(5.6 + 1.5) = £12,649,111. An IT
support contract estimated at £30,000,000 is flagged as unusually high.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tenderwatch.indicators._catalogue import cpv_label, facts, money, number
from tenderwatch.indicators.base import Indicator, IndicatorSettings


class Settings(IndicatorSettings):
    """Settings of R016."""

    cpv_digits: int = Field(
        default=2, ge=2, le=8, description="Leading digits of the main CPV code that make a class (2: the division)."
    )
    minimum_processes: int = Field(
        default=20, ge=4, description="Fewest estimates a class (CPV prefix and currency) must have to be evaluated."
    )
    log_scale: bool = Field(default=True, description="Take the quartiles of the logarithms of the estimates.")
    direction: Literal["both", "high", "low"] = Field(
        default="both", description="Flag estimates that are too high, too low, or both."
    )


def _ctes(settings: Settings) -> str:
    measure = "log10(amount)" if settings.log_scale else "amount"
    return f"""
        {facts(settings)},
        valued AS (
            SELECT p.ocid, p.tender_value::DOUBLE AS amount, p.tender_currency AS currency,
                   left(c.cpv_code, {int(settings.cpv_digits)}) AS cpv
            FROM ind_processes AS p JOIN tw_cpv AS c USING (ocid)
            WHERE p.tender_value > 0 AND nullif(p.tender_currency, '') IS NOT NULL
        ),
        measured AS (SELECT *, {measure} AS x FROM valued),
        classes AS (
            SELECT currency, cpv, count(*) AS processes,
                   tw_r8(list(x ORDER BY x), 0.25) AS q1, tw_r8(list(x ORDER BY x), 0.5) AS median,
                   tw_r8(list(x ORDER BY x), 0.75) AS q3
            FROM measured
            GROUP BY currency, cpv
            HAVING count(*) >= {int(settings.minimum_processes)}
        ),
        fences AS (
            SELECT *, q1 - 1.5 * (q3 - q1) AS lower_fence, q3 + 1.5 * (q3 - q1) AS upper_fence FROM classes
        )
    """


def _amount(settings: Settings, expression: str) -> str:
    """Return an amount from the measured scale."""
    return f"pow(10, {expression})" if settings.log_scale else expression


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R016."""
    high = "m.x >= f.upper_fence" if settings.direction in ("both", "high") else "FALSE"
    low = "m.x <= f.lower_fence" if settings.direction in ("both", "low") else "FALSE"
    upper, lower, median = (_amount(settings, f"f.{name}") for name in ("upper_fence", "lower_fence", "median"))
    scale = " on a log scale" if settings.log_scale else ""
    return f"""
        WITH {_ctes(settings)}
        SELECT 'process' AS subject, m.ocid AS subject_id, m.ocid,
               f.q3 > f.q1 AND ({high} OR {low}) AS flagged, m.amount AS value,
               json_object('estimated_value', m.amount, 'currency', m.currency, 'cpv', m.cpv,
                           'processes_in_class', f.processes, 'median', {median}, 'lower_fence', {lower},
                           'upper_fence', {upper}, 'log_scale', {str(settings.log_scale).upper()}) AS evidence,
               'The estimated value, ' || {money("m.amount", "m.currency")} || ', is unusually '
               || CASE WHEN {high} THEN 'high' ELSE 'low' END || ' for ' || {cpv_label("m.cpv")} || ': among '
               || {number("f.processes")} || ' estimates in ' || m.currency || ' the median is '
               || {money(median, "m.currency")}
               || ' and anything ' || CASE WHEN {high} THEN 'from ' || {money(upper, "m.currency")} || ' up'
                                           ELSE 'at ' || {money(lower, "m.currency")} || ' or less' END
               || ' is an outlier (1.5 × IQR beyond the quartiles{scale}).' AS sentence
        FROM measured AS m JOIN fences AS f USING (currency, cpv)
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the fences of each class, in its currency."""
    upper, lower = (_amount(settings, name) for name in ("upper_fence", "lower_fence"))
    return f"""
        WITH {_ctes(settings)}
        SELECT currency || ' CPV ' || cpv || ' lower_fence' AS name, {lower} AS value FROM fences UNION ALL
        SELECT currency || ' CPV ' || cpv || ' upper_fence', {upper} FROM fences
    """


INDICATOR = Indicator(
    code="R016",
    title="Estimate unusual for category",
    subjects=("process",),
    description="A tender's estimated value is an outlier, high or low, for its CPV category and currency.",
    why="An estimate far above what similar purchases cost can hide an inflated budget; one far below can split a "
    "need or pull a purchase under a threshold. Either way, it deserves a question.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("tenders.value_amount", "items.cpv_code"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R016",
        "Cardinal's fences and R-8 quartiles: https://cardinal.readthedocs.io/en/latest/cli/indicators/",
    ),
    differences=(
        "Outliers are found with quartile fences on the logarithms of the estimates, not by distance from the "
        "category's average.",
        "A category is the CPV division (by default) within one currency.",
    ),
)
