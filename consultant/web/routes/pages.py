"""Console pages: login, logout, the queue, one's own password.

A login with a one-time password lands on /account, the one page (with
logout) such a session may use, to choose a password; a second login with it
is refused with a message saying it was used. Changing a password ends the
reviewer's other sessions and gives this one a new cookie and CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from consultant.cases import audit
from consultant.db.models import CaseState, Reviewer
from consultant.review.queue import PAGE, UNASSIGNED, review_queue
from consultant.reviewers import (
    ReviewerError,
    change_own_password,
    forget_first_password,
    list_reviewers,
)
from consultant.settings import Settings
from consultant.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    end_session,
    log_in,
    new_token,
    rotate_sessions,
    tokens_match,
)
from consultant.web.deps import (
    ACCOUNT_URL,
    DB,
    AnyPageLogin,
    ClientAddress,
    PageLogin,
    SettingsDep,
    safe_next,
)
from consultant.web.refusals import status_of

router = APIRouter(include_in_schema=False)
STATES = [state.value for state in CaseState]


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render console page `name` with the login and its CSRF token in reach."""
    login = getattr(request.state, "login", None)
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {"login": login, **context}, status_code=status
    )
    return response


def back(url: str, message: str = "") -> RedirectResponse:
    """Post/redirect/get: after a change, show the page again (with a notice)."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(url + (f"{sep}notice={quote(message)}" if message else ""), 303)


def secure(settings: Any) -> bool:
    return str(settings.web_base_url).startswith("https://")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login")
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    token = new_token()
    page = render(request, "login.html.j2", csrf=token, next=safe_next(next), error="")
    page.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(settings)
    )
    return page


@router.post("/login")
def login(
    request: Request,
    session: DB,
    settings: SettingsDep,
    client: ClientAddress,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise HTTPException(403, "the login form expired; reload the page and try again")
    outcome = log_in(session, settings, email, password, client)
    if outcome.wait:
        message = f"Too many failed logins. Try again in {outcome.wait} s."
        return _login_again(request, 429, message)
    if outcome.token is None:
        return _login_again(request, 401, outcome.refused or "Wrong address or password.")
    target = ACCOUNT_URL if outcome.one_time else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings, outcome.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The session cookie, for the login form, the API login and a password change."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_lifetime),
        httponly=True,
        samesite="lax",
        secure=secure(settings),
    )


def _login_again(request: Request, status: int, error: str) -> Response:
    token = new_token()
    page = render(request, "login.html.j2", status, csrf=token, next="/", error=error)
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return page


@router.post("/logout")
def logout(login: AnyPageLogin, session: DB) -> Response:
    end_session(session, login)
    audit(session, login.reviewer.email, "logout", None)
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def queue(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    state: Annotated[list[str] | None, Query()] = None,
    assignee: str = "",
    code: str = "",
    notice: str = "",
) -> Response:
    states = tuple(s for s in state or [] if s in STATES) or None
    items = review_queue(session, settings, states=states, assignee=assignee, code=code)
    reviewers = [reviewer.email for reviewer in list_reviewers(session)]
    return render(
        request,
        "queue.html.j2",
        items=items,
        states=STATES,
        chosen=states or ("drafted", "in_review"),
        assignee=assignee,
        code=code,
        reviewers=reviewers,
        unassigned=UNASSIGNED,
        page_size=PAGE,
        notice=notice,
    )


@router.get("/account")
def account(request: Request, login: AnyPageLogin, notice: str = "") -> Response:
    return render(request, "account.html.j2", notice=notice, error="")


@router.post("/account/password")
def change_password(
    request: Request,
    login: AnyPageLogin,
    session: DB,
    settings: SettingsDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    repeat: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Choose a new password; other sessions end, this one gets a new cookie and CSRF token."""
    reviewer = session.get_one(Reviewer, login.reviewer.id)
    try:
        change_own_password(session, reviewer, current, new, repeat)
    except ReviewerError as error:
        session.rollback()
        return render(request, "account.html.j2", status_of(error), notice="", error=str(error))
    token = rotate_sessions(session, settings, reviewer)
    session.commit()
    forget_first_password(settings, reviewer.email)
    response = back(ACCOUNT_URL, "Password changed.")
    set_session_cookie(response, settings, token)
    return response
