WITH k AS (  -- the ids of a process's parties, listed once a process rather than once a party
    SELECT ocid, r.parties AS entries, list_transform(r.parties, lambda p: p.id) AS ids FROM tmp_releases
),
u AS (
    SELECT ocid, unnest(entries) AS x, generate_subscripts(entries, 1) AS position, ids FROM k
)
SELECT
    ocid,
    x.id AS party_id,
    position,
    x.name AS name,
    tw_strings(x.roles) AS roles,
    x.identifier.scheme AS identifier_scheme,
    x.identifier.id AS identifier_id,
    x.identifier.legalName AS identifier_legal_name,
    x.address.streetAddress AS street_address,
    x.address.locality AS locality,
    x.address.region AS region,
    x.address.postalCode AS postal_code,
    x.address.countryName AS country_name,
    json_extract_string(x.details, '$.scale') AS scale,
    x.details AS details,
    tw_party_key(x.id, x.identifier.scheme, x.identifier.id, x.name) AS party_key,
    -- an id given again further down the process's list of parties (a lookup in the list, not a window over all)
    CASE WHEN x.id IS NOT NULL THEN list_position(ids, x.id) < position END AS repeated
FROM u
