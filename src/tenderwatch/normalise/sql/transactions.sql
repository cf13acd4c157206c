WITH contracts AS (
    SELECT ocid, unnest(r.contracts) AS x FROM tmp_releases
),
v AS (
    SELECT
        ocid,
        x.id AS contract_id,
        unnest(x.implementation.transactions) AS y,
        generate_subscripts(x.implementation.transactions, 1) AS position
    FROM contracts
)
SELECT
    ocid,
    contract_id,
    y.id AS transaction_id,
    position,
    y.source AS source,
    tw_ts(y.date) AS date,
    tw_amount(coalesce(y.value.amount, y.amount.amount)) AS value_amount,
    coalesce(y.value.currency, y.amount.currency) AS value_currency,
    y.payer.id AS payer_id,
    y.payer.name AS payer_name,
    y.payee.id AS payee_id,
    y.payee.name AS payee_name,
    y.uri AS uri
FROM v
