"""The sweep: mail stored while the broker was down is processed once it returns.

A private redis-server (so the machine's own keeps running) is stopped, a
question arrives and is stored and acknowledged, the broker comes back, and
Celery beat's sweep enqueues the mail for the worker. Nothing is lost.
"""

from __future__ import annotations

import smtplib
import subprocess
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import func, select

from consultant.db.models import Draft, InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env
from tests.integration.conftest import (
    Child,
    free_port,
    redis_server_binary,
    wait_for,
    wait_for_port,
    worker_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis("127.0.0.1", self.port)
        wait_for(lambda: _pings(client), f"private redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    yield server
    server.stop()


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
