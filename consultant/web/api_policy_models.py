"""What the JSON API's policy routes answer: a rule's version, and a rule with its
versions. Read-only; built from consultant.policies.store's `Version`s.

The conventions are api_models.py's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field

from consultant.policies.rules import ID
from consultant.policies.store import Version
from consultant.web.api_models import MAX_ID

RuleId = Annotated[
    str, Path(pattern=ID.pattern, max_length=64, examples=["em-with-minor-procedure-25"])
]
RuleVersion = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="This version (default: the newest).")
]
WithRetired = Annotated[bool, Query(description="Also the retired rules.")]


class PolicyVersionOut(BaseModel):
    """One line of a rule's history."""

    version: int
    title: str
    retired: bool
    origin: str = Field(description='"package", "console", "import" or "cli"')
    author: str
    created_at: datetime

    @classmethod
    def of(cls, found: Version) -> PolicyVersionOut:
        return cls(**found.summary())


class PolicyOut(PolicyVersionOut):
    """A rule as one version says it: its text, citations and when it applies."""

    id: str
    text: str
    citations: list[str]
    applies: list[dict[str, list[str]]] = Field(
        description="Any one condition; within one, every key (codes, modifiers, verdicts, "
        "words, with_words) must match."
    )
    unless: list[str]
    effective: date | None
    expires: date | None
    reviewed_by: str
    reviewed_on: date

    @classmethod
    def of(cls, found: Version) -> PolicyOut:
        return cls(**found.rule.entry() | found.summary() | {"unless": list(found.rule.unless)})


class PolicyDetailOut(PolicyOut):
    versions: list[PolicyVersionOut] = Field(description="Every version, newest first.")
