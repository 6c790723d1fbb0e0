"""SMTP intake: validate at RCPT, persist at DATA, decide in the worker.

Only the configured consult addresses are accepted (550 5.1.1 otherwise, at
RCPT, before any data moves); aiosmtpd enforces the size limit (552). The raw
mail is committed *before* we answer 250, in a group commit with the mails of
other sessions that arrived meanwhile (group.py); the processing tasks are
enqueued after the commit, off the event loop, by the shared Enqueuer (which
leaves mail to the sweep while the broker is down).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from consultant.db.session import session_scope
from consultant.logs import redact_address
from consultant.pipeline.intake.enqueue import Enqueue, EnqueueMany, Enqueuer
from consultant.pipeline.intake.group import GroupCommit
from consultant.pipeline.intake.store import Incoming, Stored, store_many
from consultant.settings import Settings

log = logging.getLogger(__name__)

OK_250 = "250 2.0.0 OK: queued as {ref}"
OK_RCPT = "250 2.1.5 Recipient OK"
ERR_550 = "550 5.1.1 No such consult address here"
ERR_451 = "451 4.3.0 Temporary failure, please try again later"
ERR_554_EMPTY = "554 5.6.0 Empty message"
MAX_LINE = 64 * 1024  # octets of one line, its CRLF included; longer gets 500


class IntakeHandler:
    """aiosmtpd handler: RCPT check, then store-and-commit at DATA."""

    def __init__(
        self, settings: Settings, enqueue: Enqueue, enqueue_many: EnqueueMany | None = None
    ) -> None:
        self.settings = settings
        self.addresses = frozenset(a.lower() for a in settings.consult_addresses)
        self.enqueuer = Enqueuer(enqueue_many or _one_by_one(enqueue))
        sqlite = settings.database_url.startswith("sqlite")
        self.group = GroupCommit(self._store, self.enqueuer.submit, writers=4 if sqlite else 1)

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
        # Committed (with the mails of other sessions that arrived meanwhile)
        # before the answer; the enqueue follows the commit, off the event loop.
        stored = await self.group.store(incoming_of(raw, envelope))
        return OK_250.format(ref=stored.inbound_id)

    async def handle_exception(self, error: Exception) -> str:
        # Never show the exception text to the peer; the log has it.
        log.exception("intake failed; answering 451")
        return ERR_451

    def close(self) -> None:
        """Wait for the enqueues in flight; the sweep covers any that fail."""
        self.enqueuer.close()

    def _store(self, mails: Sequence[Incoming]) -> list[Stored]:
        with session_scope(self.settings) as session:
            stored = store_many(session, mails)
        for mail, row in zip(mails, stored, strict=True):
            state = "stored" if row.created else "already stored"
            log.info("inbound %s %s (%d bytes)", row.inbound_id, state, len(mail.raw))
        return stored


def _one_by_one(enqueue: Enqueue) -> EnqueueMany:
    def enqueue_each(inbound_ids: list[int]) -> None:
        for inbound_id in inbound_ids:
            enqueue(inbound_id)

    return enqueue_each


def incoming_of(raw: bytes, envelope: Envelope) -> Incoming:
    """The mail of an SMTP transaction, its envelope as text the database takes."""
    return Incoming(
        raw,
        "smtp",
        storable(envelope.mail_from or ""),
        tuple(storable(address) for address in envelope.rcpt_tos),
    )


def storable(address: str) -> str:
    """An envelope address as text a database takes: aiosmtpd keeps bytes that are not
    UTF-8 as surrogates (no database driver encodes them) and lets NUL through
    (PostgreSQL refuses it in text)."""
    text = address.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "")


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP, taking text lines of up to MAX_LINE octets.

    RFC 5321 4.5.3.1.6 sets 1,000 octets per line, and 4.5.3.1 asks servers to
    avoid such limits wherever they can. Real mail breaks it (one-line HTML from
    some mailers, long headers), and Postfix and Exim take such mail. aiosmtpd
    refuses it with a permanent 500, which would bounce a question we can read.
    """

    line_length_limit = MAX_LINE


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
        return IntakeSMTP(
            self.handler,
            data_size_limit=self.settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.settings.mail_domain,
            ident="consultant intake",
        )


def make_controller(
    settings: Settings, enqueue: Enqueue, enqueue_many: EnqueueMany | None = None
) -> IntakeController:
    """Build (not start) the SMTP intake; `enqueue_many` publishes a commit's mails at once."""
    return IntakeController(IntakeHandler(settings, enqueue, enqueue_many), settings)
