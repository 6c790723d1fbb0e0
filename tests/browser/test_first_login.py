"""A first login with a one-time password, in Chromium at 1366x900 as a new reviewer
sees it: it lands on the password change with nothing else to click, every other
page leads back there, a second login with the same password (from another
browser, before any change) is refused saying why, and the chosen password opens
the console and ends nothing but the one-time session's old cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from consultant.db.session import session_scope
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.browser.conftest import Console, fill_login

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration

NINA = "nina@desk.example"
CHOSEN = "nina-chose-this-one"


def test_a_one_time_password_opens_only_the_password_change_and_only_once(
    migrated: Settings, chromium: Browser, start_console: Callable[..., Console]
) -> None:
    with session_scope(migrated) as session:
        one_time = add_reviewer(session, NINA).one_time_password
    assert one_time is not None
    console = start_console()
    first = chromium.new_context(viewport={"width": 1366, "height": 900})
    other = chromium.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = first.new_page()
        page.goto(f"{console.base_url}/")
        assert fill_login(page, (NINA, one_time)) == 303
        assert page.url == f"{console.base_url}/account"
        assert "Choose your own password before anything else" in page.content()
        assert page.get_by_role("link", name="Queue").count() == 0
        for elsewhere in ("/", "/outbox", "/search"):
            page.goto(f"{console.base_url}{elsewhere}")
            assert page.url == f"{console.base_url}/account", elsewhere

        again = other.new_page()
        again.goto(f"{console.base_url}/login")
        assert fill_login(again, (NINA, one_time)) == 401
        assert "This one-time password was used already" in _alert(again)

        _choose(page, CHOSEN)
        assert "Password changed." in page.content()
        page.goto(f"{console.base_url}/")
        assert page.get_by_role("heading", name="Queue").is_visible()
        assert fill_login(again, (NINA, CHOSEN)) == 303
        assert again.get_by_role("heading", name="Queue").is_visible()
    finally:
        first.close()
        other.close()


def _alert(page: Page) -> str:
    return page.get_by_role("alert").inner_text()


def _choose(page: Page, password: str) -> None:
    page.get_by_label("New password (12 characters or more)").fill(password)
    page.get_by_label("New password again").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()
