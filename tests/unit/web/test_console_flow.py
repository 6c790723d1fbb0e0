"""The console's pages on a real processed case: queue, case page, edit, approve."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import (
    AuditEntry,
    Case,
    CaseState,
    Draft,
    InboundMessage,
    OutboundMessage,
)
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.unit.web.conftest import REVIEWER, Sent, process

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]


def test_queue_lists_the_drafted_case_with_its_codes_and_due_time(
    client_for: Login, case_ref: str
) -> None:
    client, _ = client_for(REVIEWER)
    page = client.get("/")
    assert page.status_code == 200
    assert case_ref in page.text
    assert "20700 27447 M86.161" in page.text
    assert "guest · guest" in page.text


def test_case_page_shows_codes_findings_mail_and_draft(client_for: Login, case_ref: str) -> None:
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{case_ref}")
    assert page.status_code == 200
    for expected in ("M86.161", "Findings", "Question", "Approve and send", "version 1 by system"):
        assert expected in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_edit_then_approve_queues_one_answer_with_the_edited_text(
    client_for: Login, case_ref: str, console_db: Settings, sent: Sent
) -> None:
    client, csrf = client_for(REVIEWER)
    with session_scope(console_db) as session:
        draft = session.scalars(select(Draft).order_by(Draft.version.desc())).first()
        assert draft is not None
        subject, version = draft.subject, draft.version
    answer = "Hello Dana,\n\nYes: 20700 is an add-on code; report it with 27447.\n"
    response = client.post(
        f"/cases/{case_ref}/draft",
        data={
            "csrf_token": csrf,
            "text": answer,
            "subject": subject,
            "base_version": str(version),
            "action": "approve",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with session_scope(console_db) as session:
        case = session.execute(select(Case).where(Case.ref == case_ref)).scalar_one()
        rows = list(session.scalars(select(OutboundMessage)))
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id))
        )
    assert case.state == CaseState.APPROVED
    assert [row.kind for row in rows] == ["answer"] and sent.ids == [rows[0].id]
    assert b"20700 is an add-on code" in rows[0].raw
    assert "draft.edited" in actions and "answer.queued" in actions


def test_second_save_on_a_stale_version_is_refused_and_overwrites_nothing(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    first, first_csrf = client_for(REVIEWER)
    second, second_csrf = client_for(("otto@desk.example", "other-password-1234"))
    form = {"subject": f"Re: x [{case_ref}]", "base_version": "1", "action": "save"}
    saved = first.post(
        f"/cases/{case_ref}/draft",
        data={**form, "csrf_token": first_csrf, "text": "first reviewer's answer"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    refused = second.post(
        f"/cases/{case_ref}/draft",
        data={**form, "csrf_token": second_csrf, "text": "second reviewer's answer"},
    )
    assert refused.status_code == 409
    assert "after you opened version 1" in refused.text
    assert "second reviewer&#39;s answer" in refused.text  # their text is kept in the form
    with session_scope(console_db) as session:
        texts = list(session.scalars(select(Draft.body_text).order_by(Draft.version)))
    assert texts[-1] == "first reviewer's answer" and len(texts) == 2


def test_post_without_csrf_token_is_refused(client_for: Login, case_ref: str) -> None:
    client, _ = client_for(REVIEWER)
    response = client.post(f"/cases/{case_ref}/claim", data={})
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_attachment_downloads_only_as_a_file_and_only_from_its_own_case(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    mail = EmailMessage()
    mail["From"] = "Dana Biller <dana.biller@example-clinic.org>"
    mail["To"] = "consult@localhost"
    mail["Subject"] = "Op note for 27447"
    mail["Message-ID"] = "<attach-1@example-clinic.org>"
    mail.set_content("Can I bill 27447 with 20700? Op note attached.")
    note = b"<script>alert(1)</script> operative note\n"
    mail.add_attachment(note, maintype="text", subtype="html", filename="op note.html")
    ref = process(console_db, mail.as_bytes())
    with session_scope(console_db) as session:
        inbound_id = session.scalars(
            select(InboundMessage.id).where(InboundMessage.rfc_message_id == mail["Message-ID"])
        ).one()
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{ref}")
    url = f"/cases/{ref}/mail/{inbound_id}/attachments/0"
    assert url in page.text and "op note.html" in page.text
    download = client.get(url)
    assert download.status_code == 200 and download.content == note
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''op%20note.html"
    assert client.get(f"/cases/{case_ref}/mail/{inbound_id}/attachments/0").status_code == 404
    assert client.get(f"/cases/{ref}/mail/{inbound_id}/attachments/1").status_code == 404
