"""Probabilistic linkage of organisations that no identifier or exact name joins, with Splink on DuckDB.

The deterministic rules (same registered identifier; same name and postcode; same registered company name)
leave apart spellings that differ: a typo (``Deloittte LLP``), a legal form given or not (``Forever Independent``
and ``FOREVER INDEPENDENT LTD``), a word more or less, a party with an address and one without. For those, a
Fellegi-Sunter model scores pairs of *profiles* (one row per distinct name, postcode and identifiers seen) that
are in different deterministic clusters:

================  ==========================================================================================
comparison        levels (first that applies)
================  ==========================================================================================
name key          exact; the same words (in any order, repeats ignored); at most two letters different (Levenshtein
                  distance, names of eight letters or more that begin with the same three); the same letters
                  without spaces; one name is the other with one word more (the shorter has two words or
                  more, and the word is not one that makes another body: NORTH, COUNTY, GROUP, HOLDINGS…);
                  otherwise
legal form        same legal form at the end of the name (LTD, PLC, LLP…); different; a name without one
                  counts for nothing
postcode          same postcode; same sector (``RG27 9``); same district (``RG27``); same area (``RG``);
                  otherwise; either side without a postcode counts for nothing
town              same town; otherwise; missing counts for nothing
================  ==========================================================================================

The m probabilities (how often true matches fall in each level) are fixed in this module, chosen on the labelled
pairs of ``tests/fixtures/resolve/labelled_pairs.csv`` (see docs/organisations.md); the u probabilities (how
often unrelated pairs do) are estimated on each store by Splink's random sampling, with a fixed seed so a store
always gives the same links. Candidate pairs come from four blocking rules: same name key; same first word and
postcode district; same first ten characters of the name key; same first three letters and last word.

A pair is linked when its match probability reaches the ``match_threshold`` setting (0.99 by default), and the
two clusters do not carry different identifiers in one registered scheme (two company numbers are two
companies, whatever their names say); links are applied from the most probable down, so a cluster that gained
a company number refuses a later link to another one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import pyarrow as pa

# m probabilities by level, from the first level to the last (see the table in the module docstring).
NAME_M = (0.70, 0.03, 0.03, 0.10, 0.08, 0.06)
LEGAL_FORM_M = (0.93, 0.07)
POSTCODE_M = (0.80, 0.06, 0.04, 0.03, 0.07)
TOWN_M = (0.85, 0.15)
# Prior probability that a candidate pair (two profiles that share a name key, a first word and postcode
# district, or the first ten letters of the name key) is one organisation. Fixed, so that a store's size does
# not change what links: the evidence of a pair alone decides.
PRIOR = 0.05
U_SAMPLE_PAIRS = 2_000_000
U_SEED = 42

# Words that make one name another organisation when added to it ("North Lincolnshire Council" and "North East
# Lincolnshire Council", "Buckinghamshire Council" and "Buckinghamshire County Council").
DISTINCTIVE_WORDS = (
    "NORTH",
    "SOUTH",
    "EAST",
    "WEST",
    "CENTRAL",
    "GREATER",
    "NEW",
    "COUNTY",
    "UPPER",
    "LOWER",
    "MID",
    "INNER",
    "OUTER",
    "HOLDINGS",
    "GROUP",
    "TRUST",
    "FOUNDATION",
    "SERVICES",
    "INTERNATIONAL",
)
_DISTINCTIVE = "[" + ", ".join(f"'{word}'" for word in DISTINCTIVE_WORDS) + "]"

RECORD_COLUMNS = (
    "unique_id",
    "cluster",
    "name_key",
    "words",
    "legal_form",
    "first_word",
    "name_prefix",
    "last_word",
    "postcode",
    "town",
)


@dataclass(frozen=True)
class ScoredPair:
    """A pair of profiles the model links, with its score."""

    left: int
    right: int
    match_probability: float
    match_weight: float


def _settings(record_count: int):
    import splink.comparison_level_library as cll  # noqa: PLC0415
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import SettingsCreator  # noqa: PLC0415

    name = cl.CustomComparison(
        output_column_name="name_key",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key"),
            cll.CustomLevel("words_l = words_r", "same words"),
            cll.CustomLevel("replace(name_key_l, ' ', '') = replace(name_key_r, ' ', '')", "same letters"),
            cll.CustomLevel(
                "length(name_key_l) >= 8 AND length(name_key_r) >= 8 AND left(name_key_l, 3) = left(name_key_r, 3) "
                "AND levenshtein(name_key_l, name_key_r) <= 2",
                "at most two letters different, same first three",
            ),
            cll.CustomLevel(
                "len(list_concat(words_l, words_r)) - len(list_intersect(words_l, words_r)) * 2 = 1 AND "
                "least(len(words_l), len(words_r)) >= 2 AND (list_has_all(words_l, words_r) OR "
                f"list_has_all(words_r, words_l)) AND len(list_intersect(words_l, {_DISTINCTIVE})) = "
                f"len(list_intersect(words_r, {_DISTINCTIVE}))",
                "one word more, not a distinctive one",
            ),
            cll.ElseLevel(),
        ],
    ).configure(m_probabilities=list(NAME_M))
    legal_form = cl.CustomComparison(
        output_column_name="legal_form",
        comparison_levels=[
            cll.NullLevel("legal_form"),
            cll.ExactMatchLevel("legal_form"),
            cll.ElseLevel(),
        ],
    ).configure(m_probabilities=list(LEGAL_FORM_M))
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel(
                "regexp_extract(postcode_l, '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]') <> '' AND "
                "regexp_extract(postcode_l, '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]') = "
                "regexp_extract(postcode_r, '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]')",
                "same sector",
            ),
            cll.CustomLevel(
                "regexp_extract(postcode_l, '^([A-Z]{1,2}[0-9][A-Z0-9]?) ', 1) <> '' AND "
                "regexp_extract(postcode_l, '^([A-Z]{1,2}[0-9][A-Z0-9]?) ', 1) = "
                "regexp_extract(postcode_r, '^([A-Z]{1,2}[0-9][A-Z0-9]?) ', 1)",
                "same district",
            ),
            cll.CustomLevel(
                "regexp_extract(postcode_l, '^[A-Z]{1,2}') <> '' AND "
                "regexp_extract(postcode_l, '^[A-Z]{1,2}') = regexp_extract(postcode_r, '^[A-Z]{1,2}')",
                "same area",
            ),
            cll.ElseLevel(),
        ],
    ).configure(m_probabilities=list(POSTCODE_M))
    town = cl.CustomComparison(
        output_column_name="town",
        comparison_levels=[cll.NullLevel("town"), cll.ExactMatchLevel("town"), cll.ElseLevel()],
    ).configure(m_probabilities=list(TOWN_M))
    apart = "l.cluster <> r.cluster"
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, legal_form, postcode, town],
        blocking_rules_to_generate_predictions=[
            f"l.name_key = r.name_key AND {apart}",
            f"l.first_word = r.first_word AND split_part(l.postcode, ' ', 1) = split_part(r.postcode, ' ', 1) "
            f"AND {apart}",
            f"l.name_prefix = r.name_prefix AND {apart}",
            f"left(l.name_key, 3) = left(r.name_key, 3) AND l.last_word = r.last_word AND {apart}",
        ],
        probability_two_random_records_match=PRIOR,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["cluster"],
    )


def score_profiles(
    records: pa.Table, *, threshold: float, memory_limit: str = "512MB", threads: int = 0
) -> list[ScoredPair]:
    """Score candidate pairs of profiles and return those at or above ``threshold``, most probable first.

    ``records`` has the columns of :data:`RECORD_COLUMNS`; ``cluster`` is the deterministic cluster, and pairs
    inside one cluster are not scored. Splink works in a private in-memory DuckDB database, so none of its
    working tables reach the store.
    """
    if records.num_rows < 2:
        return []
    from splink import DuckDBAPI, Linker  # noqa: PLC0415

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        db_api = DuckDBAPI(con)
        frame = db_api.register(records.select(list(RECORD_COLUMNS)), dataset_display_name="profiles")
        linker = Linker(frame, _settings(records.num_rows), log_level=None)
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=U_SEED)
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        table = predictions.as_pyarrow_table()
    finally:
        con.close()
    pairs = [
        ScoredPair(int(left), int(right), float(probability), float(weight))
        for left, right, probability, weight in zip(
            table.column("unique_id_l").to_pylist(),
            table.column("unique_id_r").to_pylist(),
            table.column("match_probability").to_pylist(),
            table.column("match_weight").to_pylist(),
            strict=True,
        )
    ]
    pairs.sort(key=lambda pair: (-pair.match_probability, pair.left, pair.right))
    return pairs
