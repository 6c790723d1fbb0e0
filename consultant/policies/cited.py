"""The rules a draft cites, as the case page shows them, and what became of them since.

Input: a draft's fact sheet (`drafts.lookup`, JSON) whose "rules" list holds
each cited rule as the draft used it ({"id", "version", "title", "text",
"citations", "verdicts": indexes into the sheet's "verdicts"}), and a session
for the library as it is now. Output: `CitedRule`s with the text the draft
used, the verdicts each was attached to, and a note when the rule has a newer
version or was retired since. A sheet without "rules" (drafts made before the
library) cites none; an entry that is not a rule is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from consultant.policies import store


@dataclass(frozen=True, slots=True)
class CitedRule:
    id: str
    version: int
    title: str
    text: str
    citations: tuple[str, ...]
    verdicts: tuple[str, ...]  # the verdicts it was attached to, e.g. "pair 20700 + 27447"
    note: str  # "" when the draft's version is still the one in use


def cited_rules(session: Session, sheet: Mapping[str, Any] | None) -> list[CitedRule]:
    """The rules the sheet cites, each with what the library says of it now."""
    cited = (sheet or {}).get("rules")
    if not isinstance(cited, list):
        return []
    verdicts = (sheet or {}).get("verdicts")
    verdicts = verdicts if isinstance(verdicts, list) else []
    now = {rule.id: rule for rule in store.library(session)}
    found = []
    for item in cited:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        version = item["version"] if isinstance(item.get("version"), int) else 0
        found.append(
            CitedRule(
                id=item["id"],
                version=version,
                title=str(item.get("title") or ""),
                text=str(item.get("text") or ""),
                citations=tuple(str(c) for c in item.get("citations") or []),
                verdicts=_attached(item.get("verdicts"), verdicts),
                note=_since(now.get(item["id"]), version),
            )
        )
    return found


def _since(current: Any, version: int) -> str:
    if current is None:
        return "This rule is no longer in the library."
    if current.retired:
        return f"Retired since this draft was made (version {current.version})."
    if current.version > version:
        return f"Version {current.version} is newer than the one this draft cites."
    return ""


def _attached(indexes: Any, verdicts: list[Any]) -> tuple[str, ...]:
    if not isinstance(indexes, list):
        return ()
    return tuple(
        verdict_label(verdicts[i])
        for i in indexes
        if isinstance(i, int) and 0 <= i < len(verdicts) and isinstance(verdicts[i], Mapping)
    )


def verdict_label(verdict: Mapping[str, Any]) -> str:
    """A verdict in a few words: its kind and its codes ("pair 20700 + 27447")."""
    codes = verdict.get("codes")
    if not isinstance(codes, list):
        named = (verdict.get(key) for key in ("em", "procedure", "code"))
        codes = [code for code in named if isinstance(code, str)]
    label = " + ".join(str(code) for code in codes)
    return f"{verdict.get('kind', 'verdict')} {label}".strip()
