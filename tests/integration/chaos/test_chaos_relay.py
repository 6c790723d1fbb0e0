"""The relay goes away while 200 approved answers are being sent, then comes
back: every answer arrives exactly once, or its duplicate is flagged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from sqlalchemy import select

from consultant.db.models import AuditEntry, Case, OutboundMessage, OutboundState
from consultant.db.session import session_scope
from consultant.pipeline.review import approve
from consultant.settings import Settings
from tests.integration.chaos.conftest import (
    BATCH,
    Feeder,
    Mail,
    Tally,
    assert_whole,
    chaos_env,
    count_mail,
    record,
    settle,
    with_clinic,
)
from tests.integration.chaos.test_chaos_pipeline import start_pipeline
from tests.integration.conftest import Child, Sink, free_port, use_relay, wait_for
from workers.app import celery_config

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(600),
]

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


def test_relay_down_while_sending_approved_answers_each_arrives_exactly_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    relay: Relay,
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[[int, list[Mail]], Feeder],
) -> None:
    use_relay(env, relay.sink)
    settings = chaos_env(monkeypatch, env, max_send_attempts="12")
    with_clinic(settings)
    start_pipeline(spawn, settings)
    feeder = feeder_for(settings.smtp_port, mails)
    feeder.join()
    settle(settings, feeder.accepted)

    approved = approve_cases(settings, ANSWERS)
    producer = Celery("chaos-producer")
    producer.config_from_object(celery_config(settings))
    for outbound_id, _ in approved:
        producer.send_task("pipeline.send_outbound", (outbound_id,))
    wait_for(lambda: len(relay.sink.envelopes) >= 40, "40 answers at the relay", 120)
    relay.down()
    at_down = len(relay.sink.envelopes)
    time.sleep(DOWN_FOR)
    relay.up()
    wait_for(
        lambda: outbox_states(settings)[OutboundState.SENT] == ANSWERS,
        f"{ANSWERS} answers sent",
        240,
    )

    delivered = relay.delivered()
    wanted = {message_id for _, message_id in approved}
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
    cases, drafted, duplicates, lost = count_mail(settings, feeder.accepted)
    result = record(
        Tally(
            "relay down while sending",
            f"relay down for {DOWN_FOR:.0f} s at {at_down} of {ANSWERS} answers delivered",
            len(feeder.accepted),
            cases,
            drafted,
            sum(1 for m in wanted if delivered[m] >= 1),
            duplicates + sum(delivered[m] - 1 for m in doubled - flagged),
            lost + sum(1 for m in wanted if delivered[m] == 0),
            f"{retried} answers retried; {len(doubled & flagged)} flagged possible duplicates",
        )
    )
    assert at_down < ANSWERS, "the relay went down mid-send"
    assert retried > 0, "some answers met the relay down"
    assert set(delivered) == wanted, "only the approved answers, all of them"
    assert result.sent == ANSWERS
    assert_whole(result, BATCH)
