"""SMTP intake: validate at RCPT, persist at DATA, decide in the worker.

Only the configured consult addresses are accepted (550 5.1.1 otherwise, at
RCPT, before any data moves); aiosmtpd enforces the size limit (552). Limits
keep one peer from holding the intake: sessions at once (421 4.7.0 at the
greeting), recipients per transaction (452 4.5.3), commands in a row without
a mail (421 4.7.0, then closed), idle time (421 4.4.2, then closed), and the
MIME parts and nesting of a mail, counted from its bytes before anything
parses it (552 5.3.4 and 554 5.6.0; the mail is not stored). While the
storage is full (or read-only) every mail gets 452 4.3.1, "mail system full"
(RFC 3463), and the log a line a minute, not a traceback per mail. The raw
mail is committed *before* we answer 250, in a group commit with the mails of
other sessions that arrived meanwhile (group.py); the processing tasks are
enqueued after the commit, off the event loop, by the shared Enqueuer (which
leaves mail to the sweep while the broker is down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from consultant.db.session import session_scope
from consultant.diskspace import OncePerInterval, is_storage_full, storage_place
from consultant.logs import redact_address
from consultant.pipeline.intake.enqueue import Enqueue, EnqueueMany, Enqueuer
from consultant.pipeline.intake.group import GroupCommit
from consultant.pipeline.intake.store import Incoming, Stored, store_many
from consultant.pipeline.limits import scan
from consultant.settings import Settings

log = logging.getLogger(__name__)

OK_250 = "250 2.0.0 OK: queued as {ref}"
OK_RCPT = "250 2.1.5 Recipient OK"
ERR_550 = "550 5.1.1 No such consult address here"
ERR_451 = "451 4.3.0 Temporary failure, please try again later"
ERR_452_FULL = "452 4.3.1 Mail system full, please try again later"
ERR_554_EMPTY = "554 5.6.0 Empty message"
ERR_552_PARTS = "552 5.3.4 Too many MIME parts (limit {limit})"
ERR_554_DEPTH = "554 5.6.0 MIME parts nested too deeply (limit {limit} levels)"
ERR_554_ODD = "554 5.6.0 Content-Type fields too complex to read safely"
ERR_452_RCPTS = "452 4.5.3 Too many recipients"
ERR_421_BUSY = "421 4.7.0 Too many connections, try again later"
ERR_421_COMMANDS = "421 4.7.0 Too many commands without a mail, closing"
ERR_421_IDLE = "421 4.4.2 Idle too long, closing"
MAX_LINE = 64 * 1024  # octets of one line, its CRLF included; longer gets 500
SCAN_INLINE = 256 * 1024  # larger mail is scanned off the event loop


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
        self.full, self.place = OncePerInterval(log), storage_place(settings)

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
        if len(envelope.rcpt_tos) >= self.settings.smtp_max_recipients:
            return ERR_452_RCPTS
        envelope.rcpt_tos.append(address)
        return OK_RCPT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes) or not raw.strip():
            return ERR_554_EMPTY
        refusal = await self._mime_refusal(raw)
        if refusal is not None:
            log.info("refused a mail of %d bytes at DATA: %s", len(raw), refusal)
            return refusal
        # Committed (with the mails of other sessions that arrived meanwhile)
        # before the answer; the enqueue follows the commit, off the event loop.
        try:
            stored = await self.group.store(incoming_of(raw, envelope))
        except Exception as error:
            if not is_storage_full(error):
                raise  # handle_exception answers 451
            self.full.storage_full(self.place, "answering 452")
            return ERR_452_FULL
        self.full.storage_works(self.place)
        return OK_250.format(ref=stored.inbound_id)

    async def _mime_refusal(self, raw: bytes) -> str | None:
        """The reply refusing a mail over a MIME limit, or None; parses nothing."""
        limits = (self.settings.max_mime_parts, self.settings.max_mime_depth)
        if len(raw) <= SCAN_INLINE:
            shape = scan(raw, *limits)
        else:
            shape = await asyncio.get_running_loop().run_in_executor(None, scan, raw, *limits)
        if shape.unreadable:
            return ERR_554_ODD
        if shape.parts > limits[0]:
            return ERR_552_PARTS.format(limit=limits[0])
        if shape.depth > limits[1]:
            return ERR_554_DEPTH.format(limit=limits[1])
        return None

    async def handle_exception(self, error: Exception) -> str:
        if is_storage_full(error):  # one line a minute, not a traceback per mail
            self.full.storage_full(self.place, "answering 452")
            return ERR_452_FULL
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


class Sessions:
    """How many SMTP sessions are open, shared by the intake's protocol instances."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def admit(self) -> bool:
        """Count one more session if there is room; tell whether there was."""
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP, taking text lines of up to MAX_LINE octets, with our limits.

    RFC 5321 4.5.3.1.6 sets 1,000 octets per line, and 4.5.3.1 asks servers to
    avoid such limits wherever they can. Real mail breaks it (one-line HTML from
    some mailers, long headers), and Postfix and Exim take such mail. aiosmtpd
    refuses it with a permanent 500, which would bounce a question we can read.

    The session and command limits hook aiosmtpd 1.4's client loop
    (`_handle_client`) and idle timer (`_timeout_cb`): it has no hooks of its
    own for them, and its `command_call_limit` counts each command name apart.
    """

    line_length_limit = MAX_LINE

    def __init__(
        self, handler: IntakeHandler, sessions: Sessions, max_commands: int, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self.sessions = sessions
        self.admitted = False
        self.max_commands = max_commands
        self.commands = 0  # since the session began or its last mail was accepted
        self.last_reply = b""
        self._smtp_methods = {
            name: self._counted(name, method) for name, method in self._smtp_methods.items()
        }

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Decided here, one connection at a time: a burst of connections all
        # counted before any greeting would otherwise refuse one another. (A
        # STARTTLS upgrade calls this again for the same session.)
        self.admitted = self.admitted or self.sessions.admit()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.admitted:
            self.admitted = False
            self.sessions.leave()
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self.admitted:
            await super()._handle_client()
            return
        log.warning("refused a session: %d open", self.sessions.active)
        await self.push(ERR_421_BUSY)
        self._close()

    def _timeout_cb(self) -> None:
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(ERR_421_IDLE.encode("ascii") + b"\r\n")  # close() sends it first
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    async def push(self, status: AnyStr) -> None:
        self.last_reply = status.encode("utf-8") if isinstance(status, str) else status
        await super().push(status)

    def _counted(
        self, name: str, method: Callable[[str | None], Awaitable[None]]
    ) -> Callable[[str | None], Awaitable[None]]:
        async def counted(arg: str | None) -> None:
            self.commands += 1
            if self.commands > self.max_commands:
                log.warning("closed a session after %d commands without a mail", self.max_commands)
                await self.push(ERR_421_COMMANDS)
                self._close()
                return
            await method(arg)
            if name == "DATA" and self.last_reply.startswith(b"250"):
                self.commands = 0

        return counted

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class IntakeController(Controller):
    """A Controller whose SMTP server enforces our size limit and reports SIZE."""

    def __init__(self, handler: IntakeHandler, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        self.sessions = Sessions(settings.smtp_max_sessions)
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
            self.sessions,
            self.settings.smtp_max_commands,
            timeout=self.settings.smtp_idle_timeout,
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
