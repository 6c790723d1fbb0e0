"""A reviewer's whole turn on one case, counted: from the queue to the next case.

On the production profile (PostgreSQL, Redis as the broker, `consultant web`), with
the fee schedule and the NCCI PTP subset loaded, three coding questions are drafted.
The reviewer opens the queue, opens the first case, reads the proposed answer,
adds one sentence, previews the mail and approves it, and lands on the next case.
Every click and key press goes through `Counted`, so the test states what the
turn costs; the typed sentence is counted apart, in characters.

The first screen is asserted at 1366x900 and at 1024x900: the asker's new text,
the verdicts, the answer editor and the Approve button lie inside the viewport
without scrolling, and nothing scrolls sideways. Screenshots of the queue and the
case page at both sizes are written to the test's temporary folder, with the
counts (turn.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from consultant.codes.importers import import_file
from consultant.db.models import OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.browser.conftest import Console, add_login, log_in, process_mail
from tests.conftest import cms_files

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]

QUESTIONS = (
    "Can I bill 99214 with 20610 and do I need a modifier? DOS 9/3/2024",
    "Is 20610 payable with 27447 on the same knee? Date of service 9/4/2024",
    "Office visit 99213 and a joint injection 20610 the same day, modifier? DOS 9/5/2024",
)
SENTENCE = "Document the visit apart from the injection note. "
FIRST_SCREEN = ("#question pre.newtext", "#verdicts", "#answer-text", "#approve")


@dataclass
class Counted:
    """The reviewer's input, each action counted."""

    page: Page
    clicks: int = 0
    keys: list[str] = field(default_factory=list)
    typed: int = 0

    def click(self, target: Locator) -> None:
        self.clicks += 1
        target.click()

    def press(self, key: str) -> None:
        self.keys.append(key)
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.typed += len(text)
        self.page.keyboard.type(text)


def _ask(settings: Settings, number: int, text: str) -> str:
    mail = EmailMessage()
    mail["From"] = f"Coder {number} <coder{number}@clinic.example>"
    mail["To"], mail["Subject"] = "consult@localhost", f"Coding question {number}"
    mail["Message-ID"] = f"<flow-{number}@clinic.example>"
    mail.set_content(f"Hello,\n\n{text}\n\nThanks,\nCoder {number}\n")
    return process_mail(settings, bytes(mail))


def _inside(page: Page, selector: str, height: int) -> tuple[float, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (selector, box)
    return box["y"], box["y"] + box["height"]


def _first_screen(page: Page, width: int, height: int) -> dict[str, tuple[float, float]]:
    """Where the first screen's parts lie; each inside the viewport, no sideways scroll."""
    assert page.evaluate("window.scrollY") == 0
    found = {selector: _inside(page, selector, height) for selector in FIRST_SCREEN}
    for summary in ("Ask the sender", "Reject"):
        box = page.locator("summary", has_text=summary).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, (summary, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    return found


def _to_paragraph(counted: Counted, editor: Locator, start: int) -> None:
    """From the top of the editor, arrow down to the line where the answer starts."""
    counted.press("Control+Home")
    for _ in range(40):
        if editor.evaluate("e => e.selectionStart") >= start:
            break
        counted.press("ArrowDown")
    assert editor.evaluate("e => e.selectionStart") == start


def _other_shortcuts(page: Page, console: Console, refs: list[str]) -> None:
    """? shows the list of shortcuts, f unfolds everything below, n goes to the next case."""
    opened = "e => e.open"
    page.keyboard.press("?")
    assert page.locator("details#shortcuts").evaluate(opened)
    assert page.locator("details#history").evaluate(opened) is False
    page.keyboard.press("f")
    assert all(d.evaluate(opened) for d in page.locator("#facts details").all())
    page.keyboard.press("f")
    assert not any(d.evaluate(opened) for d in page.locator("#facts details").all())
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url == f"{console.base_url}/cases/{refs[1]}", page.url


def test_a_turn_from_the_queue_to_the_next_case_costs_one_click_and_a_few_keys(
    production: Settings,
    start_console: Callable[..., Console],
    chromium: Browser,
    tmp_path: Path,
) -> None:
    with session_scope(production) as session:
        import_file(session, "pfs", cms_files()["pfs"])
        import_file(session, "ncci-ptp", cms_files()["ncci-ptp"])
    refs = [_ask(production, n, text) for n, text in enumerate(QUESTIONS, 1)]
    add_login(production)
    console = start_console()
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, console)
    page.screenshot(path=str(tmp_path / "queue-1366.png"))
    counted = Counted(page)

    with page.expect_navigation():
        counted.click(page.get_by_role("link", name=refs[0], exact=True))
    layout = _first_screen(page, 1366, 900)
    page.screenshot(path=str(tmp_path / "case-1366.png"))
    editor = page.locator("#answer-text")
    proposed = editor.input_value()
    assert "modifier 25" in proposed and "[[EXPERT ANSWER" not in proposed
    start = proposed.index("99214 with 20610")  # the proposed answer's first paragraph
    start = proposed.rindex("\n\n", 0, start) + 2

    counted.press("e")
    assert page.evaluate("document.activeElement.id") == "answer-text"
    _to_paragraph(counted, editor, start)
    counted.type(SENTENCE)
    counted.press("Control+Shift+P")
    page.frame_locator("iframe.preview").get_by_text(SENTENCE.strip()).wait_for()
    assert page.url.endswith(f"/cases/{refs[0]}")  # previewed in place
    with page.expect_navigation():
        counted.press("Control+Enter")

    assert f"/cases/{refs[1]}?" in page.url, page.url
    assert f"Approved {refs[0]}" in page.get_by_role("status").inner_text()
    with session_scope(production) as session:
        (row,) = session.scalars(select(OutboundMessage)).all()
    assert SENTENCE.strip().encode() in row.raw.replace(b"=\r\n", b"").replace(b"=\n", b"")
    shortcuts = [key for key in counted.keys if key not in ("ArrowDown", "Control+Home")]
    turn = {
        "clicks": counted.clicks,
        "keys": len(counted.keys),
        "shortcut_keys": shortcuts,
        "caret_moves": len(counted.keys) - len(shortcuts),
        "characters_typed": counted.typed,
        "first_screen_1366": layout,
    }
    assert counted.clicks == 1 and shortcuts == ["e", "Control+Shift+P", "Control+Enter"]

    narrow = chromium.new_context(viewport={"width": 1024, "height": 900})
    small = narrow.new_page()
    log_in(small, console)
    small.screenshot(path=str(tmp_path / "queue-1024.png"))
    small.goto(f"{console.base_url}/cases/{refs[2]}")
    turn["first_screen_1024"] = _first_screen(small, 1024, 900)
    small.screenshot(path=str(tmp_path / "case-1024.png"))
    _other_shortcuts(small, console, refs)
    (tmp_path / "turn.json").write_text(json.dumps(turn, indent=2))
    print(f"\nreviewer turn: {json.dumps(turn)}\nscreenshots in {tmp_path}")
    narrow.close()
    context.close()
