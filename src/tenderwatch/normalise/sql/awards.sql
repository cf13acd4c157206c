WITH u AS (
    SELECT ocid, unnest(r.awards) AS x, generate_subscripts(r.awards, 1) AS position
    FROM tmp_releases
)
SELECT
    ocid,
    x.id AS award_id,
    position,
    x.title AS title,
    x.description AS description,
    x.status AS status,
    tw_ts(x.date) AS date,
    tw_or_gross(tw_value(x.value.amount), x.value.amountGross) AS value_amount,
    x.value.currency AS value_currency,
    tw_only_gross(tw_value(x.value.amount), x.value.amountGross) AS value_includes_tax,
    tw_ts(x.contractPeriod.startDate) AS contract_period_start,
    tw_ts(x.contractPeriod.endDate) AS contract_period_end,
    tw_ts(x.contractPeriod.maxExtentDate) AS contract_period_max_extent,
    tw_int(x.contractPeriod.durationInDays) AS contract_period_duration_days,
    tw_strings(x.relatedLots) AS related_lots,
    len(x.suppliers) AS supplier_count,
    list_filter([y.id FOR y IN x.suppliers], i -> i IS NOT NULL) AS supplier_ids
FROM u
