"""Attachments viewed in a sandboxed frame: Chromium draws the image and the PDF's
pages, shows an HTML attachment's script as text and runs none of it, fetches
nothing else, and lets only a page of the console itself frame the view.

The host page that frames a view is served to the browser at a console URL by
Playwright's request routing, so the frame's request and its response headers are
the console's own; the same host page on another local port is the control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.attachment_mail import NAMES, question_with_attachments
from tests.browser.conftest import Console, Site, add_login, log_in, process_mail, settle

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Frame, Page, Route

pytestmark = pytest.mark.integration

CANARY = "PWNED"
HOSTILE = (
    f"<html><body><p>Op note</p><script>alert('{CANARY}'); document.title='{CANARY}';"
    f"window.name='{CANARY}'; fetch('/{CANARY}');</script>"
    f"<img src=x onerror=\"alert('{CANARY}')\"></body></html>"
)
HTML_INDEX = len(NAMES)  # attached after NAMES


def host(views: list[str]) -> str:
    frame = '<iframe sandbox src="{}" width="900" height="600"></iframe>'
    frames = "".join(frame.format(url) for url in views)
    return f"<!doctype html><title>host</title>{frames}"


def view_frame(page: Page, url: str) -> Frame:
    found = [frame for frame in page.frames if frame.url.endswith(url)]
    assert found, [frame.url for frame in page.frames]
    return found[0]


@pytest.fixture
def views(migrated: Settings) -> list[str]:
    """The view URLs of the PDF, the image and the HTML attachment of a processed mail."""
    mail = question_with_attachments("browser-attach", pdf_pages=2)
    mail.add_attachment(HOSTILE, subtype="html", filename="op note.html")
    add_login(migrated)
    ref = process_mail(migrated, bytes(mail))
    with session_scope(migrated) as session:
        inbound_id = session.scalars(
            select(InboundMessage.id).where(InboundMessage.rfc_message_id == mail["Message-ID"])
        ).one()
    base = f"/cases/{ref}/mail/{inbound_id}/attachments"
    indexes = (NAMES.index("op-note.pdf"), NAMES.index("knee.png"), HTML_INDEX)
    return [f"{base}/{index}/view" for index in indexes]


def test_a_console_page_frames_attachments_that_show_and_run_nothing(
    views: list[str],
    page: Page,
    context: BrowserContext,
    start_console: Callable[..., Console],
) -> None:
    console = start_console()
    log_in(page, console)
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    context.on("request", lambda r: requests.append(r.url))

    def serve_host(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=host(views))

    page.route(f"{console.base_url}/frame-host", serve_host)
    page.goto(f"{console.base_url}/frame-host")
    page.wait_for_load_state("networkidle")

    pdf, image, text = (view_frame(page, url) for url in views)
    widths = pdf.locator("img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert widths == [1000, 1000]
    assert image.locator("img").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [40, 30]
    shown = text.locator("pre").inner_text()
    assert f"<script>alert('{CANARY}');" in shown  # the script is text on the page
    assert text.locator("script, img").count() == 0
    settle(page, lambda: True, "the frames to have had their chance to run")
    assert dialogs == []
    assert page.title() == "host"
    assert text.evaluate("document.title") == "op note.html"
    assert text.evaluate("window.name") == ""
    asked = [url.removeprefix(console.base_url) for url in requests]
    assert sorted(asked) == sorted(["/frame-host", *views]), asked


def test_a_page_of_another_origin_cannot_frame_a_view(
    views: list[str],
    page: Page,
    start_console: Callable[..., Console],
    local_site: Callable[[], Site],
) -> None:
    console = start_console()
    log_in(page, console)
    other = local_site()
    other.pages["/host.html"] = host([f"{console.base_url}{views[1]}"]).encode()
    page.goto(f"{other.origin}/host.html")
    page.wait_for_load_state("networkidle")
    framed = [frame for frame in page.frames if frame != page.main_frame]
    assert len(framed) == 1
    # Refused by frame-ancestors 'self' (and X-Frame-Options): Chromium's error page.
    assert framed[0].url.startswith("chrome-error://"), framed[0].url
