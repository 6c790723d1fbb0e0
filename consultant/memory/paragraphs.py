"""Paragraphs of an approved answer: which part answers, which paragraph names which codes.

Input: the text a reviewer approved (mail_templates/answer/body.txt.j2, edited
freely). Output: the paragraphs of its answer part, the ones among them that
name a set of codes, and a text with a remembered paragraph inserted. Pure.

The answer part is what the reviewer wrote or kept as the answer: not the
greeting, the "thank you" line, the rules cited, the date of service, the
sources, the facts listing of a draft without a proposed answer, the
disclaimer, a sign-off, the signature (the "-- " line) or the quoted
question after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from consultant.answer.engine import RULES_HEADING
from consultant.pipeline.draft import PLACEHOLDER

# A paragraph that starts so is the template's frame, not an answer.
FRAME = (
    "Thank you for your coding question",
    RULES_HEADING,  # the rules it cites, kept with the paragraph as data instead
    "Date of service:",
    "Sources:",
    "This answer is coding guidance",
    "Codes found in your question:",
    "We did not find any procedure, diagnosis or modifier codes",
    "What the code sets and CMS edits say",
    "Not checked, because",
    PLACEHOLDER,
)
# Where the answer part ends: the first paragraph starting so (rules, date,
# sources, disclaimer), or a signature delimiter, a quote's intro line or a quoted line.
TAIL = (RULES_HEADING, "Date of service:", "Sources:", "This answer is coding guidance")
_END = re.compile(r"^(?:-- ?|--|On .+ wrote:\s*|>.*)$")
_GREETING = re.compile(
    r"^(?:hello|hi|hey|dear|greetings|good (?:morning|afternoon|evening))\b[^\n]{0,60}$", re.I
)
_SIGN_OFF = re.compile(
    r"^(?:best|kind|warm)?\s*(?:regards|wishes|thanks|thank you|sincerely|cheers)\b[^\n]{0,30}$",
    re.I,
)
_LISTING = re.compile(r"^\s+[-*] ")  # the draft's facts and findings lists are indented
_CODE_HEADING = re.compile(r"^[A-Z0-9.]{3,8} \([^)\n]*\): [^\n]*$")
_BLANK = re.compile(r"\n[ \t]*\n")


def answer_part(text: str) -> str:
    """The text before the signature, the quoted question or its intro line."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _END.match(line):
            break
        kept.append(line)
    return "\n".join(kept)


def answer_paragraphs(text: str) -> list[str]:
    """The paragraphs of the answer part, the frame left out, each stripped."""
    found = []
    for block in _BLANK.split(answer_part(text)):
        paragraph = block.strip("\n").rstrip()
        if paragraph.strip() and not _frame(paragraph):
            found.append(paragraph.strip())
    return found


def _frame(paragraph: str) -> bool:
    lines = [line for line in paragraph.split("\n") if line.strip()]
    first = lines[0].strip()
    return (
        first.startswith(FRAME)
        or (len(lines) == 1 and bool(_GREETING.match(first) or _CODE_HEADING.match(first)))
        or bool(_SIGN_OFF.match(first))
        or all(_LISTING.match(line) for line in lines)
    )


def names(paragraph: str, code: str) -> bool:
    """Whether `paragraph` names `code` as a code of its own: "99214-25" names 99214;
    "992145", "A99214" do not, and "M17.11" names neither M17.1 nor M17."""
    pattern = rf"(?<![A-Za-z0-9.]){re.escape(code)}(?![A-Za-z0-9]|\.[A-Za-z0-9])"
    return re.search(pattern, paragraph, re.I) is not None


def naming(paragraphs: Iterable[str], codes: Sequence[str]) -> list[str]:
    """The paragraphs that name every one of `codes`."""
    return [p for p in paragraphs if codes and all(names(p, code) for code in codes)]


def insert_paragraph(text: str, paragraph: str) -> str:
    """`text` with `paragraph` in the answer: in place of the expert-answer
    placeholder if the draft still has it, else after the last answer paragraph
    (before the rules, the date of service, the sources, the disclaimer or the
    signature)."""
    text, paragraph = text.replace("\r\n", "\n"), paragraph.strip()
    if PLACEHOLDER in text:
        return text.replace(PLACEHOLDER, paragraph, 1)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        starts = index == 0 or not lines[index - 1].strip()
        if _END.match(line) or (starts and line.startswith(TAIL)):
            head = "\n".join(lines[:index]).rstrip("\n")
            rest = "\n".join(lines[index:])
            return f"{head}\n\n{paragraph}\n\n{rest}" if head else f"{paragraph}\n\n{rest}"
    return f"{text.rstrip()}\n\n{paragraph}\n"
