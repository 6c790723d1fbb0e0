"""Hostile HTML in a question mail executes nothing and fetches nothing in the console.

The mail (data/hostile_html.eml) carries scripts, event handlers, javascript:
links and frames, a meta refresh, a form and remote images pointing at a local
"tracker" site. Every script in it would raise a dialog, write a canary into
the window's name or title, or call the tracker. A control test shows the same
HTML does all of that when a browser opens it as a plain page, so silence in
the console is the console's doing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from consultant.settings import Settings
from tests.browser.conftest import (
    DATA,
    Console,
    Site,
    add_login,
    launch,
    log_in,
    process_mail,
    settle,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Page,
        Request,
    )

pytestmark = pytest.mark.integration

CANARY = "PWNED"


def hostile_mail(tracker: Site) -> bytes:
    raw = (DATA / "hostile_html.eml").read_bytes()
    return raw.replace(b"__TRACKER__", f"127.0.0.1:{tracker.port}".encode())


def html_part(raw: bytes) -> bytes:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content()).encode()


@dataclass
class Watch:
    """Everything the browser does that a hostile page could cause."""

    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, context: BrowserContext, page: Page) -> Watch:
        watch = cls()

        def dialog(d: Dialog) -> None:
            watch.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        def message(m: ConsoleMessage) -> None:
            watch.console.append(f"{m.type}: {m.text}")

        def request(r: Request) -> None:
            watch.requests.append(r.url)

        page.on("dialog", dialog)
        page.on("console", message)
        context.on("request", request)  # the page, its frames and any popup
        context.on("page", lambda p: watch.popups.append(p.url))
        return watch


def test_the_hostile_html_does_run_when_opened_as_a_plain_page(
    chromium: Browser, local_site: Callable[[], Site]
) -> None:
    """Control: outside the console the same HTML raises dialogs and calls the tracker.

    The page runs in a browser of its own: it is built to misbehave, and Chromium
    has been seen to crash on it once its scripts had run (in CI, after this test's
    checks had passed), which took the module's browser and the next test with it.
    """
    tracker = local_site()
    tracker.pages["/raw.html"] = html_part(hostile_mail(tracker))
    browser = launch(chromium.browser_type)
    try:
        context = browser.new_context()
        page = context.new_page()
        watch = Watch.on(context, page)
        page.goto(f"{tracker.origin}/raw.html", wait_until="commit")
        settle(
            page,
            lambda: (
                watch.dialogs and "/pixel.gif" in tracker.paths() and "/script" in tracker.paths()
            ),
            "the hostile HTML to raise a dialog and call the tracker",
        )
        assert any(CANARY in d for d in watch.dialogs), watch.dialogs
    finally:
        if browser.is_connected():
            browser.close()


def test_hostile_html_in_a_mail_runs_nothing_and_fetches_nothing(
    migrated: Settings,
    page: Page,
    context: BrowserContext,
    start_console: Callable[..., Console],
    local_site: Callable[[], Site],
) -> None:
    tracker = local_site()
    add_login(migrated)
    ref = process_mail(migrated, hostile_mail(tracker))
    console = start_console()
    watch = Watch.on(context, page)
    log_in(page, console)

    page.goto(f"{console.base_url}/cases/{ref}")
    title = f"{ref} · consultant"
    assert page.title() == title
    mail_frame = page.locator("iframe.mailhtml")
    assert not mail_frame.is_visible()  # inside closed <details> until the reviewer opens them
    page.locator("#thread > summary").click()  # the thread's mail, folded below the first screen
    assert not mail_frame.is_visible()
    summary = page.locator("summary", has_text="As the sender's mail program showed it")
    assert "remote image(s) blocked" in summary.inner_text()
    summary.click()
    mail_frame.wait_for(state="visible")
    sandbox = (mail_frame.get_attribute("sandbox") or "").split()
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox, sandbox

    frame = page.frame_locator("iframe.mailhtml")
    frame.get_by_text("Can 99213 go with 36415 on the same day?").wait_for()
    page.wait_for_load_state("load")
    # Click everything a reviewer might click in the mail.
    for text in ("Open the payer policy", "Open the data link", "Submit the survey", "More"):
        target = frame.get_by_text(text, exact=True)
        if target.count():
            target.first.click()
    page.wait_for_load_state("networkidle")  # Playwright's quiet network: 500 ms without requests

    assert watch.dialogs == []
    assert watch.popups == []
    assert page.url == f"{console.base_url}/cases/{ref}"
    assert page.title() == title
    assert page.evaluate("window.name") == ""
    assert not [m for m in watch.console if CANARY in m], watch.console
    assert tracker.hits == []
    foreign = [
        url
        for url in watch.requests
        if urlsplit(url).scheme not in ("about", "data")
        and urlsplit(url).netloc != f"127.0.0.1:{console.port}"
    ]
    assert foreign == [], foreign
    # The frame shows the mail's text and none of its active parts.
    assert frame.locator("script, iframe, object, embed, form, svg, meta, base").count() == 0
    assert frame.locator("[onerror], [onload], [onfocus], [ontoggle]").count() == 0
    assert frame.locator("a").count() == 2  # the links are there, without their targets
    hrefs = frame.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == [], hrefs
