"""One thin task per stage. Tasks take database ids, commit, then enqueue.

Retries: Transient errors and lost database connections retry with backoff
and jitter. A mail that cannot be processed because the storage is full (or
read-only) stays stored, with one log line a minute, and the sweep hands it
over again once its grace has passed. A mail whose processing runs out of time
is quarantined with the reason (overtime.py). Anything else is a bug: the
traceback goes on the inbound row and the exception is re-raised.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import update
from sqlalchemy.exc import InterfaceError, OperationalError

from consultant.codes.drop import scan_drop
from consultant.codes.status import overdue
from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_factory, session_scope
from consultant.diskspace import OncePerInterval, is_storage_full, storage_place
from consultant.errors import Transient
from consultant.handoff import hand_over
from consultant.heartbeat import record_beat
from consultant.pipeline.process import process_message
from consultant.pipeline.send import send_outbound
from consultant.retention import purge_due
from consultant.review.stale import redraft_stale
from consultant.settings import Settings, get_settings
from workers.app import app
from workers.overtime import on_hard_limit, quarantine_overtime
from workers.sweep import sweep

log = logging.getLogger(__name__)
_storage = OncePerInterval(log)  # one line a minute while the storage is full

# Mails per processing task when the IMAP poller hands over a batch: fewer
# publishes for the poller, and still spread over every worker.
PROCESS_CHUNK = 25

RETRY = {
    "autoretry_for": (Transient, OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}


@app.task(name="pipeline.process_message", **RETRY)  # type: ignore[untyped-decorator]
def process_message_task(inbound_id: int) -> int | None:
    settings = get_settings()
    try:
        case_id = _process(settings, inbound_id)
    except Exception as error:
        if not is_storage_full(error):
            raise
        # Rolled back: the mail is still stored, and the sweep hands it over
        # again after sweep_grace. No retry through the broker, whose own
        # storage may be as full as ours.
        _storage.storage_full(storage_place(settings), "leaving mail stored")
        return None
    _storage.storage_works(storage_place(settings))
    return case_id


def _process(settings: Settings, inbound_id: int) -> int | None:
    try:
        with session_scope(settings) as session:
            processed = process_message(session, settings, inbound_id)
        for outbound_id in processed.outbound_ids:  # committed: now it may leave
            _enqueue_send_quietly(outbound_id)
        return processed.case_id
    except (Transient, OperationalError, InterfaceError):
        raise
    except SoftTimeLimitExceeded:
        quarantine_overtime(settings, inbound_id)
        raise
    except Exception as error:
        if not is_storage_full(error):  # a full disk is not the mail's fault
            _record_failure(inbound_id, traceback.format_exc())
        raise


@app.task(name="pipeline.process_messages", **RETRY)  # type: ignore[untyped-decorator]
def process_messages_task(inbound_ids: list[int]) -> list[int | None]:
    """Process a batch (from the IMAP poller); one bad mail does not stop the rest."""
    results = []
    for index, inbound_id in enumerate(inbound_ids):
        try:
            results.append(process_message_task.run(inbound_id))
        except (Transient, OperationalError, InterfaceError):
            raise  # Retried as a whole: mail already processed is skipped.
        except SoftTimeLimitExceeded:  # Quarantined; the rest get time of their own.
            enqueue_process_many(inbound_ids[index + 1 :])
            raise
        except Exception:
            results.append(None)  # Recorded on its row by process_message_task.
    return results


@app.task(name="pipeline.send_outbound", **RETRY)  # type: ignore[untyped-decorator]
def send_outbound_task(outbound_id: int) -> str:
    settings = get_settings()
    return str(send_outbound(session_factory(settings), settings, outbound_id))


@app.task(name="pipeline.sweep", **RETRY)  # type: ignore[untyped-decorator]
def sweep_task() -> dict[str, int]:
    settings = get_settings()
    _record_beat_quietly(settings)
    return sweep(settings, enqueue_process, enqueue_send)


def _record_beat_quietly(settings: Settings) -> None:
    """Tell readiness that beat ticks; a failure here must not cost the sweep."""
    try:
        record_beat(settings)
    except Exception as error:
        log.warning("could not record the sweep heartbeat (%s)", type(error).__name__)


@app.task(name="pipeline.redraft_stale", **RETRY)  # type: ignore[untyped-decorator]
def redraft_stale_task() -> int:
    """Redraft open system drafts made with other code data than is loaded now."""
    return len(redraft_stale(get_settings()).redrafted)


@app.task(name="pipeline.purge", **RETRY)  # type: ignore[untyped-decorator]
def purge_task() -> str | None:
    erased = purge_due(get_settings())
    return erased.line() if erased else None


def enqueue_process(inbound_id: int, **options: Any) -> None:
    """Queue processing of a stored mail; raises if the broker is unreachable."""
    process_message_task.apply_async((inbound_id,), retry=False, **options)


on_hard_limit(enqueue_process)


def enqueue_process_many(inbound_ids: list[int], **options: Any) -> None:
    """Queue processing of stored mails, PROCESS_CHUNK to a task (fewer publishes)."""
    for start in range(0, len(inbound_ids), PROCESS_CHUNK):
        chunk = inbound_ids[start : start + PROCESS_CHUNK]
        process_messages_task.apply_async((chunk,), retry=False, **options)


def enqueue_send(outbound_id: int, **options: Any) -> None:
    """Queue delivery of an outbox row; raises if the broker is unreachable."""
    send_outbound_task.apply_async((outbound_id,), retry=False, **options)


def enqueue_redraft_stale(**options: Any) -> None:
    """Queue the redraft of open drafts after new code data; raises if the broker is
    unreachable (the sweep redrafts them then)."""
    redraft_stale_task.apply_async((), retry=False, **options)


def _enqueue_send_quietly(outbound_id: int) -> None:
    """Enqueue a committed outbox row; if the broker is down, the sweep sends it later."""
    hand_over(enqueue_send, outbound_id, "outbound")


def _record_failure(inbound_id: int, trace: str) -> None:
    with session_scope() as session:
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.STORED)
            .values(state=InboundState.FAILED.value, error=trace)
        )
    log.error("inbound %s failed; traceback stored on the row", inbound_id)


@app.task(name="codes.drop_folder", **RETRY)  # type: ignore[untyped-decorator]
def drop_folder_task() -> dict[str, object]:
    """Import the CMS downloads placed in the drop folder; redraft after new data."""
    settings = get_settings()
    run = scan_drop(settings)
    if run.loaded_new:
        redraft_stale(settings)
    return {"imported": run.imported, "refused": sorted(run.refused), "waiting": run.waiting}


@app.task(name="codes.check_currency", **RETRY)  # type: ignore[untyped-decorator]
def check_currency_task() -> list[str]:
    """Warn, once a day, of every kind of code data past its next expected release."""
    with session_scope(get_settings()) as session:
        warnings = overdue(session)
    for warning in warnings:
        log.warning("code data out of date: %s", warning)
    return warnings
