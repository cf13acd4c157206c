-- include: _scoped_items.sql
SELECT
    ocid,
    scope,
    parent_id,
    y.id AS item_id,
    position,
    y.description AS description,
    tw_number(y.quantity) AS quantity,
    y.unit.name AS unit_name,
    tw_amount(y.unit.value.amount) AS unit_value_amount,
    y.unit.value.currency AS unit_value_currency,
    y.classification.scheme AS classification_scheme,
    y.classification.id AS classification_id,
    y.classification.description AS classification_description,
    tw_cpv(y.classification.scheme, y.classification.id) AS cpv_code,
    y.relatedLot AS related_lot
FROM item
