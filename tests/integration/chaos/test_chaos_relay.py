"""The relay goes away while 200 approved answers are being sent, then comes
back: every answer arrives exactly once, or its duplicate is flagged.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from sqlalchemy import select

from consultant.db.models import AuditEntry, Case, OutboundMessage, OutboundState
from consultant.db.session import session_scope
from consultant.review import approve
from consultant.settings import Settings
from tests.integration.chaos.conftest import (
    BATCH,
    CHAOS,
    Feeder,
    Mail,
    Tally,
    assert_whole,
    chaos_env,
    count_mail,
    record,
    settle,
    start_pipeline,
    with_clinic,
)
from tests.integration.conftest import (
    Child,
    Sink,
    free_port,
    use_relay,
    wait_for,
    worker_ready,
)
from workers.app import celery_config

pytestmark = CHAOS

ANSWERS = 200
DOWN_FOR = 8.0


class Relay:
    """An aiosmtpd relay that can be taken down and brought back on its port."""

    def __init__(self) -> None:
        self.sink = Sink("127.0.0.1", free_port())
        self.controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(
            self.sink, hostname=self.sink.host, port=self.sink.port, ready_timeout=10
        )
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def delivered(self) -> Counter[str]:
        """Deliveries per Message-ID."""
        ids = Counter[str]()
        for envelope in list(self.sink.envelopes):
            content = envelope.content
            assert isinstance(content, bytes)
            ids[str(message_from_bytes(content, policy=policy.default)["Message-ID"])] += 1
        return ids


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = Relay()
    server.up()
    yield server
    server.down()


def approve_cases(settings: Settings, count: int) -> list[tuple[int, str]]:
    """Approve `count` drafted cases with an expert's answer: (outbox id, Message-ID)."""
    with session_scope(settings) as session:
        refs = list(session.scalars(select(Case.ref).order_by(Case.id).limit(count)))
    approved = []
    for ref in refs:
        with session_scope(settings) as session:
            row = approve(
                session,
                settings,
                ref,
                "expert@chaos-desk.example.org",
                text="Dear coder,\n\nYes: report the distinct procedure with modifier 59.\n",
            )
            session.flush()
            approved.append((row.id, row.rfc_message_id))
    return approved


def outbox_states(settings: Settings) -> Counter[str]:
    with session_scope(settings) as session:
        return Counter(session.scalars(select(OutboundMessage.state)))


@dataclass
class Answers:
    """A drafted batch with ANSWERS of its cases approved and their sends queued."""

    settings: Settings
    feeder: Feeder
    approved: list[tuple[int, str]]


def approved_batch(
    spawn: Callable[..., Child],
    settings: Settings,
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> tuple[Answers, Child]:
    """Draft the batch, approve ANSWERS cases and queue their sends; returns the worker too."""
    with_clinic(settings)
    worker, _ = start_pipeline(spawn, settings)
    feeder = feeder_for(settings.smtp_port, mails)
    feeder.join()
    settle(settings, feeder.accepted)
    approved = approve_cases(settings, ANSWERS)
    producer = Celery("chaos-producer")
    producer.config_from_object(celery_config(settings))
    for outbound_id, _ in approved:
        producer.send_task("pipeline.send_outbound", (outbound_id,))
    return Answers(settings, feeder, approved), worker


@dataclass(frozen=True)
class Deliveries:
    retried: int  # answers sent in more than one attempt
    flagged: int  # flagged as possible duplicates
    flagged_twice: int  # of those, delivered twice


def delivery_tally(
    name: str, fault: str, answers: Answers, relay: Relay
) -> tuple[Tally, Deliveries]:
    """Wait for every answer to be sent, then count deliveries at the relay."""
    settings = answers.settings
    wait_for(
        lambda: outbox_states(settings)[OutboundState.SENT] == ANSWERS,
        f"{ANSWERS} answers sent",
        240,
    )
    delivered = relay.delivered()
    wanted = {message_id for _, message_id in answers.approved}
    assert set(delivered) == wanted, "only the approved answers reach the relay"
    with session_scope(settings) as session:
        flagged = set(
            session.scalars(
                select(AuditEntry.detail["rfc_message_id"].as_string()).where(
                    AuditEntry.action == "answer.interrupted"
                )
            )
        )
        retried = sum(
            1 for attempts in session.scalars(select(OutboundMessage.attempts)) if attempts > 1
        )
    doubled = {m for m, n in delivered.items() if n > 1}
    cases, drafted, duplicates, lost = count_mail(settings, answers.feeder.accepted)
    deliveries = Deliveries(retried, len(flagged), len(doubled & flagged))
    notes = f"{retried} answers retried; {len(flagged)} flagged possible duplicates"
    notes += f", {deliveries.flagged_twice} of them delivered twice"
    tally = record(
        Tally(
            name,
            fault,
            len(answers.feeder.accepted),
            cases,
            drafted,
            sum(1 for m in wanted if delivered[m] >= 1),
            duplicates + sum(delivered[m] - 1 for m in doubled - flagged),  # silent ones only
            lost + sum(1 for m in wanted if delivered[m] == 0),
            notes,
        )
    )
    return tally, deliveries


def test_relay_down_while_sending_approved_answers_each_arrives_exactly_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    relay: Relay,
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> None:
    use_relay(env, relay.sink)
    settings = chaos_env(monkeypatch, env, max_send_attempts="12")
    answers, _ = approved_batch(spawn, settings, mails, feeder_for)

    wait_for(lambda: len(relay.sink.envelopes) >= 40, "40 answers at the relay", 120)
    relay.down()
    at_down = len(relay.sink.envelopes)
    time.sleep(DOWN_FOR)
    relay.up()

    fault = f"relay down for {DOWN_FOR:.0f} s at {at_down} of {ANSWERS} answers delivered"
    result, deliveries = delivery_tally("relay down while sending", fault, answers, relay)
    assert at_down < ANSWERS, "the relay went down mid-send"
    assert deliveries.retried > 0, "some answers met the relay down"
    assert deliveries.flagged == 0, "a refused connection is no possible duplicate"
    assert result.sent == ANSWERS
    assert_whole(result, BATCH)


def test_worker_killed_while_sending_answers_none_lost_none_silently_doubled(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    relay: Relay,
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> None:
    relay.sink.delay = 0.05  # each DATA takes a while: sends are in flight at the kill
    use_relay(env, relay.sink)
    settings = chaos_env(monkeypatch, env, sending_stale_after="5")
    answers, worker = approved_batch(spawn, settings, mails, feeder_for)

    wait_for(lambda: len(relay.sink.envelopes) >= 40, "40 answers at the relay", 120)
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    at_kill = len(relay.sink.envelopes)
    replacement = spawn("worker", "--concurrency", "2", name="worker-2")
    wait_for(worker_ready(replacement), "the replacement worker", 120)

    fault = f"kill -9 of the worker at {at_kill} of {ANSWERS} answers delivered, then a new one"
    result, _ = delivery_tally("worker kill -9 while sending", fault, answers, relay)
    assert at_kill < ANSWERS, "the kill landed mid-send"
    assert result.sent == ANSWERS
    assert_whole(result, BATCH)
