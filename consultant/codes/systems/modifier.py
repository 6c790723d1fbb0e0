"""Modifiers (CPT and HCPCS): two characters, found attached to a code
("27447-59-LT", "64483 LT and RT"), after the word ("modifiers 59, 25 or XU"),
before it ("the 25 modifier"), or standing alone ("-RT", "RT/LT"). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from consultant.codes.kinds import HCPCS
from consultant.codes.systems.base import CodeSystem, Hit, System, Vocabulary


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_NUMERIC_MODIFIERS = _words(
    "22 23 24 25 26 27 32 33 47 50 51 52 53 54 55 56 57 58 59 62 63 66 73 74 76 77 78 79"
    " 80 81 82 90 91 92 93 95 96 97 99"
)
# Letter modifiers recognised even when typed in lower case after "modifier";
# none of them is an English word.
_KNOWN_LETTER_MODIFIERS = _words(
    "LT RT XE XS XP XU GA GY GZ GX GC GE GT GV GW GQ GP GO GN TC KX KU KO KP KQ KS KH KI"
    " KJ QW QK QX QZ QY PN PO PD JW JZ JG JB CR CS CG SA SG SB TH FS FT FQ FX FY"
)
# Anatomic modifiers (eyelids, fingers, toes, coronary arteries): a letter and a
# digit or letter, upper case after a code ("26055 F2", "92928 LC").
_ANATOMIC_MODIFIERS = _words(
    "E1 E2 E3 E4 F1 F2 F3 F4 F5 F6 F7 F8 F9 FA T1 T2 T3 T4 T5 T6 T7 T8 T9 TA LC LD LM RC RI"
)
# Letter modifiers that count written after a code and a space or a table cell
# ("20610 XS", "27447<td>RT"); a number there may be units, so it does not.
_SPACED_MODIFIERS = _KNOWN_LETTER_MODIFIERS | _ANATOMIC_MODIFIERS
# Two modifiers joined by a slash are a modifier mention on their own ("RT/LT",
# "95/GT"); two numbers never are ("24/7", "50/50").
_PAIR_MODIFIERS = _NUMERIC_MODIFIERS | _KNOWN_LETTER_MODIFIERS

_TOKEN = r"[A-Za-z0-9]{2}(?![A-Za-z0-9])"
_SEP = r"\s*(?:[,/&+]|\b(?:and/or|and|or|plus|versus|vs)\b\.?)(?:\s*\b(?:and|or)\b)?\s*-?"
_MOD_WORD = re.compile(r"\bmod(?:ifier)?s?\b(?:\(s\))?\.?\s*[:#]?\s*-?\s*", re.IGNORECASE)
_MOD_FIRST = re.compile(_TOKEN)
_MOD_NEXT = re.compile(rf"{_SEP}({_TOKEN})", re.IGNORECASE)
ATTACHED = re.compile(rf"-({_TOKEN})")
_MOD_CHAINED = re.compile(rf"[-/]({_TOKEN})")
_MOD_POSTFIX = re.compile(
    rf"(?<![A-Za-z0-9-])-?{_TOKEN}(?:{_SEP}{_TOKEN})*(?:\s+|-)mod(?:ifier)?s?\b", re.IGNORECASE
)
_MOD_DASH = re.compile(rf"(?<![A-Za-z0-9-])-({_TOKEN})")
_MOD_PAIR = re.compile(rf"(?<![A-Za-z0-9/])([A-Z0-9]{{2}})/({_TOKEN})(?!/)")
_BARE_TOKEN = re.compile(rf"(?<![A-Za-z0-9]){_TOKEN}")
_LIST_WORDS = frozenset({"and", "or", "plus", "vs"})


def _modifier(token: str, strong: bool) -> str | None:
    """Normalise a two-character modifier token, or None if it is not one.

    Numbers must be real modifier values; letters count when typed in upper
    case, or in lower case after the word "modifier" (strong) if they are a
    known modifier.
    """
    upper = token.upper()
    if upper.isdigit():
        return upper if upper in _NUMERIC_MODIFIERS else None
    if token.isupper() or (strong and upper in _KNOWN_LETTER_MODIFIERS):
        return upper
    return None


_MOD_SPACED = re.compile(r"[ \t]+(?:[|;:]\s*)?([A-Z][A-Z0-9])(?![A-Za-z0-9])")


def attached(text: str, pos: int) -> Iterator[Hit]:
    """Yield modifiers on a code ending at pos: 27447-59-LT, 99213-25/59, "64483 LT and RT".

    A modifier after spaces (a table cell becomes spaces in the text, or a "|"
    column) counts only when it is a known letter or anatomic modifier typed in
    upper case ("27447 RT", "20610   XS", "26055 | F2"); "99214 25" stays two numbers.
    """
    spaced = _MOD_SPACED.match(text, pos)
    if spaced and spaced.group(1) in _SPACED_MODIFIERS:
        spans = [spaced.span(1)]
        while (nxt := _MOD_NEXT.match(text, spans[-1][1])) and nxt.group(1).isupper():
            if nxt.group(1) not in _SPACED_MODIFIERS:
                break
            spans.append(nxt.span(1))
        yield from _modifier_spans(text, spans)
        return
    pattern = ATTACHED
    while match := pattern.match(text, pos):
        code = _modifier(match.group(1), strong=True)
        if code is None:
            return
        yield code, CodeSystem.MODIFIER, match.start(1), match.end(1)
        pos, pattern = match.end(), _MOD_CHAINED


def _modifiers_after_word(text: str) -> Iterator[Hit]:
    """Yield the modifier list after "modifier(s)"/"mod": "modifiers 59, 25 or XU"."""
    for word in _MOD_WORD.finditer(text):
        first = _MOD_FIRST.match(text, word.end())
        if first is None:
            continue
        spans = [first.span()]
        while nxt := _MOD_NEXT.match(text, spans[-1][1]):
            spans.append(nxt.span(1))
        yield from _modifier_spans(text, spans)


def _modifiers_before_word(text: str) -> Iterator[Hit]:
    """Yield the modifiers named before the word: "the 25 modifier", "RT and LT modifiers"."""
    for match in _MOD_POSTFIX.finditer(text):
        tokens = _BARE_TOKEN.finditer(text, match.start(), match.end())
        spans = [t.span() for t in tokens if t.group().lower() not in _LIST_WORDS]
        yield from _modifier_spans(text, spans)


def _modifier_spans(text: str, spans: list[tuple[int, int]]) -> Iterator[Hit]:
    for start, end in spans:
        code = _modifier(text[start:end], strong=True)
        if code is None:
            return  # a list ends at the first token that is not a modifier
        yield code, CodeSystem.MODIFIER, start, end


def _dash_and_pair_modifiers(text: str) -> Iterator[Hit]:
    """Yield free-standing "-RT" / "-59" and slash pairs of common modifiers ("RT/LT")."""
    for match in _MOD_DASH.finditer(text):
        code = _modifier(match.group(1), strong=False)
        if code is not None:
            yield code, CodeSystem.MODIFIER, match.start(1), match.end(1)
    for match in _MOD_PAIR.finditer(text):
        first, second = match.group(1), match.group(2)
        if {first, second} <= _PAIR_MODIFIERS and not (first + second).isdigit():
            yield first, CodeSystem.MODIFIER, match.start(1), match.end(1)
            yield second, CodeSystem.MODIFIER, match.start(2), match.end(2)


def recognise(text: str, vocabulary: Vocabulary | None = None) -> Iterator[Hit]:
    """Modifiers named in text on their own (those attached to a code come with it).

    `vocabulary` is not read: modifiers are known by their shape and the words around.
    """
    yield from _modifiers_after_word(text)
    yield from _modifiers_before_word(text)
    yield from _dash_and_pair_modifiers(text)


def by_shape(token: str) -> str | None:
    """Any two letters or digits typed on their own are a modifier ("59", "LT")."""
    return token if len(token) == 2 and token.isalnum() else None


SYSTEM = System(
    CodeSystem.MODIFIER,
    name="modifier",
    label="Modifier",
    release_kinds=(HCPCS,),
    recognise=recognise,  # modifiers on their own; those attached come with their code
    by_shape=by_shape,
)
