"""Celery's time limits on a real worker: a mail whose processing hangs is quarantined
with the reason, at the soft limit or, if the task ignores that, at the hard one; the
raw mail stays, and the worker goes on with the next mail.

The hang is tests/integration/stuck_worker.py: parse waits for a signal on mails
marked X-Test-Stuck, so only the limits can end it, whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import REPO, mail_bytes, set_env
from tests.integration.conftest import Child, wait_for, wait_for_port, worker_ready

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]
QUESTION = mail_bytes("simple_question.eml")
QUESTION_ID = "<q1-20261124.091500@example-clinic.org>"


@pytest.fixture
def stuck_worker(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[[], Child]]:
    """Start `consultant worker --concurrency 1` with tests/integration/stuck_worker.py's parse."""
    children: list[Child] = []

    def start() -> Child:
        log = tmp_path / "stuck-worker.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.stuck_worker", "--concurrency", "1"],
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        children.append(Child("stuck worker", process, log))
        return children[-1]

    yield start
    for child in children:
        if child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def _marked(how: str, number: int) -> bytes:
    raw = QUESTION.replace(b"Message-ID: <", f"Message-ID: <{how}{number}.".encode(), 1)
    return f"X-Test-Stuck: {how}\n".encode() + raw


def _send(settings: Settings, raw: bytes) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
        assert smtp.sendmail("dana@example-clinic.org", ["consult@localhost"], raw) == {}


def _row(settings: Settings, message_id: str) -> InboundMessage | None:
    """The inbound row whose Message-ID starts with `message_id`."""
    with session_scope(settings) as session:
        row = session.scalar(
            select(InboundMessage).where(InboundMessage.rfc_message_id.startswith(message_id))
        )
        if row is not None:
            session.expunge(row)
        return row


def _settled(settings: Settings, message_id: str) -> Callable[[], InboundMessage | None]:
    def check() -> InboundMessage | None:
        row = _row(settings, message_id)
        return row if row is not None and row.state != InboundState.STORED else None

    return check


def test_a_hanging_task_is_quarantined_at_the_soft_limit_then_the_hard_one(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
    stuck_worker: Callable[[], Child],
) -> None:
    settings = set_env(
        monkeypatch, env, task_soft_time_limit="4", task_time_limit="6", sweep_grace="3600"
    )
    worker = stuck_worker()
    intake = spawn("intake")
    wait_for(worker_ready(worker), "the Celery worker to be ready", 120)
    wait_for_port(settings.smtp_port, intake)

    soft, hard = _marked("soft", 1), _marked("hard", 2)
    _send(settings, soft)
    row = wait_for(_settled(settings, "<soft1."), "the soft limit", 60)
    assert row.state == InboundState.QUARANTINED
    assert row.error == (
        "processing took longer than the 4-second limit (CONSULTANT_TASK_SOFT_TIME_LIMIT); "
        f"the mail is kept: `consultant inbound retry {row.id}` processes it again"
    )

    _send(settings, hard)
    row = wait_for(_settled(settings, "<hard2."), "the hard limit", 60)
    assert row.state == InboundState.QUARANTINED
    assert row.error is not None and row.error.startswith(
        "processing was stopped at the 6-second limit (CONSULTANT_TASK_TIME_LIMIT)"
    )
    assert "Hard time limit (6.0s) exceeded" in worker.output()

    # The killed process was replaced: the next mail is processed as usual.
    _send(settings, QUESTION)
    row = wait_for(_settled(settings, QUESTION_ID), "the next mail", 60)
    assert (row.state, row.error) == (InboundState.PROCESSED, None)
    kept = _row(settings, "<hard2.")
    assert kept is not None and b"X-Test-Stuck: hard" in kept.raw  # the mail as received
