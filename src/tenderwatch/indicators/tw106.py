"""Urgency direct award.

A **process** awarded without a competition (OCDS ``procurementMethod`` ``direct`` or ``limited``, call-offs
under frameworks and dynamic purchasing systems left out) is flagged when the publisher justified it by **extreme
urgency**: the legal ground of regulation 32(2)(c) of the Public Contracts Regulations 2015 ("extreme urgency
brought about by events unforeseeable by the contracting authority") or of the Procurement Act 2023's urgency
justification (Schedule 5, "extreme and unavoidable urgency"). It is recognised by any of these rules, each
named in the evidence when it matched:

- **coded ground**: one of ``tender.procurementMethodRationaleClassifications`` matches **code_pattern** (any
  code containing "URGEN", such as ``TED_PT_AWARD_CONTRACT_WITHOUT_CALL:D_EXTREME_URGENCY``);
- **text**: the reason given (``procurementMethodRationale``) or the procedure's name matches one of the
  **text_rules**: "regulation 32(2)(c)", "urgency" (urgent, urgency, urgently), "unforeseeable events", "no time
  for a competition". Phrases naming a service rather than a reason, such as "urgent care" or "urgent treatment
  centre", are first removed (**ignore_pattern**).

The legal basis (``tender.legalBasis``: CELEX 32014L0024 for PCR 2015, UKPGA 2023/54 for the Procurement Act)
decides which law the sentence names; without one, a text citing 32(2)(c) names PCR 2015, and otherwise no law is
named. A process with an urgency code is evaluated whatever its method.

Example: after its children's therapy provider gives notice, a clinical commissioning group awards a one-year
replacement by "Negotiated procedure without prior publication", coded ``D_EXTREME_URGENCY`` and with the reason
"Regulation 32(2)(c) of the Public Contracts Regulations 2015: ... extreme urgency ...": flagged, with the rules
"coded ground", "regulation 32(2)(c)" and "urgency" in the evidence.

The flag does not say the urgency was not genuine: it points to an award made without competition on a ground
the courts read strictly, so that its facts (what was unforeseeable, whether the term was limited to what the
urgency required) can be asked about.
"""

from __future__ import annotations

from pydantic import Field

from tenderwatch.indicators.base import Indicator, IndicatorSettings, literal


class Settings(IndicatorSettings):
    """Settings of TW106."""

    procurement_methods: list[str] = Field(
        default_factory=lambda: ["direct", "limited"],
        description="OCDS procurement methods that award without a competition.",
    )
    call_off_pattern: str = Field(
        default=r"(?i)call[- ]?off|framework|dynamic (purchasing|market)",
        description="Regular expression on the procedure's name (procurementMethodDetails) marking call-offs, which "
        "are not evaluated.",
    )
    code_pattern: str = Field(
        default=r"(?i)urgen",
        description="Regular expression a rationale classification (scheme:id) must match to be an urgency ground.",
    )
    text_rules: dict[str, str] = Field(
        default_factory=lambda: {
            "regulation 32(2)(c)": r"(?i)\b32\s*\(\s*2\s*\)\s*\(\s*c\s*\)",
            "urgency": r"(?i)\burgen(t|cy|tly)\b",
            "unforeseeable events": r"(?i)\bunforesee(n|able)\b",
            "no time for a competition": r"(?i)\bno time (for|to (run|hold|carry out|undertake|complete)) "
            r"(a |an )?(full |open |new )?(competition|competitive|tender|procurement)",
        },
        description="Named regular expressions; a rationale text or procedure name matching any of them claims "
        "urgency.",
    )
    ignore_pattern: str = Field(
        default=r"(?i)\burgent (and emergency )?(care|treatment|dental|mental health|community response)\w*",
        description="Regular expression for phrases that name a service, not a reason, removed from the text "
        "before the rules are applied.",
    )


def _passage(pattern: str) -> str:
    """A regular expression for the passage around a match of ``pattern``: up to eight words before it and eight
    after (group 1)."""
    return r"(?s)(?:^|\s)((?:\S+\s+){0,8}(?:" + pattern + r")\S*(?:\s+\S+){0,8})"


def sql(settings: Settings, common: object) -> str:
    """Return the SELECT that evaluates TW106."""
    methods = literal(settings.procurement_methods or [""])
    code_pattern = literal(settings.code_pattern)
    ignore = literal(settings.ignore_pattern)
    call_off = literal(settings.call_off_pattern)
    rules = settings.text_rules
    matched_rules = (
        "list_filter(["
        + ", ".join(
            f"CASE WHEN regexp_matches(all_text, {literal(pattern)}) THEN {literal(name)} END"
            for name, pattern in rules.items()
        )
        + "], lambda x: x IS NOT NULL)"
        if rules
        else "[]::VARCHAR[]"
    )
    # The first passage that matched, with a few words either side: from the reason, else the procedure's name.
    excerpt = (
        "coalesce("
        + ", ".join(
            f"nullif(regexp_extract({column}, {literal(_passage(pattern))}, 1), '')"
            for column in ("reason_text", "details_text")
            for pattern in rules.values()
        )
        + ")"
        if rules
        else "NULL"
    )
    return f"""
        WITH procedures AS (
            SELECT p.ocid, p.procurement_method, p.procurement_method_details, t.procurement_method_rationale,
                   coalesce(t.procurement_method_rationale_classifications, []::VARCHAR[]) AS codes,
                   t.legal_basis_scheme, t.legal_basis_id,
                   regexp_replace(coalesce(t.procurement_method_rationale, ''), {ignore}, ' ', 'g') AS reason_text,
                   regexp_replace(coalesce(p.procurement_method_details, ''), {ignore}, ' ', 'g') AS details_text
            FROM ind_processes AS p JOIN tenders AS t USING (ocid)
        ),
        texts AS (SELECT *, details_text || ' ' || reason_text AS all_text FROM procedures),
        evaluated AS (
            SELECT *,
                   list_filter(codes, lambda c: regexp_matches(c, {code_pattern})) AS urgency_codes,
                   {matched_rules} AS text_rules_matched,
                   {excerpt} AS matched_text
            FROM texts
            WHERE (list_contains({methods}, procurement_method)
                   AND NOT regexp_matches(coalesce(procurement_method_details, ''), {call_off}))
               OR len(list_filter(codes, lambda c: regexp_matches(c, {code_pattern}))) > 0
        ),
        judged AS (
            SELECT *,
                   list_concat(CASE WHEN len(urgency_codes) > 0 THEN ['coded ground'] ELSE []::VARCHAR[] END,
                               text_rules_matched) AS rules,
                   CASE
                       WHEN legal_basis_id = '32014L0024'
                           OR (legal_basis_id IS NULL AND list_contains(text_rules_matched, 'regulation 32(2)(c)'))
                           THEN 'regulation 32(2)(c) of the Public Contracts Regulations 2015'
                       WHEN legal_basis_id = '2023/54'
                           THEN 'the urgency justification of the Procurement Act 2023 (Schedule 5)'
                   END AS law
            FROM evaluated
        )
        SELECT 'process' AS subject, ocid AS subject_id, ocid, len(rules) > 0 AS flagged, 1.0 AS value,
               json_object('rules_matched', rules, 'urgency_codes', urgency_codes, 'matched_text', matched_text,
                           'procurement_method', procurement_method,
                           'procurement_method_details', procurement_method_details,
                           'rationale', left(procurement_method_rationale, 500),
                           'legal_basis', concat_ws(' ', legal_basis_scheme, legal_basis_id), 'law', law) AS evidence,
               'The contract was awarded without a competition'
               || coalesce(' (' || procurement_method_details || ')', '')
               || ' on grounds of extreme urgency' || coalesce(' under ' || law, '')
               || ': ' || concat_ws(' and ',
                      CASE WHEN len(urgency_codes) > 0
                           THEN 'the notice gives the coded ground '
                                || array_to_string(
                                       list_transform(urgency_codes, lambda c: regexp_replace(c, '^.*:', '')), ', ')
                      END,
                      CASE WHEN matched_text IS NOT NULL
                           THEN 'its stated reason says "'
                                || CASE WHEN left(reason_text, length(matched_text)) = matched_text
                                          OR left(details_text, length(matched_text)) = matched_text
                                        THEN '' ELSE '…' END
                                || matched_text
                                || CASE WHEN right(reason_text, length(matched_text)) = matched_text
                                          OR right(details_text, length(matched_text)) = matched_text
                                        THEN '' ELSE '…' END || '"' END)
               || '.' AS sentence
        FROM judged
    """


INDICATOR = Indicator(
    code="TW106",
    title="Urgency direct award",
    subjects=("process",),
    description="A contract was awarded without a competition on grounds of extreme urgency (PCR 2015 regulation "
    "32(2)(c) or the Procurement Act 2023's urgency justification).",
    why="Extreme urgency lets a buyer skip competition altogether; the courts read the ground strictly, and an "
    "interim contract awarded this way can become the long-term arrangement without ever being tested.",
    sql=sql,
    settings=Settings,
    needs=(
        "tenders.procurement_method",
        "tenders.procurement_method_rationale|tenders.procurement_method_rationale_classifications",
    ),
    references=(
        "Public Contracts Regulations 2015, regulation 32(2)(c): https://www.legislation.gov.uk/uksi/2015/102/regulation/32",
        "Procurement Act 2023, section 41 and Schedule 5 (direct award justifications): "
        "https://www.legislation.gov.uk/ukpga/2023/54/schedule/5",
        "R (Good Law Project) v Minister for the Cabinet Office [2021] EWHC 1569 (TCC): the urgency ground is an "
        "exception to be interpreted strictly",
        "TED / EU eForms justification codes for award without prior publication (D_EXTREME_URGENCY)",
    ),
)
