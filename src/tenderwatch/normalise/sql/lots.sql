WITH u AS (
    SELECT ocid, unnest(r.tender.lots) AS x, generate_subscripts(r.tender.lots, 1) AS position
    FROM tmp_releases
)
SELECT
    ocid,
    x.id AS lot_id,
    position,
    x.title AS title,
    x.description AS description,
    x.status AS status,
    tw_or_gross(tw_value(x.value.amount), x.value.amountGross) AS value_amount,
    x.value.currency AS value_currency,
    tw_only_gross(tw_value(x.value.amount), x.value.amountGross) AS value_includes_tax,
    tw_ts(x.contractPeriod.startDate) AS contract_period_start,
    tw_ts(x.contractPeriod.endDate) AS contract_period_end,
    tw_ts(x.contractPeriod.maxExtentDate) AS contract_period_max_extent,
    tw_int(x.contractPeriod.durationInDays) AS contract_period_duration_days
FROM u
