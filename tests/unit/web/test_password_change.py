"""Changing one's password ends one's other sessions and rotates this one: a new
cookie and CSRF token, and the old cookie opens nothing (console, API and CLI)."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consultant.cli.reviewers import reviewers
from consultant.db.models import Reviewer, WebSession
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import API_PREFIX
from consultant.web.auth import CSRF_HEADER, SESSION_COOKIE
from tests.unit.web.conftest import OTHER, REVIEWER, csrf_of

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
NEW = "rita-has-a-new-one"


def sessions_of(settings: Settings, email: str) -> int:
    with session_scope(settings) as session:
        reviewer_id = session.scalar(select(Reviewer.id).where(Reviewer.email == email))
        count = session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.reviewer_id == reviewer_id)
        )
    return count or 0


def with_cookie(app: FastAPI, token: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def test_the_account_page_change_ends_other_sessions_and_rotates_this_one(
    client_for: Login, app: FastAPI, console_db: Settings
) -> None:
    elsewhere, _ = client_for(REVIEWER)
    otto, _ = client_for(OTHER)
    rita, csrf = client_for(REVIEWER)
    old_cookie = rita.cookies[SESSION_COOKIE]
    assert sessions_of(console_db, REVIEWER[0]) == 2

    changed = rita.post(
        "/account/password",
        data={"csrf_token": csrf, "current": REVIEWER[1], "new": NEW, "repeat": NEW},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    assert rita.cookies[SESSION_COOKIE] != old_cookie
    assert "Password changed." in rita.get(changed.headers["location"]).text
    new_csrf = csrf_of(rita.get("/").text)
    assert new_csrf != csrf
    assert sessions_of(console_db, REVIEWER[0]) == 1

    assert elsewhere.get("/", follow_redirects=False).status_code == 303  # logged out
    with with_cookie(app, old_cookie) as thief:
        assert thief.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert otto.get("/", follow_redirects=False).status_code == 200  # others keep theirs
    stale = rita.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert stale.status_code == 403  # the old CSRF token went with the old session


def test_a_wrong_current_password_changes_nothing_and_ends_nothing(
    client_for: Login, console_db: Settings
) -> None:
    elsewhere, _ = client_for(REVIEWER)
    rita, csrf = client_for(REVIEWER)
    refused = rita.post(
        "/account/password",
        data={"csrf_token": csrf, "current": "not-my-password", "new": NEW, "repeat": NEW},
    )
    assert refused.status_code == 422 and "The current password is wrong." in refused.text
    assert sessions_of(console_db, REVIEWER[0]) == 2
    assert elsewhere.get("/", follow_redirects=False).status_code == 200


def test_the_api_change_rotates_the_session_and_its_csrf_token(
    app: FastAPI, client_for: Login, console_db: Settings
) -> None:
    elsewhere, _ = client_for(REVIEWER)
    with TestClient(app) as api:
        login = api.post(
            f"{API_PREFIX}/session", json={"email": REVIEWER[0], "password": REVIEWER[1]}
        )
        old_cookie, old_csrf = api.cookies[SESSION_COOKIE], login.json()["csrf_token"]
        wrong = api.post(
            f"{API_PREFIX}/session/password",
            json={"current": "not-my-password", "new": NEW},
            headers={CSRF_HEADER: old_csrf},
        )
        assert wrong.status_code == 422 and "current password is wrong" in wrong.json()["detail"]
        changed = api.post(
            f"{API_PREFIX}/session/password",
            json={"current": REVIEWER[1], "new": NEW},
            headers={CSRF_HEADER: old_csrf},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["csrf_token"] != old_csrf
        assert api.cookies[SESSION_COOKIE] != old_cookie
        assert api.get(f"{API_PREFIX}/me").json()["csrf_token"] == changed.json()["csrf_token"]
    assert sessions_of(console_db, REVIEWER[0]) == 1
    assert elsewhere.get(f"{API_PREFIX}/me").status_code == 401
    with with_cookie(app, old_cookie) as thief:
        assert thief.get(f"{API_PREFIX}/me").status_code == 401


def test_the_cli_set_password_ends_every_session(client_for: Login, console_db: Settings) -> None:
    rita, _ = client_for(REVIEWER)
    result = CliRunner().invoke(
        reviewers, ["set-password", REVIEWER[0], "--password-stdin"], input=NEW + "\n"
    )
    assert result.exit_code == 0, result.output
    assert sessions_of(console_db, REVIEWER[0]) == 0
    assert rita.get("/", follow_redirects=False).status_code == 303
