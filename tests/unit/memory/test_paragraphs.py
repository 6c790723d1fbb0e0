"""Which paragraphs of an approved text answer, which name a verdict's codes, where an
inserted paragraph goes, and what makes a remembered verdict stale (all pure)."""

from __future__ import annotations

from consultant.memory.keys import changed_facts, verdict_key
from consultant.memory.paragraphs import answer_paragraphs, insert_paragraph, names, naming
from consultant.memory.search import fts5_query, snippet, words_of
from consultant.memory.stale import data_reasons, rule_reasons
from consultant.pipeline.draft import PLACEHOLDER

APPROVED = """Hello Dana,

Thank you for your coding question. Our reference for it is CC-2026-000007.

20610 is column 2 to 27447 under an NCCI edit (modifier indicator 1). [NCCI PTP edits]

Report 99214-25 only when the visit stands apart from the injection.

The rules this rests on:
- E/M with a minor procedure, 99214 with 20610 (CMS manual) [rule em-25 v2]

Best regards,
Rita

Date of service: 2024-09-03 (stated in the mail).

Sources:
  - NCCI PTP edits (practitioner), 2024 Q3, ptp.csv

This answer is coding guidance from certified coders, based on the code sets
and CMS edits in force when it was written.

--\x20
Coding Consult Desk
Case CC-2026-000007. Reply to this mail to continue the conversation.

On 03 Sep 2024, dana@clinic.example wrote:
> Can 20610 and 27447 go together? And 99214?
"""
PAIR = {"kind": "pair", "codes": ["20610", "27447"], "edit": True, "modifier_indicator": "1"}


def test_the_answer_part_leaves_out_greeting_frame_sign_off_signature_and_quote() -> None:
    assert answer_paragraphs(APPROVED) == [
        "20610 is column 2 to 27447 under an NCCI edit (modifier indicator 1). [NCCI PTP edits]",
        "Report 99214-25 only when the visit stands apart from the injection.",
    ]


def test_a_facts_listing_of_a_draft_without_a_proposal_is_no_answer() -> None:
    text = (
        "Codes found in your question:\n  - 20610    CPT\n\n20610 (CPT): valid\n\n"
        "  - Global period 0 days [PFS]\n\nInject 20610 once per joint.\n"
    )
    assert answer_paragraphs(text) == ["Inject 20610 once per joint."]


def test_a_paragraph_names_a_code_as_a_code_of_its_own() -> None:
    assert names("Report 99214-25 today", "99214") and names("see m17.11.", "M17.11")
    assert not names("code 992145", "99214") and not names("M17.11 left", "M17.1")
    assert not names("A99214", "99214") and not names("M17.11 left", "M17")
    paragraphs = answer_paragraphs(APPROVED)
    assert naming(paragraphs, ("20610", "27447")) == paragraphs[:1]
    assert naming(paragraphs, ("99214",)) == paragraphs[1:] and naming(paragraphs, ()) == []


def test_an_offer_goes_after_the_answer_or_in_place_of_the_placeholder() -> None:
    inserted = insert_paragraph(APPROVED, "Remembered 20610 answer.")
    assert "injection.\n\nRemembered 20610 answer.\n\nThe rules this rests on:" in inserted
    assert inserted.replace("Remembered 20610 answer.\n\n", "") == APPROVED
    draft = f"Hello,\n\nCodes found.\n\n{PLACEHOLDER}\n\nSources:\n  - x\n"
    assert insert_paragraph(draft, "Mine.") == draft.replace(PLACEHOLDER, "Mine.")
    assert insert_paragraph("Only text", " New. ") == "Only text\n\nNew.\n"


def test_keys_name_the_codes_in_the_engines_order() -> None:
    assert verdict_key(PAIR) == "pair:20610+27447"
    em = {"kind": "em_procedure", "em": "99213", "procedure": "20610", "modifier": "25"}
    assert verdict_key(em) == "em_procedure:99213+20610"
    assert verdict_key({"kind": "units", "code": "J3301", "units": 12}) == "units:J3301"
    side = {"kind": "laterality", "codes": ["M17.11", "27447"], "conflict": True}
    assert verdict_key(side) == "laterality:27447+M17.11"
    assert verdict_key({"kind": "pair", "codes": []}) is None
    assert changed_facts({**em, "modifier": "-25"}, em) == []
    assert changed_facts(em, {**em, "modifier": None}) == ["modifier 25 → none"]


def test_a_verdict_changed_by_newer_data_is_stale_and_by_the_question_differs() -> None:
    then = {**PAIR, "sources": ["NCCI PTP edits (practitioner), 2024 Q3, ptp_q3.csv"]}
    note = " (in effect from 2024-07-01, after the date of service)"
    same_release = {**then, "sources": [then["sources"][0] + note]}
    assert data_reasons(then, same_release) == ([], [])
    newer = {**then, "modifier_indicator": "0", "sources": ["NCCI PTP edits, 2024 Q4, q4.csv"]}
    (stale,), differs = data_reasons(then, newer)
    assert differs == [] and "modifier_indicator 1 → 0" in stale and "2024 Q4" in stale
    assert data_reasons(then, {**then, "edit": False}) == (
        [],
        ["it answered another verdict on the same data (edit yes → no)"],
    )


def test_a_rule_edited_retired_or_gone_makes_its_citation_stale() -> None:
    cited = [{"id": "a", "version": 1, "title": "A"}, {"id": "b", "version": 2, "title": "B"}]
    assert rule_reasons(cited, {"a": (1, False), "b": (2, False)}) == []
    assert rule_reasons(cited, {"a": (2, False), "b": (3, True)}) == [
        'policy rule "A" (a) was cited at version 1; it is at version 2 now',
        'policy rule "B" (b) was retired (version 3)',
    ]
    assert rule_reasons(cited[:1], {}) == ['policy rule "A" (a) is no longer in the library']


def test_search_words_are_quoted_for_fts5_and_snippets_show_the_match() -> None:
    assert words_of(' AND "x\x00y * (z ') == ["AND", '"x', "y", "(z"]
    assert fts5_query(['"x', "NEAR(a"]) == '"""x" "NEAR(a"'
    text = "a " * 200 + "the arthroplasty bundles 20610 " + "b " * 200
    assert "arthroplasty" in snippet([text], ["arthroplasties"])
    assert "20610" in snippet(["", text], [], "20610")
    assert snippet(["", "Short answer."], ["zzz"]) == "Short answer."
