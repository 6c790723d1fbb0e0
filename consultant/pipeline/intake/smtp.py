"""SMTP intake: validate at RCPT, persist at DATA, decide in the worker.

Only the configured consult addresses are accepted (550 5.1.1 otherwise, at
RCPT, before any data moves); aiosmtpd enforces the size limit (552). The raw
mail is committed by store_raw *before* we answer 250; the processing task is
enqueued after the answer, off the event loop. If the enqueue fails (broker
down) the mail is safe in the database and the sweep enqueues it later; for
a short while after such a failure the intake does not even try, so a broker
outage never slows the answers to senders.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from consultant.db.session import session_scope
from consultant.logs import redact_address
from consultant.pipeline.intake.store import Stored, store_raw
from consultant.settings import Settings

log = logging.getLogger(__name__)

OK_250 = "250 2.0.0 OK: queued as {ref}"
OK_RCPT = "250 2.1.5 Recipient OK"
ERR_550 = "550 5.1.1 No such consult address here"
ERR_451 = "451 4.3.0 Temporary failure, please try again later"
ERR_554_EMPTY = "554 5.6.0 Empty message"

Enqueue = Callable[[int], None]
BROKER_BACKOFF = 15.0  # seconds without enqueue attempts after a failure
ENQUEUE_THREADS = 4


class IntakeHandler:
    """aiosmtpd handler: RCPT check, then store-and-commit at DATA."""

    def __init__(self, settings: Settings, enqueue: Enqueue) -> None:
        self.settings = settings
        self.addresses = frozenset(a.lower() for a in settings.consult_addresses)
        self.enqueue = enqueue
        self._broker_down_until = 0.0
        self._lock = threading.Lock()
        # Our own pool, so stopping the intake can wait for enqueues in flight.
        self._enqueuer = ThreadPoolExecutor(ENQUEUE_THREADS, thread_name_prefix="enqueue")

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.strip().lower() not in self.addresses:
            log.info("refused recipient %s", redact_address(address))
            return ERR_550
        envelope.rcpt_tos.append(address)
        return OK_RCPT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes) or not raw.strip():
            return ERR_554_EMPTY
        loop = asyncio.get_running_loop()
        # The database call blocks: run it off the event loop so other
        # sessions keep talking while this one commits.
        stored = await loop.run_in_executor(None, self._store, raw, envelope)
        if stored.created:
            self._enqueuer.submit(self._enqueue, stored.inbound_id)
        return OK_250.format(ref=stored.inbound_id)

    async def handle_exception(self, error: Exception) -> str:
        # Never show the exception text to the peer; the log has it.
        log.exception("intake failed; answering 451")
        return ERR_451

    def close(self) -> None:
        """Wait for the enqueues in flight; the sweep covers any that fail."""
        self._enqueuer.shutdown(wait=True)

    def _store(self, raw: bytes, envelope: Envelope) -> Stored:
        with session_scope(self.settings) as session:
            stored = store_raw(
                session,
                raw,
                source="smtp",
                envelope_from=envelope.mail_from or "",
                envelope_to=list(envelope.rcpt_tos),
            )
        log.info(
            "inbound %s %s (%d bytes)",
            stored.inbound_id,
            "stored" if stored.created else "already stored",
            len(raw),
        )
        return stored

    def _enqueue(self, inbound_id: int) -> None:
        with self._lock:
            skip = time.monotonic() < self._broker_down_until
        if skip:
            log.warning("inbound %s stored; broker down, the sweep will enqueue it", inbound_id)
            return
        try:
            self.enqueue(inbound_id)
        except Exception as error:  # The sweep covers a lost enqueue; the mail is stored.
            with self._lock:
                self._broker_down_until = time.monotonic() + BROKER_BACKOFF
            # The class only: broker errors can quote a URL with its password.
            log.warning(
                "inbound %s stored but not enqueued (%s); the sweep will",
                inbound_id,
                type(error).__name__,
            )


class IntakeController(Controller):
    """A Controller whose SMTP server enforces our size limit and reports SIZE."""

    def __init__(self, handler: IntakeHandler, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        super().__init__(
            handler,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            ready_timeout=10.0,
            **kwargs,
        )

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert)
        self.handler.close()

    def factory(self) -> SMTP:
        return SMTP(
            self.handler,
            data_size_limit=self.settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.settings.mail_domain,
            ident="consultant intake",
        )


def make_controller(settings: Settings, enqueue: Enqueue) -> IntakeController:
    """Build (not start) the SMTP intake for these settings."""
    return IntakeController(IntakeHandler(settings, enqueue), settings)
