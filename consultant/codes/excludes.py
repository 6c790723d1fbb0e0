"""The code references in ICD-10-CM tabular notes, and which codes they cover.

An Excludes1 note names what it excludes in parentheses at its end:
"type 1 diabetes mellitus (E10.-)", "gestational diabetes (O24.4-)",
"neonatal diabetes mellitus (P70.2)", "exposure to fire and flames (X00-X08)",
"inflammation of penis (N48.1, N48.2-)", "Occlusion … (I63.3-I63.5-)". A
reference covers the codes that begin with it ("E10.-" and "E10" both cover
E10.9), a range covers the codes whose first characters fall between its ends
("E08-E13" covers E11.9), and a few carry a condition: "(E08-E13 with .44)",
"(I69. with final characters -23)", "(B27.- with fifth character 2)". A
condition this module cannot read makes the reference cover nothing, so an
unusual note never produces a false conflict. Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CODE = r"[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![0-9A-Za-z])"
_REFERENCE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<first>{_CODE})"
    rf"(?:\.?-?\s*-\s*(?P<last>{_CODE}))?\.?-?"
    r"(?:\s+with\s+(?P<condition>[^,;()]*))?"
)
_GROUP = re.compile(r"\(([^()]*)\)")
_AFTER_CATEGORY = re.compile(r"\.([0-9A-Z]+)-?(?:\s*-\s*\.([0-9A-Z]+)-?)?", re.IGNORECASE)
_FINAL = re.compile(r"final characters? -?([0-9A-Z]+)", re.IGNORECASE)
_NTH = re.compile(
    r"(fourth|4th|fifth|5th|sixth|6th|seventh|7th)(?: to \w+)?[ -]characters? \.?([0-9A-Z]+)",
    re.IGNORECASE,
)
_POSITION = {"fourth": 3, "4th": 3, "fifth": 4, "5th": 4, "sixth": 5, "6th": 5}
_POSITION |= {"seventh": 6, "7th": 6}


def undotted(code: str) -> str:
    return code.replace(".", "").upper()


@dataclass(frozen=True, slots=True)
class Reference:
    """The codes a note names: those beginning with `first` … `last` (undotted), and
    with `chars` at index `at` or ending in `ending` when the note says so."""

    first: str
    last: str
    at: int | None = None
    chars: str = ""
    chars_last: str = ""  # "(E08-E13 with .51-.52)": the characters at `at` lie in a range
    ending: str = ""
    unreadable: bool = False  # a condition this module does not read: covers nothing

    def covers(self, code: str) -> bool:
        """Whether the dotted or undotted ICD-10-CM `code` is among the codes named."""
        if self.unreadable:
            return False
        plain = undotted(code)
        if not (self.first <= plain[: len(self.first)] and plain[: len(self.last)] <= self.last):
            return False
        if self.at is not None:
            found = plain[self.at : self.at + len(self.chars)]
            if not self.chars <= found <= (self.chars_last or self.chars):
                return False
        return not self.ending or (len(plain) > len(self.first) and plain.endswith(self.ending))

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}-{self.last}"


@lru_cache(maxsize=8192)
def references(text: str) -> tuple[Reference, ...]:
    """Every code reference in the parentheses of a note's text."""
    found: list[Reference] = []
    for group in _GROUP.findall(text):
        for match in _REFERENCE.finditer(group):
            first = undotted(match["first"])
            last = undotted(match["last"]) if match["last"] else first
            found.append(_with_condition(first, last, match["condition"]))
    return tuple(found)


def _with_condition(first: str, last: str, condition: str | None) -> Reference:
    if condition is None:
        return Reference(first, last)
    condition = condition.strip()
    if match := _AFTER_CATEGORY.fullmatch(condition):
        low, high = match[1].upper(), (match[2] or "").upper()
        return Reference(first, last, at=3, chars=low, chars_last=high)
    if match := _FINAL.fullmatch(condition):
        return Reference(first, last, ending=match[1].upper())
    if match := _NTH.fullmatch(condition):
        return Reference(first, last, at=_POSITION[match[1].lower()], chars=match[2].upper())
    return Reference(first, last, unreadable=True)


def note_covers(text: str, code: str) -> Reference | None:
    """The first reference in the note's text that covers `code`, if any."""
    return next((ref for ref in references(text) if ref.covers(code)), None)
