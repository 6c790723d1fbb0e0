"""Whether a remembered paragraph still holds for the case it is offered to.

Input: the verdict the paragraph answered (as drafted then), the verdict of
the same key in the current case's draft, the rule versions the paragraph
cited, and the policy library now (rule id: newest version, retired or not).
Output: reasons, as sentences a reviewer reads. Pure.

- Stale: the data it rested on has been superseded and changed the verdict
  (a key fact differs and the verdict rests on another release now), or a
  rule it cited has a newer version or was retired.
- Differs: a key fact differs on the same release, so the question differs
  (12 units then, 20 now): the paragraph answered another verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from consultant.memory.keys import changed_facts

# A release that starts after the date of service is cited with this note; the
# release is the same whatever the date, so the note is no part of it.
_NOTE = re.compile(r" \(in effect from [^()]*\)$")


def releases(verdict: Mapping[str, Any]) -> set[str]:
    """The releases a verdict rests on, as its sources name them."""
    return {_NOTE.sub("", str(source)) for source in verdict.get("sources") or ()}


def data_reasons(then: Mapping[str, Any], now: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(stale, differs): why the verdict then no longer stands, by data or by question."""
    changed = changed_facts(then, now)
    if not changed:
        return [], []
    facts = ", ".join(changed)
    before, after = sorted(releases(then)), sorted(releases(now))
    if before != after:
        said = (
            f"newer data changed the verdict ({facts}): it rested on "
            f"{'; '.join(before) or 'no release'}; this case's verdict rests on "
            f"{'; '.join(after) or 'no release'}"
        )
        return [said], []
    return [], [f"it answered another verdict on the same data ({facts})"]


def rule_reasons(
    cited: Iterable[Mapping[str, Any]], newest: Mapping[str, tuple[int, bool]]
) -> list[str]:
    """Why the rules a paragraph cited no longer stand as cited."""
    reasons = []
    for rule in cited:
        rule_id, version = str(rule.get("id")), rule.get("version")
        name = f'policy rule "{rule.get("title") or rule_id}" ({rule_id})'
        found = newest.get(rule_id)
        if found is None:
            reasons.append(f"{name} is no longer in the library")
        elif found[1]:
            reasons.append(f"{name} was retired (version {found[0]})")
        elif isinstance(version, int) and found[0] > version:
            reasons.append(
                f"{name} was cited at version {version}; it is at version {found[0]} now"
            )
    return reasons
