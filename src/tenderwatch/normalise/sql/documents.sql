WITH awards AS (
    SELECT ocid, unnest(r.awards) AS x FROM tmp_releases
),
contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
scoped AS (
    SELECT ocid, 'planning' AS scope, NULL::VARCHAR AS parent_id, r.planning.documents AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'tender' AS scope, r.tender.id AS parent_id, r.tender.documents AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'award' AS scope, x.id AS parent_id, x.documents AS entries FROM awards
    UNION ALL
    SELECT ocid, 'contract' AS scope, x.id AS parent_id, x.documents AS entries FROM contracts
    UNION ALL
    SELECT ocid, 'implementation' AS scope, x.id AS parent_id, x.implementation.documents AS entries FROM contracts
),
d AS (
    SELECT ocid, scope, parent_id, unnest(entries) AS y, generate_subscripts(entries, 1) AS position
    FROM scoped
)
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS document_id,
    position,
    y.documentType AS document_type,
    y.noticeType AS notice_type,
    y.title AS title,
    y.description AS description,
    y.url AS url,
    tw_ts(y.datePublished) AS date_published,
    tw_ts(y.dateModified) AS date_modified,
    y.format AS format,
    y.language AS language
FROM d
