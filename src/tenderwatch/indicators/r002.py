"""Values just below a threshold.

A **buyer** is flagged when an unusual share of its estimated contract values sit just below the procurement
threshold that applies to them: the values at or above the threshold less the **band** (10% by default) and
below the threshold.

Each process with an estimated value in pounds (``tender.value``, GBP only, since the thresholds are in pounds) is
given the UK threshold that applies to it (see the threshold settings): light-touch services (a
``specialRegime`` of lightTouch, or a main CPV code starting 85, health and social work), else works
(``mainProcurementCategory`` works or CPV 45), else goods and services, with the lower amount for central
government buyers. The amounts change every two years (PCR 2015's from 2016, which include VAT from 2022, then
the Procurement Act 2023's); each process gets the amount in force on its tender start date (else its first award
date, else its first notice date).

For each buyer with at least **minimum_processes** such values (10), the share in the band is compared with the
**expected share**: the share in the band among every other buyer's values. The buyer is flagged when at least
**minimum_in_band** of its values are in the band (3) and its share is at least **ratio** times the expected
share (2) and the excess is more than chance would explain: its count in the band lies at least
**minimum_z_score** standard deviations above the count expected (2.33, a one-in-a-hundred chance, by the
normal approximation to the binomial distribution). The value is its share divided by the expected share.

Example: a district council published 30 estimates; 9 of them (30%) lie between £193,414 and £214,904, within
10% below the £214,904 threshold for goods and services of 2024-2025. Across all other buyers, 6% of estimates
lie in such a band, so 1.8 of 30 would be expected, give or take 1.3. 30% is 5 times 6%, and 9 is 5.5 standard
deviations above 1.8: the council is flagged.

Buyers are matched across processes by their party id (unless it is a bare number of up to four digits, which
Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import THRESHOLD_REFERENCES, ThresholdSettings, facts, percent
from tenderwatch.indicators.base import Indicator, literal


class Settings(ThresholdSettings):
    """Settings of R002."""

    band: float = Field(
        default=0.1, gt=0, lt=1, description="Width of the band just below a threshold, as a share of the threshold."
    )
    minimum_processes: int = Field(
        default=10, ge=1, description="Fewest estimated values in pounds a buyer must have to be evaluated."
    )
    minimum_in_band: int = Field(
        default=3, ge=1, description="Fewest of a buyer's values that must be in the band for a flag."
    )
    ratio: float = Field(
        default=2.0,
        gt=0,
        description="How many times the expected share (that of all other buyers) a buyer's share must reach.",
    )
    minimum_z_score: float = Field(
        default=2.33,
        ge=0,
        description="How many standard deviations above the expected count a buyer's count in the band must be "
        "(2.33: a one-in-a-hundred chance; 0 turns the test off).",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R002."""
    band = literal(float(settings.band))
    share = "CAST(b.in_band AS DOUBLE) / b.processes"
    return f"""
        WITH {facts(settings)},
        valued AS (
            SELECT b.buyer_key, b.buyer_name, p.ocid, p.tender_value::DOUBLE AS amount, h.threshold,
                   p.tender_value >= h.threshold * (1 - {band}) AND p.tender_value < h.threshold AS in_band
            FROM ind_processes AS p
            JOIN tw_buyers AS b USING (ocid)
            JOIN tw_thresholds AS h USING (ocid)
            WHERE p.tender_currency = 'GBP' AND p.tender_value > 0 AND b.buyer_key IS NOT NULL
        ),
        everyone AS (SELECT count(*) AS processes, count(*) FILTER (WHERE in_band) AS in_band FROM valued),
        buyers AS (
            SELECT buyer_key, min(buyer_name) AS buyer_name, count(*) AS processes,
                   count(*) FILTER (WHERE in_band) AS in_band,
                   list(ocid ORDER BY ocid) FILTER (WHERE in_band) AS ocids
            FROM valued
            GROUP BY buyer_key
            HAVING count(*) >= {int(settings.minimum_processes)}
        ),
        expected AS (
            SELECT b.*, {share} AS share,
                   CAST(e.in_band - b.in_band AS DOUBLE) / (e.processes - b.processes) AS expected
            FROM buyers AS b CROSS JOIN everyone AS e
            WHERE e.processes > b.processes
        ),
        compared AS (
            SELECT *, CASE WHEN expected > 0 AND expected < 1
                           THEN (in_band - processes * expected) / sqrt(processes * expected * (1 - expected))
                      END AS z
            FROM expected
        )
        SELECT 'buyer' AS subject, buyer_key AS subject_id, NULL AS ocid,
               in_band >= {int(settings.minimum_in_band)} AND share >= {float(settings.ratio)!r} * expected
                   AND coalesce(z >= {float(settings.minimum_z_score)!r}, expected = 0) AS flagged,
               CASE WHEN expected > 0 THEN share / expected END AS value,
               json_object('processes', processes, 'just_below_threshold', in_band, 'share', share,
                           'expected_share', expected, 'z_score', z, 'band', {band},
                           'ratio_threshold', {float(settings.ratio)!r},
                           'minimum_in_band', {int(settings.minimum_in_band)},
                           'minimum_z_score', {float(settings.minimum_z_score)!r},
                           'ocids_just_below', coalesce(ocids, []::VARCHAR[])[1:50]) AS evidence,
               buyer_name || ' put ' || in_band || ' of its ' || processes || ' estimated values ('
               || {percent("share")} || ') within ' || {percent(band)} || ' below the procurement threshold that '
               || 'applied to them, against ' || {percent("expected", 1)} || ' for other buyers'
               || CASE WHEN expected > 0 THEN ': ' || format('{{:.1f}}', share / expected) || ' times as often, '
                       ELSE ', ' END || 'more than chance would explain.' AS sentence
        FROM compared
    """


INDICATOR = Indicator(
    code="R002",
    title="Values just below thresholds",
    subjects=("buyer",),
    description="A buyer's estimated values cluster just below the procurement threshold that applies to them.",
    why="Setting an estimate just under a threshold lets a buyer use a quicker procedure with less advertising and "
    "scrutiny; when it happens far more often than elsewhere, the estimates may have been trimmed to fit.",
    sql=sql,
    settings=Settings,
    needs=("tenders.value_amount", "tenders.value_currency"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R002",
        *THRESHOLD_REFERENCES,
    ),
    differences=(
        "The catalogue does not fix a method; tenderwatch compares a buyer's share of values in the band with "
        "that of all other buyers.",
        "Only estimates in pounds are compared, as published (usually without VAT), against thresholds that "
        "include VAT from 2022.",
        "Utilities are given the thresholds of other public bodies, not the higher utilities thresholds.",
    ),
)
