"""How `consultant web` runs uvicorn: connection limits, and a deadline for request heads.

Input: the settings. Output: keyword arguments for uvicorn.Config. No state
beyond each connection's timer.

uvicorn answers 503 beyond `limit_concurrency`, closes a keep-alive
connection idle for `timeout_keep_alive`, and h11 refuses a request head over
`h11_max_incomplete_event_size`. It has no deadline for the head itself: a
connection that sends nothing, or half a head, stays open for good (1,000 such
connections stayed open), and a byte now and then even cancels its keep-alive
timer. HeadTimeoutProtocol, uvicorn's h11 protocol, closes a connection whose
request head is not complete within CONSULTANT_WEB_HEADER_TIMEOUT of its
opening, or of the first byte of its next request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from consultant.settings import Settings

log = logging.getLogger(__name__)


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections slow to send a request head."""

    head_timeout = 10.0  # set per server by server_limits()
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._time_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._time_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _time_head(self) -> None:
        """Run the timer while a request head is awaited (h11: the client is IDLE)."""
        if self.conn.their_state is not h11.IDLE:
            self._stop_head_timer()
        elif self._head_timer is None and (self.conn.trailing_data[0] or self.cycle is None):
            # A first request, or bytes of the next one: silence between
            # requests is the keep-alive timer's to end.
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_late)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("closed a connection without a request head after %gs", self.head_timeout)
            self.transport.close()


def server_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config arguments that bound connections, heads and idle time."""
    protocol = type(
        "HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout": settings.web_header_timeout}
    )
    return {
        "http": protocol,
        "limit_concurrency": settings.web_max_connections,
        "timeout_keep_alive": settings.web_keep_alive,
        "h11_max_incomplete_event_size": settings.web_max_head,
    }
