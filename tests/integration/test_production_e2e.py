"""End to end on the production profile: PostgreSQL, Redis, separate
`consultant intake` and `consultant worker` processes, and an aiosmtpd relay.

Also proves the idempotency promises over the real broker: a processing task
delivered twice makes one draft, a send task delivered twice sends once.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consultant.codes.importers import import_file
from consultant.db.models import AuditEntry, Case, Draft, InboundMessage, OutboundMessage
from consultant.db.session import session_scope
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import cms_files, mail_bytes
from tests.integration.conftest import (
    Child,
    Sink,
    run_cli,
    start_worker_and_intake,
    use_relay,
    wait_for,
)
from tests.unit.web.conftest import REVIEWER, log_in
from workers.app import celery_config

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


def _count(settings: Settings, model: type, *where: object) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _producer(settings: Settings) -> tuple[Callable[[int], None], Callable[[int], None]]:
    """Send tasks by their queued names, as any other process would."""
    producer = Celery("test-producer")
    producer.config_from_object(celery_config(settings))
    return (
        lambda inbound_id: producer.send_task("pipeline.process_message", (inbound_id,)),
        lambda outbound_id: producer.send_task("pipeline.send_outbound", (outbound_id,)),
    )


def test_question_travels_the_whole_loop_on_postgres_and_redis(
    production: Settings,
    env: dict[str, str],
    relay_sink: Sink,
    spawn: Callable[..., Child],
    tmp_path: Path,
) -> None:
    use_relay(env, relay_sink)
    worker, _ = start_worker_and_intake(spawn, production)
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.sendmail(
            "pat.lee@example-billing.com", ["consult@localhost"], mail_bytes("html_only.eml")
        )

    wait_for(lambda: _count(production, Draft) == 1, "the draft", 120)
    listing = run_cli(env, "cases", "list").stdout
    ref = re.search(r"CC-\d{4}-\d{6}", listing).group(0)  # type: ignore[union-attr]
    shown = run_cli(env, "cases", "show", ref).stdout
    for code in ("J1100 (hcpcs)", "99213 (cpt)", "25 (modifier)", "E11.9 (icd10cm)"):
        assert code in shown

    answer = tmp_path / "answer.txt"
    answer.write_text("Here is the answer from our coding expert.\n")  # the greeting stays
    with session_scope(production) as session:
        add_reviewer(session, "r@example.org", password="long-enough-password")
    run_cli(env, "cases", "approve", ref, "--edit", str(answer), "--as", "r@example.org")
    wait_for(lambda: relay_sink.envelopes, "the answer at the relay", 120)

    envelope = relay_sink.envelopes[0]
    assert envelope.mail_from == "consult@example.org"
    assert envelope.rcpt_tos == ["pat.lee@example-billing.com"]
    reply = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
    assert reply["In-Reply-To"] == "<html-only-1@example-billing.com>"
    assert reply["References"].split() == [
        "<thread-root@example-billing.com>",
        "<html-only-1@example-billing.com>",
    ]
    assert ref in reply["Subject"]
    wait_for(
        lambda: run_cli(env, "cases", "show", ref).stdout.startswith(f"{ref}  [sent]"),
        "the case to be marked sent",
    )
    with session_scope(production) as session:
        on_the_case = select(AuditEntry.action).where(AuditEntry.case_id.is_not(None))
        actions = list(session.scalars(on_the_case.order_by(AuditEntry.id)))
    assert actions == [
        "case.opened",
        "case.drafted",
        "draft.edited",
        "case.approved",
        "answer.queued",
        "case.sent",
        "answer.sent",
    ]
    assert "pat.lee" not in worker.output()  # addresses are redacted, bodies never logged


def test_tasks_delivered_twice_make_one_draft_and_one_delivery(
    production: Settings,
    env: dict[str, str],
    relay_sink: Sink,
    spawn: Callable[..., Child],
    tmp_path: Path,
) -> None:
    use_relay(env, relay_sink)
    enqueue_process, enqueue_send = _producer(production)
    # One worker process: tasks run strictly in queue order (see the sentinel).
    start_worker_and_intake(spawn, production, concurrency=1)
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.sendmail(
            "d@example-clinic.org", ["consult@localhost"], mail_bytes("simple_question.eml")
        )
    inbound_id = wait_for(lambda: _count(production, InboundMessage), "the stored mail")
    enqueue_process(inbound_id)
    enqueue_process(inbound_id)
    wait_for(lambda: _count(production, Draft) >= 1, "the draft", 120)
    with session_scope(production) as session:
        ref = session.scalar(select(Case.ref))
    answer = tmp_path / "answer.txt"
    answer.write_text("Here is the answer from our coding expert.\n")
    with session_scope(production) as session:
        add_reviewer(session, "r@example.org", password="long-enough-password")
    run_cli(env, "cases", "approve", str(ref), "--edit", str(answer), "--as", "r@example.org")
    wait_for(lambda: relay_sink.envelopes, "the answer at the relay", 120)
    outbound_id = wait_for(
        lambda: _count(production, OutboundMessage, OutboundMessage.state == "sent"), "sent state"
    )
    enqueue_send(outbound_id)
    enqueue_send(outbound_id)
    enqueue_process(inbound_id)
    # A sentinel mail queued behind the duplicates: once it is drafted, the
    # duplicates ahead of it on the queue have run.
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.sendmail(
            "d@example-clinic.org", ["consult@localhost"], mail_bytes("no_message_id.eml")
        )
    wait_for(lambda: _count(production, Draft) >= 3, "the sentinel's draft", 120)
    assert _count(production, Case) == 2
    assert _count(production, Draft) == 3  # two for the first case (v1 + edit), one sentinel
    assert len(relay_sink.envelopes) == 1


def test_a_question_the_data_answer_is_drafted_approved_unchanged_and_delivered(
    production: Settings, env: dict[str, str], relay_sink: Sink, spawn: Callable[..., Child]
) -> None:
    """Issue 17's loop: the worker drafts the verdict from the fee schedule, a reviewer
    approves the draft unchanged in the console, and the asker gets that verdict first
    in both parts, in the answer template's styled HTML."""
    use_relay(env, relay_sink)
    with session_scope(production) as session:
        import_file(session, "pfs", cms_files()["pfs"])
        add_reviewer(session, REVIEWER[0], role="reviewer", password=REVIEWER[1])
    start_worker_and_intake(spawn, production)
    question = EmailMessage()
    question["From"], question["To"] = "dana@clinic.example", "consult@localhost"
    question["Subject"], question["Message-ID"] = "99214 and 20610", "<e2e-25@clinic.example>"
    question.set_content("Can I bill 99214 with 20610 and do I need a modifier? DOS 9/3/2024")
    with smtplib.SMTP("127.0.0.1", production.smtp_port, timeout=30) as smtp:
        smtp.send_message(question)
    wait_for(lambda: _count(production, Draft) == 1, "the draft", 120)
    with session_scope(production) as session:
        draft = session.scalars(select(Draft)).one()
        ref = session.get_one(Case, draft.case_id).ref
        text, subject, version = draft.body_text, draft.subject, draft.version
    first = text.split("\n\n")[2]
    assert first.startswith("99214 with 20610 (0-day global period)")
    assert "modifier 25 on 99214" in first and "[[EXPERT ANSWER" not in text

    app = create_app(production, enqueue_send=_producer(production)[1])
    with TestClient(app, base_url="http://testserver") as client:
        csrf = log_in(client, REVIEWER)
        form = {"text": text, "subject": subject, "base_version": str(version)}
        done = client.post(
            f"/cases/{ref}/draft",
            data={**form, "action": "approve", "csrf_token": csrf},
            follow_redirects=False,
        )
    assert done.status_code == 303, done.text

    def answers() -> list[EmailMessage]:
        mails = [message_from_bytes(e.content, policy=policy.default) for e in relay_sink.envelopes]
        return [m for m in mails if "Auto-Submitted" not in m]  # type: ignore[misc]

    wait_for(answers, "the answer at the relay (after the acknowledgement)", 120)
    reply = answers()[0]
    plain = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = reply.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert (
        plain.replace("\r\n", "\n")
        .split("\n\n")[2]
        .startswith("99214 with 20610 (0-day global period)")
    )
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", html, re.S)
    assert paragraphs[2].startswith("99214 with 20610 (0-day global period)")
    assert "modifier 25 on 99214" in paragraphs[2] and "font-family" in html  # the template
    with session_scope(production) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "draft.edited" not in actions and "answer.queued" in actions  # approved as drafted
