"""Case states and `advance()`, the only code that changes a case's state; and
`flag()` / `unflag()`, the only code that changes what a reviewer must look at first.

A transition is a conditional UPDATE (``… WHERE state IN (…)``): when two
workers race, or a task runs twice, exactly one of them moves the case and
the other sees rowcount 0 and does nothing. Every move writes an audit entry
in the same transaction. A case's `attention` is a list of one-line reasons
kept as lines of text; the callers audit a flag in their own words.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from consultant.db.base import utcnow
from consultant.db.models import AuditEntry, Case, CaseState

log = logging.getLogger(__name__)

# Where each state may go next; DESIGN.md "State".
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.RECEIVED: frozenset({CaseState.DRAFTED, CaseState.QUARANTINED}),
    CaseState.DRAFTED: frozenset(
        {CaseState.IN_REVIEW, CaseState.APPROVED, CaseState.REJECTED, CaseState.AWAITING_SENDER}
    ),
    CaseState.IN_REVIEW: frozenset(
        {CaseState.DRAFTED, CaseState.APPROVED, CaseState.REJECTED, CaseState.AWAITING_SENDER}
    ),
    CaseState.AWAITING_SENDER: frozenset({CaseState.DRAFTED, CaseState.CLOSED}),
    CaseState.APPROVED: frozenset({CaseState.SENT}),
    CaseState.SENT: frozenset({CaseState.CLOSED, CaseState.DRAFTED}),
    CaseState.REJECTED: frozenset({CaseState.CLOSED}),
    CaseState.QUARANTINED: frozenset({CaseState.RECEIVED, CaseState.CLOSED}),
    CaseState.CLOSED: frozenset(),
}


# Detail keys whose text may hold mail: a draft edit's diff, a reason (a
# reviewer's rejection, a robot's header, a bounce), a remote server's
# diagnostic, a relay's refusal (error) and the attention line quoting it
# (attention, cleared_attention): relays echo addresses and, at times, the
# mail's words. The log keeps their size and SHA-256, never the text, so it
# outlives the mail's retention period without holding PHI.
MAIL_TEXT_KEYS = frozenset(
    {"diff", "reason", "diagnostic", "error", "attention", "cleared_attention"}
)


def fingerprint(text: str) -> dict[str, Any]:
    """Size (UTF-8 bytes) and SHA-256 of `text`: what the audit log keeps of mail text."""
    data = text.encode("utf-8", "surrogatepass")
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def scrub_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` with the text of MAIL_TEXT_KEYS replaced by its fingerprint."""
    return {
        key: fingerprint(value) if key in MAIL_TEXT_KEYS and isinstance(value, str) else value
        for key, value in detail.items()
    }


def audit(session: Session, actor: str, action: str, case_id: int | None, **detail: Any) -> None:
    """Append one entry to the audit log (never updated, never deleted); mail text
    in `detail` is stored as its fingerprint."""
    entry = AuditEntry(actor=actor, action=action, case_id=case_id, detail=scrub_detail(detail))
    session.add(entry)


def advance(
    session: Session,
    case_id: int,
    to: CaseState,
    *,
    actor: str,
    reason: str | None = None,
    sources: Iterable[CaseState] | None = None,
) -> bool:
    """Move the case to `to` if it is in one of `sources`; False if it was not."""
    allowed = {s for s, targets in TRANSITIONS.items() if to in targets}
    sources = allowed if sources is None else allowed & set(sources)
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, Case.state.in_([s.value for s in sources]))
        .values(state=to.value, state_reason=reason, updated_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        log.info("case %s not moved to %s: not in %s", case_id, to, sorted(sources))
        return False
    audit(session, actor, f"case.{to.value}", case_id, reason=reason)
    return True


def make_ref(prefix: str, case: Case) -> str:
    """The public reference, e.g. CC-2026-000123: prefix, year opened, case id."""
    return f"{prefix}-{case.created_at.year}-{case.id:06d}"


def attention_lines(case: Case) -> list[str]:
    """The reasons a reviewer must look at the case first, in the order raised."""
    return [line for line in (case.attention or "").split("\n") if line]


def flag(session: Session, case_id: int, reason: str) -> bool:
    """Add `reason`, as one line, to the case's attention; False if it was there."""
    case = session.get_one(Case, case_id)
    line = " ".join(reason.split())
    lines = attention_lines(case)
    if not line or line in lines:
        return False
    case.attention = "\n".join([*lines, line])
    return True


def unflag(session: Session, case_id: int, match: Callable[[str], bool]) -> str | None:
    """Remove the first attention line `match` accepts from the case; return it."""
    case = session.get_one(Case, case_id)
    lines = attention_lines(case)
    found = next((line for line in lines if match(line)), None)
    if found is not None:
        case.attention = "\n".join(line for line in lines if line != found) or None
    return found
