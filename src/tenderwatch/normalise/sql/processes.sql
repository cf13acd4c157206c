SELECT
    t.ocid,
    nullif(regexp_extract(t.ocid, '^(ocds-[0-9a-z]{6})', 1), '') AS ocid_prefix,
    (t.ocid LIKE 'ocds-twdemo-%' OR t.ocid LIKE 'ocds-twsynth-%') AS is_demo,
    t.r.id AS compiled_release_id,
    t.method AS compile_method,
    t.release_count,
    tw_ts(t.first_release_date) AS first_release_date,
    tw_ts(t.last_release_date) AS last_release_date,
    t.latest_release_id,
    t.release_tags,
    json_extract_string(p.metadata, '$.publisher.name') AS publisher_name,
    json_extract_string(p.metadata, '$.uri') AS package_uri,
    t.r.initiationType AS initiation_type,
    t.r.language AS language,
    coalesce(t.r.tender.title, t.r.awards[1].title, t.r.contracts[1].title) AS title,
    coalesce(t.r.tender.description, t.r.awards[1].description, t.r.contracts[1].description) AS description,
    t.r.buyer.id AS buyer_id,
    coalesce(
        t.r.buyer.name,
        list_filter(t.r.parties, lambda x: list_contains(tw_strings(x.roles), 'buyer'))[1].name
    ) AS buyer_name,
    t.r.buyer.identifier.scheme AS buyer_identifier_scheme,
    t.r.buyer.identifier.id AS buyer_identifier_id,
    tw_amount(t.r.planning.budget.amount.amount) AS planning_budget_amount,
    t.r.planning.budget.amount.currency AS planning_budget_currency,
    len(t.r.awards) AS award_count,
    len(t.r.contracts) AS contract_count,
    t.r.tender IS NOT NULL AS has_tender
FROM tmp_releases AS t
LEFT JOIN packages AS p ON p.package_hash = t.latest_package_hash
