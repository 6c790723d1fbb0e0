"""Delivery through a real SMTP relay (aiosmtpd): temporary and permanent
refusals, a relay that is down, and an attempt interrupted mid-send."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from consultant.db.base import utcnow
from consultant.db.models import AuditEntry, OutboundMessage, OutboundState
from consultant.db.session import session_factory, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.pipeline.send import Outcome, send_outbound
from consultant.review import approve
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env
from tests.integration.conftest import Sink
from tests.ports import free_port
from workers.sweep import sweep

pytestmark = pytest.mark.integration


@pytest.fixture
def relayed(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings, relay_sink: Sink
) -> Settings:
    return set_env(
        monkeypatch,
        env,
        relay_host=relay_sink.host,
        relay_port=str(relay_sink.port),
        relay_security="none",
        max_send_attempts="3",
        sweep_grace="0",
    )


def _approved(settings: Settings) -> int:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, mail_bytes("simple_question.eml"), source="smtp").inbound_id
        process_message(session, settings, inbound_id)
    with session_scope(settings) as session:
        return approve(
            session,
            settings,
            f"CC-{utcnow().year}-000001",
            "r@example.org",
            "Here is the answer from our coding expert.\n",
        ).id


def _row(settings: Settings, outbound_id: int) -> OutboundMessage:
    with session_scope(settings) as session:
        return session.get_one(OutboundMessage, outbound_id)


def test_relay_accepts_and_row_is_sent(relayed: Settings, relay_sink: Sink) -> None:
    outbound_id = _approved(relayed)
    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.SENT
    assert len(relay_sink.envelopes) == 1
    row = _row(relayed, outbound_id)
    assert row.state == OutboundState.SENT and row.attempts == 1
    assert row.delivered_to == {"via": f"127.0.0.1:{relay_sink.port}"}


def test_temporary_refusal_schedules_a_retry_with_backoff(
    relayed: Settings, relay_sink: Sink
) -> None:
    relay_sink.answer = "451 4.3.0 try later"
    outbound_id = _approved(relayed)
    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.RETRY
    row = _row(relayed, outbound_id)
    assert row.state == OutboundState.QUEUED and "451" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    # Not due yet: a second task does nothing.
    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.SKIPPED


def test_permanent_refusal_marks_the_row_failed(relayed: Settings, relay_sink: Sink) -> None:
    relay_sink.answer = "554 5.7.1 relay denied"
    outbound_id = _approved(relayed)
    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.FAILED
    row = _row(relayed, outbound_id)
    assert row.state == OutboundState.FAILED and "554" in (row.last_error or "")


def test_relay_down_retries_then_gives_up_after_max_attempts(
    relayed: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, env, relay_port=str(free_port()))  # nothing listens there
    outbound_id = _approved(settings)
    sessions = session_factory(settings)
    outcomes = []
    for _ in range(3):
        with session_scope(settings) as session:  # make the retry due now
            session.execute(update(OutboundMessage).values(next_attempt_at=utcnow()))
        outcomes.append(send_outbound(sessions, settings, outbound_id))
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    assert "gave up after 3 attempts" in (_row(settings, outbound_id).last_error or "")


def test_interrupted_send_is_requeued_and_flagged(relayed: Settings, relay_sink: Sink) -> None:
    outbound_id = _approved(relayed)
    with session_scope(relayed) as session:
        session.execute(
            update(OutboundMessage).values(
                state=OutboundState.SENDING.value, claimed_at=utcnow() - timedelta(hours=1)
            )
        )
    queued: list[int] = []
    counts = sweep(relayed, lambda _id: None, queued.append)
    assert counts["interrupted"] == 1 and queued == [outbound_id]
    with session_scope(relayed) as session:
        flagged = session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "answer.interrupted")
        )
    assert flagged is not None and flagged["possible_duplicate"] is True
    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.SENT
    assert len(relay_sink.envelopes) == 1
