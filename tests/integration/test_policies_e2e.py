"""Unknown-sender and quota policies end to end on the production profile:
the SMTP intake, a real Celery worker on Redis, PostgreSQL and an aiosmtpd relay.

Three askers write in: a stranger (invited, no case), an account holder whose
monthly quota is used up (quota notice, no case), and a paying account holder
(case drafted and acknowledged with its reference). Each automatic mail is
threaded onto the mail it answers, carries Auto-Submitted and a null
reverse-path, and a robot's reply to it is never answered.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant.db.models import Case, InboundMessage, InboundState, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.integration.conftest import (
    Child,
    Sink,
    run_cli,
    start_worker_and_intake,
    use_relay,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


def _question(sender: str, n: int) -> bytes:
    return (
        f"From: Asker {n} <{sender}>\r\nTo: consult@localhost\r\n"
        f"Subject: Question {n}: 20700 with 27447?\r\nMessage-ID: <q{n}@asker.example>\r\n"
        f"Date: Tue, 24 Nov 2026 09:15:00 -0500\r\n\r\nCan I bill 20700 with 27447?\r\n"
    ).encode()


def _count(settings: Settings, model: type, *where: object) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_unknown_sender_quota_and_acknowledgement_through_the_worker(
    production: Settings,
    env: dict[str, str],
    relay_sink: Sink,
    spawn: Callable[..., Child],
    tmp_path: Path,
) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text(
        "plans:\n  guest: {monthly_quota: 1}\n  free: {monthly_quota: 5}\n"
        "  spent: {monthly_quota: 0}\n  paid: {monthly_quota:}\n"
    )
    use_relay(env, relay_sink)
    env.update(
        CONSULTANT_PLANS_FILE=str(plans),
        CONSULTANT_UNKNOWN_SENDER="invite",
        CONSULTANT_ACKNOWLEDGE="true",
    )
    run_cli(
        env, "accounts", "add", "Over Clinic", "--address", "over@clinic.example", "--plan", "spent"
    )
    run_cli(
        env, "accounts", "add", "Paid Clinic", "--address", "paid@clinic.example", "--plan", "paid"
    )
    start_worker_and_intake(spawn, production)

    askers = ["stranger@else.example", "over@clinic.example", "paid@clinic.example"]
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        for n, sender in enumerate(askers):
            smtp.sendmail(sender, ["consult@localhost"], _question(sender, n))
    wait_for(lambda: len(relay_sink.envelopes) >= 3, "three automatic mails at the relay", 120)

    mails: dict[str, EmailMessage] = {}
    for envelope in relay_sink.envelopes:
        assert envelope.mail_from == "<>"  # RFC 3834: automatic mail has a null reverse-path
        msg = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
        assert isinstance(msg, EmailMessage)
        assert msg["Auto-Submitted"] == "auto-replied"
        mails[envelope.rcpt_tos[0]] = msg
    assert sorted(mails) == sorted(askers)
    for n, sender in enumerate(askers):
        assert mails[sender]["In-Reply-To"] == f"<q{n}@asker.example>"

    body = {
        a: " ".join(m.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
        for a, m in mails.items()
    }
    assert "is not registered with us" in body["stranger@else.example"]
    assert "includes 0 consults a month" in body["over@clinic.example"]
    with session_scope(production) as session:
        case = session.scalars(select(Case)).one()
        assert case.sender == "paid@clinic.example" and case.state == "drafted"
        assert case.ref and case.ref in mails["paid@clinic.example"]["Subject"]
        assert case.ref in body["paid@clinic.example"]
        kinds = sorted(session.scalars(select(OutboundMessage.kind)))
    assert kinds == ["acknowledgement", "invitation", "quota_notice"]
    assert _count(production, InboundMessage, InboundMessage.state == InboundState.IGNORED) == 2

    # The stranger's mailbox answers our invitation with a vacation notice: filed, never answered.
    invitation_id = mails["stranger@else.example"]["Message-ID"]
    vacation = (
        "From: stranger@else.example\r\nTo: consult@example.org\r\nSubject: Out of office\r\n"
        f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {invitation_id}\r\n"
        "Message-ID: <ooo-1@else.example>\r\n\r\nI am away until Monday.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.sendmail("stranger@else.example", ["consult@localhost"], vacation)
    wait_for(
        lambda: _count(production, InboundMessage, InboundMessage.kind == "robot") == 1,
        "the vacation notice to be classified",
        120,
    )
    assert len(relay_sink.envelopes) == 3
    assert _count(production, OutboundMessage) == 3
