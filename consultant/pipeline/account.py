"""Account: who is asking, and whether we answer them now.

Input: the parsed mail. Output: a Decision — the account (None for a
guest), whether a case opens, what a reviewer must know first, and which
automatic mail (invitation, quota notice) answers it. Unknown senders follow
``unknown_sender``; an exhausted monthly quota follows ``over_quota``. A
consult counts against the quota when its answer is sent (accounts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from consultant.accounts import Standing, find_account, month_start, standing
from consultant.db.base import utcnow
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings


@dataclass(frozen=True, slots=True)
class Decision:
    account_id: int | None
    plan: str
    open_case: bool = True
    attention: str | None = None  # why a reviewer must look first
    auto_mail: str | None = None  # mail_templates/ name of the automatic answer
    note: str | None = None  # why no case was opened
    context: dict[str, Any] = field(default_factory=dict)


def decide(session: Session, settings: Settings, parsed: ParsedMessage) -> Decision:
    """Apply the unknown-sender and quota policies to a new question."""
    account = find_account(session, parsed.sender)
    if account is None and settings.unknown_sender != "guest":
        return _unknown_sender(settings, parsed)
    now = utcnow()
    position = standing(session, settings, account, parsed.reply_to, now, count_unlimited=False)
    account_id = account.id if account else None
    if not position.exhausted:
        return Decision(account_id=account_id, plan=position.plan.name)
    return _over_quota(settings, position, account_id, now)


def _unknown_sender(settings: Settings, parsed: ParsedMessage) -> Decision:
    """The ``unknown_sender`` policy: hold the question, invite the sender, or both."""
    hold = "hold" in settings.unknown_sender
    invite = "invite" in settings.unknown_sender
    return Decision(
        account_id=None,
        plan="guest",
        open_case=hold,
        attention=f"unknown sender: {parsed.sender} holds no account" if hold else None,
        auto_mail="invitation" if invite else None,
        note=None if hold else f"unknown sender {parsed.sender}: no account",
        context={"held": hold},
    )


def _over_quota(
    settings: Settings, position: Standing, account_id: int | None, now: datetime
) -> Decision:
    """The ``over_quota`` policy: hold the question, send the quota notice, or both."""
    hold = "hold" in settings.over_quota
    start = month_start(now)
    renews = month_start(start + timedelta(days=32))
    used = f"{position.used} of {position.plan.monthly_quota} consults this month"
    return Decision(
        account_id=account_id,
        plan=position.plan.name,
        open_case=hold,
        attention=f"monthly quota used: {used} on plan {position.plan.name}" if hold else None,
        auto_mail="quota_notice" if "notify" in settings.over_quota else None,
        note=None if hold else f"monthly quota used: {used} on plan {position.plan.name}",
        context={
            "held": hold,
            "plan": position.plan.name,
            "quota": position.plan.monthly_quota,
            "used": position.used,
            "period_start": start.strftime("%d %B %Y"),
            "renews": renews.strftime("%d %B %Y"),
            "upgrade_hint": "",
        },
    )
