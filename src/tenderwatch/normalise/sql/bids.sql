WITH u AS (
    SELECT ocid, unnest(r.bids.details) AS x, generate_subscripts(r.bids.details, 1) AS position
    FROM tmp_releases
)
SELECT
    ocid,
    x.id AS bid_id,
    position,
    tw_ts(x.date) AS date,
    x.status AS status,
    tw_value(x.value.amount) AS value_amount,
    x.value.currency AS value_currency,
    list_transform(x.tenderers, lambda y: y.id) AS tenderer_ids,
    list_transform(x.tenderers, lambda y: y.name) AS tenderer_names
FROM u
