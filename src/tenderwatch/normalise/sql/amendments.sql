WITH awards AS (
    SELECT ocid, unnest(r.awards) AS x FROM tmp_releases
),
contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
scoped AS (
    SELECT
        ocid,
        'tender' AS scope,
        r.tender.id AS parent_id,
        list_concat(
            coalesce(r.tender.amendments, []),
            CASE WHEN coalesce(r.tender.amendment.id, r.tender.amendment.date) IS NOT NULL
                THEN [r.tender.amendment] ELSE [] END
        ) AS entries
    FROM tmp_releases
    UNION ALL
    SELECT
        ocid,
        'award' AS scope,
        x.id AS parent_id,
        list_concat(
            coalesce(x.amendments, []),
            CASE WHEN coalesce(x.amendment.id, x.amendment.date) IS NOT NULL THEN [x.amendment] ELSE [] END
        ) AS entries
    FROM awards
    UNION ALL
    SELECT
        ocid,
        'contract' AS scope,
        x.id AS parent_id,
        list_concat(
            coalesce(x.amendments, []),
            CASE WHEN coalesce(x.amendment.id, x.amendment.date) IS NOT NULL THEN [x.amendment] ELSE [] END
        ) AS entries
    FROM contracts
),
a AS (
    SELECT ocid, scope, parent_id, unnest(entries) AS y, generate_subscripts(entries, 1) AS position
    FROM scoped
)
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS amendment_id,
    position,
    tw_ts(y.date) AS date,
    y.rationale AS rationale,
    y.description AS description,
    y.amendsReleaseID AS amends_release_id,
    y.releaseID AS release_id
FROM a
