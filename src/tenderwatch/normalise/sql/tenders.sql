SELECT
    t.ocid,
    t.r.tender.id AS tender_id,
    t.r.tender.title AS title,
    t.r.tender.description AS description,
    t.r.tender.status AS status,
    t.r.tender.procuringEntity.id AS procuring_entity_id,
    t.r.tender.procuringEntity.name AS procuring_entity_name,
    t.r.tender.procurementMethod AS procurement_method,
    t.r.tender.procurementMethodDetails AS procurement_method_details,
    t.r.tender.procurementMethodRationale AS procurement_method_rationale,
    list_transform(
        t.r.tender.procurementMethodRationaleClassifications, lambda x: concat_ws(':', x.scheme, x.id)
    ) AS procurement_method_rationale_classifications,
    t.r.tender.mainProcurementCategory AS main_procurement_category,
    tw_strings(t.r.tender.additionalProcurementCategories) AS additional_procurement_categories,
    t.r.tender.awardCriteria AS award_criteria,
    t.r.tender.awardCriteriaDetails AS award_criteria_details,
    tw_strings(t.r.tender.submissionMethod) AS submission_method,
    tw_tender_amount(t.r.tender.value.amount, t.r.tender.minValue.amount) AS value_amount,
    tw_tender_currency(t.r.tender.value.amount, t.r.tender.value.currency, t.r.tender.minValue.amount,
                       t.r.tender.minValue.currency) AS value_currency,
    tw_value(t.r.tender.minValue.amount) AS min_value_amount,
    t.r.tender.minValue.currency AS min_value_currency,
    tw_tender_period_date(t.r.tender.milestones, t.r.tender.contractPeriod,
                          tw_ts(t.r.tender.tenderPeriod.startDate), 'Contract start') AS tender_period_start,
    tw_tender_period_date(t.r.tender.milestones, t.r.tender.contractPeriod,
                          tw_ts(t.r.tender.tenderPeriod.endDate), 'Contract end') AS tender_period_end,
    tw_ts(t.r.tender.enquiryPeriod.startDate) AS enquiry_period_start,
    tw_ts(t.r.tender.enquiryPeriod.endDate) AS enquiry_period_end,
    tw_ts(t.r.tender.awardPeriod.startDate) AS award_period_start,
    tw_ts(t.r.tender.awardPeriod.endDate) AS award_period_end,
    CASE WHEN tw_tender_period_is_contract(t.r.tender.milestones, t.r.tender.contractPeriod)
         THEN tw_ts(t.r.tender.tenderPeriod.startDate)
         ELSE coalesce(tw_ts(t.r.tender.contractPeriod.startDate),
                       tw_milestone_due(t.r.tender.milestones, 'Contract start')) END AS contract_period_start,
    CASE WHEN tw_tender_period_is_contract(t.r.tender.milestones, t.r.tender.contractPeriod)
         THEN tw_ts(t.r.tender.tenderPeriod.endDate)
         ELSE coalesce(tw_ts(t.r.tender.contractPeriod.endDate),
                       tw_milestone_due(t.r.tender.milestones, 'Contract end')) END AS contract_period_end,
    tw_ts(t.r.tender.contractPeriod.maxExtentDate) AS contract_period_max_extent,
    tw_int(t.r.tender.contractPeriod.durationInDays) AS contract_period_duration_days,
    tw_int(t.r.tender.numberOfTenderers) AS number_of_tenderers,
    tw_bool(t.r.tender.hasEnquiries) AS has_enquiries,
    t.r.tender.eligibilityCriteria AS eligibility_criteria,
    t.r.tender.legalBasis.scheme AS legal_basis_scheme,
    t.r.tender.legalBasis.id AS legal_basis_id,
    tw_strings(t.r.tender.specialRegime) AS special_regime,
    len(t.r.tender.items) AS item_count,
    len(t.r.tender.lots) AS lot_count
FROM tmp_releases AS t
WHERE t.r.tender IS NOT NULL
