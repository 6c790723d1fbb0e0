"""What routes depend on: the database session, the login, CSRF, the console's context.

Pages and the JSON API share one login. A page without a session redirects
to the login form; an API call without one gets 401. A reviewer asking for
an admin route gets 403. Every request that changes something must carry
the session's CSRF token (form field or X-CSRF-Token header), else 403.
A session opened with a one-time password may only choose a new password
(and log out): every other page redirects to /account, every other API call
gets 403. The client's address is the peer's, unless the peer is one of
CONSULTANT_TRUSTED_PROXIES (`client_address`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from consultant.db.session import session_factory
from consultant.settings import Settings
from consultant.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Login,
    load_session,
    tokens_match,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Console:
    """What create_app was given: settings, and how to queue a delivery."""

    settings: Settings
    enqueue_send: Callable[[int], None]


class LoginRequired(Exception):
    """A page needs a login: the handler redirects to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """A one-time password's session asked for a page: the handler sends it to /account."""


ACCOUNT_URL = "/account"
CHANGE_FIRST = "choose a new password first (POST /api/v1/session/password); nothing else is open"


def console(request: Request) -> Console:
    value: Console = request.app.state.console
    return value


def get_settings_dep(request: Request) -> Settings:
    return console(request).settings


def db(request: Request) -> Iterator[Session]:
    """One session per request; handlers commit what they change, the rest rolls back."""
    session = session_factory(console(request).settings)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


DB = Annotated[Session, Depends(db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def _csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _check_csrf(request: Request, login: Login) -> None:
    if request.method in SAFE_METHODS:
        return
    if not tokens_match(await _csrf_given(request), login.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def _resolve_login(request: Request, session: DB) -> Login | None:
    """The session behind the cookie (sync: FastAPI runs it in its thread pool, so a
    database wait never blocks the event loop)."""
    login = load_session(session, request.cookies.get(SESSION_COOKIE))
    request.state.login = login
    return login


MaybeLogin = Annotated[Login | None, Depends(_resolve_login)]


async def any_page_login(request: Request, login: MaybeLogin) -> Login:
    """The reviewer of a console page, even one who must change the password first."""
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    await _check_csrf(request, login)
    return login


async def page_login(login: Annotated[Login, Depends(any_page_login)]) -> Login:
    """The reviewer of a console page; no session: off to the login form."""
    if login.must_change:
        raise PasswordChangeRequired()
    return login


async def any_api_login(request: Request, login: MaybeLogin) -> Login:
    """The reviewer of an API call, even one who must change the password first."""
    if login is None:
        raise HTTPException(
            401, "log in first: POST /api/v1/session", {"WWW-Authenticate": "Cookie"}
        )
    await _check_csrf(request, login)
    return login


async def api_login(login: Annotated[Login, Depends(any_api_login)]) -> Login:
    """The reviewer of an API call; no session: 401; a one-time password's session: 403."""
    if login.must_change:
        raise HTTPException(403, CHANGE_FIRST)
    return login


async def page_admin(login: Annotated[Login, Depends(page_login)]) -> Login:
    if not login.admin:
        raise HTTPException(403, "this page is for admins")
    return login


async def api_admin(login: Annotated[Login, Depends(api_login)]) -> Login:
    if not login.admin:
        raise HTTPException(403, "admins only")
    return login


AnyPageLogin = Annotated[Login, Depends(any_page_login)]
AnyApiLogin = Annotated[Login, Depends(any_api_login)]
PageLogin = Annotated[Login, Depends(page_login)]
PageAdmin = Annotated[Login, Depends(page_admin)]
ApiLogin = Annotated[Login, Depends(api_login)]
ApiAdmin = Annotated[Login, Depends(api_admin)]


def login_url(next_url: str) -> str:
    return "/login" + (f"?next={quote(next_url, safe='/')}" if next_url not in ("", "/") else "")


def safe_next(value: Any) -> str:
    """A post-login target on this site only (no //host, no scheme)."""
    text = value if isinstance(value, str) else "/"
    if not text.startswith("/") or text.startswith("//") or "\\" in text or "\n" in text:
        return "/"
    return text


def client_address(request: Request) -> str:
    """The client's address: the peer's, or what trusted proxies in front of us report.

    Only when the peer is in CONSULTANT_TRUSTED_PROXIES does X-Forwarded-For
    count, read from the right (each proxy appends the address it saw): the
    right-most address that is not itself a trusted proxy is the client. Any
    other peer may write what it likes there, so its header is ignored.
    Addresses are compared and returned plain: an IPv4 peer seen on a
    dual-stack socket (``::ffff:10.0.0.7``) is 10.0.0.7, and a hop written
    with its port (``203.0.113.5:51234``, ``[2001:db8::1]:443``) is its address.
    """
    given = request.client.host if request.client else "unknown"
    peer = _ip(given)
    shown = str(peer) if peer is not None else given
    trusted = console(request).settings.trusted_proxies
    if not trusted or not _is_trusted(peer, trusted):
        return shown
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    addresses = [_ip(hop) for hop in hops if hop]
    for address in reversed(addresses):
        if address is None:
            return shown  # a trusted proxy wrote nonsense: the proxy is all we know
        if not _is_trusted(address, trusted):
            return str(address)
    return str(addresses[0]) if addresses else shown  # all proxies: the first one asked


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    """The address in `text` (maybe with a port, maybe IPv4-mapped), or None."""
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text, closed, port = text[1:].partition("]")
        if not closed or (port and not (port[0] == ":" and _is_port(port[1:]))):
            return None
    elif text.count(":") == 1:  # v4:port (a bare IPv6 address has two or more)
        text, port = text.split(":")
        if not _is_port(port):
            return None
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _is_trusted(address: IPv4Address | IPv6Address | None, trusted: list[Any]) -> bool:
    return address is not None and any(address in network for network in trusted)


ClientAddress = Annotated[str, Depends(client_address)]
