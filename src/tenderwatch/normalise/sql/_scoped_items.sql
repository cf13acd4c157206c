WITH awards AS (
    SELECT ocid, unnest(r.awards) AS x FROM tmp_releases
),
contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
scoped AS (
    SELECT ocid, 'tender' AS scope, r.tender.id AS parent_id, r.tender.items AS entries FROM tmp_releases
    UNION ALL
    SELECT ocid, 'award' AS scope, x.id AS parent_id, x.items AS entries FROM awards
    UNION ALL
    SELECT ocid, 'contract' AS scope, x.id AS parent_id, x.items AS entries FROM contracts
),
item AS (
    SELECT ocid, scope, parent_id, unnest(entries) AS y, generate_subscripts(entries, 1) AS position
    FROM scoped
)
