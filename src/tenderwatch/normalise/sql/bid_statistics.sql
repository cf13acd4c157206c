WITH u AS (
    SELECT ocid, unnest(r.bids.statistics) AS x, generate_subscripts(r.bids.statistics, 1) AS position
    FROM tmp_releases
)
SELECT
    ocid,
    x.id AS statistic_id,
    position,
    x.measure AS measure,
    tw_number(x.value) AS value,
    x.currency AS currency,
    tw_ts(x.date) AS date,
    x.notes AS notes,
    x.relatedLot AS related_lot
FROM u
