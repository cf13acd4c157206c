WITH u AS (
    SELECT ocid, unnest(r.awards) AS x
    FROM tmp_releases
),
s AS (
    SELECT ocid, x.id AS award_id, unnest(x.suppliers) AS y, generate_subscripts(x.suppliers, 1) AS position
    FROM u
)
SELECT
    s.ocid,
    s.award_id,
    s.position,
    s.y.id AS party_id,
    coalesce(s.y.name, p.name) AS name,
    coalesce(s.y.identifier.scheme, p.identifier_scheme) AS identifier_scheme,
    coalesce(s.y.identifier.id, p.identifier_id) AS identifier_id
FROM s
LEFT JOIN parties AS p ON p.ocid = s.ocid AND p.party_id = s.y.id
