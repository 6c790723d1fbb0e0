"""One-time passwords work once: the first login uses them up and may do nothing but
choose a new password (console and API); a second login with them fails; a password
the reviewer chose is not one-time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import AuditEntry, Reviewer
from consultant.db.session import session_scope
from consultant.reviewers import add_reviewer, set_password
from consultant.settings import Settings
from consultant.web.app import API_PREFIX
from consultant.web.auth import CSRF_HEADER
from tests.unit.web.conftest import REVIEWER, csrf_of
from tests.unit.web.test_routes_require_login import concrete, endpoints

NINA = "nina@desk.example"
CHOSEN = "nina-chose-this-one"
# What a one-time password's session may still use.
ALLOWED = {
    ("GET", "/account"),
    ("POST", "/account/password"),
    ("POST", "/logout"),
    ("POST", f"{API_PREFIX}/session/password"),
    ("DELETE", f"{API_PREFIX}/session"),
}
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),  # its own Bearer token, no console session
    ("POST", f"{API_PREFIX}/session"),
}


@pytest.fixture
def one_time(console_db: Settings) -> str:
    """Nina, added without a password: her one-time password."""
    with session_scope(console_db) as session:
        created = add_reviewer(session, NINA, name="Nina")
    assert created.one_time_password
    return created.one_time_password


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def form_login(client: TestClient, email: str, password: str) -> tuple[int, str]:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", "")


def test_a_one_time_login_lands_on_the_account_page_and_a_second_login_is_refused(
    app: FastAPI, client: TestClient, one_time: str, console_db: Settings
) -> None:
    assert form_login(client, NINA, one_time) == (303, "/account")
    page = client.get("/account")
    assert "Choose your own password before anything else" in page.text
    assert 'name="current"' not in page.text  # the one-time password is used up
    with TestClient(app, base_url="http://testserver") as again:
        assert form_login(again, NINA, one_time)[0] == 401
        assert form_login(again, NINA, "a-wrong-guess-at-it")[0] == 401
    with TestClient(app) as api:
        login = api.post(f"{API_PREFIX}/session", json={"email": NINA, "password": one_time})
        assert login.status_code == 401 and "used already" in login.json()["detail"]
    with session_scope(console_db) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == NINA)).all()
    assert actions[0] == "login.one_time" and actions.count("login.one_time_reused") == 2
    assert actions.count("login.failed") == 1  # only the wrong guess counts as a failure


def test_a_one_time_session_reaches_nothing_but_the_password_change_and_logout(
    client: TestClient, one_time: str, app: FastAPI, case_ref: str
) -> None:
    form_login(client, NINA, one_time)
    csrf = csrf_of(client.get("/account").text)
    opened = []
    for method, path, _ in endpoints(app):
        if (method, path) in ALLOWED | PUBLIC:
            continue
        response = client.request(
            method, concrete(path, case_ref), headers={CSRF_HEADER: csrf}, follow_redirects=False
        )
        if path.startswith(API_PREFIX):
            blocked = response.status_code == 403 and "new password first" in response.text
        else:
            blocked = response.status_code == 303 and response.headers["location"] == "/account"
        if not blocked:
            opened.append(f"{method} {path}: {response.status_code}")
    assert not opened, "routes a one-time session could use:\n" + "\n".join(opened)


def test_choosing_a_password_opens_the_console_and_it_is_not_one_time(
    app: FastAPI, client: TestClient, one_time: str, console_db: Settings
) -> None:
    form_login(client, NINA, one_time)
    csrf = csrf_of(client.get("/account").text)
    short = client.post("/account/password", data={"csrf_token": csrf, "new": "x", "repeat": "x"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    changed = client.post(
        "/account/password",
        data={"csrf_token": csrf, "new": CHOSEN, "repeat": CHOSEN},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    for _ in range(2):  # her own password works again and again
        with TestClient(app, base_url="http://testserver") as again:
            assert form_login(again, NINA, CHOSEN) == (303, "/")
    with session_scope(console_db) as session:
        nina = session.execute(select(Reviewer).where(Reviewer.email == NINA)).scalar_one()
        assert nina.must_change_password is False and nina.password_changed_at is not None


def test_the_api_answers_a_one_time_session_403_until_it_chooses_a_password(
    app: FastAPI, one_time: str
) -> None:
    with TestClient(app) as api:
        login = api.post(f"{API_PREFIX}/session", json={"email": NINA, "password": one_time})
        assert login.status_code == 200 and login.json()["must_change_password"] is True
        headers = {CSRF_HEADER: login.json()["csrf_token"]}
        refused = api.get(f"{API_PREFIX}/cases")
        assert refused.status_code == 403
        assert "choose a new password first" in refused.json()["detail"]
        changed = api.post(f"{API_PREFIX}/session/password", json={"new": CHOSEN}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert changed.json()["must_change_password"] is False
        assert api.get(f"{API_PREFIX}/cases").status_code == 200


def test_passwords_the_reviewer_or_operator_typed_are_not_one_time(
    client: TestClient, console_db: Settings
) -> None:
    with session_scope(console_db) as session:
        rita = session.execute(select(Reviewer).where(Reviewer.email == REVIEWER[0])).scalar_one()
        assert rita.must_change_password is False  # added with a password
        assert set_password(session, rita, "typed-by-the-operator", "cli:ops") is None
        assert rita.must_change_password is False
        assert set_password(session, rita, None, "cli:ops") is not None
        assert rita.must_change_password is True
        set_password(session, rita, "typed-by-the-operator", "cli:ops")
    assert form_login(client, REVIEWER[0], "typed-by-the-operator") == (303, "/")
