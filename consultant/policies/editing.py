"""An expert's edit of a rule, as the console's form carries it.

Input: the form's fields as text (title, text, citations one a line, `applies`
and `unless` as YAML, effective and expires dates), the version the editor
started from (0 for a new rule), and the editor's address. Output: the rule
saved as its next version, reviewed by the editor today, with its audit entry
(store.save), or None when nothing changed. A form with problems raises
PolicyError naming each one; someone else's version written meanwhile (or a
new rule whose id exists) is a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultant.errors import Conflict
from consultant.policies import store
from consultant.policies.rules import PolicyError, Rule, parse_rule


@dataclass(frozen=True, slots=True)
class RuleForm:
    """The edit form's fields, as typed (kept as typed when the form is refused)."""

    id: str = ""
    title: str = ""
    text: str = ""
    citations: str = ""  # one a line
    applies: str = ""  # YAML: a list of conditions
    unless: str = ""  # YAML: a list of phrases
    effective: str = ""  # YYYY-MM-DD or empty
    expires: str = ""
    base_version: int = 0  # the version the editor started from; 0: a new rule

    @classmethod
    def of(cls, rule: Rule) -> RuleForm:
        """The form filled in with `rule`, ready to edit into its next version."""
        conditions = rule.conditions()
        return cls(
            id=rule.id,
            title=rule.title,
            text=rule.text,
            citations="\n".join(rule.citations),
            applies=_yaml(conditions["applies"]),
            unless=_yaml(conditions["unless"]) if rule.unless else "",
            effective=rule.effective.isoformat() if rule.effective else "",
            expires=rule.expires.isoformat() if rule.expires else "",
            base_version=rule.version,
        )

    def entry(self, reviewer: str) -> dict[str, Any]:
        """The rule entry the form describes, reviewed by `reviewer` today."""
        problems: list[str] = []
        entry = {
            "id": self.id.strip(),
            "title": self.title,
            "text": self.text,
            "citations": [line.strip() for line in self.citations.splitlines() if line.strip()],
            "applies": _read(self.applies, "applies", problems),
            "unless": _read(self.unless, "unless", problems) or [],
            "effective": self.effective.strip() or None,
            "expires": self.expires.strip() or None,
        }
        if problems:
            raise PolicyError("; ".join(problems))
        return store.reviewed_today(entry, reviewer)


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=80)


def _read(text: str, name: str, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problems.append(f"{name} is not YAML{line}: {getattr(error, 'problem', None) or error}")
        return None


def save_form(session: Session, form: RuleForm, editor: str) -> Rule | None:
    """Save the form as the rule's next version (or its first); None: nothing changed."""
    rule = parse_rule(form.entry(editor))
    try:
        return store.save(session, rule, editor, base_version=form.base_version)
    except IntegrityError:  # another editor wrote the same version number first
        raise Conflict(f"policy rule {rule.id} was changed by someone else; reload it") from None
