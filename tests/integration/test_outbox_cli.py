"""`consultant outbox list` and `outbox retry` as an operator types them, over a
migrated SQLite database and a real aiosmtpd relay that refuses or accepts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from consultant.cases import fingerprint
from consultant.cli.outbox import outbox
from consultant.db.base import utcnow
from consultant.db.models import AuditEntry, Case, CaseState, OutboundMessage, OutboundState
from consultant.db.session import session_factory, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.pipeline.send import Outcome, send_outbound
from consultant.review import approve
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env
from tests.integration.conftest import Sink

pytestmark = pytest.mark.integration

ASKER = "dana.biller@example-clinic.org"


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
    )


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What `outbox retry` handed to the broker (no broker needed)."""
    calls: list[int] = []
    monkeypatch.setattr("workers.tasks.enqueue_send", lambda outbound_id: calls.append(outbound_id))
    return calls


def _approved(settings: Settings, mail: str = "simple_question.eml") -> tuple[str, int]:
    """A case approved from `mail`: its reference and outbox row id."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, mail_bytes(mail), source="smtp").inbound_id
        case_id = process_message(session, settings, inbound_id).case_id
        ref = session.get_one(Case, case_id).ref
    with session_scope(settings) as session:
        row = approve(session, settings, str(ref), "r@example.org", "Our expert's answer.\n")
        return str(ref), row.id


def _failed(settings: Settings, sink: Sink) -> tuple[str, int]:
    sink.answer = "554 5.7.1 relay denied for this sender"
    ref, outbound_id = _approved(settings)
    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.FAILED
    sink.answer = "250 2.0.0 OK"
    return ref, outbound_id


def _run(*args: str) -> Result:
    result = CliRunner().invoke(outbox, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_list_shows_every_column_and_the_relays_answer(relayed: Settings, relay_sink: Sink) -> None:
    ref, outbound_id = _failed(relayed, relay_sink)
    result = _run("list")
    assert result.exit_code == 0, result.output
    header, line = result.stdout.splitlines()
    assert header.split() == [
        "ID",
        "CASE",
        "KIND",
        "STATE",
        "TRIES",
        "NEXT",
        "ATTEMPT",
        "SENT",
        "RECIPIENT",
        "PROBLEM",
    ]
    assert line.split()[:5] == [str(outbound_id), ref, "answer", "failed", "1"]
    assert ASKER in line  # an operator's view: the full address
    assert "554 5.7.1 relay denied for this sender" in line


def test_list_filters_by_state_and_case_and_limits(relayed: Settings, relay_sink: Sink) -> None:
    failed_ref, failed_id = _failed(relayed, relay_sink)
    _, queued_id = _approved(relayed, "html_only.eml")
    assert _ids(_run("list", "--state", "failed")) == [failed_id]
    assert _ids(_run("list", "--state", "queued")) == [queued_id]
    assert _ids(_run("list", "--case", failed_ref.lower())) == [failed_id]
    assert _ids(_run("list")) == [queued_id, failed_id]  # newest first
    assert _ids(_run("list", "--limit", "1")) == [queued_id]
    assert _run("list", "--state", "sent").stdout == "no outgoing mail\n"


def _ids(result: Result) -> list[int]:
    assert result.exit_code == 0, result.output
    return [int(line.split()[0]) for line in result.stdout.splitlines()[1:]]


def test_list_json_carries_the_full_row(relayed: Settings, relay_sink: Sink) -> None:
    ref, outbound_id = _failed(relayed, relay_sink)
    result = _run("list", "--json", "--state", "failed")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["id"] == outbound_id and row["case"] == ref
    assert (row["kind"], row["state"], row["attempts"]) == ("answer", "failed", 1)
    assert row["recipients"] == [ASKER]
    assert "554 5.7.1 relay denied" in row["last_error"]
    assert row["sent_at"] is None and row["created_at"] and row["rfc_message_id"]


def test_list_of_an_unknown_case_is_a_clear_error(relayed: Settings) -> None:
    result = _run("list", "--case", "CC-2026-999999")
    assert result.exit_code == 1 and "no case CC-2026-999999" in result.stderr


def test_retry_requeues_keeps_attempts_unflags_the_case_and_audits(
    relayed: Settings, relay_sink: Sink, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "opal")
    monkeypatch.setenv("USER", "opal")
    ref, outbound_id = _failed(relayed, relay_sink)
    with session_scope(relayed) as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        assert case.attention is not None and "554 5.7.1" in case.attention
        failure = case.attention
        case.attention = f"unknown sender: held\n{failure}"

    result = _run("retry", str(outbound_id))
    assert result.exit_code == 0, result.output
    assert f"outbound {outbound_id} queued again (1 earlier attempts)" in result.stdout
    assert enqueued == [outbound_id]
    with session_scope(relayed) as session:
        row = session.get_one(OutboundMessage, outbound_id)
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        retried = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "answer.retried")
        ).one()
        assert (row.state, row.attempts) == (OutboundState.QUEUED, 1)
        assert row.next_attempt_at is not None and row.next_attempt_at <= utcnow()
        assert case.attention == "unknown sender: held"  # only the failure's note went
        assert retried.actor == "cli:opal" and retried.detail["outbound_id"] == outbound_id
        assert retried.detail["cleared_attention"] == fingerprint(failure)  # not the relay's text

    assert send_outbound(session_factory(relayed), relayed, outbound_id) == Outcome.SENT
    assert len(relay_sink.envelopes) == 1
    with session_scope(relayed) as session:
        assert session.scalars(select(Case.state).where(Case.ref == ref)).one() == CaseState.SENT


def test_retry_with_the_broker_down_says_the_sweep_will_send_it(
    relayed: Settings, relay_sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(outbound_id: int) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("workers.tasks.enqueue_send", broker_down)
    _, outbound_id = _failed(relayed, relay_sink)
    result = _run("retry", str(outbound_id))
    assert result.exit_code == 0, result.output
    assert "broker is unreachable; the sweep will send" in result.stderr
    with session_scope(relayed) as session:
        assert session.get_one(OutboundMessage, outbound_id).state == OutboundState.QUEUED


def test_retry_refuses_rows_that_are_not_failed_and_unknown_ids(
    relayed: Settings, enqueued: list[int]
) -> None:
    _, outbound_id = _approved(relayed)
    not_failed = _run("retry", str(outbound_id))
    assert not_failed.exit_code == 1
    assert f"outbound {outbound_id} is queued; only failed mail can be retried" in (
        not_failed.stderr
    )
    unknown = _run("retry", "999")
    assert unknown.exit_code == 1 and "no outbound message 999" in unknown.stderr
    assert enqueued == []


def test_a_failed_retry_fails_again_at_once_and_flags_the_case_again(
    relayed: Settings, relay_sink: Sink, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, {}, max_send_attempts="1")
    ref, outbound_id = _failed(settings, relay_sink)
    _run("retry", str(outbound_id))
    relay_sink.answer = "451 4.3.0 try later"
    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.FAILED
    with session_scope(settings) as session:
        row = session.get_one(OutboundMessage, outbound_id)
        attention = session.scalars(select(Case.attention).where(Case.ref == ref)).one()
    assert row.attempts == 2 and row.created_at > utcnow() - timedelta(minutes=5)
    assert attention is not None and attention.startswith("answer not delivered after 2 attempts")
    assert "451 4.3.0 try later" in attention
