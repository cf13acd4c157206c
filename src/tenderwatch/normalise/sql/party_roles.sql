WITH u AS (
    SELECT ocid, unnest(r.parties) AS x
    FROM tmp_releases
)
SELECT ocid, party_id, role
FROM (SELECT ocid, x.id AS party_id, unnest(tw_strings(x.roles)) AS role FROM u)
