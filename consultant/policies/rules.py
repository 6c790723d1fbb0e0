"""A policy rule as data: what it says, what it cites, and when it applies.

An entry (YAML, the console's form, a database row) has:

    id: em-minor-procedure-25       # lower-case words joined by "-"
    version: 1                      # optional on import: the next version
    title: One line
    text: The explanation, in our own words (never a copyrighted manual's).
    citations: ["NCCI Policy Manual for Medicare Services (2025), ch. XI, sec. C"]
    applies:                        # any one alternative; within one, every key
      - verdicts: [em_procedure]    #   a verdict kind, or kind:field=value
      - pairs: [64721+64719]        #   two codes asked together (each may be a range)
      - codes: [99202-99215, J*]    #   a code, an inclusive range, a prefix*
        words: [minor procedure]    #   a phrase the asker writes (prefix*)
        with_words: [same day]      #   and one of these too
        modifiers: ["25"]           #   a modifier the question names
    unless: [inpatient]             # optional: phrases that keep it out
    effective: 2024-01-01           # optional: the first and last date of
    expires: null                   #   service it applies to
    reviewed_by: Name or address
    reviewed_on: 2026-12-06
    retired: false                  # optional

`parse_rule` checks one entry and raises PolicyError naming every problem;
`parse_library` checks a list and names the entry of each problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from consultant.errors import Refused

ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9.]{1,7}$")
PREFIX = re.compile(r"^[A-Z0-9]{1,6}\*$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
VERDICT_KINDS = ("pair", "em_procedure", "addon", "units", "validity", "laterality")
VERDICT = re.compile(r"^(?P<kind>[a-z_]+)(?::(?P<field>[a-z_]+)=(?P<value>[A-Za-z0-9_.-]+))?$")
CONDITION_KEYS = ("codes", "pairs", "modifiers", "verdicts", "words", "with_words")
ENTRY_KEYS = {
    "id", "version", "title", "text", "citations", "applies", "unless", "effective",
    "expires", "reviewed_by", "reviewed_on", "retired",
}  # fmt: skip
TITLE_LIMIT = 200
TEXT_LIMIT = 4000


class PolicyError(Refused):
    """A rule entry that cannot be used; the message names each problem."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One alternative of `applies`: every key given must match."""

    codes: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()  # "64721+64719": one code of each side, both asked
    modifiers: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    with_words: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {key: list(getattr(self, key)) for key in CONDITION_KEYS if getattr(self, key)}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    version: int
    title: str
    text: str
    citations: tuple[str, ...]
    applies: tuple[Condition, ...]
    reviewed_by: str
    reviewed_on: date
    unless: tuple[str, ...] = ()
    effective: date | None = None
    expires: date | None = None
    retired: bool = False

    def in_force(self, dos: date) -> bool:
        if self.retired:
            return False
        after = self.effective is None or dos >= self.effective
        return after and (self.expires is None or dos <= self.expires)

    def cited(self) -> dict[str, Any]:
        """What an answer cites: `consultant answer --json`'s "rules" items."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "text": self.text,
            "citations": list(self.citations),
        }

    def conditions(self) -> dict[str, Any]:
        """`applies` and `unless` as stored (policy_rules.conditions)."""
        return {"applies": [c.as_dict() for c in self.applies], "unless": list(self.unless)}

    def entry(self) -> dict[str, Any]:
        """The rule as a YAML entry (export), in the order a reader expects."""
        found: dict[str, Any] = {"id": self.id, "version": self.version, "title": self.title}
        found.update(text=self.text, citations=list(self.citations), **self.conditions())
        if not self.unless:
            del found["unless"]
        found.update(effective=self.effective, expires=self.expires)
        found.update(reviewed_by=self.reviewed_by, reviewed_on=self.reviewed_on)
        if self.retired:
            found["retired"] = True
        return found


def parse_library(entries: Any) -> list[Rule]:
    """Every entry of a library checked; PolicyError lists each bad entry's problems."""
    if not isinstance(entries, list):
        raise PolicyError("a policy library is a list of rule entries")
    rules, problems, seen = [], [], set()
    for number, entry in enumerate(entries, 1):
        name = entry.get("id") if isinstance(entry, Mapping) else None
        label = f"entry {number}" + (f" ({name})" if isinstance(name, str) else "")
        try:
            rule = parse_rule(entry)
        except PolicyError as error:
            problems.append(f"{label}: {error}")
            continue
        if rule.id in seen:
            problems.append(f"{label}: the id {rule.id} is used by an earlier entry")
        seen.add(rule.id)
        rules.append(rule)
    if problems:
        raise PolicyError("\n".join(problems))
    return rules


def parse_rule(entry: Any, *, version: int | None = None) -> Rule:
    """One entry checked; `version` stands in when the entry has none."""
    if not isinstance(entry, Mapping):
        raise PolicyError("an entry is a mapping of id, title, text, citations, applies ...")
    problems: list[str] = []
    unknown = sorted(set(map(str, entry)) - ENTRY_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}")
    values = {
        "id": _id(entry.get("id"), problems),
        "version": _version(entry.get("version", version), problems),
        "title": _text(entry.get("title"), "title", TITLE_LIMIT, problems),
        "text": _text(entry.get("text"), "text", TEXT_LIMIT, problems),
        "citations": _citations(entry.get("citations"), problems),
        "applies": _applies(entry.get("applies"), problems),
        "unless": _phrases(entry.get("unless") or [], "unless", problems),
        "effective": _date(entry.get("effective"), "effective", problems, optional=True),
        "expires": _date(entry.get("expires"), "expires", problems, optional=True),
        "reviewed_by": _text(entry.get("reviewed_by"), "reviewed_by", 320, problems),
        "reviewed_on": _date(entry.get("reviewed_on"), "reviewed_on", problems),
        "retired": _flag(entry.get("retired", False), problems),
    }
    if problems:
        raise PolicyError("; ".join(problems))
    if values["effective"] and values["expires"] and values["expires"] < values["effective"]:
        raise PolicyError("expires is before effective")
    return Rule(**values)


def _id(value: Any, problems: list[str]) -> str:
    if not isinstance(value, str) or not ID.match(value) or len(value) > 64:
        problems.append("id must be lower-case letters and digits joined by '-' (64 at most)")
        return ""
    return value


def _version(value: Any, problems: list[str]) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append("version must be a whole number from 1")
        return 1
    return value


def _text(value: Any, name: str, limit: int, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} is missing")
        return ""
    value = value.strip()
    if len(value) > limit:
        problems.append(f"{name} is longer than {limit} characters")
    if name != "text" and ("\n" in value or "\r" in value):
        problems.append(f"{name} must be one line")
    return str(value)


def _citations(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append("citations must list at least one source (manual, chapter, section)")
        return ()
    if not all(isinstance(item, str) and item.strip() for item in value):
        problems.append("each citation is a line of text")
        return ()
    return tuple(item.strip() for item in value)


def _applies(value: Any, problems: list[str]) -> tuple[Condition, ...]:
    if not isinstance(value, list) or not value:
        problems.append("applies must list at least one condition")
        return ()
    conditions = []
    for number, item in enumerate(value, 1):
        found = _condition(item, f"applies {number}", problems)
        if found is not None:
            conditions.append(found)
    return tuple(conditions)


def _condition(item: Any, label: str, problems: list[str]) -> Condition | None:
    if not isinstance(item, Mapping) or not item:
        problems.append(f"{label} must be a mapping of {', '.join(CONDITION_KEYS)}")
        return None
    unknown = sorted(set(map(str, item)) - set(CONDITION_KEYS))
    if unknown:
        problems.append(f"{label}: unknown key(s) {', '.join(unknown)}")
        return None
    if set(item) == {"with_words"}:
        problems.append(f"{label}: with_words needs words, codes, modifiers or verdicts")
        return None
    return Condition(
        codes=_codes(item.get("codes") or [], label, problems),
        pairs=_pairs(item.get("pairs") or [], label, problems),
        modifiers=_modifiers(item.get("modifiers") or [], label, problems),
        verdicts=_verdicts(item.get("verdicts") or [], label, problems),
        words=_phrases(item.get("words") or [], f"{label} words", problems),
        with_words=_phrases(item.get("with_words") or [], f"{label} with_words", problems),
    )


def _strings(value: Any, label: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        problems.append(f"{label} must be a list")
        return []
    return [str(v).strip() for v in value]


def _codes(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    found = []
    for item in _strings(value, f"{label} codes", problems):
        if not _code_pattern(item.upper()):
            problems.append(f"{label}: {item!r} is not a code, a range A-B or a prefix*")
            continue
        found.append(item.upper())
    return tuple(found)


def _code_pattern(code: str) -> bool:
    """A code, an inclusive range of codes of one length, or a prefix ending in *."""
    low, _, high = code.partition("-")
    if PREFIX.match(code):
        return True
    if not CODE.match(low):
        return False
    return not high or (CODE.match(high) is not None and len(low) == len(high) and low <= high)


def _pairs(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    found = []
    for item in _strings(value, f"{label} pairs", problems):
        sides = item.upper().replace(" ", "").split("+")
        if len(sides) != 2 or not all(_code_pattern(side) for side in sides):
            problems.append(f"{label}: {item!r} is not a pair A+B of codes, ranges or prefixes*")
            continue
        found.append("+".join(sides))
    return tuple(found)


def _modifiers(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    found = []
    for item in _strings(value, f"{label} modifiers", problems):
        if not MODIFIER.match(item.upper()):
            problems.append(f"{label}: {item!r} is not a modifier")
            continue
        found.append(item.upper())
    return tuple(found)


def _verdicts(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    found = []
    for item in _strings(value, f"{label} verdicts", problems):
        match = VERDICT.match(item)
        if match is None or match["kind"] not in VERDICT_KINDS:
            kinds = ", ".join(VERDICT_KINDS)
            problems.append(f"{label}: {item!r} is not a verdict kind ({kinds}), kind:field=value")
            continue
        found.append(item)
    return tuple(found)


def _phrases(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    found = []
    for item in _strings(value, label, problems):
        words = " ".join(item.lower().split())
        if not words or len(words) > 80 or not re.search(r"[a-z0-9]", words):
            problems.append(f"{label}: {item!r} is not a phrase")
            continue
        found.append(words)
    return tuple(found)


def _date(value: Any, name: str, problems: list[str], *, optional: bool = False) -> Any:
    if value is None or value == "":
        if not optional:
            problems.append(f"{name} is missing")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{name} must be a date YYYY-MM-DD")
        return None


def _flag(value: Any, problems: list[str]) -> bool:
    if not isinstance(value, bool):
        problems.append("retired must be true or false")
        return False
    return value
