"""Readiness: can this deployment take and work mail right now?

Input: the settings. Output: one `Check` per dependency, each saying why it
failed: the database answers a SELECT 1; the broker answers (Redis PING, or a
SELECT 1 on the SQL broker's database); the beat heartbeat is fresher than
three sweep intervals; no stored mail has waited longer than
`ready_backlog_age`; the file system holding var/ has at least `min_free_mb`
free. Nothing changes in the data.

/readyz is public, so a check that fails with an error says only the
error's class there; the error's first line (a host, a port, a user name)
goes to the log, once each time it changes. Neither ever quotes a URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from consultant import heartbeat
from consultant.db.base import utcnow
from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import get_engine, session_scope
from consultant.diskspace import free_mb
from consultant.settings import Settings

STALE_AFTER_TICKS = 3  # the heartbeat is stale after this many sweep intervals

log = logging.getLogger(__name__)
_last_logged: dict[str, str] = {}  # check name -> the reason last logged
_logged_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def readiness(settings: Settings) -> list[Check]:
    """Run every check; each one fails on its own, never stopping the others."""
    checks: dict[str, Callable[[Settings], str]] = {
        "database": check_database,
        "broker": check_broker,
        "beat": check_beat,
        "backlog": check_backlog,
        "disk": check_disk,
    }
    results = []
    for name, check in checks.items():
        try:
            results.append(Check(name, True, check(settings)))
        except NotReady as error:
            results.append(Check(name, False, str(error)))
        except Exception as error:  # The world's fault: report it, check the rest.
            results.append(Check(name, False, _public_reason(name, error)))
        else:
            _forget(name)
    return results


def _public_reason(name: str, error: Exception) -> str:
    """The error's class for the public answer; its first line goes to the log."""
    reason = _reason(error)
    with _logged_lock:
        changed = _last_logged.get(name) != reason
        _last_logged[name] = reason
    if changed:
        log.warning("readiness: the %s check failed: %s", name, reason)
    return f"{reason.partition(':')[0]} (the service log has the details)"


def _forget(name: str) -> None:
    with _logged_lock:
        _last_logged.pop(name, None)


class NotReady(Exception):
    """A check ran and found the dependency not ready (the message says why)."""


def check_database(settings: Settings) -> str:
    with get_engine(settings).connect() as connection:
        connection.execute(text("SELECT 1"))
    return "answered"


def check_broker(settings: Settings) -> str:
    url = settings.broker_url
    if heartbeat.on_redis(settings):
        with heartbeat.redis_client(settings) as client:
            client.ping()
        return "answered PING"
    if url.startswith(("sqla+", "sqlalchemy+")):
        engine = create_engine(url.partition("+")[2], poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return "answered"
    from kombu.connection import Connection  # any other transport Celery knows

    with Connection(url, connect_timeout=heartbeat.TIMEOUT) as connection:  # type: ignore[no-untyped-call]
        connection.ensure_connection(max_retries=1)
    return "connected"


def check_beat(settings: Settings) -> str:
    last = heartbeat.last_beat(settings)
    if last is None:
        raise NotReady("no sweep has run yet: is beat running (`consultant beat`)?")
    age, limit = time.time() - last, STALE_AFTER_TICKS * settings.sweep_interval
    if age > limit:
        raise NotReady(f"the last sweep ran {age:.0f}s ago (stale after {limit:g}s)")
    return f"last sweep {age:.0f}s ago"


def check_backlog(settings: Settings) -> str:
    with session_scope(settings) as session:
        oldest = session.scalar(
            select(func.min(InboundMessage.received_at)).where(
                InboundMessage.state == InboundState.STORED
            )
        )
    if oldest is None:
        return "no mail waiting"
    age = (utcnow() - oldest).total_seconds()
    if age > settings.ready_backlog_age:
        raise NotReady(
            f"stored mail has waited {age:.0f}s unprocessed "
            f"(limit {settings.ready_backlog_age:g}s, CONSULTANT_READY_BACKLOG_AGE)"
        )
    return f"oldest stored mail waited {age:.0f}s"


def check_disk(settings: Settings) -> str:
    where = settings.var_dir.resolve()
    free = free_mb(where)
    if free < settings.min_free_mb:
        raise NotReady(
            f"only {free} MB free under {where} (CONSULTANT_MIN_FREE_MB={settings.min_free_mb})"
        )
    return f"{free} MB free under {where}"


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__
