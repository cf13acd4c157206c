WITH k AS (
    SELECT ocid, r.bids.details AS details,
           -- the parties with an id, each with its key, in order (the first with an id is the one that names it);
           -- worked out once a process, here, rather than once a bid beside the unnest below
           list_transform(
               list_filter(r.parties, lambda p: p.id IS NOT NULL),
               lambda p: {'id': p.id, 'name': p.name,
                          'key': tw_party_key(p.id, p.identifier.scheme, p.identifier.id, p.name)}
           ) AS known
    FROM tmp_releases
    WHERE len(r.bids.details) > 0
),
u AS (
    SELECT ocid, unnest(details) AS x, generate_subscripts(details, 1) AS position, known FROM k
)
SELECT
    u.ocid,
    x.id AS bid_id,
    u.position,
    tw_ts(x.date) AS date,
    x.status AS status,
    tw_value(x.value.amount) AS value_amount,
    x.value.currency AS value_currency,
    list_transform(x.tenderers, lambda y: y.id) AS tenderer_ids,
    list_transform(x.tenderers, lambda y: y.name) AS tenderer_names,
    -- each tenderer keyed and named as the first party with its id has it (else as the bid has it), looked up in
    -- the process's own list of parties
    list_transform(
        x.tenderers,
        lambda y: coalesce(
            list_filter(known, lambda k: k.id = y.id)[1].key, tw_party_key(y.id, NULL, NULL, y.name), y.id
        )
    ) AS tenderer_keys,
    list_transform(
        x.tenderers,
        lambda y: coalesce(
            nullif(trim(list_filter(known, lambda k: k.id = y.id)[1].name), ''), nullif(trim(y.name), ''), y.id
        )
    ) AS tenderer_party_names
FROM u
