"""Verdict keys: what an approved paragraph answered, named so a later case can ask.

Input: a verdict as a draft's fact sheet stores it (consultant.answer.verdicts
`Verdict.as_json`: kind, its fields, stale, sources). Output: its key, the
codes the key names, and the key facts that decide the verdict. Pure.

Keys, one per verdict: `pair:20610+27447` and `laterality:27447+M17.11` (the
codes sorted as strings, as the engine stores them), `em_procedure:99213+20610`
(the E/M, then the procedure), `addon:99292`, `units:J3301`, `validity:11100`.
The key facts are those the scorer of ../shared/corpus/questions-dev/ANSWERS.md
compares: when they differ, the verdict says something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FACTS: dict[str, tuple[str, ...]] = {
    "pair": ("edit", "column1", "modifier_indicator", "modifier"),
    "em_procedure": ("modifier",),
    "addon": ("ok",),
    "units": ("mue", "over"),
    "validity": ("valid",),
    "laterality": ("conflict",),
}
SINGLE = ("addon", "units", "validity")  # keyed by their one `code`


def key_codes(verdict: Mapping[str, Any]) -> tuple[str, ...]:
    """The codes a verdict is about, in key order; () for a kind without a key."""
    kind = verdict.get("kind")
    if kind in ("pair", "laterality"):
        return tuple(sorted(str(code) for code in verdict.get("codes") or ()))
    if kind == "em_procedure":
        return tuple(str(verdict[name]) for name in ("em", "procedure") if verdict.get(name))
    if kind in SINGLE and verdict.get("code"):
        return (str(verdict["code"]),)
    return ()


def verdict_key(verdict: Mapping[str, Any]) -> str | None:
    """The verdict's key ("pair:20610+27447"), or None when it names no code."""
    codes = key_codes(verdict)
    if not codes or verdict.get("kind") not in FACTS:
        return None
    return f"{verdict['kind']}:{'+'.join(codes)}"


def codes_of(key: str) -> tuple[str, ...]:
    """The codes a key names."""
    return tuple(key.partition(":")[2].split("+"))


def key_facts(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The facts that decide the verdict, by name (absent ones as None)."""
    return {name: verdict.get(name) for name in FACTS.get(str(verdict.get("kind")), ())}


def changed_facts(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The key facts that differ, each as "edit true → false"."""
    old, new = key_facts(before), key_facts(now)
    return [
        f"{name} {_shown(old[name])} → {_shown(new[name])}"
        for name in old
        if _norm(old[name]) != _norm(new[name])
    ]


def _norm(value: Any) -> Any:
    """Modifiers compare without case or a leading dash ("-25" is "25")."""
    return value.lstrip("-").upper() if isinstance(value, str) else value


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
