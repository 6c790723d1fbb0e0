"""The sweep: mail stored while the broker was down is processed once it returns.

A private redis-server (so the machine's own keeps running) is stopped, a
question arrives and is stored and acknowledged, the broker comes back, and
Celery beat's sweep enqueues the mail for the worker. Nothing is lost.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from consultant.db.models import Draft, InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env
from tests.integration.conftest import (
    Child,
    wait_for,
    wait_for_port,
    worker_ready,
)
from tests.integration.servers import PrivateRedis

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


def test_mail_stored_while_broker_is_down_is_processed_after_it_returns(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    private_redis: PrivateRedis,
    spawn: Callable[..., Child],
) -> None:
    settings = set_env(
        monkeypatch,
        env,
        broker_url=f"redis://127.0.0.1:{private_redis.port}/0",
        sweep_interval="1",
        sweep_grace="0",
    )
    intake = spawn("intake")  # the broker has not started: it is down
    wait_for_port(settings.smtp_port, intake)
    with smtplib.SMTP("127.0.0.1", settings.smtp_port, timeout=60) as smtp:
        refused = smtp.sendmail(
            "d@example-clinic.org", ["consult@localhost"], mail_bytes("simple_question.eml")
        )
    assert refused == {}
    with session_scope(settings) as session:
        states = list(session.scalars(select(InboundMessage.state)))
    assert states == [InboundState.STORED]
    wait_for(lambda: "stored but not enqueued" in intake.output(), "the failed enqueue")

    private_redis.start()
    worker = spawn("worker", "--concurrency", "1")
    wait_for(worker_ready(worker), "the worker", 120)
    spawn("beat")
    wait_for(lambda: _drafts(settings) == 1, "the swept mail to be drafted", 120)
    with session_scope(settings) as session:
        assert list(session.scalars(select(InboundMessage.state))) == [InboundState.PROCESSED]


def _drafts(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(Draft)) or 0)
