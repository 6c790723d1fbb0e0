"""Console logins: server-side sessions, CSRF tokens and login throttling.

The session cookie holds a random token; the database holds only its
SHA-256, so a copy of the database opens no session. Each session has its
own CSRF token, which every form carries and every JSON request that
changes something sends as the X-CSRF-Token header. The login form, which
has no session yet, uses a double-submit cookie instead.

Throttling counts failed logins in the database, so it holds across web
processes, under three keys, each with its own limit within `login_window`
seconds (a key over its limit refuses attempts until its oldest failure
leaves the window):

- the address from one client (`login_attempts`, 5): someone mistyping locks
  only themselves, never the same address from another client;
- one client across all addresses (`login_client_attempts`, 20): one client
  spraying guesses over many addresses;
- one address across all clients (`login_address_attempts`, 100, far above
  the first): many clients guessing one password. Its price: that many
  failures from everywhere lock the address for everyone until the window
  passes or an admin runs `consultant reviewers unlock`.

The client is the peer address, or the one a trusted proxy reports (deps.py
`client_address`). A successful login clears only its own (address, client)
count, so guessing from elsewhere is still counted. `log_in` is the one login
the form and the API share: throttle, check, count or clear, open the session,
audit and commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import LoginFailure, Reviewer, WebSession
from consultant.reviewers import OneTimePasswordUsed, check_password, forget_first_password
from consultant.settings import Settings

SESSION_COOKIE = "consultant_session"
LOGIN_CSRF_COOKIE = "consultant_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Login:
    """The reviewer behind a request, and their session's CSRF token."""

    reviewer: Reviewer
    csrf_token: str
    token_hash: str
    email: str  # copied, so error pages rendered after the session closed can name them
    role: str
    must_change: bool = False  # a one-time password's session: only a new password first

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def start_session(session: Session, settings: Settings, reviewer: Reviewer) -> str:
    """Open a session for `reviewer`; return the cookie token (shown only here)."""
    token = new_token()
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.add(
        WebSession(
            token_hash=_digest(token),
            reviewer_id=reviewer.id,
            csrf_token=new_token(),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.session_lifetime),
        )
    )
    session.flush()
    return token


def load_session(session: Session, token: str | None) -> Login | None:
    """The live session for a cookie token, or None (unknown, expired, reviewer off)."""
    if not token or len(token) > 200:
        return None
    row = session.get(WebSession, _digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    reviewer = session.get(Reviewer, row.reviewer_id)
    if reviewer is None or not reviewer.active:
        return None
    return Login(
        reviewer=reviewer,
        csrf_token=row.csrf_token,
        token_hash=row.token_hash,
        email=reviewer.email,
        role=reviewer.role,
        must_change=reviewer.must_change_password,
    )


def end_session(session: Session, login: Login) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == login.token_hash))


def rotate_sessions(session: Session, settings: Settings, reviewer: Reviewer) -> str:
    """End all of the reviewer's sessions and open a fresh one (new token and CSRF token)."""
    session.execute(delete(WebSession).where(WebSession.reviewer_id == reviewer.id))
    return start_session(session, settings, reviewer)


def _pair_key(email: str, client: str) -> str:
    return f"pair:{client[:64]}|{_address(email)}"


def _address(email: str) -> str:
    return email.strip().lower()[:320]


def _limits(settings: Settings, email: str, client: str) -> list[tuple[str, int]]:
    """Each key a failure counts under, with the failures it may reach in the window."""
    return [
        (_pair_key(email, client), settings.login_attempts),
        (f"client:{client[:64]}", settings.login_client_attempts),
        (f"address:{_address(email)}", settings.login_address_attempts),
    ]


def throttled(session: Session, settings: Settings, email: str, client: str) -> int:
    """Seconds until another attempt is allowed for this address from this client; 0: now."""
    since = utcnow() - timedelta(seconds=settings.login_window)
    wait = 0
    for key, limit in _limits(settings, email, client):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                LoginFailure.key == key, LoginFailure.at > since
            )
        ).one()
        if count >= limit and oldest is not None:
            left = (oldest - since).total_seconds()
            wait = max(wait, int(left) + 1)
    return wait


def record_failure(session: Session, settings: Settings, email: str, client: str) -> None:
    now = utcnow()
    stale = now - timedelta(seconds=settings.login_window)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= stale))
    for key, _ in _limits(settings, email, client):
        session.add(LoginFailure(key=key, at=now))


def clear_failures(session: Session, email: str, client: str) -> None:
    """After a successful login: forget this address's failures from this client."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == _pair_key(email, client)))


def unlock(session: Session, email: str, client: str | None = None) -> int:
    """Forget every failure counted against `email` (and, given `client`, that client's)."""
    address = _address(email)
    keys = LoginFailure.key.startswith("pair:") & LoginFailure.key.endswith(
        f"|{address}", autoescape=True
    )
    keys = keys | (LoginFailure.key == f"address:{address}")
    if client is not None:
        keys = keys | (LoginFailure.key == f"client:{client[:64]}")
        keys = keys | LoginFailure.key.startswith(f"pair:{client[:64]}|", autoescape=True)
    removed = session.execute(delete(LoginFailure).where(keys))
    return int(removed.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """What a login attempt came to: a session's token, or a wait, or neither (refused)."""

    token: str | None = None  # the new session's cookie value
    one_time: bool = False  # a one-time password was used up: a new one is due first
    wait: int = 0  # seconds before this address may try again from this client
    refused: str = ""  # why a right password opens nothing (a one-time one used already)


def log_in(
    session: Session,
    settings: Settings,
    email: str,
    password: str,
    client: str,
    via: str | None = None,
) -> LoginOutcome:
    """Throttle, check the password, count or clear the failure, open the session, audit
    (with `via`, e.g. "api") and commit. A one-time password's file is gone after it;
    its second login is refused (`refused` says why) and audited, not counted."""
    wait = throttled(session, settings, email, client)
    if wait:
        return LoginOutcome(wait=wait)
    where = {"client": client, **({"via": via} if via else {})}
    try:
        reviewer = check_password(session, email, password)
    except OneTimePasswordUsed as used:
        # Not counted as a failure: whoever typed it knew the password, and guessing
        # is what the throttle is for. The audit log keeps the attempt.
        session.rollback()
        audit(session, _address(email), "login.one_time_reused", None, **where)
        session.commit()
        return LoginOutcome(refused=str(used))
    if reviewer is None:
        record_failure(session, settings, email, client)
        audit(session, email.strip().lower()[:320] or "?", "login.failed", None, **where)
        session.commit()
        return LoginOutcome()
    clear_failures(session, email, client)
    one_time = reviewer.must_change_password
    token = start_session(session, settings, reviewer)
    audit(session, reviewer.email, "login.one_time" if one_time else "login", None, **where)
    session.commit()
    if one_time:
        forget_first_password(settings, reviewer.email)
    return LoginOutcome(token, one_time)
