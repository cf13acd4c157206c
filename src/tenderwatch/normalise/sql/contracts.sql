WITH u AS (
    SELECT ocid, unnest(r.contracts) AS x, generate_subscripts(r.contracts, 1) AS position
    FROM tmp_releases
)
SELECT
    ocid,
    x.id AS contract_id,
    position,
    x.awardID AS award_id,
    x.title AS title,
    x.description AS description,
    x.status AS status,
    tw_ts(x.period.startDate) AS period_start,
    tw_ts(x.period.endDate) AS period_end,
    tw_ts(x.period.maxExtentDate) AS period_max_extent,
    tw_int(x.period.durationInDays) AS period_duration_days,
    tw_or_gross(tw_value(x.value.amount), x.value.amountGross) AS value_amount,
    x.value.currency AS value_currency,
    tw_only_gross(tw_value(x.value.amount), x.value.amountGross) AS value_includes_tax,
    tw_ts(x.dateSigned) AS date_signed,
    coalesce(len(x.amendments), 0) + (coalesce(x.amendment.id, x.amendment.date) IS NOT NULL)::INTEGER
        AS amendment_count,
    coalesce(len(x.implementation.transactions), 0) AS transaction_count
FROM u
