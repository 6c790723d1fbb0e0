"""A POST without the session's CSRF token is refused, whoever builds it.

The foreign page is served from 127.0.0.1 on another port: another origin but
the same site, so the browser sends the console's SameSite=Lax session cookie
with its form. Only the missing token stands between it and the case: a 403
(not a redirect to the login form) shows the session arrived and was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from consultant.settings import Settings
from tests.browser.conftest import (
    Console,
    Site,
    add_login,
    case_row,
    log_in,
    process_mail,
)
from tests.conftest import mail_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration


def test_a_form_on_another_origin_cannot_claim_a_case(
    migrated: Settings,
    page: Page,
    start_console: Callable[..., Console],
    local_site: Callable[[], Site],
) -> None:
    add_login(migrated)
    ref = process_mail(migrated, mail_bytes("simple_question.eml"))
    console = start_console()
    claim = f"{console.base_url}/cases/{ref}/claim"
    foreign = local_site()
    foreign.pages["/prize.html"] = (
        "<!doctype html><title>You won</title>"
        f'<form method="post" action="{claim}">'
        '<input type="hidden" name="take_over" value="1">'
        '<button type="submit">Claim your prize</button></form>'
    ).encode()
    log_in(page, console)

    page.goto(f"{foreign.origin}/prize.html")
    with page.expect_response(claim) as answer:
        page.get_by_role("button", name="Claim your prize").click()
    assert answer.value.status == 403
    assert "consultant_session=" in (answer.value.request.all_headers().get("cookie") or "")
    page.wait_for_load_state()
    assert "missing or wrong CSRF token" in page.locator("main").inner_text()
    assert case_row(migrated, ref).assignee_id is None

    # The same request straight from the logged-in browser: no token, a forged one.
    for extra in ({}, {"csrf_token": "forged"}):
        refused = page.request.post(claim, form={"take_over": "1", **extra}, max_redirects=0)
        assert refused.status == 403, (extra, refused.status)
    refused = page.request.post(
        claim, form={"take_over": "1"}, headers={"X-CSRF-Token": "forged"}, max_redirects=0
    )
    assert refused.status == 403
    assert case_row(migrated, ref).assignee_id is None

    # The console's own form carries the token and works.
    page.goto(f"{console.base_url}/cases/{ref}")
    assert "assignee nobody" in page.locator(".case-head .meta").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Claim", exact=True).click()
    assert "Claimed: the case is yours." in page.get_by_role("status").inner_text()
    assert case_row(migrated, ref).assignee_id is not None
