"""Every way a one-time password is made (the CLI's add and set-password, the admin
page's add and reset, the admin API's add) gives one that works once: its login
leads only to the password change, and a second login with it is refused with a
message saying why, even while the first session has not chosen a password yet.
(The first admin's, from `consultant up`: tests/integration/test_first_admin.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consultant.cli.reviewers import reviewers
from consultant.db.models import AuditEntry, LoginFailure, Reviewer
from consultant.db.session import session_scope
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from consultant.web.app import API_PREFIX
from consultant.web.auth import CSRF_HEADER
from tests.unit.web.conftest import ADMIN, csrf_of

NINA = "nina@desk.example"
USED = "This one-time password was used already: it opens one login only."
CHOSEN = "nina-chose-this-one"
PASSWORD_ON_PAGE = re.compile(r'<code class="password">([^<]+)</code>')
PRINTED = re.compile(r"one-time password for nina@desk\.example: (\S+)")
Login = Callable[[tuple[str, str]], tuple[TestClient, str]]


def _nina_with_a_password(settings: Settings) -> int:
    with session_scope(settings) as session:
        return add_reviewer(session, NINA, password="ninas-old-password").reviewer.id


def _printed(args: list[str]) -> str:
    result = CliRunner().invoke(reviewers, args)
    assert result.exit_code == 0, result.output
    found = PRINTED.search(result.output)
    assert found, result.output
    return found.group(1)


def cli_add(settings: Settings, client_for: Login) -> str:
    return _printed(["add", NINA])


def cli_set_password(settings: Settings, client_for: Login) -> str:
    _nina_with_a_password(settings)
    return _printed(["set-password", NINA])


def _on_page(html: str) -> str:
    found = PASSWORD_ON_PAGE.search(html)
    assert found, html
    return found.group(1)


def admin_page_add(settings: Settings, client_for: Login) -> str:
    admin, csrf = client_for(ADMIN)
    return _on_page(admin.post("/admin/reviewers", data={"csrf_token": csrf, "email": NINA}).text)


def admin_page_reset(settings: Settings, client_for: Login) -> str:
    nina_id = _nina_with_a_password(settings)
    admin, csrf = client_for(ADMIN)
    reset = admin.post(f"/admin/reviewers/{nina_id}/password", data={"csrf_token": csrf})
    return _on_page(reset.text)


def admin_api_add(settings: Settings, client_for: Login) -> str:
    admin, csrf = client_for(ADMIN)
    added = admin.post(f"{API_PREFIX}/reviewers", json={"email": NINA}, headers={CSRF_HEADER: csrf})
    assert added.status_code == 201, added.text
    password: str = added.json()["one_time_password"]
    return password


ORIGINS = [cli_add, cli_set_password, admin_page_add, admin_page_reset, admin_api_add]


def form_login(client: TestClient, password: str) -> tuple[int, str, str]:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": NINA, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", ""), response.text


def _audited(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        query = select(AuditEntry.action).where(AuditEntry.actor == NINA).order_by(AuditEntry.id)
        return list(session.scalars(query))


@pytest.mark.parametrize("origin", ORIGINS, ids=lambda origin: origin.__name__)
def test_a_one_time_password_opens_one_login_that_can_only_choose_a_password(
    origin: Callable[[Settings, Login], str], app: FastAPI, client_for: Login, console_db: Settings
) -> None:
    one_time = origin(console_db, client_for)
    first = TestClient(app, base_url="http://testserver")
    assert form_login(first, one_time)[:2] == (303, "/account")
    assert first.get("/", follow_redirects=False).headers["location"] == "/account"
    assert first.get(f"{API_PREFIX}/cases").status_code == 403
    page = first.get("/account").text
    assert "Choose your own password before anything else" in page
    assert 'href="/outbox"' not in page  # no way around it is offered

    with TestClient(app, base_url="http://testserver") as again:  # the first never changed it
        status, _, text = form_login(again, one_time)
        assert status == 401 and USED in text
        assert again.get("/", follow_redirects=False).headers["location"].startswith("/login")
    with TestClient(app) as api:
        refused = api.post(f"{API_PREFIX}/session", json={"email": NINA, "password": one_time})
        assert refused.status_code == 401 and USED in refused.json()["detail"]
    assert _audited(console_db)[-3:] == ["login.one_time", *["login.one_time_reused"] * 2]
    with session_scope(console_db) as session:  # knowing it is no guess: nothing throttled
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0

    csrf = csrf_of(first.get("/account").text)
    form = {"csrf_token": csrf, "new": CHOSEN, "repeat": CHOSEN}
    assert first.post("/account/password", data=form, follow_redirects=False).status_code == 303
    assert first.get("/", follow_redirects=False).status_code == 200
    with TestClient(app, base_url="http://testserver") as later:
        assert form_login(later, one_time)[0] == 401  # replaced: now simply wrong
        assert form_login(later, CHOSEN)[:2] == (303, "/")
    first.close()


def test_a_new_one_time_password_works_once_again_after_the_used_one(
    app: FastAPI, client_for: Login, console_db: Settings
) -> None:
    used = cli_add(console_db, client_for)
    with TestClient(app, base_url="http://testserver") as first:
        assert form_login(first, used)[:2] == (303, "/account")
    fresh = _printed(["set-password", NINA])  # the admin's answer to "used already"
    with TestClient(app, base_url="http://testserver") as nina:
        assert form_login(nina, used)[0] == 401
        assert form_login(nina, fresh)[:2] == (303, "/account")
        assert form_login(nina, fresh)[0] == 401
    with session_scope(console_db) as session:
        row = session.execute(select(Reviewer).where(Reviewer.email == NINA)).scalar_one()
        assert row.must_change_password and row.one_time_used_at is not None
