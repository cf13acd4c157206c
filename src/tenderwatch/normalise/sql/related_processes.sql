WITH contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
scoped AS (
    SELECT ocid, 'process' AS scope, NULL::VARCHAR AS parent_id, r.relatedProcesses AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'contract' AS scope, x.id AS parent_id, x.relatedProcesses AS entries FROM contracts
),
p AS (
    SELECT ocid, scope, parent_id, unnest(entries) AS y, generate_subscripts(entries, 1) AS position
    FROM scoped
)
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS related_process_id,
    position,
    tw_strings(y.relationship) AS relationship,
    y.title AS title,
    y.scheme AS scheme,
    y.identifier AS identifier,
    y.uri AS uri
FROM p
