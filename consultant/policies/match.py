"""Which rules of the library a question calls for.

Input: the rules in use, the asker's words (subject and own text), the codes
and modifiers the question names, the verdicts the answer engine drew, and
the date of service. Output: the rules that apply, each with the verdicts it
explains, most specific first and at most MAX_RULES: a rule reached through a
verdict or a pair of codes before one reached through codes or modifiers,
before one reached through words alone. Pure: no database, no I/O.

An alternative of a rule's `applies` matches when every key it gives matches
(consultant.policies.rules); a rule applies when one alternative matches, it
is in force on the date of service, and none of its `unless` phrases is
written. Phrases match whole words, case-blind, across any run of spaces; a
phrase ending in "*" matches any word it begins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from consultant.policies.rules import VERDICT, Condition, Rule

MAX_RULES = 5
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Asked:
    """What a question offers the rules: its words, codes, modifiers and verdicts."""

    text: str  # lowered, spaces collapsed
    codes: frozenset[str]
    modifiers: frozenset[str]
    verdicts: tuple[tuple[str, Mapping[str, Any]], ...]  # (kind, fields) in answer order
    dos: date

    @classmethod
    def of(
        cls,
        words: str,
        codes: Iterable[str],
        modifiers: Iterable[str],
        verdicts: Sequence[tuple[str, Mapping[str, Any]]],
        dos: date,
    ) -> Asked:
        text = _SPACES.sub(" ", words.lower())
        upper = frozenset(code.upper() for code in codes)
        return cls(text, upper, frozenset(m.upper() for m in modifiers), tuple(verdicts), dos)


@dataclass(frozen=True, slots=True)
class Fired:
    rule: Rule
    verdicts: tuple[int, ...]  # indexes of the verdicts it explains
    weight: int  # 3 reached through a verdict or a pair, 2 codes or modifiers, 1 words


def applicable(rules: Iterable[Rule], asked: Asked, limit: int = MAX_RULES) -> list[Fired]:
    """The rules that apply to the question, most specific first, `limit` at most."""
    fired = []
    for order, rule in enumerate(rules):
        if not rule.in_force(asked.dos) or any(_said(p, asked.text) for p in rule.unless):
            continue
        best: Fired | None = None
        for condition in rule.applies:
            found = _matched(rule, condition, asked)
            if found is not None and (best is None or found.weight > best.weight):
                best = found
        if best is not None:
            fired.append((best, order))
    fired.sort(key=lambda item: (-item[0].weight, _first(item[0]), item[1]))
    return [found for found, _ in fired[:limit]]


def _first(found: Fired) -> int:
    return min(found.verdicts, default=1 << 30)


def _matched(rule: Rule, condition: Condition, asked: Asked) -> Fired | None:
    if condition.words and not any(_said(p, asked.text) for p in condition.words):
        return None
    if condition.with_words and not any(_said(p, asked.text) for p in condition.with_words):
        return None
    if condition.codes and not any(_code_in(p, asked.codes) for p in condition.codes):
        return None
    if condition.pairs and not any(_pair_in(p, asked.codes) for p in condition.pairs):
        return None
    if condition.modifiers and not asked.modifiers & set(condition.modifiers):
        return None
    explained: tuple[int, ...] = ()
    if condition.verdicts:
        explained = tuple(
            number
            for number, (kind, fields) in enumerate(asked.verdicts)
            if any(_verdict_is(spec, kind, fields) for spec in condition.verdicts)
        )
        if not explained:
            return None
    if explained or condition.pairs:
        return Fired(rule, explained, 3)
    return Fired(rule, explained, 2 if condition.codes or condition.modifiers else 1)


def _said(phrase: str, text: str) -> bool:
    core = phrase.rstrip("*")
    return core in text and _phrase(phrase).search(text) is not None


@lru_cache(maxsize=4096)
def _phrase(phrase: str) -> re.Pattern[str]:
    core = phrase.rstrip("*")
    body = r"\s".join(re.escape(word) for word in core.split(" "))
    tail = r"[a-z0-9]*" if phrase.endswith("*") else ""
    return re.compile(rf"(?<![a-z0-9]){body}{tail}(?![a-z0-9])")


def _code_in(pattern: str, codes: frozenset[str]) -> bool:
    return pattern in codes or any(_code_is(pattern, code) for code in codes)


def _code_is(pattern: str, code: str) -> bool:
    """`code` is the code, in the inclusive range, or begins with the prefix*."""
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    low, _, high = pattern.partition("-")
    if not high:
        return code == low
    return len(code) == len(low) and low <= code <= high


def _pair_in(pair: str, codes: frozenset[str]) -> bool:
    """One code for each side, two different codes (a range may hold both)."""
    first, second = pair.split("+")
    return any(_code_is(first, a) and _code_is(second, b) for a in codes for b in codes if a != b)


def _verdict_is(spec: str, kind: str, fields: Mapping[str, Any]) -> bool:
    match = VERDICT.match(spec)
    if match is None or match["kind"] != kind:
        return False
    if match["field"] is None:
        return True
    value = fields.get(match["field"])
    shown = "null" if value is None else str(value).lower()
    return shown == match["value"].lower()
