"""Extract: the text of a coding question in, the code references it makes out.

Finds CPT (including Category II/III and PLA), HCPCS Level II, ICD-10-CM and
ICD-10-PCS codes and modifiers, normalises each to its canonical spelling and
returns CodeRefs in order of appearance, one per distinct (system, code). The
endpoints of a range ("99202-99205", "99202 through 99205") are both returned
and flagged with the range; a stated quantity ("J1100 x 4", "3 units of
97110") is kept with its code for the MUE check.

Each system's recogniser (consultant/codes/systems/) finds the candidates of
its shape and drops those the words around make an identifier, an amount or
a dose (ZIPs, phone, claim and reference numbers are the main source of false
positives). What this module adds is shared by all of them: when the code
sets are loaded, a `Vocabulary` says which numbers are real codes, and a
five-digit number that is none needs a code word ("CPT", "bill", "code")
near it to count; then ranges, quantities, quoted history and duplicates.
Pure: no database, no network.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from consultant.codes.systems import NO_VOCABULARY, REGISTRY, CodeSystem, Hit, Vocabulary
from consultant.codes.systems.modifier import ATTACHED

if TYPE_CHECKING:
    from consultant.pipeline.parse import ParsedMessage


@dataclass(frozen=True, slots=True)
class CodeRef:
    code: str  # normalised: "99213", "0001F", "J1100", "M86.161", "0SRC0J9", "59", "LT"
    system: CodeSystem
    as_written: str  # exact substring of the input text
    start: int  # text[start:end] == as_written
    end: int
    quoted: bool = False
    part: str = "body"  # "subject" or "body": which text start/end point into
    range: str | None = None  # "99202-99205" on both endpoints of a range
    units: int | None = None  # a quantity stated with the code ("x 4", "3 units of")


# Between the endpoints of a range: "99202-99205", "99202 through 99205", or an en dash.
_RANGE_JOIN = re.compile(
    r"\s*(?:[-\u2010-\u2015]|\bthrough\b|\bthru\b|\bto\b)\s*(?:codes?\s+|cpt\s+)?\Z",
    re.IGNORECASE,
)
# Between items of a list: "99213, 99214, and 99215", "99213/99214", "64483 & 64484".
_LIST_JOIN = re.compile(r"\s*(?:[,/&;+]|\band\b|\bor\b|\bvs\.?)[\s,]*(?:\b(?:and|or)\s+)?\Z", re.I)
# A quantity stated with a code, after it ("x 4", "x4", "X quantity of 4", "(4 units)")
# or before it ("3 units of 97110").
_UNITS_AFTER = re.compile(
    r"\s*(?:[xX\u00d7*]\s*(?:(?:a\s+)?(?:quantity|qty|quanity|units?)\s*(?:of\s*)?)?(\d{1,4})(?!\d)"
    r"|[,(]?\s*(\d{1,4})\s*units?\b)",
)
_UNITS_BEFORE = re.compile(r"\b(\d{1,4})\s*units?\s+(?:of\s+)?(?:(?:cpt|hcpcs|code)\s+)?\Z", re.I)
# Words that make a number a code even when no loaded code set knows it.
_CODE_WORD_BEFORE = re.compile(
    r"\b(?:cpt|hcpcs|codes?|coded|coding|bill(?:s|ed|ing)?|report(?:s|ed|ing)?|charg(?:e|es|ed|ing)"
    r"|procedures?|services?|submit(?:s|ted)?|append(?:s|ed)?|deleted|replaced)\b"
    r"[^.?!;\n]{0,30}\Z|[\u00ae]\s*\Z|\bunits?\s+of\s+\Z",
    re.IGNORECASE,
)
_CODE_WORD_AFTER = re.compile(
    r"[^.?!;\n]{0,40}?\b(?:bill(?:s|ed|ing|able)?|cod(?:e|es|ed|ing)|payable|paid|pays?|covered"
    r"|reimburs\w*|modifiers?|mod|units?|denied|deny|denies|rvus?|global|bundled?|report(?:ed)?)\b",
    re.IGNORECASE,
)


def find_codes(
    text: str,
    quoted: int | Sequence[tuple[int, int]] | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    part: str = "body",
) -> list[CodeRef]:
    """Find code references in text, in order of appearance, de-duplicated by (system, code).

    `quoted` is where quoted history starts (an offset) or its [start, end)
    spans; hits inside are marked quoted=True. Of several occurrences of one
    code the first in the sender's own text is kept, else the first quoted.
    """
    spans = [(quoted, len(text))] if isinstance(quoted, int) else list(quoted or ())
    ordered = sorted(set(_all_hits(text, vocabulary)), key=lambda hit: (hit[2], hit[3], hit[1]))
    hits = _accepted(text, ordered, vocabulary)
    ranges = _ranges(text, hits)
    kept: dict[tuple[str, str], CodeRef] = {}
    for hit in hits:
        code, system, start, end = hit
        in_quote = any(low <= start < high for low, high in spans)
        earlier = kept.get((system, code))
        if earlier is None or (earlier.quoted and not in_quote):
            units = earlier.units if earlier is not None else None
            kept[(system, code)] = CodeRef(
                code,
                system,
                text[start:end],
                start,
                end,
                in_quote,
                part,
                ranges.get(hit),
                _units(text, start, end, system) or units,
            )
        elif earlier.units is None and (units := _units(text, start, end, system)):
            kept[(system, code)] = replace(earlier, units=units)
    return sorted(kept.values(), key=lambda ref: (ref.start, ref.end))


def extract_message(parsed: ParsedMessage, vocabulary: Vocabulary = NO_VOCABULARY) -> list[CodeRef]:
    """The codes of a mail: its Subject, then its text with the signature blanked.

    Offsets point into the part named by each CodeRef's `part`. A code in both
    the subject and the text is reported once, from the subject.
    """
    text = parsed.text
    if parsed.split.signature:
        # Phone numbers and addresses in a signature are never codes.
        start, end = parsed.split.signature
        text = text[:start] + " " * (end - start) + text[end:]
    refs = find_codes(parsed.subject, vocabulary=vocabulary, part="subject")
    seen = {(ref.system, ref.code) for ref in refs}
    body = find_codes(text, parsed.split.quoted, vocabulary)
    return refs + [ref for ref in body if (ref.system, ref.code) not in seen]


def _all_hits(text: str, vocabulary: Vocabulary) -> Iterator[Hit]:
    for system in REGISTRY.values():
        if system.recognise is not None:
            yield from system.recognise(text, vocabulary)


def _accepted(text: str, hits: list[Hit], vocabulary: Vocabulary) -> list[Hit]:
    """Drop the hits their system doubts, unless context says they are codes.

    A system doubts what the loaded sets do not know (CPT: a five-digit number
    no loaded set names). Context is a code word in the clause around it ("CPT
    96460", "billed 15000", "is 98016 payable"), a modifier hyphenated on, or
    a list or range shared with a known procedure code.
    """
    doubtful = {hit for hit in hits if _doubtful(hit, vocabulary)}
    if not doubtful:
        return hits
    vouched: set[Hit] = set()
    for index, hit in enumerate(hits):
        if hit not in doubtful:
            continue
        _, _, start, end = hit
        if (
            _CODE_WORD_BEFORE.search(text, max(0, start - 60), start)
            or _CODE_WORD_AFTER.match(text, end)
            or ATTACHED.match(text, end)
        ):
            vouched.add(hit)
            continue
        neighbours = hits[max(0, index - 1) : index] + hits[index + 1 : index + 2]
        for other in neighbours:
            if other in doubtful or not REGISTRY[other[1]].procedure:
                continue
            low, high = sorted((other, hit), key=lambda h: h[2])
            between = text[low[3] : high[2]]
            if _LIST_JOIN.match(between) or _RANGE_JOIN.match(between):
                vouched.add(hit)
    return [hit for hit in hits if hit not in doubtful or hit in vouched]


def _doubtful(hit: Hit, vocabulary: Vocabulary) -> bool:
    doubts = REGISTRY[hit[1]].doubtful
    return doubts is not None and doubts(hit[0], vocabulary)


def _ranges(text: str, hits: list[Hit]) -> dict[Hit, str]:
    """Flag both endpoints of every range: {hit: "99202-99205"}."""
    found: dict[Hit, str] = {}
    ranging = [hit for hit in hits if REGISTRY[hit[1]].ranges]
    for low, high in itertools.pairwise(ranging):
        if low[1] != high[1] or not _RANGE_JOIN.match(text[low[3] : high[2]]):
            continue
        if len(low[0]) != len(high[0]) or low[0] >= high[0]:
            continue  # "99213-99212" is two codes, not a range
        found[low] = found[high] = f"{low[0]}-{high[0]}"
    return found


def _units(text: str, start: int, end: int, system: str) -> int | None:
    """The quantity stated with the procedure code at text[start:end], if any."""
    if not REGISTRY[system].procedure:
        return None
    after = _UNITS_AFTER.match(text, end)
    if after:
        value = after.group(1) or after.group(2)
        return int(value) if int(value) > 0 else None
    before = _UNITS_BEFORE.search(text, max(0, start - 30), start)
    if before and before.end() == start:
        return int(before.group(1)) or None
    return None
