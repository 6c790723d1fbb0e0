"""Outbound delivery as operators meet it: a relay that is down and comes back
(a real Celery worker and its sweep retry with backoff, one copy arrives), a
relay that refuses the recipient (the case is flagged with the relay's answer,
`outbox list` shows it), retries that run out, and DKIM at delivery time.

test_send_relay.py covers the single-attempt outcomes; this file covers what
happens to the row and the case over time.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner
from sqlalchemy import select, update

from consultant.cases import fingerprint
from consultant.cli.outbox import outbox
from consultant.db.base import utcnow
from consultant.db.models import AuditEntry, Case, CaseState, OutboundMessage, OutboundState
from consultant.db.session import session_factory, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.notify import queue_auto_mail
from consultant.pipeline.parse import parse
from consultant.pipeline.process import process_message
from consultant.pipeline.send import Outcome, send_outbound
from consultant.review import approve
from consultant.settings import Settings
from tests.conftest import mail_bytes, need, set_env
from tests.integration.conftest import Child, Sink, wait_for
from tests.ports import free_port

pytestmark = pytest.mark.integration

ASKER = "dana.biller@example-clinic.org"
NO_SUCH_USER = f"550 5.1.1 <{ASKER}>: Recipient address rejected: no such user"


@dataclass
class RefusingRelay(Sink):
    """A relay that refuses every recipient at RCPT with `rcpt_answer`."""

    rcpt_answer: str = NO_SUCH_USER

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return self.rcpt_answer


@pytest.fixture
def refusing_relay() -> Iterator[RefusingRelay]:
    relay = RefusingRelay("127.0.0.1", free_port())
    controller = Controller(relay, hostname=relay.host, port=relay.port, ready_timeout=10)
    controller.start()
    yield relay
    controller.stop()


def _relay_env(port: int, **more: str) -> dict[str, str]:
    return {
        "relay_host": "127.0.0.1",
        "relay_port": str(port),
        "relay_security": "none",
        "from_address": "consult@example.org",
        **more,
    }


def _approved(settings: Settings) -> tuple[int, int]:
    """The simple question, processed and approved: (case id, outbox row id)."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, mail_bytes("simple_question.eml"), source="smtp").inbound_id
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        ref = str(session.get_one(Case, case_id).ref)
    with session_scope(settings) as session:
        return case_id, approve(session, settings, ref, "r@example.org", "Our answer.\n").id


def _row(settings: Settings, outbound_id: int) -> OutboundMessage:
    with session_scope(settings) as session:
        return session.get_one(OutboundMessage, outbound_id)


def _case(settings: Settings, case_id: int) -> Case:
    with session_scope(settings) as session:
        return session.get_one(Case, case_id)


def _actions(settings: Settings, action: str) -> list[dict[str, object]]:
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


# --- a relay that is down, then comes back ------------------------------------------


def _retrying(settings: Settings, outbound_id: int, attempts: int) -> Callable[[], object]:
    """A check: the row waits in the queue for a retry after `attempts` failed attempts."""

    def check() -> OutboundMessage | None:
        row = _row(settings, outbound_id)
        if row.state == OutboundState.FAILED:
            pytest.fail(f"outbound {outbound_id} failed instead of retrying: {row.last_error}")
        queued = row.state == OutboundState.QUEUED and row.next_attempt_at is not None
        return row if queued and row.attempts >= attempts else None

    return check


@pytest.mark.postgres
@pytest.mark.redis
def test_relay_down_is_retried_with_backoff_until_it_comes_back_then_sent_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
) -> None:
    port = free_port()  # nothing listens here yet
    settings = set_env(
        monkeypatch,
        env,
        **_relay_env(port, retry_backoff="0.2", sweep_interval="0.5", max_send_attempts="50"),
    )
    case_id, outbound_id = _approved(settings)
    worker = spawn("worker", "--concurrency", "1", "--beat")  # the beat runs the sweep

    row = wait_for(_retrying(settings, outbound_id, 3), "three failed attempts", 120)
    assert isinstance(row, OutboundMessage) and row.claimed_at and row.next_attempt_at
    assert (row.last_error or "").startswith("relay unreachable: ConnectionRefusedError")
    # Backoff: at least half of retry_backoff * 2^(attempts-1) after the attempt began.
    least = timedelta(seconds=0.2 * 2 ** (row.attempts - 1) / 2)
    assert row.next_attempt_at - row.claimed_at >= least
    assert _case(settings, case_id).state == CaseState.APPROVED
    assert _case(settings, case_id).attention is None  # temporary trouble flags nothing

    relay = Sink("127.0.0.1", port)
    controller = Controller(relay, hostname=relay.host, port=port, ready_timeout=10)
    controller.start()
    try:
        wait_for(
            lambda: _row(settings, outbound_id).state == OutboundState.SENT, "the sent row", 120
        )
        assert len(relay.envelopes) == 1
        assert relay.envelopes[0].rcpt_tos == [ASKER]
    finally:
        controller.stop()
    sent = _row(settings, outbound_id)
    assert sent.last_error is None and sent.attempts >= 4
    assert _case(settings, case_id).state == CaseState.SENT
    assert [d["attempts"] for d in _actions(settings, "answer.sent")] == [sent.attempts]
    assert "dana.biller" not in worker.output()  # addresses redacted, bodies never logged


# --- a relay that refuses the recipient -----------------------------------------------


@pytest.fixture
def refused(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    migrated: Settings,
    refusing_relay: RefusingRelay,
) -> Settings:
    return set_env(monkeypatch, env, **_relay_env(refusing_relay.port))


def test_permanent_refusal_at_rcpt_fails_the_row_and_flags_the_case_with_the_answer(
    refused: Settings, refusing_relay: RefusingRelay, caplog: pytest.LogCaptureFixture
) -> None:
    case_id, outbound_id = _approved(refused)
    assert send_outbound(session_factory(refused), refused, outbound_id) == Outcome.FAILED

    row = _row(refused, outbound_id)
    assert row.state == OutboundState.FAILED and NO_SUCH_USER in (row.last_error or "")
    case = _case(refused, case_id)
    assert case.state == CaseState.APPROVED
    assert case.attention == f"answer not delivered: relay refused it permanently: {NO_SUCH_USER}"
    [failed] = _actions(refused, "answer.failed")
    # The relay's words may echo the asker's address or the mail: the log keeps their hash.
    assert failed["outbound_id"] == outbound_id
    assert failed["attention"] == fingerprint(case.attention)
    assert failed["error"] == fingerprint(row.last_error or "")
    assert ASKER not in str(failed)
    assert ASKER not in caplog.text and "d***@example-clinic.org" in caplog.text

    listing = CliRunner().invoke(outbox, ["list", "--state", "failed"])
    assert listing.exit_code == 0, listing.output
    [line] = listing.stdout.splitlines()[1:]
    assert line.split()[:4] == [str(outbound_id), str(case.ref), "answer", "failed"]
    assert NO_SUCH_USER in line


def test_automatic_mail_failing_flags_its_case_or_is_only_recorded(
    refused: Settings, refusing_relay: RefusingRelay
) -> None:
    case_id, _ = _approved(refused)
    parsed = parse(mail_bytes("simple_question.eml"))
    with session_scope(refused) as session:
        with_case = queue_auto_mail(
            session,
            refused,
            "acknowledgement",
            parsed,
            case_id=case_id,
            inbound_id=1,
            ref="CC-2026-000001",
        )
        without_case = queue_auto_mail(
            session,
            refused,
            "acknowledgement",
            parsed,
            case_id=None,
            inbound_id=1,
            ref="CC-2026-000001",
        )
        assert with_case is not None and without_case is not None
        ids = (with_case.id, without_case.id)
    for outbound_id in ids:
        assert send_outbound(session_factory(refused), refused, outbound_id) == Outcome.FAILED
    attention = _case(refused, case_id).attention
    assert attention == (
        f"acknowledgement not delivered: relay refused it permanently: {NO_SUCH_USER}"
    )
    failed = _actions(refused, "auto_mail.failed")
    assert [d["outbound_id"] for d in failed] == list(ids)
    assert all(d["kind"] == "acknowledgement" for d in failed)


# --- retries that run out ---------------------------------------------------------------


def test_retries_stop_at_the_horizon_and_flag_the_case_with_the_last_error(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings, relay_sink: Sink
) -> None:
    settings = set_env(
        monkeypatch, env, **_relay_env(relay_sink.port, send_retry_horizon=str(2 * 86400))
    )
    relay_sink.answer = "451 4.7.1 greylisted, try again later"
    case_id, outbound_id = _approved(settings)
    sessions = session_factory(settings)
    assert send_outbound(sessions, settings, outbound_id) == Outcome.RETRY
    with session_scope(settings) as session:  # the first attempt was three days ago
        session.execute(
            update(OutboundMessage).values(
                created_at=utcnow() - timedelta(days=3), next_attempt_at=utcnow()
            )
        )
    assert send_outbound(sessions, settings, outbound_id) == Outcome.FAILED

    row = _row(settings, outbound_id)
    assert row.state == OutboundState.FAILED and row.attempts == 2
    attention = _case(settings, case_id).attention or ""
    assert attention.startswith("answer not delivered after 2 attempts over 3d: ")
    assert "451 4.7.1 greylisted, try again later" in attention
    assert relay_sink.envelopes == []


def test_retries_stop_after_max_attempts_and_say_so(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings
) -> None:
    settings = set_env(monkeypatch, env, **_relay_env(free_port(), max_send_attempts="2"))
    case_id, outbound_id = _approved(settings)
    sessions = session_factory(settings)
    outcomes = []
    for _ in range(2):
        with session_scope(settings) as session:
            session.execute(update(OutboundMessage).values(next_attempt_at=utcnow()))
        outcomes.append(send_outbound(sessions, settings, outbound_id))
    assert outcomes == [Outcome.RETRY, Outcome.FAILED]
    attention = _case(settings, case_id).attention or ""
    assert attention.startswith("answer not delivered after 2 attempts over ")
    assert "relay unreachable: ConnectionRefusedError" in attention


# --- DKIM at delivery time -------------------------------------------------------------


def _openssl(*args: str) -> bytes:
    need(shutil.which("openssl") is not None, "the openssl command is not installed")
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def test_relay_receives_a_dkim_signed_mail_and_the_row_keeps_it_unsigned(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    migrated: Settings,
    relay_sink: Sink,
    tmp_path: Path,
) -> None:
    key = tmp_path / "dkim.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    public = _openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
    settings = set_env(
        monkeypatch, env, **_relay_env(relay_sink.port, dkim_selector="s1", dkim_key_file=str(key))
    )
    _, outbound_id = _approved(settings)
    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.SENT

    [envelope] = relay_sink.envelopes
    delivered = envelope.original_content or b""
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"s1._domainkey.example.org." else None

    assert dkim.verify(delivered, dnsfunc=lookup)
    signature = message_from_bytes(delivered, policy=policy.default)["DKIM-Signature"]
    assert "d=example.org" in signature and "s=s1" in signature
    assert b"DKIM-Signature" not in _row(settings, outbound_id).raw


def test_an_unreadable_dkim_key_keeps_the_mail_queued_with_the_reason(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    migrated: Settings,
    relay_sink: Sink,
    tmp_path: Path,
) -> None:
    missing = tmp_path / "gone.pem"
    settings = set_env(
        monkeypatch,
        env,
        **_relay_env(relay_sink.port, dkim_selector="s1", dkim_key_file=str(missing)),
    )
    case_id, outbound_id = _approved(settings)
    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.RETRY
    row = _row(settings, outbound_id)
    assert row.state == OutboundState.QUEUED
    assert f"DKIM key file {missing} cannot be read" in (row.last_error or "")
    assert relay_sink.envelopes == []
    assert _case(settings, case_id).attention is None  # it will go once the key is fixed
