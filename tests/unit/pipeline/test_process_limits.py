"""The worker quarantines a mail over a MIME limit before parsing it, and keeps it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant.cases import fingerprint
from consultant.db.models import AuditEntry, InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.pipeline import process
from consultant.pipeline.intake.store import store_raw
from consultant.settings import Settings
from tests.conftest import set_env
from tests.mime_shapes import many_parts, nested


def _process(settings: Settings, raw: bytes) -> InboundMessage:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        process.process_message(session, settings, inbound_id)
    with session_scope(settings) as session:
        row = session.get_one(InboundMessage, inbound_id)
        session.expunge(row)
        return row


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls of the full parse the worker makes."""
    calls: list[int] = []
    real = process.parse

    def counted(raw: bytes) -> object:
        calls.append(len(raw))
        return real(raw)

    monkeypatch.setattr(process, "parse", counted)
    return calls


def test_worker_quarantines_fifty_thousand_parts_without_parsing_them(
    migrated: Settings, parses: list[int]
) -> None:
    raw = many_parts(50_000)
    row = _process(migrated, raw)
    assert (row.state, row.error) == (InboundState.QUARANTINED, "too many MIME parts (limit 500)")
    assert row.raw == raw  # kept as received
    assert parses == []
    with session_scope(migrated) as session:
        entry = session.scalars(select(AuditEntry).filter_by(action="inbound.quarantined")).one()
        assert entry.detail["reason"] == fingerprint("too many MIME parts (limit 500)")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (many_parts(11), "too many MIME parts (limit 10)"),
        (nested(4), "MIME parts nested too deeply (limit 3 levels)"),
    ],
    ids=["parts", "depth"],
)
def test_worker_quarantines_a_mail_just_over_a_limit(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    parses: list[int],
    raw: bytes,
    reason: str,
) -> None:
    settings = set_env(monkeypatch, env, max_mime_parts="10", max_mime_depth="3")
    row = _process(settings, raw)
    assert (row.state, row.error) == (InboundState.QUARANTINED, reason)
    assert parses == []


@pytest.mark.parametrize("raw", [many_parts(10), nested(3)], ids=["parts", "depth"])
def test_worker_drafts_a_mail_at_the_limits(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    parses: list[int],
    raw: bytes,
) -> None:
    settings = set_env(monkeypatch, env, max_mime_parts="10", max_mime_depth="3")
    row = _process(settings, raw)
    assert (row.state, row.error) == (InboundState.PROCESSED, None)
    assert parses == [len(raw)]
