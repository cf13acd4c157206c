"""All except winning bid disqualified.

A **process** is flagged when the winner was the only tenderer left with a ``valid`` bid and at least
**threshold** other tenderers (1 by default) were disqualified. The winner is flagged as a tenderer too.

A process is looked at when its awards are all final (none pending), it has at least one active award, and at least
two tenderers made valid or disqualified bids. The winners are the suppliers of the active awards; the process is
flagged when the tenderers of valid bids are exactly the winners, there is only one of them, and the tenderers of
disqualified bids who are not that winner number at least the threshold. Pending, invited and withdrawn bids are
not counted; amounts are not read.

Example: four firms bid to supply a hospital's scanners; three are disqualified on technicalities and the fourth
wins. The process (3 disqualified) and the winner are flagged: disqualifying every rival is a way to hand a
contract to a chosen firm while appearing to compete.

Organisations are matched across processes by their party id (unless it is a bare number of up to four digits,
which Contracts Finder reuses in every notice), else their identifier, else their name.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings
from tenderwatch.indicators.r024 import bid_tenderers, party_keys


class Settings(IndicatorSettings):
    """Settings of R035."""

    threshold: int = Field(
        default=1,
        description="Fewest other tenderers that must have been disqualified for a flag (values below 1 count as 1).",
    )


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates R035."""
    threshold = max(1, int(settings.threshold))
    return f"""
        WITH {party_keys()},
        {bid_tenderers()},
        final AS (
            SELECT ocid, list_distinct(winners) AS winners FROM ind_final_awards WHERE active_awards > 0
        ),
        counted AS (
            SELECT t.ocid, any_value(f.winners) AS winners,
                   list_sort(list_distinct(list(t.tenderer_id) FILTER (WHERE t.status = 'valid'))) AS valid_ids,
                   list_distinct(list(t.tenderer_id) FILTER (WHERE t.status = 'disqualified')) AS disqualified_ids,
                   list(struct_pack(id := t.tenderer_id, name := t.tenderer_name))
                       FILTER (WHERE t.status = 'disqualified') AS disqualified_tenderers,
                   min(t.tenderer_key) FILTER (WHERE t.status = 'valid') AS winner_key,
                   min(t.tenderer_name) FILTER (WHERE t.status = 'valid') AS winner_name
            FROM tw_bid_tenderers AS t JOIN final AS f USING (ocid)
            WHERE t.status IN ('valid', 'disqualified')
            GROUP BY t.ocid
            HAVING count(DISTINCT t.tenderer_id) >= 2
        ),
        rated AS (
            SELECT *,
                   len(valid_ids) = 1 AND list_sort(winners) = valid_ids AS sole_valid_winner,
                   len(list_filter(disqualified_ids, x -> NOT list_contains(valid_ids, x))) AS others_disqualified,
                   list_sort(list_distinct(list_transform(
                       list_filter(disqualified_tenderers, x -> NOT list_contains(valid_ids, x.id)), x -> x.name
                   ))) AS disqualified_names
            FROM counted
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid,
               sole_valid_winner AND others_disqualified >= {threshold} AS flagged,
               others_disqualified AS value,
               json_object('winner', winner_key, 'winner_name', winner_name, 'valid_tenderers', len(valid_ids),
                           'others_disqualified', others_disqualified, 'disqualified', disqualified_names,
                           'threshold', {threshold}) AS evidence,
               'Every bid but the winner''s was disqualified: ' || others_disqualified || ' other tenderer'
               || CASE WHEN others_disqualified = 1 THEN '' ELSE 's' END || ' ('
               || array_to_string(disqualified_names, ', ')
               || '), leaving ' || winner_name || ' the only valid bidder.' AS sentence
        FROM rated
        UNION ALL
        SELECT 'tenderer', winner_key, ocid, others_disqualified >= {threshold}, 0.0,
               json_object('others_disqualified', others_disqualified, 'threshold', {threshold}),
               winner_name || ' won as the only valid bidder after ' || others_disqualified || ' other tenderer'
               || CASE WHEN others_disqualified = 1 THEN ' was' ELSE 's were' END || ' disqualified.'
        FROM rated
        WHERE sole_valid_winner
    """


INDICATOR = Indicator(
    code="R035",
    title="All except winning bid disqualified",
    subjects=("process", "tenderer"),
    description="Every bid except the winner's was disqualified.",
    why="Disqualifying every rival lets a buyer hand the contract to a chosen firm while the procedure still looks "
    "competitive.",
    sql=sql,
    settings=Settings,
    needs=("bids.status", "bids.tenderer_ids", "awards.status", "award_suppliers.party_id"),
    references=(
        "Open Contracting Partnership, Red Flags for Integrity (2024), R035",
        "Cardinal: https://cardinal.readthedocs.io/en/latest/cli/indicators/R/035.html",
    ),
    cardinal=True,
    differences=(
        "Organisations are matched by party id, else identifier, else name, when the id is a bare number of up to "
        "four digits; Cardinal always uses the id as published.",
    ),
)
