-- Helpers shared by the normalisation queries (and, those at the end, by the lifecycle, the alerts and the
-- indicators too: every connection to a store has them). Values that fail a check become NULL here; the loader has
-- already recorded each such value, with its reason, in the rejects table.

CREATE OR REPLACE TEMP MACRO tw_number(j) AS
    CASE WHEN json_type(j) IN ('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE') THEN TRY_CAST(j::VARCHAR AS DOUBLE) END;

-- Text to DECIMAL(38, 6) is slow in DuckDB (about 5 microseconds a value, against 0.02 for DECIMAL(18, 6)), so an
-- amount that fits in 18 digits goes through DECIMAL(18, 6); the result is the same.
CREATE OR REPLACE TEMP MACRO tw_amount(j) AS
    CASE WHEN abs(tw_number(j)) <= getvariable('tw_max_amount') THEN
        CASE WHEN abs(tw_number(j)) < 1e12 THEN TRY_CAST(j::VARCHAR AS DECIMAL(18, 6))::DECIMAL(38, 6)
             ELSE TRY_CAST(j::VARCHAR AS DECIMAL(38, 6)) END
    END;

CREATE OR REPLACE TEMP MACRO tw_value(j) AS
    CASE WHEN tw_number(j) >= 0 THEN tw_amount(j) END;

-- A value's amount without taxes as read (`net`, a decimal), else, where a notice gives only that, its amount
-- including them (`gross`, the UK extension's amountGross, which some Find a Tender award notices give alone).
CREATE OR REPLACE TEMP MACRO tw_or_gross(net, gross) AS
    coalesce(net, tw_value(gross));

-- Whether tw_or_gross gives the amount including taxes.
CREATE OR REPLACE TEMP MACRO tw_only_gross(net, gross) AS
    net IS NULL AND tw_value(gross) IS NOT NULL;

CREATE OR REPLACE TEMP MACRO tw_int(j) AS
    CASE WHEN tw_number(j) BETWEEN -2147483648 AND 2147483647 THEN TRY_CAST(round(tw_number(j)) AS INTEGER) END;

CREATE OR REPLACE TEMP MACRO tw_bool(j) AS
    CASE WHEN json_type(j) = 'BOOLEAN' THEN j::VARCHAR = 'true' END;

CREATE OR REPLACE TEMP MACRO tw_ts(s) AS
    CASE
        WHEN regexp_matches(s, '^\d{4}-\d{2}-\d{2}')
            AND TRY_CAST(substr(s, 1, 4) AS INTEGER) BETWEEN getvariable('tw_min_year') AND getvariable('tw_max_year')
        THEN TRY_CAST(s AS TIMESTAMPTZ)
    END;

CREATE OR REPLACE TEMP MACRO tw_strings(j) AS
    CASE
        WHEN json_type(j) = 'ARRAY' THEN list_filter(json_extract_string(j, '$[*]'), lambda x: x IS NOT NULL)
        WHEN json_type(j) = 'VARCHAR' THEN [json_extract_string(j, '$')]
    END;

CREATE OR REPLACE TEMP MACRO tw_cpv(scheme, code) AS
    CASE WHEN upper(trim(scheme)) = 'CPV' THEN nullif(regexp_extract(code, '^\s*(\d{8})', 1), '') END;

-- An organisation's key across processes: its party id, unless that is a bare number of up to four digits (Contracts
-- Finder numbers the parties of every notice afresh), else SCHEME-id of its main identifier, else its name in
-- capitals. Kept in parties.party_key and bids.tenderer_keys: a change here needs `tenderwatch rebuild`.
CREATE OR REPLACE TEMP MACRO tw_party_key(party_id, scheme, identifier, name) AS
    CASE
        WHEN nullif(trim(party_id), '') IS NOT NULL AND NOT regexp_full_match(trim(party_id), '[0-9]{1,4}')
            THEN trim(party_id)
        WHEN nullif(trim(scheme), '') IS NOT NULL AND nullif(trim(identifier), '') IS NOT NULL
            THEN upper(trim(scheme)) || '-' || trim(identifier)
        WHEN nullif(trim(name), '') IS NOT NULL THEN 'name:' || upper(trim(regexp_replace(name, '\s+', ' ', 'g')))
    END;

-- A tender marked unsuccessful by a notice dated before its own deadline for bids has not failed: no bid can have
-- been judged yet. Contracts Finder gives most of its tender notices this status on the day they are published
-- (385 of 500 notices of early 2020 in the real data, each before its deadline), so the lifecycle, the alerts and
-- the indicators that read a failed procedure pass over such a status. So too for Contracts Finder's own notices
-- (ocds-b5fd17) that give no deadline: its OCDS 1.0 notices have none (see tw_tender_period_is_contract), and 206
-- of the 221 of 2014-15 in the real data are marked unsuccessful on publication.
CREATE OR REPLACE TEMP MACRO tw_unsuccessful_before_deadline(ocid, status, reported, deadline) AS
    coalesce(lower(trim(status)) = 'unsuccessful'
             AND (reported < deadline OR (deadline IS NULL AND starts_with(ocid, 'ocds-b5fd17-'))), FALSE);

-- Contracts Finder's notices in OCDS 1.0 give the anticipated contract period in the tender's milestones "Contract
-- start" and "Contract end" instead of a contractPeriod: with their due dates (as in 2019-20), or, in those of about
-- 2014 to 2016, without dates and with the period as the tender's tenderPeriod (197 of the 221 such notices of
-- 2014-15 in the real data span more than 90 days, many the financial years from 1 April to 31 March). The tenders
-- table reads either as the contract's period.
CREATE OR REPLACE TEMP MACRO tw_tender_period_is_contract(milestones, contract_period) AS
    contract_period IS NULL AND coalesce(len(list_filter(milestones, lambda m: m.dueDate IS NULL
                                                          AND m.title IN ('Contract start', 'Contract end'))) = 2,
                                         FALSE);

-- The due date of the milestone with this title that Contracts Finder gives for the anticipated contract period.
-- (Matched by its title alone: a word of the macro, such as a field's name, makes the red flags' reading of a file
-- parse every field of that name, and descriptions are long.)
CREATE OR REPLACE TEMP MACRO tw_milestone_due(milestones, milestone_title) AS
    tw_ts(list_filter(milestones, lambda m: m.title = milestone_title)[1].dueDate);

-- A date of the tender's tenderPeriod (its start or end, `ts`), unless it is the anticipated contract's: the whole
-- period in Contracts Finder's notices of about 2014 to 2016, or its start or end where a process holds notices of
-- both kinds (Contracts Finder published some notices twice, once in each form; merged, the older form's start or
-- end of the contract is left in the tenderPeriod beside the newer form's dates), which is then the due date of the
-- milestone of the same end (`milestone_title`, "Contract start" or "Contract end").
CREATE OR REPLACE TEMP MACRO tw_tender_period_date(milestones, contract_period, ts, milestone_title) AS
    CASE
        WHEN tw_tender_period_is_contract(milestones, contract_period) THEN NULL
        WHEN ts = tw_milestone_due(milestones, milestone_title) THEN NULL
        ELSE ts
    END;

-- A date of the expected contract period (its start or end): the contractPeriod's (`contract_ts`), else that of the
-- milestone `milestone_title`, else, where the tenderPeriod is the contract's, the tenderPeriod's (`tender_ts`).
CREATE OR REPLACE TEMP MACRO tw_contract_period_date(milestones, contract_period, tender_ts, contract_ts,
                                                     milestone_title) AS
    CASE
        WHEN tw_tender_period_is_contract(milestones, contract_period) THEN tender_ts
        ELSE coalesce(contract_ts, tw_milestone_due(milestones, milestone_title))
    END;

-- A tender's estimated value: its value, unless that is 0 or absent beside a positive minValue (OCDS 1.0's lower end
-- of the estimate), which is then the estimate, the least the buyer expects to spend. Contracts Finder's OCDS 1.0
-- notices give a single estimate so: 548 of the 1,199 tenders of its notices in the real data.
CREATE OR REPLACE TEMP MACRO tw_estimate_is_minimum(amount, min_amount) AS
    coalesce(tw_value(amount), 0) = 0 AND coalesce(tw_value(min_amount) > 0, FALSE);

CREATE OR REPLACE TEMP MACRO tw_tender_amount(amount, min_amount) AS
    CASE WHEN tw_estimate_is_minimum(amount, min_amount) THEN tw_value(min_amount) ELSE tw_value(amount) END;

CREATE OR REPLACE TEMP MACRO tw_tender_currency(amount, currency, min_amount, min_currency) AS
    CASE WHEN tw_estimate_is_minimum(amount, min_amount) THEN min_currency ELSE currency END;
