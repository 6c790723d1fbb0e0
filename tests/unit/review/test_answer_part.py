"""The answer part of a draft, as `cases approve --edit FILE` replaces it: the
placeholder line, or the proposed answer's paragraphs between the opening and what
they cite; everything else stays, and a draft without the landmarks is refused."""

from __future__ import annotations

import pytest

from consultant.errors import Refused
from consultant.mailer.render import answer_disclaimer
from consultant.pipeline.draft import PLACEHOLDER
from consultant.review.answer_part import AnswerPartMissing, replace_answer

REF = "CC-2026-000002"
DISCLAIMER = answer_disclaimer()
OPENING = f"""Hello Dana,

Thank you for your coding question. Our reference for it is {REF}.

"""
SIGNATURE = "-- "  # the separator's trailing space is part of it
CLOSING = f"""{DISCLAIMER.strip()}

{SIGNATURE}
Coding Consult Desk
Case {REF}. Reply to this mail to continue the conversation.

On 3 Sep 2024, dana@clinic.example wrote:
> Can I bill 99214 with 20610 and do I need a modifier? DOS 9/3/2024
"""
CITED = """The rules this rests on:
- An E/M on the day of a minor procedure needs modifier 25 [rule em-25 v2]

Date of service: 2024-09-03 (stated in the mail).

Sources:
  - Physician fee schedule indicators, July 2024, pfs_rvu_indicators_2024_jul.csv

"""
PROPOSED = (
    "99214 with 20610 (0-day global period): the E/M is included in the procedure\n"
    "unless it is significant and separately identifiable.\n\n"
    "Report it with modifier 25 on 99214.\n\n"
)
FINDINGS = """Codes found in your question:
  - 99214    CPT
  - 20610    CPT

What the code sets and CMS edits say, for a date of service of 2024-09-03:
  * No correct-coding edit or code problem was found between these codes.

The rules this rests on:
- An E/M on the day of a minor procedure needs modifier 25 [rule em-25 v2]

"""
ANSWER = "Yes: bill 99214-25 with 20610.\n\nKeep the note that shows the separate work.\n"


def test_the_proposed_answer_is_replaced_and_what_it_cites_stays() -> None:
    draft = OPENING + PROPOSED + CITED + CLOSING
    edited = replace_answer(draft, REF, ANSWER, DISCLAIMER)
    assert edited == OPENING + ANSWER + "\n" + CITED + CLOSING


def test_without_anything_cited_the_answer_runs_to_the_disclaimer() -> None:
    draft = OPENING + PROPOSED + CLOSING
    assert replace_answer(draft, REF, ANSWER, DISCLAIMER) == OPENING + ANSWER + "\n" + CLOSING


def test_the_placeholder_line_is_the_answer_part_and_the_findings_stay() -> None:
    draft = OPENING + FINDINGS + PLACEHOLDER + "\n\n" + CLOSING
    edited = replace_answer(draft, REF, "\r\n" + ANSWER + "\r\n\r\n", DISCLAIMER)
    assert edited == OPENING + FINDINGS + ANSWER + "\n" + CLOSING
    assert PLACEHOLDER not in edited


def test_an_answer_a_reviewer_deleted_is_put_back_in_its_place() -> None:
    draft = OPENING + CITED + CLOSING
    assert (
        replace_answer(draft, REF, ANSWER, DISCLAIMER) == OPENING + ANSWER + "\n" + CITED + CLOSING
    )


def test_an_answer_a_reviewer_edited_before_is_replaced_again() -> None:
    first = replace_answer(OPENING + PROPOSED + CITED + CLOSING, REF, "A first try.", DISCLAIMER)
    again = replace_answer(first, REF, ANSWER, DISCLAIMER)
    assert again == OPENING + ANSWER + "\n" + CITED + CLOSING


@pytest.mark.parametrize(
    ("draft", "missing"),
    [
        ("Our answer, rewritten whole by a reviewer.\n", "no longer names the case"),
        (OPENING + PROPOSED, "nothing follows the answer"),
        (OPENING + PLACEHOLDER + "\n\n" + PLACEHOLDER + "\n\n" + CLOSING, "more than once"),
        # The reference only in the signature: the opening is gone.
        ("Yes, bill it.\n\n" + CLOSING.split(DISCLAIMER.strip())[1], "nothing follows"),
    ],
    ids=["rewritten", "no-closing", "two-placeholders", "no-opening"],
)
def test_a_draft_without_a_recognisable_answer_part_is_refused(draft: str, missing: str) -> None:
    with pytest.raises(AnswerPartMissing, match=missing):
        replace_answer(draft, REF, ANSWER, DISCLAIMER)


def test_an_empty_answer_is_refused() -> None:
    with pytest.raises(Refused, match="the answer is empty"):
        replace_answer(OPENING + PROPOSED + CLOSING, REF, " \n\n", DISCLAIMER)
