"""The SMTP intake over a real socket: refusals, size, commit-before-250, duplicates."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.pipeline.intake.smtp import make_controller
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env
from tests.integration.conftest import wait_for
from tests.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def intake(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings
) -> Iterator[tuple[Settings, list[int]]]:
    settings = set_env(
        monkeypatch,
        env,
        smtp_port=str(free_port()),
        max_message_size="20000",
        consult_addresses="consult@localhost,help@localhost",
    )
    enqueued: list[int] = []
    controller = make_controller(settings, enqueued.append)
    controller.start()
    yield settings, enqueued
    controller.stop()


def _client(settings: Settings) -> smtplib.SMTP:
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)


def _stored(settings: Settings) -> list[InboundMessage]:
    with session_scope(settings) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_rcpt_handler_rejects_foreign_recipient(intake: tuple[Settings, list[int]]) -> None:
    settings, enqueued = intake
    with _client(settings) as smtp:
        smtp.ehlo()
        smtp.mail("dana@example.org")
        code, reply = smtp.rcpt("someone-else@localhost")
    assert (code, reply) == (550, b"5.1.1 No such consult address here")
    assert _stored(settings) == [] and enqueued == []


def test_any_configured_consult_address_is_accepted(intake: tuple[Settings, list[int]]) -> None:
    settings, _ = intake
    with _client(settings) as smtp:
        smtp.ehlo()
        smtp.mail("dana@example.org")
        assert smtp.rcpt("HELP@localhost")[0] == 250


def test_oversize_message_is_refused_with_552(intake: tuple[Settings, list[int]]) -> None:
    settings, enqueued = intake
    big = mail_bytes("simple_question.eml") + b"x" * 30_000 + b"\r\n"
    with _client(settings) as smtp, pytest.raises(smtplib.SMTPResponseException) as refused:
        smtp.sendmail("dana@example.org", ["consult@localhost"], big)
    assert refused.value.smtp_code == 552
    assert _stored(settings) == [] and enqueued == []


def test_size_declared_too_big_is_refused_at_mail_from(intake: tuple[Settings, list[int]]) -> None:
    settings, _ = intake
    with _client(settings) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("size")
        code, _ = smtp.mail("dana@example.org", ["SIZE=999999"])
    assert code == 552


def test_mail_is_committed_before_250_and_then_enqueued(intake: tuple[Settings, list[int]]) -> None:
    settings, enqueued = intake
    raw = mail_bytes("simple_question.eml")
    with _client(settings) as smtp:
        smtp.sendmail("dana@example.org", ["consult@localhost"], raw)
    # sendmail has returned, so the 250 has been given: the row must be there.
    rows = _stored(settings)
    assert len(rows) == 1
    assert rows[0].state == InboundState.STORED
    assert rows[0].raw.replace(b"\r\n", b"\n").rstrip() == raw.rstrip()
    assert rows[0].envelope_to == ["consult@localhost"]
    assert wait_for(lambda: enqueued, "the enqueue after the 250") == [rows[0].id]


def test_a_line_longer_than_rfc_5321s_1000_octets_is_taken_intact(
    intake: tuple[Settings, list[int]],
) -> None:
    # One-line HTML from some mailers: aiosmtpd alone would answer a permanent 500.
    settings, _ = intake
    line = b"<p>" + b"Can I bill 20700 with 27447? " * 400 + b"</p>"
    raw = mail_bytes("simple_question.eml").rstrip() + b"\n" + line + b"\n"
    assert len(line) > 10_000
    with _client(settings) as smtp:
        assert smtp.sendmail("dana@example.org", ["consult@localhost"], raw) == {}
    [row] = _stored(settings)
    assert row.raw.replace(b"\r\n", b"\n").rstrip() == raw.rstrip()


def test_duplicate_delivery_is_stored_once(intake: tuple[Settings, list[int]]) -> None:
    settings, enqueued = intake
    raw = mail_bytes("simple_question.eml")
    with _client(settings) as smtp:
        smtp.sendmail("dana@example.org", ["consult@localhost"], raw)
        smtp.sendmail("dana@example.org", ["consult@localhost"], b"Received: by mx2\r\n" + raw)
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    assert len(wait_for(lambda: enqueued, "the enqueue")) == 1


def test_database_failure_answers_451_not_250(
    intake: tuple[Settings, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, enqueued = intake

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is gone")

    monkeypatch.setattr("consultant.pipeline.intake.smtp.store_many", broken)
    with _client(settings) as smtp, pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.sendmail("dana@example.org", ["consult@localhost"], mail_bytes("simple_question.eml"))
    assert refused.value.smtp_code == 451
    assert b"database" not in refused.value.smtp_error
    assert enqueued == []


def test_broker_down_still_answers_250_with_the_mail_stored(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings
) -> None:
    settings = set_env(monkeypatch, env, smtp_port=str(free_port()))
    attempts: list[int] = []

    def broker_down(inbound_id: int) -> None:
        attempts.append(inbound_id)
        raise ConnectionRefusedError("broker down")

    controller = make_controller(settings, broker_down)
    controller.start()
    raw = mail_bytes("simple_question.eml")
    try:
        with _client(settings) as smtp:
            smtp.sendmail("d@example.org", ["consult@localhost"], raw)
            wait_for(lambda: attempts, "the failed enqueue")
            # Within the back-off after a failure the broker is not tried again.
            smtp.sendmail("d@example.org", ["consult@localhost"], raw.replace(b"27447", b"27446"))
    finally:
        controller.stop()
    assert [r.state for r in _stored(settings)] == [InboundState.STORED] * 2
    assert attempts == [1]
