-- include: _scoped_items.sql
, additional AS (
    SELECT ocid, scope, parent_id, y.id AS item_id, position AS item_position,
        unnest(y.additionalClassifications) AS z
    FROM item
)
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS item_id,
    position AS item_position,
    TRUE AS is_primary,
    y.classification.scheme AS scheme,
    y.classification.id AS classification_id,
    y.classification.description AS description,
    tw_cpv(y.classification.scheme, y.classification.id) AS cpv_code
FROM item
WHERE y.classification.id IS NOT NULL
UNION ALL
SELECT
    ocid,
    scope,
    parent_id,
    item_id,
    item_position,
    FALSE AS is_primary,
    z.scheme AS scheme,
    z.id AS classification_id,
    z.description AS description,
    tw_cpv(z.scheme, z.id) AS cpv_code
FROM additional
WHERE z.id IS NOT NULL
