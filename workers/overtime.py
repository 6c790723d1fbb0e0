"""Tasks over their time limit: the mail in hand is quarantined with the reason.

Input: a processing task that passed CONSULTANT_TASK_SOFT_TIME_LIMIT (Celery
raises SoftTimeLimitExceeded inside it) or was killed at
CONSULTANT_TASK_TIME_LIMIT (the worker reports TimeLimitExceeded through the
task_failure signal, in its main process). Output: the inbound row moves
stored -> quarantined with the reason and an audit entry, so the sweep does not
hand it to a worker again and again; its raw mail stays, and `consultant
inbound retry ID` takes it again. A batch killed at the hard limit does not
say which mail was in hand: its mails still stored are queued one by one, so
the slow one meets the limit alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import signals
from celery.exceptions import TimeLimitExceeded
from sqlalchemy import select, update

from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOFT = (
    "processing took longer than the {limit:g}-second limit (CONSULTANT_TASK_SOFT_TIME_LIMIT); "
    "the mail is kept: `consultant inbound retry {inbound_id}` processes it again"
)
HARD = (
    "processing was stopped at the {limit:g}-second limit (CONSULTANT_TASK_TIME_LIMIT); "
    "the mail is kept: `consultant inbound retry {inbound_id}` processes it again"
)
ONE = "pipeline.process_message"
BATCH = "pipeline.process_messages"


def quarantine_overtime(settings: Settings, inbound_id: int, hard: bool = False) -> bool:
    """Quarantine a stored mail whose processing ran out of time; tell whether it moved."""
    limit = settings.task_time_limit if hard else settings.task_soft_time_limit
    reason = (HARD if hard else SOFT).format(limit=limit, inbound_id=inbound_id)
    with session_scope(settings) as session:
        moved = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.STORED)
            .values(state=InboundState.QUARANTINED.value, error=reason, processed_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        if moved:
            audit(
                session, "system", "inbound.quarantined", None, inbound_id=inbound_id, reason=reason
            )
    if moved:
        log.warning("inbound %s quarantined: %s", inbound_id, reason)
    return bool(moved)


def still_stored(settings: Settings, inbound_ids: list[int]) -> list[int]:
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.id.in_(inbound_ids))
                .where(InboundMessage.state == InboundState.STORED)
                .order_by(InboundMessage.id)
            )
        )


def on_hard_limit(enqueue_one: Callable[[int], None]) -> None:
    """Connect the handler of tasks killed at the hard limit (in the worker's main process)."""

    def handle(sender: Any = None, exception: Any = None, args: Any = None, **_: Any) -> None:
        if not isinstance(exception, TimeLimitExceeded) or not args:
            return
        name = getattr(sender, "name", "")
        settings = get_settings()
        if name == ONE:
            quarantine_overtime(settings, int(args[0]), hard=True)
        elif name == BATCH:
            for inbound_id in still_stored(settings, [int(i) for i in args[0]]):
                enqueue_one(inbound_id)  # alone, so the slow one meets the limit by itself

    signals.task_failure.connect(handle, weak=False)
