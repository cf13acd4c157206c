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
        -- counts rather than lists: the tenderers are those of valid bids and those of disqualified ones, so the
        -- disqualified who made no valid bid are all the tenderers less those of valid bids
        counted AS (
            SELECT t.ocid, any_value(f.winners) AS winners,
                   count(DISTINCT t.tenderer_id) FILTER (WHERE t.status = 'valid') AS valid_tenderers,
                   count(DISTINCT t.tenderer_id) AS tenderers,
                   min(t.tenderer_id) FILTER (WHERE t.status = 'valid') AS valid_id,
                   min(t.tenderer_key) FILTER (WHERE t.status = 'valid') AS winner_key,
                   min(t.tenderer_name) FILTER (WHERE t.status = 'valid') AS winner_name
            FROM tw_bid_tenderers AS t JOIN final AS f USING (ocid)
            WHERE t.status IN ('valid', 'disqualified')
            GROUP BY t.ocid
            HAVING count(DISTINCT t.tenderer_id) >= 2
        ),
        rated AS (  -- the one valid tenderer is the one winner (the winners' ids have no duplicate nor null)
            SELECT *, sole_valid_winner AND others_disqualified >= {threshold} AS flagged
            FROM (
                SELECT ocid, winner_key, winner_name, valid_tenderers, valid_id,
                       tenderers - valid_tenderers AS others_disqualified,
                       valid_tenderers = 1 AND len(winners) = 1 AND winners[1] = valid_id AS sole_valid_winner
                FROM counted
            )
        ),
        disqualified AS (  -- the names of the others disqualified, where the process is flagged (for its sentence)
            SELECT t.ocid, list_sort(list_distinct(list(t.tenderer_name))) AS disqualified_names
            FROM tw_bid_tenderers AS t
            JOIN rated AS r ON r.ocid = t.ocid AND r.flagged
            WHERE t.status = 'disqualified' AND t.tenderer_id <> r.valid_id
            GROUP BY t.ocid
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, flagged, others_disqualified AS value,
               json_object('winner', winner_key, 'winner_name', winner_name, 'valid_tenderers', valid_tenderers,
                           'others_disqualified', others_disqualified, 'disqualified', disqualified_names,
                           'threshold', {threshold}) AS evidence,
               'Every bid but the winner''s was disqualified: ' || others_disqualified || ' other tenderer'
               || CASE WHEN others_disqualified = 1 THEN '' ELSE 's' END || ' ('
               || array_to_string(disqualified_names, ', ')
               || '), leaving ' || winner_name || ' the only valid bidder.' AS sentence
        FROM rated LEFT JOIN disqualified USING (ocid)
        UNION ALL
        SELECT 'tenderer', winner_key, ocid, flagged, 0.0,
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
