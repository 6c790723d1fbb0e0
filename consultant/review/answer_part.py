"""The answer part of a draft: what `consultant cases approve REF --edit FILE` replaces.

Input: a draft's text, its case reference and the template's disclaimer; the
reviewer's answer. Output: the draft's text with only its answer part
replaced, or AnswerPartMissing. No state changes here; `draft_with_answer`
reads the case's newest draft for the command.

A system draft (mail_templates/answer/body.txt.j2) reads, paragraph by
paragraph (paragraphs are separated by blank lines):

- the opening: the greeting and the thanks, which name the case reference;
- the answer part: the proposed answer's paragraphs, up to what it cites;
- what it cites: "The rules this rests on:", "Date of service: …",
  "Sources:" (each only when there is something to cite);
- the closing: the disclaimer, the signature ("-- ") and the quoted question.

A draft without a proposed answer lists the codes found and the findings
after the opening, then the rules, then the placeholder line where the
expert's answer goes: there the answer part is that line alone, and the
findings stay. The parts are found by these landmarks; a draft in which they
cannot be found (a reviewer rewrote the whole mail, say) has no recognisable
answer part, and the replacement is refused rather than the whole mail
replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from consultant.answer.engine import RULES_HEADING
from consultant.errors import Refused
from consultant.mailer.render import answer_disclaimer
from consultant.pipeline.draft import PLACEHOLDER
from consultant.review.cases import get_case, latest_draft
from consultant.settings import Settings

DATE_OF_SERVICE = "Date of service:"
SOURCES = "Sources:"
SIGNATURE = ("-- ", "--")


class AnswerPartMissing(Refused):
    """The draft has no recognisable answer part; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Edited:
    """A draft's text with the reviewer's answer in place, and the version it was made from."""

    text: str
    base_version: int


def replace_answer(draft: str, ref: str, answer: str, disclaimer: str = "") -> str:
    """The draft with its answer part (the placeholder line, or the proposed answer's
    paragraphs) replaced by `answer`; everything else is kept as it was."""
    answer = answer.replace("\r\n", "\n").strip()
    if not answer:
        raise Refused("the answer is empty")
    lines = draft.replace("\r\n", "\n").split("\n")
    start, end = _answer_span(lines, ref, disclaimer)
    gap = [""] if start == end else []  # a paragraph of its own before what follows
    return "\n".join([*lines[:start], *answer.split("\n"), *gap, *lines[end:]])


def _answer_span(lines: list[str], ref: str, disclaimer: str) -> tuple[int, int]:
    """The lines [start, end) of the answer part."""
    placeholders = [i for i, line in enumerate(lines) if line.strip() == PLACEHOLDER]
    if len(placeholders) > 1:
        raise AnswerPartMissing("the draft holds the placeholder for the answer more than once")
    if placeholders:
        return placeholders[0], placeholders[0] + 1
    opening = next((i for i, line in enumerate(lines) if ref and ref in line), None)
    if opening is None:
        raise AnswerPartMissing(f"the draft's opening no longer names the case ({ref})")
    start = opening + 1
    while start < len(lines) and lines[start].strip():  # the rest of the opening paragraph
        start += 1
    first_line = disclaimer.strip().split("\n")[0].strip()
    cited = next((i for i in range(start, len(lines)) if _cites(lines[i], first_line)), None)
    if cited is None:
        raise AnswerPartMissing(
            "nothing follows the answer that the draft would have: "
            "no rules, date of service, sources, disclaimer or signature"
        )
    while start < cited and not lines[start].strip():
        start += 1
    end = cited
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end  # empty when a reviewer deleted the answer: it goes in there


def _cites(line: str, disclaimer_line: str) -> bool:
    """Whether `line` opens what follows the answer: what it cites, or the closing."""
    if line.rstrip() in SIGNATURE or line.rstrip() == SOURCES:
        return True
    if line.startswith((RULES_HEADING, DATE_OF_SERVICE)):
        return True
    return bool(disclaimer_line) and line.strip() == disclaimer_line


def draft_with_answer(session: Session, settings: Settings, ref: str, answer: str) -> Edited:
    """The case's newest draft with `answer` as its answer part (for an approval)."""
    case = get_case(session, ref)
    draft = latest_draft(session, case.id)
    if draft is None:
        raise Refused(f"case {case.ref} has no draft")
    disclaimer = answer_disclaimer(settings.templates_dir)
    try:
        text = replace_answer(draft.body_text, case.ref or "", answer, disclaimer)
    except AnswerPartMissing as error:
        raise AnswerPartMissing(
            f"the draft of {case.ref} (version {draft.version}) has no recognisable answer "
            f"part: {error}"
        ) from error
    return Edited(text, draft.version)
