"""Login throttling seen from the browser: after CONSULTANT_LOGIN_ATTEMPTS failures
the login form refuses every attempt, the right password too, until the failures
leave the window. The window (15 minutes by default) is passed by ageing the
recorded failures in the database, not by waiting."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from consultant.db.models import LoginFailure
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.browser.conftest import REVIEWER, Console, add_login, fill_login

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

ATTEMPTS = 3


def alert(page: Page) -> str:
    return page.get_by_role("alert").inner_text()


def test_wrong_passwords_lock_the_login_until_the_window_passes(
    migrated: Settings, page: Page, start_console: Callable[..., Console]
) -> None:
    add_login(migrated)
    console = start_console(CONSULTANT_LOGIN_ATTEMPTS=str(ATTEMPTS))
    page.goto(f"{console.base_url}/login")
    for attempt in range(ATTEMPTS):
        assert fill_login(page, (REVIEWER[0], f"wrong-password-{attempt}")) == 401
        assert alert(page) == "Wrong address or password."

    assert fill_login(page, (REVIEWER[0], "wrong-password-again")) == 429
    assert "Too many failed logins" in alert(page)
    assert fill_login(page, REVIEWER) == 429  # the right password is refused too
    message = alert(page)
    assert "Too many failed logins" in message
    wait = re.search(r"Try again in (\d+) s", message)
    assert wait and 0 < int(wait.group(1)) <= migrated.login_window, message
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/login"), "no session was opened"

    with session_scope(migrated) as session:
        failures = list(session.scalars(select(LoginFailure)))
        assert failures
        for failure in failures:
            failure.at -= timedelta(seconds=migrated.login_window)

    assert fill_login(page, REVIEWER) == 303
    assert page.url == f"{console.base_url}/"
    assert page.get_by_role("heading", name="Queue").is_visible()
