"""Hand stored mail to the processing queue, off the intake's own path.

Both intakes (SMTP and IMAP) commit a mail first and enqueue it after: the
enqueue runs in a small thread pool so a slow broker never delays an SMTP
answer or the next IMAP batch. If the broker is down, the mail is safe in the
database and the sweep enqueues it later; for a short while after a failure
no enqueue is even tried, so an outage costs one timeout, not one per mail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]
EnqueueMany = Callable[[list[int]], None]
BROKER_BACKOFF = 15.0  # seconds without enqueue attempts after a failure
ENQUEUE_THREADS = 4


class Enqueuer:
    """Submit inbound ids to `enqueue` in the background; close() waits for them."""

    def __init__(self, enqueue: EnqueueMany, threads: int = ENQUEUE_THREADS) -> None:
        self.enqueue = enqueue
        self._broker_down_until = 0.0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="enqueue")

    def submit(self, inbound_ids: list[int]) -> None:
        if inbound_ids:
            self._pool.submit(self._enqueue, inbound_ids)

    def close(self) -> None:
        """Wait for the enqueues in flight; the sweep covers any that fail."""
        self._pool.shutdown(wait=True)

    def _enqueue(self, inbound_ids: list[int]) -> None:
        first = inbound_ids[0]
        with self._lock:
            skip = time.monotonic() < self._broker_down_until
        if skip:
            log.warning(
                "inbound %s (+%d) stored; broker down, the sweep will enqueue",
                first,
                len(inbound_ids) - 1,
            )
            return
        try:
            self.enqueue(inbound_ids)
        except Exception as error:  # The sweep covers a lost enqueue; the mail is stored.
            with self._lock:
                self._broker_down_until = time.monotonic() + BROKER_BACKOFF
            # The class only: broker errors can quote a URL with its password.
            log.warning(
                "inbound %s (+%d) stored but not enqueued (%s); the sweep will",
                first,
                len(inbound_ids) - 1,
                type(error).__name__,
            )
