"""The whole loop with a reviewer in a real browser, on the production profile.

PostgreSQL and Redis, a real Celery worker, the SMTP intake, `consultant web`,
and an aiosmtpd relay: a question arrives by SMTP and is drafted by the worker;
the reviewer logs in, finds it in the queue, rewrites the answer, previews it
and approves it; the worker delivers exactly that answer, threaded onto the
question, to the relay; the case page then shows the case sent.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from consultant.db.models import Case, CaseState, Draft, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.browser.conftest import Console, add_login, case_row, log_in
from tests.conftest import mail_bytes
from tests.integration.conftest import Child, Sink, start_worker_and_intake, use_relay, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]

ASKER = "dana.biller@example-clinic.org"
QUESTION_ID = "<q1-20261124.091500@example-clinic.org>"  # simple_question.eml


def _drafts(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(Draft)) or 0)


def test_a_reviewer_edits_previews_and_approves_an_answer_in_the_browser(
    production: Settings,
    env: dict[str, str],
    relay_sink: Sink,
    spawn: Callable[..., Child],
    start_console: Callable[..., Console],
    page: Page,
) -> None:
    use_relay(env, relay_sink)
    add_login(production)
    start_worker_and_intake(spawn, production)
    console = start_console()
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.sendmail(ASKER, ["consult@localhost"], mail_bytes("simple_question.eml"))
    wait_for(lambda: _drafts(production) == 1, "the question's draft", 120)
    with session_scope(production) as session:
        ref = str(session.scalar(select(Case.ref)))

    log_in(page, console)
    row = page.locator("table.queue tr", has=page.get_by_role("link", name=ref))
    assert "20700 27447 M86.161" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name=ref).click()
    assert page.url == f"{console.base_url}/cases/{ref}"
    assert page.locator("h1 .state").inner_text() == "drafted"

    marker = f"EDITED-{uuid.uuid4().hex[:12]}"
    answer = (
        "Hello Dana,\n\n"
        f"Yes: report 20700 with 27447; modifier 59 is not needed. ({marker})\n\n"
        "Kind regards,\nThe coding desk\n"
    )
    page.locator("textarea[name=text]").fill(answer)
    page.get_by_role("button", name="Preview").click()  # into the frame: no page load
    preview = page.frame_locator("iframe.preview")
    preview.get_by_text(marker).wait_for()
    assert marker in page.locator("textarea[name=text]").input_value()  # the edit survives
    assert _drafts(production) == 1  # a preview saves nothing

    with page.expect_navigation():
        page.get_by_role("button", name="Approve and send").click()
    # The only case: the reviewer lands back on the queue, told what became of it.
    assert page.url.startswith(f"{console.base_url}/?"), page.url
    notice = page.get_by_role("status").inner_text()
    assert f"Approved {ref}: the answer is on its way." in notice, notice
    assert "No other case is waiting." in notice
    page.goto(f"{console.base_url}/cases/{ref}")
    assert page.locator("h1 .state").inner_text() in ("approved", "sent")

    wait_for(lambda: relay_sink.envelopes, "the answer at the relay", 120)
    wait_for(
        lambda: case_row(production, ref).state == CaseState.SENT, "the case to be marked sent"
    )
    with session_scope(production) as session:
        outbound = list(session.scalars(select(OutboundMessage)))
    assert [(o.kind, o.state) for o in outbound] == [("answer", "sent")]
    assert len(relay_sink.envelopes) == 1
    envelope = relay_sink.envelopes[0]
    assert envelope.rcpt_tos == [ASKER]
    reply = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
    assert isinstance(reply, EmailMessage)
    assert reply["In-Reply-To"] == QUESTION_ID
    assert ref in reply["Subject"]
    text = reply.get_body(preferencelist=("plain",))
    assert text is not None and marker in text.get_content()

    page.reload()
    assert page.locator("h1 .state").inner_text() == "sent"
    sent_row = page.locator("#outbound tbody tr")
    assert sent_row.count() == 1
    assert "answer" in sent_row.inner_text() and "sent" in sent_row.inner_text()
    assert page.locator("textarea[name=text]").count() == 0  # a sent case is not editable
    assert marker in page.locator("pre.answer").inner_text()
