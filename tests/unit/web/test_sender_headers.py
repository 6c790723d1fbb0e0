"""The console and the API with hostile headers: a subject with an encoded line break
is refused, an edited and approved draft carries no injected header, a Reply-To with
an encoded line break gets a clear refusal (never a 500), the case page keeps From,
Reply-To and envelope sender apart, and an attachment's name is decoded fully."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consultant.db.models import Case, CaseState, Draft, InboundMessage, OutboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.settings import Settings
from tests.injection import ASKER, INJECTION, LEVELS, check_outgoing, encoded, question, texts
from tests.unit.web.conftest import REVIEWER, process

API = "/api/v1"
Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
ANSWER = "Hello,\n\n20700 is an add-on code: report it with 27447.\n"


def _draft(client: TestClient, ref: str) -> dict[str, object]:
    body = client.get(f"{API}/cases/{ref}").json()
    draft: dict[str, object] = body["draft"]
    return draft


def _counts(settings: Settings) -> tuple[int, int]:
    with session_scope(settings) as session:
        drafts = session.scalar(select(func.count()).select_from(Draft)) or 0
        outbound = session.scalar(select(func.count()).select_from(OutboundMessage)) or 0
    return drafts, outbound


@pytest.mark.parametrize("level", LEVELS)
def test_api_refuses_a_draft_subject_with_an_encoded_line_break(
    client_for: Login, console_db: Settings, case_ref: str, level: int
) -> None:
    client, csrf = client_for(REVIEWER)
    before = _counts(console_db)
    response = client.put(
        f"{API}/cases/{case_ref}/draft",
        headers={"X-CSRF-Token": csrf},
        json={
            "text": ANSWER,
            "subject": "Re: " + encoded("Hi" + INJECTION, level),
            "base_version": 1,
        },
    )
    assert response.status_code == 422 and "must be one line" in response.json()["detail"]
    assert _counts(console_db) == before


@pytest.mark.parametrize("level", LEVELS)
def test_a_draft_edited_through_the_api_and_approved_carries_no_injected_header(
    client_for: Login, console_db: Settings, level: int
) -> None:
    ref = process(console_db, question(subject=encoded("Hi" + INJECTION, level)))
    client, csrf = client_for(REVIEWER)
    draft = _draft(client, ref)
    saved = client.put(
        f"{API}/cases/{ref}/draft",
        headers={"X-CSRF-Token": csrf},
        json={"text": ANSWER, "subject": draft["subject"], "base_version": draft["version"]},
    )
    assert saved.status_code == 200, saved.text
    approved = client.post(
        f"{API}/cases/{ref}/approve",
        headers={"X-CSRF-Token": csrf},
        json={"base_version": saved.json()["version"]},
    )
    assert approved.status_code == 200, approved.text
    with session_scope(console_db) as session:
        raw = session.get_one(OutboundMessage, approved.json()["outbound_id"]).raw
    msg = check_outgoing(raw, to=ASKER)
    expected = f"Re: Hi X-Injected: yes Bcc: evil@evil.example <p>attacker body</p> [{ref}]"
    assert msg["Subject"] == expected
    assert texts(msg)[0] == ANSWER


def _hostile_reply_to_case(settings: Settings, level: int) -> str:
    hostile = encoded("x" + INJECTION, level, word="q")
    return process(settings, question(reply_to=f'"{hostile}"@evil.example'))


@pytest.mark.parametrize("level", LEVELS)
def test_console_actions_on_a_reply_to_with_an_encoded_break_are_refused_not_500(
    client_for: Login, console_db: Settings, level: int
) -> None:
    ref = _hostile_reply_to_case(console_db, level)
    client, csrf = client_for(REVIEWER)
    forms = {
        "draft": {
            "text": ANSWER,
            "subject": "Re: question",
            "base_version": "1",
            "action": "approve",
        },
        "ask": {"question": "Which side?"},
        "reject": {"reason": "Not answerable.", "send_refusal": "1"},
    }
    for action, form in forms.items():
        response = client.post(f"/cases/{ref}/{action}", data={**form, "csrf_token": csrf})
        # A refusal by a rule: 422 on the console as in the API (web/refusals.py).
        assert response.status_code == 422, (action, response.status_code)
        assert "cannot send to" in response.text and "line break" in response.text, action
    with session_scope(console_db) as session:
        assert session.scalar(select(Case.state).where(Case.ref == ref)) == CaseState.DRAFTED
    assert _counts(console_db)[1] == 0


@pytest.mark.parametrize("level", LEVELS)
def test_api_actions_on_a_reply_to_with_an_encoded_break_are_refused_not_500(
    client_for: Login, console_db: Settings, level: int
) -> None:
    ref = _hostile_reply_to_case(console_db, level)
    client, csrf = client_for(REVIEWER)
    calls = {
        "approve": {"base_version": 1, "text": ANSWER},
        "ask": {"question": "Which side?"},
        "reject": {"reason": "Not answerable.", "send_refusal": True},
    }
    for action, body in calls.items():
        response = client.post(
            f"{API}/cases/{ref}/{action}", headers={"X-CSRF-Token": csrf}, json=body
        )
        assert response.status_code == 422, (action, response.status_code)
        assert "cannot send to" in response.json()["detail"], action
    assert _counts(console_db)[1] == 0


def _process_with_envelope(settings: Settings, raw: bytes, envelope_from: str) -> str:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp", envelope_from=envelope_from).inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def test_case_page_and_api_show_from_reply_to_and_envelope_apart_and_flag_the_mismatch(
    client_for: Login, console_db: Settings
) -> None:
    raw = question(from_name="Dana Biller", reply_to="Helper <helper@elsewhere.example>")
    ref = _process_with_envelope(console_db, raw, "bounces@lists.example")
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{ref}").text
    block = re.search(r'<dl class="senders">(.*?)</dl>', page, re.S)
    assert block is not None
    cells = [" ".join(c.split()) for c in re.findall(r"<dd>(.*?)</dd>", block.group(1), re.S)]
    assert cells == [
        f"<strong>Dana Biller</strong> &lt;{ASKER}&gt;",
        "helper@elsewhere.example",
        "bounces@lists.example",
        "helper@elsewhere.example",
    ]
    assert (
        f"Answer goes to Reply-To helper@elsewhere.example, which differs from From {ASKER}."
        in page
    )
    assert "The envelope sender bounces@lists.example differs from From" in page
    senders = client.get(f"{API}/cases/{ref}").json()["senders"]
    assert senders["from_name"] == "Dana Biller" and senders["from_address"] == ASKER
    assert senders["reply_to"] == "helper@elsewhere.example"
    assert senders["envelope_sender"] == "bounces@lists.example"
    assert senders["answer_to"] == "helper@elsewhere.example"
    assert senders["automatic_mail_to"] == "bounces@lists.example"
    assert len(senders["warnings"]) == 2


def test_case_page_of_a_plain_mail_flags_nothing(client_for: Login, case_ref: str) -> None:
    client, _ = client_for(REVIEWER)
    senders = client.get(f"{API}/cases/{case_ref}").json()["senders"]
    assert senders["reply_to"] == "" and senders["envelope_sender"] == ""
    assert senders["warnings"] == [] and senders["automatic_mail_to"] == senders["from_address"]
    assert "not recorded" in client.get(f"/cases/{case_ref}").text


@pytest.mark.parametrize("level", LEVELS)
def test_attachment_download_name_is_decoded_fully_and_has_no_line_break(
    client_for: Login, console_db: Settings, level: int
) -> None:
    mail = EmailMessage()
    mail["From"] = f"Dana Biller <{ASKER}>"
    mail["To"] = "consult@localhost"
    mail["Subject"] = "Op note for 27447"
    mail["Message-ID"] = f"<attach-{level}@example-clinic.org>"
    mail.set_content("Can I bill 27447 with 20700? Op note attached.")
    mail.add_attachment(b"note", maintype="text", subtype="plain", filename="note.txt")
    hostile = encoded("Hi\r\nX-Injected: yes\r\nBcc: evil@evil.example.txt", level)
    raw = mail.as_bytes().replace(b'filename="note.txt"', f'filename="{hostile}"'.encode())
    ref = process(console_db, raw)
    with session_scope(console_db) as session:
        inbound_id = session.scalars(select(InboundMessage.id)).all()[-1]
    client, _ = client_for(REVIEWER)
    download = client.get(f"/cases/{ref}/mail/{inbound_id}/attachments/0")
    assert download.status_code == 200 and download.content == b"note"
    assert download.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''Hi%20X-Injected%3A%20yes%20Bcc%3A%20evil%40evil.example.txt"
    )
