WITH u AS (
    SELECT ocid, unnest(r.bids.details) AS x, generate_subscripts(r.bids.details, 1) AS position
    FROM tmp_releases
),
named AS (  -- each tenderer of each bid
    SELECT ocid, position, unnest(x.tenderers) AS y, generate_subscripts(x.tenderers, 1) AS i
    FROM u
),
known AS (  -- the first party with each id, of the processes with bids (as parties.repeated has it)
    SELECT ocid, x.id AS party_id, x.name AS name,
           tw_party_key(x.id, x.identifier.scheme, x.identifier.id, x.name) AS party_key
    FROM (
        SELECT ocid, unnest(r.parties) AS x, generate_subscripts(r.parties, 1) AS position,
               list_transform(r.parties, lambda p: p.id) AS ids
        FROM tmp_releases WHERE ocid IN (SELECT ocid FROM u)
    )
    WHERE x.id IS NOT NULL AND list_position(ids, x.id) = position
),
keyed AS (
    SELECT n.ocid, n.position,
           list(coalesce(k.party_key, tw_party_key(n.y.id, NULL, NULL, n.y.name), n.y.id) ORDER BY n.i) AS keys,
           list(coalesce(nullif(trim(k.name), ''), nullif(trim(n.y.name), ''), n.y.id) ORDER BY n.i) AS names
    FROM named AS n
    LEFT JOIN known AS k ON k.ocid = n.ocid AND k.party_id = n.y.id
    GROUP BY n.ocid, n.position
)
SELECT
    u.ocid,
    x.id AS bid_id,
    u.position,
    tw_ts(x.date) AS date,
    x.status AS status,
    tw_value(x.value.amount) AS value_amount,
    x.value.currency AS value_currency,
    list_transform(x.tenderers, lambda y: y.id) AS tenderer_ids,
    list_transform(x.tenderers, lambda y: y.name) AS tenderer_names,
    CASE WHEN len(x.tenderers) = 0 THEN []::VARCHAR[] ELSE k.keys END AS tenderer_keys,
    CASE WHEN len(x.tenderers) = 0 THEN []::VARCHAR[] ELSE k.names END AS tenderer_party_names
FROM u
LEFT JOIN keyed AS k USING (ocid, position)
