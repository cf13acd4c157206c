"""The questions a pack puts, each raised by one fact or flag and citing its source, and the two drafts.

Every rule here reads something specific (a procedure, a legal ground, a flag, a change, a record) and writes
a question that the person facing the buyer can ask word for word. Questions stay neutral: they ask for
reasons and documents, and assume nothing beyond the facts cited.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tenderwatch.util import listed

if TYPE_CHECKING:
    from tenderwatch.briefings import Fact, Question
    from tenderwatch.queries.organisation import Profile
    from tenderwatch.queries.process import ProcessView

URGENCY = re.compile(r"urgen|32\s*\(\s*2\s*\)\s*\(\s*c\s*\)|EXTREME_URGENCY", re.IGNORECASE)


def _question(text: str, because: str, source: int | None) -> Question:
    from tenderwatch.briefings import Question  # noqa: PLC0415

    return Question(text, because, source)


def process_questions(
    view: ProcessView,
    facts: list[Fact],
    flags: list[Fact],
    track_record: list[Fact],
    notices: dict[str, int | None],
    earlier: list[Fact] | None = None,
    bidders_record: list[Fact] | None = None,
) -> list[Question]:
    """Return the questions a process's facts and flags raise (``track_record``: the suppliers'; ``earlier``:
    failures of other contracts of the same buyer or nearby, see :func:`tenderwatch.briefings._earlier_failures`;
    ``bidders_record``: events in the record of the bidders that were not awarded the contract)."""
    questions: list[Question] = []
    tender = notices["tender"] or notices["award"]
    award = notices["award"] or tender
    contract = notices["contract"] or award
    method = (view.procurement_method or "").lower()
    details = view.procurement_method_details or ""
    grounds = " ".join([view.rationale or "", *view.rationale_classifications, details])
    if method in ("limited", "direct") or "without prior publication" in details.lower():
        questions.append(
            _question(
                "Why was this contract awarded without an open competition, and which legal ground and evidence "
                "justified that choice?",
                f"The procedure was: {details or method}.",
                tender,
            )
        )
    if URGENCY.search(grounds):
        questions.append(
            _question(
                "What happened that made the need so urgent, when did the buyer first learn of it, and why could the "
                "time limits of a competitive procedure not be met? Was the urgency brought about by "
                "the buyer itself?",
                "The award relies on extreme urgency.",
                tender,
            )
        )
    codes = {flag.label for flag in flags}
    if "R018" in codes:
        questions.append(
            _question(
                "Why did only one organisation bid, what market engagement happened before the tender, and what "
                "did the buyer do to check that the price was fair without competition?",
                "Only one bid was received.",
                award,
            )
        )
    if "TW101" in codes or any(item["scope"] == "tender" for item in view.amendments):
        questions.append(
            _question(
                "Why was the tender changed after it was published, who asked for the change, and were the staff, "
                "unions and the public consulted on the new scope?",
                "The tender notice was amended after publication.",
                tender,
            )
        )
    for contract_row in view.contracts:
        if contract_row["amendment_count"]:
            questions.append(
                _question(
                    f"What did each of the {contract_row['amendment_count']} changes to contract "
                    f"{contract_row['contract_id'] or ''} do to its price, scope and length, and was each within what "
                    "the original contract allowed?",
                    "The contract was changed after it was signed.",
                    contract,
                )
            )
        if contract_row["status"] == "terminated":
            questions.append(
                _question(
                    "Why did this contract end early, who gave notice, what did ending it cost, and "
                    "how is the service "
                    "being kept going for the people who rely on it?",
                    f"Contract {contract_row['contract_id'] or ''} is recorded as terminated.",
                    contract,
                )
            )
        if contract_row["max_extent"] and contract_row["max_extent"] != contract_row["end"]:
            questions.append(
                _question(
                    f"Will the option to extend the contract to {contract_row['max_extent']} be used, "
                    "on what evidence of "
                    "performance, and has bringing the service in-house been assessed before that decision?",
                    "The contract can be extended beyond its current end date.",
                    contract,
                )
            )
    if {"TW103", "TW104"} & codes:
        questions.append(
            _question(
                "Why was such a long or large contract chosen, what break clauses does it have, and "
                "how will the buyer "
                "keep the ability to change course?",
                "The contract is unusually long or large for this buyer.",
                award,
            )
        )
    for event in track_record[:3]:
        text = event.text.rstrip(". ")
        if event.ocid == view.ocid:  # it happened under this very contract, after the supplier was chosen
            asked = f"What has the buyer done about this, and how has the service been delivered since: {text}?"
            because = "The event happened under this contract."
        else:
            asked = (
                f"How did the buyer take account of this event in the supplier's record when it chose them: {text}?"
            )
            because = "The supplier has a recorded failure or exit."
        questions.append(_question(asked, because, event.source))
    for event in (bidders_record or [])[: max(0, 3 - len(track_record))]:
        questions.append(
            _question(
                "How does the buyer weigh this event in the record of a bidder for this contract: "
                f"{event.text.rstrip('. ')}?",
                "A bidder has a recorded failure or exit.",
                event.source,
            )
        )
    if earlier:
        first = earlier[0]
        questions.append(
            _question(
                "What lessons were drawn from earlier failures of outsourced contracts here, such as this one "
                f"({first.label}): {first.text.rstrip('. ')}, and how does this contract guard against the same "
                "happening again?",
                "Contracts of this buyer, or of public bodies nearby, have failed before.",
                first.source,
            )
        )
    questions.append(
        _question(
            "What are the contract's key performance indicators, how has the provider performed against them, and "
            "will the performance reports be published?",
            "Every public contract should be managed against published measures.",
            contract,
        )
    )
    questions.append(
        _question(
            "What is the exit and continuity plan if the provider fails or walks away, and which statutory duties "
            "would be at risk?",
            "Providers do leave contracts early; a plan should exist before they do.",
            contract,
        )
    )
    if any("subContract" in (item["relationship"] or []) for item in view.related) or view.awards:
        questions.append(
            _question(
                "Which organisations actually deliver the service: who are the subcontractors, at "
                "every level, and what "
                "share of the contract's value does each receive?",
                "Work is often subcontracted on, with each level taking a margin.",
                award,
            )
        )
    return questions


def profile_questions(
    found: Profile, facts: list[Fact], flags: list[Fact], track_record: list[Fact], summary: int
) -> list[Question]:
    """Return the questions a buyer's or supplier's record raises."""
    questions: list[Question] = []
    direct = sum(item["processes"] for item in found.procedures if item.get("class") == "non_competitive")
    every = sum(item["processes"] for item in found.procedures) or 1
    if found.kind == "buyer":
        if direct / every > 0.2:
            questions.append(
                _question(
                    f"Why were {direct} of {every} processes awarded without open competition, and "
                    "who signed off each "
                    "decision?",
                    "A large share of this buyer's contracts were not openly competed.",
                    summary,
                )
            )
        for concentration in found.concentration:
            if concentration["hhi"] and concentration["hhi"] > 2500:
                questions.append(
                    _question(
                        "Why does so much of this buyer's spending go to so few suppliers, and what is being done to "
                        "keep the market competitive?",
                        f"Supplier concentration is high (HHI {concentration['hhi']:.0f}).",
                        summary,
                    )
                )
        if found.ending_soon:
            questions.append(
                _question(
                    "For each contract ending in the next 18 months, has the buyer assessed bringing the service "
                    "in-house, and when will the decision be taken and published?",
                    f"{len(found.ending_soon)} contracts end soon.",
                    summary,
                )
            )
    else:
        if found.counterparts and (found.counterparts[0]["share"] or 0) > 0.5:
            questions.append(
                _question(
                    "Is this supplier dependent on one buyer, and what would happen to the service if it withdrew?",
                    "Most of its public income comes from one buyer.",
                    summary,
                )
            )
        for event in track_record[:5]:
            questions.append(
                _question(
                    f"What did buyers do about this event in the supplier's record: {event.text}?",
                    "The supplier has a recorded failure or exit.",
                    event.source,
                )
            )
    for flag in flags[:5]:
        questions.append(
            _question(
                f"What is the explanation for this: {flag.text}",
                f"Red flag {flag.label}.",
                flag.source,
            )
        )
    questions.append(
        _question(
            "What performance information is held about these contracts, and will it be published?",
            "Performance is rarely published with the contracts.",
            summary,
        )
    )
    return questions


def foi_request(
    buyer: str | None,
    subject: str,
    ocid: str | None,
    questions: list[Question],
    view: ProcessView | None,
    *,
    earlier_failures: bool = False,
) -> str:
    """Return a draft request under the Freedom of Information Act 2000 to the buyer (``earlier_failures``: the
    pack lists failures of earlier contracts of the buyer or nearby)."""
    reference = f" (contracting process {ocid})" if ocid else ""
    wanted = [
        "the contract as signed, and every variation, extension or change notice since;",
        "the key performance indicators and every performance report or dashboard produced under the contract;",
        "the exit and business continuity plans for the service;",
        "the list of subcontractors engaged to deliver the contract, with the value of each subcontract;",
    ]
    if view is not None:
        method = (view.procurement_method or "").lower()
        grounds = " ".join([view.rationale or "", *view.rationale_classifications])
        if method in ("limited", "direct"):
            wanted.append(
                "the report or decision record that approved awarding the contract without open "
                "competition, with the legal advice relied on;"
            )
        if URGENCY.search(grounds):
            wanted.append("the records showing when the need first became known and why it was urgent;")
        if view.number_of_tenderers == 1:
            wanted.append("the tender evaluation report and any record of market engagement before the tender;")
        if any(contract["status"] == "terminated" for contract in view.contracts):
            wanted.append(
                "the correspondence about ending the contract, including any notice given by the provider, "
                "and the costs of ending it;"
            )
    if earlier_failures:
        wanted.append(
            "any review, lessons-learned report or risk assessment, made while planning this contract, of earlier "
            "outsourced contracts of yours or of other public bodies in the area that ended early or failed;"
        )
    return _request(buyer, f"{subject}{reference}", f"this contract{reference}", wanted)


def _request(buyer: str | None, subject: str, about: str, wanted: list[str]) -> str:
    """Return a request under the Freedom of Information Act 2000 to the buyer for the numbered ``wanted``."""
    items = "\n".join(f"{number}. {line}" for number, line in enumerate(wanted, 1))
    return (
        f"To: the Freedom of Information officer, {buyer or '[the buyer]'}\n\n"
        f"Request for information: {subject}\n\n"
        "Under section 1 of the Freedom of Information Act 2000, please send me the following information about "
        f"{about}:\n\n{items}\n\n"
        "If any part is withheld, please say which exemption applies, release the rest, and, where the public "
        "interest test applies, explain how it was weighed. I would like the information by e-mail in electronic "
        "form. Please reply within 20 working days, as the Act requires.\n\n"
        "Yours faithfully,\n[name]\n[address for correspondence]"
    )


def profile_foi_request(found: Profile, buyer: str | None) -> str:
    """Return a draft request under the Freedom of Information Act 2000 for a buyer's or a supplier's pack: to the
    buyer about its contracts with outside providers, or to the supplier's main buyer about its contracts with
    that supplier, naming the contracts the profile shows."""
    ending = [f"{item['title'] or item['ocid']} (ends {item['ends']})" for item in found.ending_soon[:5]]
    direct = sum(item["processes"] for item in found.procedures if item.get("class") == "non_competitive")
    if found.kind == "buyer":
        about = "your contracts with outside providers"
        subject = f"contracts of {found.name} with outside providers"
        wanted = [
            "a list of your contracts with outside providers in force today, with each contract's supplier, value, "
            "start and end dates, and the extension options not yet used;"
        ]
        if ending:
            wanted.append(
                f"for the contracts that end within the next 18 months ({'; '.join(ending)}), the options appraisal "
                "or decision record about what follows each, including any assessment of bringing the service "
                "in-house;"
            )
        suppliers = [f'"{item["name"]}"' for item in found.counterparts[:3] if item.get("name")]
        if suppliers:
            wanted.append(
                f"the key performance indicators and the latest performance reports of your contracts with "
                f"{listed(suppliers)};"
            )
        if direct:
            wanted.append(
                "the decision records that approved each contract awarded without competition in the last three "
                "years, with the legal ground relied on;"
            )
        wanted.append("the exit and business continuity plans of the services you have outsourced;")
    else:
        about = f"your contracts with {found.name}"
        subject = f"contracts with {found.name}"
        wanted = [
            f"each contract with {found.name} as signed, and every variation, extension or change notice since;",
            "the key performance indicators and every performance report produced under those contracts;",
            "any warning, performance or default notice, step-in, or notice of termination given or received under "
            "them, with the costs of ending any contract early;",
            f"the exit and business continuity plans for the services {found.name} provides to you;",
            "the list of subcontractors engaged to deliver those contracts, with the value of each subcontract;",
        ]
        if ending:
            # the supplier's contracts ending soon may be with other buyers: none is named to this one
            wanted.insert(1, "for each of those contracts that ends within the next 18 months, the decision record "
                             "about what follows it;")  # fmt: skip
    return _request(buyer, subject, about, wanted)


def public_question(buyer: str | None, subject: str, facts: list[Fact], questions: list[Question]) -> str:
    """Return a short question for a public meeting of the buyer (council, board), built on the first question."""
    first = questions[0].text if questions else "How is this contract being managed?"
    detail = next((fact for fact in facts if fact.label.startswith(("How it was bought", "Contract"))), None)
    lead = f"Regarding {subject}"
    if detail:
        lead += f", where the published notices record: {detail.label.lower()}: {detail.text}"
    return (
        f"Question to {buyer or '[the buyer]'}, for its next public meeting:\n\n"
        f"{lead}. {first} Will the answer and the documents behind it be published?"
    )
