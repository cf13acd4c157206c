WITH u AS (
    SELECT ocid, unnest(r.tender.tenderers) AS x, generate_subscripts(r.tender.tenderers, 1) AS position
    FROM tmp_releases
)
SELECT
    u.ocid,
    u.position,
    u.x.id AS party_id,
    coalesce(u.x.name, p.name) AS name,
    coalesce(u.x.identifier.scheme, p.identifier_scheme) AS identifier_scheme,
    coalesce(u.x.identifier.id, p.identifier_id) AS identifier_id
FROM u
LEFT JOIN parties AS p ON p.ocid = u.ocid AND p.party_id = u.x.id
