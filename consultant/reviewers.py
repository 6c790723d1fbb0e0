"""Reviewers: the coding experts who log in to the console, and their passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
second recommended profile) and re-hashed on login when those parameters
change. A reviewer created without a password gets a one-time password,
shown once to the operator; nothing but its hash is kept. Roles: `reviewer`
works cases, `admin` also manages reviewers, accounts and plans.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from consultant.accounts import normalize_address
from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import Reviewer, WebSession

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the address is unknown, so both cases cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class ReviewerError(Exception):
    """A request about reviewers that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class Created:
    reviewer: Reviewer
    one_time_password: str | None  # set when we made the password up


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ReviewerError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def new_password() -> str:
    """A random password to hand over once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def find_reviewer(session: Session, email: str) -> Reviewer | None:
    return session.execute(
        select(Reviewer).where(Reviewer.email == email.strip().lower())
    ).scalar_one_or_none()


def add_reviewer(
    session: Session,
    email: str,
    *,
    role: str = "reviewer",
    name: str = "",
    password: str | None = None,
    actor: str = "system",
) -> Created:
    """Create a reviewer; without `password`, one is made up and returned once."""
    if role not in ROLES:
        raise ReviewerError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    try:
        address = normalize_address(email)
    except Exception as error:
        raise ReviewerError(str(error)) from error
    if find_reviewer(session, address) is not None:
        raise ReviewerError(f"{address} is already a reviewer")
    one_time = None if password is not None else new_password()
    reviewer = Reviewer(
        email=address,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password or one_time or ""),
    )
    session.add(reviewer)
    session.flush()
    audit(session, actor, "reviewer.added", None, reviewer=address, role=role)
    return Created(reviewer, one_time)


def set_password(
    session: Session, reviewer: Reviewer, password: str | None, actor: str
) -> str | None:
    """Set (or, without `password`, reset to a one-time) password; end their sessions."""
    one_time = None if password is not None else new_password()
    reviewer.password_hash = hash_password(password or one_time or "")
    end_sessions(session, reviewer)
    audit(session, actor, "reviewer.password_set", None, reviewer=reviewer.email)
    return one_time


def update_reviewer(
    session: Session,
    reviewer: Reviewer,
    actor: str,
    *,
    role: str | None = None,
    active: bool | None = None,
) -> None:
    """Change a reviewer's role or switch the login off; the last active admin stays."""
    if role is not None and role not in ROLES:
        raise ReviewerError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    demoted = (role is not None and role != "admin") or active is False
    if reviewer.role == "admin" and reviewer.active and demoted and _active_admins(session) <= 1:
        raise ReviewerError("this is the last active admin; make another admin first")
    changes: dict[str, object] = {}
    if role is not None and role != reviewer.role:
        changes["role"] = reviewer.role = role
    if active is not None and active != reviewer.active:
        changes["active"] = reviewer.active = active
        if not active:
            end_sessions(session, reviewer)
    if changes:
        audit(session, actor, "reviewer.changed", None, reviewer=reviewer.email, **changes)


def end_sessions(session: Session, reviewer: Reviewer) -> None:
    """Log the reviewer out everywhere."""
    session.execute(delete(WebSession).where(WebSession.reviewer_id == reviewer.id))


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).where(Reviewer.role == "admin", Reviewer.active.is_(True))
        )
        or 0
    )


def has_admin(session: Session) -> bool:
    return _active_admins(session) > 0


def check_password(session: Session, email: str, password: str) -> Reviewer | None:
    """The active reviewer with this address and password, else None (constant work)."""
    reviewer = find_reviewer(session, email)
    stored = reviewer.password_hash if reviewer is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if reviewer is None or stored is None or not reviewer.active:
        return None
    if _hasher.check_needs_rehash(stored):
        reviewer.password_hash = _hasher.hash(password)
    reviewer.last_login_at = utcnow()
    return reviewer
