"""The beat heartbeat: every sweep tick records when it ran; readiness reads it.

Kept without a schema change where every process of the deployment sees it:
a Redis key when the broker is Redis (production: beat, workers and console
on different hosts share it), else a file under var/ (the embedded profile:
one machine). The value is the tick's Unix time.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from consultant.settings import Settings

KEY = "consultant:heartbeat:sweep"
FILE_NAME = "heartbeat-sweep"
TIMEOUT = 2.0  # seconds to reach Redis before the heartbeat counts as unreadable


def on_redis(settings: Settings) -> bool:
    return settings.broker_url.startswith(("redis://", "rediss://"))


def record_beat(settings: Settings, at: float | None = None) -> None:
    """Record a sweep tick at `at` (default: now)."""
    value = repr(time.time() if at is None else at)
    if on_redis(settings):
        with redis_client(settings) as client:
            client.set(KEY, value)
        return
    path = _file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(value, encoding="ascii")
    temporary.replace(path)  # readers never see half a number


def last_beat(settings: Settings) -> float | None:
    """The Unix time of the last recorded tick, or None if there was none."""
    if on_redis(settings):
        with redis_client(settings) as client:
            raw = client.get(KEY)
        return float(raw) if raw is not None else None
    try:
        return float(_file(settings).read_text(encoding="ascii"))
    except FileNotFoundError:
        return None


def _file(settings: Settings) -> Path:
    return settings.var_dir / FILE_NAME


def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.broker_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
