"""The case page's reading of a fact sheet (drafts.lookup): one line per verdict for
the sidebar beside the answer, and the facts per code, the codes with the worst
findings first, their notes split by where they are written. Pure.

A verdict line says what the verdict decided in a few words ("PTP edit: 20700
column 2 to 27447, no modifier bypasses it"); the proposed answer carries the
full sentence with its citation, so the line repeats only the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
BAD, HEED, FINE = "error", "warning", "ok"


@dataclass(frozen=True, slots=True)
class VerdictLine:
    text: str
    tone: str  # error (stops the claim as asked), warning (needs a modifier or care), ok
    stale: bool  # rests on data older than the date of service
    sources: tuple[str, ...]  # short citations


@dataclass(frozen=True, slots=True)
class CodeSheet:
    """One code's facts: its own, the notes inherited from the entries above it, and
    the chapter's notes (kept apart: a coder opens them last)."""

    code: str
    system: str
    status: str
    description: str
    severity: str  # the worst finding naming the code: error, warning, info or ""
    own: tuple[Mapping[str, Any], ...]
    inherited: tuple[Mapping[str, Any], ...]
    chapter: tuple[Mapping[str, Any], ...]


def verdict_lines(sheet: Mapping[str, Any] | None) -> list[VerdictLine]:
    """The sheet's verdicts in the order the answer states them."""
    lines = []
    for verdict in (sheet or {}).get("verdicts") or []:
        text, tone = _said(verdict)
        sources = tuple(str(s) for s in verdict.get("sources") or ())
        lines.append(VerdictLine(text, tone, bool(verdict.get("stale")), sources))
    return lines


def _said(v: Mapping[str, Any]) -> tuple[str, str]:
    kind = v.get("kind", "")
    if kind == "pair":
        return _pair(v)
    if kind == "em_procedure":
        text = f"E/M {v.get('em')} with {v.get('procedure')} ({v.get('global')}-day global)"
        return f"{text}: modifier {v.get('modifier')} on the E/M", HEED
    if kind == "addon":
        primaries = ", ".join(v.get("primaries_in_question") or ())
        if v.get("ok"):
            return f"Add-on {v.get('code')} with its primary {primaries}", FINE
        return f"Add-on {v.get('code')} without a listed primary", BAD
    if kind == "units":
        return _units(v)
    if kind == "validity":
        ended = f", ended {v['ended']}" if v.get("ended") else ""
        replaced = ", ".join(v.get("replaced_by") or ())
        instead = f"; replaced by {replaced}" if replaced else ""
        return f"{v.get('code')} not valid on the date of service{ended}{instead}", BAD
    if kind == "laterality":
        codes = " + ".join(v.get("codes") or ())
        return (f"Laterality conflict: {codes}", BAD) if v.get("conflict") else (codes, FINE)
    return str(kind).replace("_", " "), HEED


def _pair(v: Mapping[str, Any]) -> tuple[str, str]:
    codes = " + ".join(v.get("codes") or ())
    if not v.get("edit"):
        gone = f" (the edit was deleted {v['deleted']})" if v.get("deleted") else ""
        return f"No PTP edit: {codes}{gone}", FINE
    head = f"PTP edit: {v.get('column2')} column 2 to {v.get('column1')}"
    if v.get("modifier_indicator") == "0":
        return f"{head}, no modifier bypasses it", BAD
    if v.get("modifier"):
        return f"{head}; modifier {v['modifier']} on {v.get('modifier_on')}", HEED
    return f"{head}; a modifier may bypass it (indicator 1)", HEED


def _units(v: Mapping[str, Any]) -> tuple[str, str]:
    head = f"{v.get('code')}, {v.get('units')} unit(s)"
    if v.get("modifier"):
        head += f", reported {v.get('report') or 'with modifier ' + str(v['modifier'])}"
    if v.get("mue") is None:
        return f"{head}: no MUE applies", FINE
    if v.get("over"):
        return f"{head}: over the MUE of {v['mue']}", BAD
    return f"{head}: within the MUE of {v['mue']}", FINE


def code_sheets(sheet: Mapping[str, Any] | None) -> list[CodeSheet]:
    """Every looked-up code, the ones named by the worst findings first."""
    worst: dict[str, str] = {}
    for finding in (sheet or {}).get("findings") or []:
        for code in finding.get("codes") or ():
            worst[code] = _worse(worst.get(code, ""), finding.get("severity", ""))
    sheets = [_sheet(code, worst.get(code.get("code", ""), "")) for code in _codes(sheet)]
    return sorted(sheets, key=lambda s: SEVERITY_ORDER.get(s.severity, 3))


def _codes(sheet: Mapping[str, Any] | None) -> Sequence[Mapping[str, Any]]:
    return list((sheet or {}).get("codes") or [])


def _worse(a: str, b: str) -> str:
    return a if SEVERITY_ORDER.get(a, 3) <= SEVERITY_ORDER.get(b, 3) else b


def _sheet(code: Mapping[str, Any], severity: str) -> CodeSheet:
    facts = list(code.get("facts") or [])
    return CodeSheet(
        code=str(code.get("code", "")),
        system=str(code.get("system", "")),
        status=str(code.get("status", "")),
        description=str(code.get("description", "")),
        severity=severity,
        own=tuple(f for f in facts if _origin(f) == ""),
        inherited=tuple(f for f in facts if _origin(f) == "entry"),
        chapter=tuple(f for f in facts if _origin(f) == "chapter"),
    )


def _origin(fact: Mapping[str, Any]) -> str:
    """Where a note is written: "" on the code itself, "entry" on an entry above it,
    "chapter" on its chapter; read off the fact's head, "Excludes1 (from E11): …"."""
    head = str(fact.get("text", "")).split(":", 1)[0]
    if "(from chapter " in head:
        return "chapter"
    return "entry" if " (from " in head else ""


def sorted_findings(sheet: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The sheet's findings, errors first, then warnings, then the rest."""
    findings = list((sheet or {}).get("findings") or [])
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.get("severity", ""), 3))
