"""The case page as a workbench: the question and the answer first, preview in the
frame without saving, the next case after an action, the rejection's two texts."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consultant.db.models import AuditEntry, Case, Draft, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.unit.web.conftest import OTHER, REVIEWER, ask

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]


def _form(settings: Settings, ref: str, csrf: str) -> dict[str, str]:
    with session_scope(settings) as session:
        draft = session.scalars(
            select(Draft).join(Case).where(Case.ref == ref).order_by(Draft.version.desc())
        ).first()
        assert draft is not None
        return {
            "csrf_token": csrf,
            "text": draft.body_text,
            "subject": draft.subject,
            "base_version": str(draft.version),
        }


def test_the_page_opens_with_the_question_the_verdicts_and_the_editor_first(
    client_for: Login, console_db: Settings
) -> None:
    ref = ask(console_db)
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{ref}").text
    order = [
        page.index(marker)
        for marker in (
            'id="question"',
            "Can I bill 99214 with 20610",
            'id="verdicts"',
            'id="answer-text"',
            "Approve and send",
            "Ask the sender",
            "Reject",
            'id="facts"',
            'id="thread"',
        )
    ]
    assert order == sorted(order), order
    # The fact sheet, rules, mail and history are folded; the shortcuts are documented.
    for fold in ('id="thread"', 'id="history"'):
        tag = page[page.rindex("<details", 0, page.index(fold)) : page.index(fold) + 40]
        assert " open" not in tag, tag
    assert "<kbd>?</kbd>" in page and '<script src="/static/console.js"' in page
    assert "--edit" not in page and "consultant cases" not in page  # no CLI wording


def test_preview_posts_into_the_frame_renders_the_html_part_and_saves_nothing(
    client_for: Login, console_db: Settings
) -> None:
    ref = ask(console_db)
    client, csrf = client_for(REVIEWER)
    page = client.get(f"/cases/{ref}").text
    assert f'formaction="/cases/{ref}/preview" formtarget="preview"' in page
    assert '<iframe class="preview" name="preview" sandbox' in page
    form = _form(console_db, ref, csrf) | {"text": "Hello,\n\nPREVIEW-MARK <b>not bold</b>\n"}
    shown = client.post(f"/cases/{ref}/preview", data=form)
    assert shown.status_code == 200 and "PREVIEW-MARK" in shown.text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in shown.text  # the answer's text, escaped
    policy = shown.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and shown.headers["x-frame-options"] == "SAMEORIGIN"
    with session_scope(console_db) as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 1
    refused = client.post(f"/cases/{ref}/preview", data={**form, "csrf_token": "forged"})
    assert refused.status_code == 403


def test_after_approving_the_reviewer_lands_on_the_next_case_in_queue_order(
    client_for: Login, console_db: Settings
) -> None:
    first, second, third = (ask(console_db, n) for n in (1, 2, 3))
    otto, otto_csrf = client_for(OTHER)
    claimed = otto.post(f"/cases/{second}/claim", data={"csrf_token": otto_csrf})
    assert claimed.status_code == 200  # Otto's: not in Rita's way
    client, csrf = client_for(REVIEWER)
    assert f'href="/cases/{third}" id="next-case"' in client.get(f"/cases/{first}").text

    done = client.post(
        f"/cases/{first}/draft",
        data=_form(console_db, first, csrf) | {"action": "approve", "text": "Yes, with 25.\n"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"/cases/{third}?")
    landed = client.get(done.headers["location"])
    assert f"Approved {first}: the answer is on its way." in landed.text

    last = client.post(
        f"/cases/{third}/reject",
        data={"csrf_token": csrf, "reason": "duplicate of an earlier case"},
        follow_redirects=False,
    )
    assert last.status_code == 303 and last.headers["location"].startswith("/?")
    assert "No other case is waiting" in client.get(last.headers["location"]).text
    assert client.get(f"/cases/{third}/next", follow_redirects=False).headers["location"] == "/"


def test_the_rejection_mails_only_the_words_for_the_asker(
    client_for: Login, console_db: Settings
) -> None:
    ref = ask(console_db)
    client, csrf = client_for(REVIEWER)
    page = client.get(f"/cases/{ref}").text
    form = page[page.index(f'action="/cases/{ref}/reject"') :].split("</form>", 1)[0]
    assert re.search(r"Internal reason[^<]*never mailed", form) and 'name="words"' in form
    client.post(
        f"/cases/{ref}/reject",
        data={
            "csrf_token": csrf,
            "reason": "INTERNAL-NOTE asker keeps resending",
            "send_refusal": "1",
            "words": "We answer questions about Medicare coding only.",
        },
    )
    with session_scope(console_db) as session:
        (row,) = session.scalars(select(OutboundMessage)).all()
        reasons = session.scalars(select(AuditEntry.detail).where(AuditEntry.case_id.is_not(None)))
        logged = [d for d in reasons if d and "reason" in d]
    assert b"Medicare coding only" in row.raw and b"INTERNAL-NOTE" not in row.raw
    assert logged, "the internal reason is in the audit log"


def test_refusing_a_placeholder_draft_speaks_to_the_reviewer_not_the_cli(
    client_for: Login, console_db: Settings
) -> None:
    ref = ask(console_db)  # no code data loaded: the draft keeps the placeholder
    client, csrf = client_for(REVIEWER)
    refused = client.post(
        f"/cases/{ref}/draft", data=_form(console_db, ref, csrf) | {"action": "approve"}
    )
    assert refused.status_code == 422
    assert "write the answer in its place first" in refused.text
    assert "--edit" not in refused.text and "FILE" not in refused.text
