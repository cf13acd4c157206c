WITH u AS (
    SELECT ocid, unnest(r.parties) AS x
    FROM tmp_releases
),
additional AS (
    SELECT ocid, x.id AS party_id, unnest(x.additionalIdentifiers) AS y
    FROM u
)
SELECT
    ocid,
    x.id AS party_id,
    TRUE AS is_primary,
    x.identifier.scheme AS scheme,
    x.identifier.id AS identifier,
    x.identifier.legalName AS legal_name,
    x.identifier.uri AS uri
FROM u
WHERE x.identifier.id IS NOT NULL
UNION ALL
SELECT
    ocid,
    party_id,
    FALSE AS is_primary,
    y.scheme AS scheme,
    y.id AS identifier,
    y.legalName AS legal_name,
    y.uri AS uri
FROM additional
WHERE y.id IS NOT NULL
