"""Heterogeneous supplier.

A **supplier** is flagged when it supplies an unusually wide range of goods and services: the number of distinct
classes among the items of the awards it won is at or above the upper fence Q3 + 1.5 × IQR of that number for all
suppliers compared (quartiles by the R-8 method), or at or above a fixed **threshold** when one is set.

A class is the first **digits** characters (2 by default: the CPV division) of an award item's classification
code, within its scheme. Each ``active`` award made to exactly one supplier counts, through its items with a
classification code; a supplier is compared when it won such awards in at least
**minimum_contracting_processes** processes (20). Suppliers below that are never flagged.

Example: 600 suppliers won awards in 20 or more processes; most work in 1 to 3 CPV divisions (Q1 = 1, Q3 = 3), so
the fence is 3 + 1.5 × 2 = 6. A company that won contracts for catering (CPV 55), road works (45), IT services
(72), medical equipment (33), security (79), vehicles (34) and furniture (39) — 7 divisions — is flagged: a firm
that seems able to supply anything may be a front passing work on to others.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators._catalogue import number, organisation_key
from tenderwatch.indicators.base import Indicator, IndicatorSettings
from tenderwatch.indicators.r024 import common_names, meta_rows, quartiles


class Settings(IndicatorSettings):
    """Settings of R048."""

    digits: int = Field(
        default=2, ge=1, description="Leading characters of a classification code that make a class (2: CPV division)."
    )
    threshold: int | None = Field(
        default=None,
        description="A fixed number of classes at or above which a supplier is flagged, instead of the upper fence "
        "Q3 + 1.5 × IQR.",
    )
    minimum_contracting_processes: int = Field(
        default=20, description="Fewest processes a supplier must have won (with classified items) to be compared."
    )


def _ctes(settings: Settings) -> str:
    key = organisation_key("s.party_id", "s.identifier_scheme", "s.identifier_id", "s.name")
    return f"""
        sole_supplier AS (  -- active awards made to exactly one supplier with an id
            SELECT a.ocid, a.award_id, any_value(s.party_id) AS party_id, any_value({key}) AS supplier_key,
                   any_value(s.name) AS supplier_name
            FROM ind_awards AS a
            JOIN award_suppliers AS s ON s.ocid = a.ocid AND s.award_id IS NOT DISTINCT FROM a.award_id
            WHERE a.status = 'active' AND a.supplier_count = 1 AND len(a.supplier_ids) = 1
              -- only processes with classified award items can count: the others are not grouped at all
              AND a.ocid IN (SELECT ocid FROM items
                             WHERE scope = 'award' AND nullif(trim(classification_id), '') IS NOT NULL)
            GROUP BY a.ocid, a.award_id
            HAVING count(*) = 1
        ),
        classes AS (
            SELECT w.ocid, coalesce(w.supplier_key, w.party_id) AS supplier_key, w.supplier_name,
                   coalesce(upper(trim(i.classification_scheme)), '') AS scheme,
                   left(i.classification_id, {int(settings.digits)}) AS prefix
            FROM sole_supplier AS w
            JOIN items AS i ON i.ocid = w.ocid AND i.scope = 'award' AND i.parent_id IS NOT DISTINCT FROM w.award_id
            WHERE nullif(trim(i.classification_id), '') IS NOT NULL
        ),
        {common_names("names", "classes", "supplier_key", "supplier_name")},
        suppliers AS (
            SELECT supplier_key, any_value(n.supplier_name) AS supplier_name, count(DISTINCT ocid) AS processes,
                   count(DISTINCT (scheme, prefix)) AS classes,
                   list(DISTINCT CASE WHEN scheme = '' THEN prefix ELSE scheme || ' ' || prefix END
                        ORDER BY CASE WHEN scheme = '' THEN prefix ELSE scheme || ' ' || prefix END) AS codes
            FROM classes LEFT JOIN names AS n USING (supplier_key)
            GROUP BY supplier_key
            HAVING count(DISTINCT ocid) >= {int(settings.minimum_contracting_processes)}
        ),
        {_fence(settings, "suppliers")}
    """


def _fence(settings: Settings, suppliers: str) -> str:
    """Return the CTE ``fence`` (n, q1, q3, cut) over ``suppliers``, a relation with a ``classes`` column."""
    threshold = "NULL" if settings.threshold is None else str(int(settings.threshold))
    return f"""fence AS (
            SELECT n, q1, q3, coalesce({threshold}, q3 + 1.5 * (q3 - q1)) AS cut
            FROM ({quartiles("classes::DOUBLE", suppliers)})
        )"""


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R048."""
    source = "the fixed threshold" if settings.threshold is not None else "the upper fence (Q3 + 1.5 × IQR)"
    return f"""
        WITH {_ctes(settings)}
        SELECT 'supplier' AS subject, s.supplier_key AS subject_id, NULL AS ocid,
               coalesce(s.classes >= f.cut, FALSE) AS flagged, s.classes AS value,
               json_object('classes', s.classes, 'codes', s.codes, 'processes', s.processes,
                           'digits', {int(settings.digits)}, 'threshold', f.cut, 'q1', f.q1, 'q3', f.q3,
                           'suppliers_compared', f.n) AS evidence,
               coalesce(s.supplier_name, s.supplier_key) || ' won awards in ' || s.processes || ' processes for '
               || s.classes || ' different classes of goods and services (' || array_to_string(s.codes, ', ')
               || '), at or above ' || format('{{:g}}', f.cut) || ', {source} among ' || {number("f.n")}
               || ' suppliers.' AS sentence
        FROM suppliers AS s CROSS JOIN fence AS f
    """


def meta_sql(settings: Settings, common: object) -> str:
    """Return the quartiles and the fence, named as Cardinal names them."""
    columns = (
        {"upper_fence": "cut"} if settings.threshold is not None else {"q1": "q1", "q3": "q3", "upper_fence": "cut"}
    )
    # the class counts are the values of the rows this run evaluated (one per supplier)
    return f"WITH {_fence(settings, '(SELECT value AS classes FROM tw_evaluated)')} {meta_rows(columns, 'fence')}"


INDICATOR = Indicator(
    code="R048",
    title="Heterogeneous supplier",
    subjects=("supplier",),
    description="A supplier won contracts for an unusually wide range of goods and services.",
    why="A company that wins work in many unrelated fields may be a front or an intermediary, winning contracts it "
    "passes on to others at a mark-up.",
    sql=sql,
    settings=Settings,
    meta_sql=meta_sql,
    needs=("items.classification_id", "awards.status", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R048",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/048.html",
    ),
    cardinal=True,
    item_scopes=("award",),
    differences=(
        "Classes are counted within their scheme, so a CPV and a UNSPSC code that start alike are two classes; "
        "Cardinal ignores the scheme.",
        "Numeric classification codes are read as text; Cardinal skips them unless its prepare command was run.",
        "Blank classification codes are skipped; Cardinal counts an empty code as a class.",
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
    ),
)
