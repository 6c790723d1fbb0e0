"""The SMTP intake's limits over a real socket: MIME shape at DATA, sessions,
recipients, commands without a mail, and idle time. Each answer is checked as
the client reads it; nothing waits on a clock but the idle test's own deadline."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.smtp import IntakeController, make_controller
from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.conftest import wait_for
from tests.mime_shapes import many_parts, nested, with_content_type
from tests.ports import free_port

pytestmark = pytest.mark.integration
CONSULT = "consult@localhost"
Start = Callable[..., Settings]


@pytest.fixture
def start_intake(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings
) -> Iterator[Start]:
    """Start the real intake with the limits given (as CONSULTANT_* values)."""
    controllers: list[IntakeController] = []

    def start(**limits: str) -> Settings:
        settings = set_env(monkeypatch, env, smtp_port=str(free_port()), **limits)
        controller = make_controller(settings, lambda inbound_id: None)
        controller.start()
        controllers.append(controller)
        return settings

    yield start
    for controller in controllers:
        controller.stop()


def _client(settings: Settings) -> smtplib.SMTP:
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)


def _stored(settings: Settings) -> list[bytes]:
    with session_scope(settings) as session:
        return list(session.scalars(select(InboundMessage.raw).order_by(InboundMessage.id)))


def _send(settings: Settings, raw: bytes) -> tuple[int, bytes]:
    with _client(settings) as smtp:
        smtp.ehlo()
        smtp.mail("dana@example.org")
        smtp.rcpt(CONSULT)
        return smtp.data(raw)


def test_fifty_thousand_mime_parts_are_refused_at_data_and_not_stored(start_intake: Start) -> None:
    settings = start_intake()
    assert _send(settings, many_parts(50_000)) == (552, b"5.3.4 Too many MIME parts (limit 500)")
    assert _stored(settings) == []


def test_parts_behind_an_unterminated_quoted_boundary_are_counted_and_refused(
    start_intake: Start,
) -> None:
    settings = start_intake()
    raw = with_content_type(many_parts(50_000), b'multipart/mixed; boundary="b')
    assert _send(settings, raw) == (552, b"5.3.4 Too many MIME parts (limit 500)")
    assert _stored(settings) == []


def test_a_content_type_too_complex_to_read_is_refused_and_not_stored(
    start_intake: Start,
) -> None:
    settings = start_intake()
    comments = b"(c)" * 400  # the stdlib's parser takes time growing with their square
    raw = with_content_type(many_parts(3), b"multipart/mixed; boundary=b " + comments)
    assert _send(settings, raw) == (554, b"5.6.0 Content-Type fields too complex to read safely")
    assert _send(settings, many_parts(3))[0] == 250
    assert len(_stored(settings)) == 1


def test_a_mail_just_over_the_part_limit_is_refused_and_one_at_it_taken(
    start_intake: Start,
) -> None:
    settings = start_intake(max_mime_parts="10")
    assert _send(settings, many_parts(11)) == (552, b"5.3.4 Too many MIME parts (limit 10)")
    assert _send(settings, many_parts(10))[0] == 250
    assert len(_stored(settings)) == 1


def test_a_mail_just_over_the_depth_limit_is_refused_and_one_at_it_taken(
    start_intake: Start,
) -> None:
    settings = start_intake(max_mime_depth="3")
    refused = (554, b"5.6.0 MIME parts nested too deeply (limit 3 levels)")
    assert _send(settings, nested(4)) == refused
    assert _send(settings, nested(3))[0] == 250
    assert len(_stored(settings)) == 1


def test_a_session_beyond_the_limit_is_refused_with_421_and_a_freed_place_is_taken(
    start_intake: Start,
) -> None:
    settings = start_intake(smtp_max_sessions="2")
    first, second = _client(settings), _client(settings)
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            _client(settings)
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error == b"4.7.0 Too many connections, try again later"
        assert second.noop()[0] == 250  # the sessions admitted carry on
    finally:
        first.quit()
    # QUIT has been answered and the server closed the first session: a place is free.
    # Its connection_lost may come a moment after the 221, so the next client retries.
    third = _connect_when_free(settings)
    assert third.noop()[0] == 250
    third.quit()
    second.quit()


def _connect_when_free(settings: Settings) -> smtplib.SMTP:
    def attempt() -> smtplib.SMTP | None:
        try:
            return _client(settings)
        except smtplib.SMTPConnectError:
            return None

    return wait_for(attempt, "a free session place", 10)


def test_a_recipient_beyond_the_limit_gets_452_and_the_mail_goes_to_those_accepted(
    start_intake: Start,
) -> None:
    settings = start_intake(
        smtp_max_recipients="2", consult_addresses="consult@localhost,help@localhost,desk@localhost"
    )
    with _client(settings) as smtp:
        smtp.ehlo()
        smtp.mail("dana@example.org")
        assert smtp.rcpt("consult@localhost")[0] == 250
        assert smtp.rcpt("help@localhost")[0] == 250
        assert smtp.rcpt("desk@localhost") == (452, b"4.5.3 Too many recipients")
        assert smtp.data(many_parts(2))[0] == 250
    with session_scope(settings) as session:
        [row] = session.scalars(select(InboundMessage))
        assert row.envelope_to == ["consult@localhost", "help@localhost"]


def test_commands_without_a_mail_beyond_the_limit_get_421_and_the_session_closes(
    start_intake: Start,
) -> None:
    settings = start_intake(smtp_max_commands="5")
    smtp = _client(settings)
    try:
        smtp.ehlo()  # 1
        for _ in range(4):  # 2..5
            assert smtp.noop()[0] == 250
        assert smtp.noop() == (421, b"4.7.0 Too many commands without a mail, closing")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()
    finally:
        smtp.close()


def test_an_accepted_mail_starts_the_command_count_again(start_intake: Start) -> None:
    settings = start_intake(smtp_max_commands="5")
    with _client(settings) as smtp:
        for number in range(3):  # 4 or 5 commands each (EHLO, MAIL, RCPT, DATA)
            assert smtp.sendmail("dana@example.org", [CONSULT], many_parts(2, f"c{number}")) == {}
    assert len(_stored(settings)) == 3


def test_a_silent_client_gets_421_and_is_disconnected(start_intake: Start) -> None:
    settings = start_intake(smtp_idle_timeout="0.5")
    with socket.create_connection((settings.smtp_host, settings.smtp_port), timeout=30) as sock:
        received = b""
        while True:  # until the server closes; the socket's timeout is the deadline
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    lines = received.decode().splitlines()
    assert lines[0].startswith("220 ")
    assert lines[1:] == ["421 4.4.2 Idle too long, closing"]
