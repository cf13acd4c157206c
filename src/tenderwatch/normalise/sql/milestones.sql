WITH contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
scoped AS (
    SELECT ocid, 'planning' AS scope, NULL::VARCHAR AS parent_id, r.planning.milestones AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'tender' AS scope, r.tender.id AS parent_id, r.tender.milestones AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'contract' AS scope, x.id AS parent_id, x.milestones AS entries FROM contracts
    UNION ALL
    SELECT ocid, 'implementation' AS scope, x.id AS parent_id, x.implementation.milestones AS entries FROM contracts
),
m AS (
    SELECT ocid, scope, parent_id, unnest(entries) AS y, generate_subscripts(entries, 1) AS position
    FROM scoped
)
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS milestone_id,
    position,
    y.title AS title,
    y.type AS type,
    y.description AS description,
    y.code AS code,
    y.status AS status,
    tw_ts(y.dueDate) AS due_date,
    tw_ts(y.dateMet) AS date_met,
    tw_ts(y.dateModified) AS date_modified
FROM m
