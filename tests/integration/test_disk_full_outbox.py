"""An approved answer whose outbox folder (the embedded profile's delivery) sits
on a full disk: the send waits and retries, as for a relay's 4xx, instead of
hanging in "sending" until the sweep flags a possible duplicate; no half mail is
left in the folder; once space returns the answer is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from consultant.db.base import utcnow
from consultant.db.models import OutboundMessage, OutboundState
from consultant.db.session import session_factory, session_scope
from consultant.pipeline.send import Outcome, send_outbound
from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.test_disk_full_start import _fill, small_disk  # noqa: F401
from tests.integration.test_outbound_delivery import _approved, _row

pytestmark = pytest.mark.integration


def test_an_answer_to_a_full_outbox_folder_waits_and_goes_once_freed(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    small_disk: Path,  # noqa: F811
) -> None:
    outbox = small_disk / "outbox"
    settings = set_env(monkeypatch, env, outbox_dir=str(outbox))
    _, outbound_id = _approved(settings)
    filler = _fill(small_disk)

    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.RETRY
    row = _row(settings, outbound_id)
    assert row.state == OutboundState.QUEUED
    assert row.last_error == f"the outbox folder {outbox} is full or read-only"
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    assert not any(outbox.iterdir()), "a half-written mail was left in the outbox"

    filler.unlink()
    with session_scope(settings) as session:  # its backoff is over
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id)
            .values(next_attempt_at=utcnow())
        )
    assert send_outbound(session_factory(settings), settings, outbound_id) == Outcome.SENT
    assert _row(settings, outbound_id).state == OutboundState.SENT
    assert [path.suffix for path in outbox.iterdir()] == [".eml"]
