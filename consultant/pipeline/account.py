"""Account: who is asking. Input: the sender address. Output: an account id or None.

Unknown senders are guests (no account); plans and quotas come with a later
issue.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.db.models import AccountAddress


def find_account(session: Session, address: str) -> int | None:
    """The id of the account that owns `address`, if any."""
    return session.execute(
        select(AccountAddress.account_id).where(AccountAddress.address == address.lower())
    ).scalar_one_or_none()
