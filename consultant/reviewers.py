"""Reviewers: the coding experts who log in to the console, and their passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
second recommended profile) and re-hashed on login when those parameters
change. A reviewer created without a password gets a one-time password,
shown once to the operator; nothing but its hash is kept. A one-time password
works once: the first login with it marks it used (`one_time_used_at`, a
conditional update, so of two logins racing with it only one wins) and leaves
the reviewer `must_change_password`, so that session can only choose a new
password. A second login with it is refused with `OneTimePasswordUsed`, which
says so (its hash is kept to recognise it; only someone who knows the password
learns that it was used). Every path that makes one up (the first admin, the
CLI's add and set-password, the admin page's add and reset, the admin API's
add) goes through `add_reviewer` or `set_password`. A password the reviewer
typed themselves (the account page, `--password-stdin`) is theirs, not
one-time. Roles: `reviewer` works cases, `admin` also manages reviewers,
accounts and plans.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from consultant.accounts import normalize_address
from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import Reviewer, WebSession
from consultant.errors import Refused
from consultant.settings import Settings

ROLES = ("reviewer", "admin")
FIRST_ADMIN_FILE = "first-admin-password.txt"
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the address is unknown, so both cases cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class ReviewerError(Refused):
    """A request about reviewers that cannot be done; the message says why."""


class OneTimePasswordUsed(ReviewerError):
    """The right one-time password, but its one login has happened already."""

    def __init__(self) -> None:
        super().__init__(
            "This one-time password was used already: it opens one login only. "
            "Ask an admin for a new one."
        )


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


def list_reviewers(session: Session) -> list[Reviewer]:
    """Every reviewer, by address: the admin page, the admin API and the CLI list these."""
    return list(session.scalars(select(Reviewer).order_by(Reviewer.email)))


def any_reviewer(session: Session) -> bool:
    """Whether anyone can log in to the console yet."""
    return session.scalar(select(Reviewer.id).limit(1)) is not None


def find_reviewer(session: Session, email: str) -> Reviewer | None:
    return session.execute(
        select(Reviewer).where(Reviewer.email == email.strip().lower())
    ).scalar_one_or_none()


def acting_reviewer(session: Session, email: str) -> str:
    """The address of the active reviewer `email` names, whom a command acts as."""
    reviewer = find_reviewer(session, email)
    if reviewer is None or not reviewer.active:
        shown = email.strip().lower()[:320]
        raise ReviewerError(f"{shown} is not an active reviewer; act as one who is")
    return reviewer.email


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
        must_change_password=one_time is not None,
        password_changed_at=utcnow(),
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
    _store(reviewer, password or one_time or "", one_time=one_time is not None)
    end_sessions(session, reviewer)
    audit(session, actor, "reviewer.password_set", None, reviewer=reviewer.email)
    return one_time


def change_own_password(
    session: Session, reviewer: Reviewer, current: str, new: str, repeat: str
) -> None:
    """The reviewer chooses their password; `current` is not asked after a one-time login.

    The caller ends the reviewer's sessions and opens a fresh one (web/auth.py
    `rotate_sessions`), so a stolen cookie dies with the old password.
    """
    if not reviewer.must_change_password and not _matches(reviewer.password_hash, current):
        raise ReviewerError("The current password is wrong.")
    if new != repeat:
        raise ReviewerError("The new passwords differ.")
    _store(reviewer, new, one_time=False)
    audit(session, reviewer.email, "reviewer.password_changed", None)


def _store(reviewer: Reviewer, password: str, *, one_time: bool) -> None:
    reviewer.password_hash = hash_password(password)
    reviewer.must_change_password = one_time
    reviewer.one_time_used_at = None
    reviewer.password_changed_at = utcnow()


def _matches(stored: str | None, password: str) -> bool:
    if stored is None:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


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
    """The active reviewer with this address and password, else None (constant work).

    A one-time password is used up here; its second login raises OneTimePasswordUsed.
    """
    reviewer = find_reviewer(session, email)
    stored = reviewer.password_hash if reviewer is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if reviewer is None or stored is None or not reviewer.active:
        return None
    if reviewer.must_change_password:
        _use_up(session, reviewer, stored)  # this login's session must choose a new one
    elif _hasher.check_needs_rehash(stored):
        reviewer.password_hash = _hasher.hash(password)
    reviewer.last_login_at = utcnow()
    return reviewer


def _use_up(session: Session, reviewer: Reviewer, stored: str) -> None:
    """Mark the one-time password `stored` used, or refuse: it was, by this login's
    predecessor or by one racing with it (the update matches no row then)."""
    now = utcnow()
    used = session.execute(
        update(Reviewer)
        .where(
            Reviewer.id == reviewer.id,
            Reviewer.password_hash == stored,
            Reviewer.must_change_password.is_(True),
            Reviewer.one_time_used_at.is_(None),
        )
        .values(one_time_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not used.rowcount:  # type: ignore[attr-defined]
        raise OneTimePasswordUsed()
    set_committed_value(reviewer, "one_time_used_at", now)  # the update wrote it


def first_admin_address(settings: Settings) -> str:
    """The address `consultant up` gives the first admin of an embedded setup."""
    return f"admin@{settings.mail_domain}"


def first_password_file(settings: Settings) -> Path:
    return settings.var_dir / FIRST_ADMIN_FILE


def write_first_password(settings: Settings, password: str) -> Path:
    """Keep the first admin's one-time password in a file only its owner may read (0600)."""
    path = first_password_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # an older file may have been created wider
        file.write(password + "\n")
    return path


def forget_first_password(settings: Settings, email: str) -> None:
    """Delete the first admin's password file once that password is used up or replaced."""
    if email == first_admin_address(settings):
        first_password_file(settings).unlink(missing_ok=True)
