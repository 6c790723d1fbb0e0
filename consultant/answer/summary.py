"""The queue's reading of a fact sheet (drafts.lookup): what a reviewer triages by.

Three signals per case, written onto the case with each system draft so that
the queue reads them from columns and never parses a sheet per row:

- the verdict summary, a few words per problem the answer deals with, worst
  first ("PTP edit, add-on without primary"); verdicts that find nothing wrong
  (no edit, units within the MUE) are left out, and a sheet without problems
  has no summary;
- the highest severity among the verdicts (error: the claim cannot go as
  asked; warning: it needs a modifier or care) and the lookup's findings
  (error, warning, info);
- stale data: some verdict rests on a release that does not cover the date of
  service (the engine's `stale` mark: the nearest release stood in).
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True, slots=True)
class Signals:
    verdicts: str | None  # "PTP edit, add-on without primary", or None
    severity: str | None  # error, warning, info, or None
    stale_data: bool


def signals(sheet: Mapping[str, Any] | None) -> Signals:
    """The queue's signals of one fact sheet (None: a draft without one)."""
    sheet = sheet or {}
    problems = [p for p in map(problem, sheet.get("verdicts") or []) if p is not None]
    problems.sort(key=lambda p: RANK[p[1]])
    words = list(dict.fromkeys(phrase for phrase, _ in problems))
    severities = [tone for _, tone in problems]
    severities += [str(f.get("severity", "")) for f in sheet.get("findings") or []]
    ranked = sorted((s for s in severities if s in RANK), key=RANK.__getitem__)
    stale = any(bool(v.get("stale")) for v in sheet.get("verdicts") or [])
    return Signals(", ".join(words) or None, ranked[0] if ranked else None, stale)


def problem(verdict: Mapping[str, Any]) -> tuple[str, str] | None:
    """The words and severity of what a verdict finds wrong; None when nothing is."""
    kind = verdict.get("kind", "")
    if kind == "pair":
        if not verdict.get("edit"):
            return None
        return ("PTP edit", ERROR if verdict.get("modifier_indicator") == "0" else WARNING)
    if kind == "em_procedure":
        return (f"E/M with a procedure, modifier {verdict.get('modifier')}", WARNING)
    if kind == "addon":
        return None if verdict.get("ok") else ("add-on without primary", ERROR)
    if kind == "units":
        return ("units over MUE", ERROR) if verdict.get("over") else None
    if kind == "validity":
        return ("code not valid on the date", ERROR)
    if kind == "laterality":
        return ("laterality conflict", ERROR) if verdict.get("conflict") else None
    return (str(kind).replace("_", " "), WARNING) if kind else None
