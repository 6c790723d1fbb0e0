"""IMAP intake: take every new mail of a watched folder, by UID, exactly once.

Input: a configured mailbox. Output: inbound rows through `store_many` (the
batch form of `store_raw`, the same door as the SMTP intake), and a processing
task per new mail.

Selection is by UID against a checkpoint per mailbox (UIDVALIDITY, highest
stored UID), never by ``\\Seen`` or sequence numbers, so mail another client
has read is still taken. Fetching uses ``BODY.PEEK[]``, which marks nothing
read. Mails are stored in batches; each batch is committed *together with* the
checkpoint advance, and only then is any flag or move applied. A crash at any
point means at worst a batch is fetched again and recognised by Message-ID and
content hash, never lost and never stored twice. A UIDVALIDITY change resets
the checkpoint to zero under the new value: a full resync that recognises what
is already stored.

Memory is bounded: UIDs are fetched in windows of `batch_size`, and bodies in
groups of at most `batch_bytes`. A mail over the size limit is recorded from
its header alone and quarantined with the reason; a mail over the MIME part
or nesting limit is stored whole and quarantined, counted before anything
parses it (consultant.pipeline.limits); a mail the server cannot
return (it answers NO, or hangs up each time that UID alone is fetched) is
recorded and quarantined too; none of them stops the others.

IDLE is used when offered (re-issued every `idle_renew` seconds, under the
29 minutes RFC 2177 allows, or every `poll_interval` if shorter, in case the
server misses a notice); otherwise the folder is polled. Any disconnect,
abort, BYE or database outage leads to a reconnect with exponential backoff
and jitter, then a resync from the checkpoint. So does a full (or read-only)
storage: the group is not stored, so nothing is flagged or moved and the
checkpoint stays; the log says so once a minute, not at every try. The
mailbox lock is checked before every sync and every store: a poller that lost
it (lock.py) drops the connection, leaves the mailbox to a waiting poller, and
waits to own it again. The fetching, with its limits and its fallbacks for a
mail the server cannot return, is imap_bodies.py's; this module connects,
syncs, stores and acts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor

from imapclient import DELETED, SEEN, IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from consultant.db.session import session_scope
from consultant.diskspace import OncePerInterval, is_storage_full, storage_place
from consultant.pipeline.intake.checkpoint import advance_checkpoint, start_point
from consultant.pipeline.intake.enqueue import EnqueueMany, Enqueuer
from consultant.pipeline.intake.imap_bodies import BodyFetcher
from consultant.pipeline.intake.imap_fetch import (
    ConnectionLost,
    Fetched,
    backoff,
    is_bye,
    is_news,
    marker,
    peer_closed,
)
from consultant.pipeline.intake.lock import LockLost, MailboxLock
from consultant.pipeline.intake.mailbox import CredentialError, connect, logged_in
from consultant.pipeline.intake.store import Incoming, Stored, store_many
from consultant.settings import Mailbox, Settings

log = logging.getLogger(__name__)

IDLE_TICK = 1.0  # seconds between checks of the stop flag while idling
LOCK_RETRY = 5.0  # seconds between tries for a mailbox another poller holds
LOST_LOCK_PAUSE = 30.0  # a poller that lost its lock leaves a waiting one this long to take it
Connect = Callable[[Mailbox], IMAPClient]


class MailboxPoller:
    """Watch one mailbox until `stop` is set; run() never raises for the world's faults."""

    def __init__(
        self,
        settings: Settings,
        mailbox: Mailbox,
        enqueue: EnqueueMany,
        stop: threading.Event,
        connect: Connect = connect,
    ) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.stop = stop
        self.connect = connect
        self.enqueuer = Enqueuer(enqueue)
        self.fetcher = BodyFetcher(
            mailbox,
            mailbox.max_message_size or settings.max_message_size,
            (settings.max_mime_parts, settings.max_mime_depth),
            stop,
        )
        self.envelope_to = (mailbox.address or _address_of(mailbox, settings),)
        self.failures = 0  # consecutive failed sessions, for the backoff
        self._storer = ThreadPoolExecutor(1, thread_name_prefix=f"store-{mailbox.name}")
        # UIDs stored but not yet flagged or moved when a connection broke.
        self._leftovers: tuple[int, list[int]] | None = None
        self._lock: MailboxLock | None = None  # run() owns the mailbox through it
        self._storage = OncePerInterval(log)

    def run(self) -> None:
        """Connect, sync, wait for news; on any failure back off and start again."""
        lock = self._lock = MailboxLock(self.settings, self.mailbox.name)
        try:
            self._wait_for(lock)
            while not self.stop.is_set():
                try:
                    self._session()
                except LockLost:
                    log.warning("mailbox %s: lost its lock; stopped working it", lock.name)
                    self.stop.wait(LOST_LOCK_PAUSE)
                    self._wait_for(lock)
                except Exception as error:  # The poller's boundary: log, back off, resync.
                    self.failures += 1
                    self._log_failure(error, self.failures)
                    self.stop.wait(backoff(self.failures, self.mailbox.reconnect_max))
        finally:
            lock.release()
            self.close()

    def _wait_for(self, lock: MailboxLock) -> None:
        """Own the mailbox before touching it: wait while another poller does."""
        name, waiting = lock.name, False
        while not self.stop.is_set():
            try:
                if lock.acquire():
                    if waiting:
                        log.info("mailbox %s: the other poller is gone; taking over", name)
                    return
                if not waiting:
                    log.warning("mailbox %s: polled by another process; waiting", name)
                    waiting = True
            except SQLAlchemyError as error:
                log.warning("mailbox %s: database unavailable (%s)", name, type(error).__name__)
            self.stop.wait(LOCK_RETRY)

    def sync_once(self) -> int:
        """Connect, take everything new, disconnect; return how many UIDs were new."""
        with logged_in(self.connect, self.mailbox) as client:
            return self._sync(client)

    def close(self) -> None:
        """Wait for the stores and enqueues in flight (run() does this itself)."""
        self._storer.shutdown(wait=True)
        self.enqueuer.close()

    def _session(self) -> None:
        with logged_in(self.connect, self.mailbox) as client:
            idle = self.mailbox.idle and client.has_capability("IDLE")
            log.info(
                "mailbox %s: connected to %s:%d, %s",
                self.mailbox.name,
                self.mailbox.host,
                self.mailbox.imap_port,
                "idling" if idle else f"polling every {self.mailbox.poll_interval:g}s",
            )
            while not self.stop.is_set():
                # Sync until a pass finds nothing: mail announced during a FETCH
                # is not announced again by IDLE, so only an empty search may idle.
                while self._sync(client) and not self.stop.is_set():
                    pass
                self.failures = 0
                if self.stop.is_set():
                    break
                if idle:
                    self._idle(client)
                else:
                    self.stop.wait(self.mailbox.poll_interval)

    def _check_lock(self) -> None:
        if self._lock is not None and not self._lock.held():
            raise LockLost(self.mailbox.name)

    def _log_failure(self, error: Exception, failures: int) -> None:
        name = self.mailbox.name
        if is_storage_full(error):  # nothing stored, so nothing flagged: one line a minute
            self._storage.storage_full(
                storage_place(self.settings), f"leaving mailbox {name}'s mail on the server"
            )
            return
        if isinstance(error, IMAPClient.Error | ConnectionLost | OSError | CredentialError):
            log.warning("mailbox %s: %s: %s", name, type(error).__name__, error)
        elif isinstance(error, SQLAlchemyError):
            # The class only: driver messages can quote the database URL.
            log.warning("mailbox %s: database unavailable (%s)", name, type(error).__name__)
        else:
            log.exception("mailbox %s: unexpected error", name)
        log.info("mailbox %s: reconnecting (attempt %d)", name, failures + 1)

    # --- sync -------------------------------------------------------------------

    def _sync(self, client: IMAPClient) -> int:
        """Select the folder, take every mail above the checkpoint; return how many."""
        self._check_lock()
        status = client.select_folder(self.mailbox.folder, readonly=self.mailbox.after == "leave")
        uidvalidity = int(status[b"UIDVALIDITY"])
        last = self._start_from(client, uidvalidity, status)
        self._act_on_leftovers(client, uidvalidity)
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        if uids:
            log.info("mailbox %s: %d new mails", self.mailbox.name, len(uids))
        # Two stages: while one group is stored and committed (in the storer
        # thread), the next is fetched. Groups are stored in order, one at a
        # time, and flags or moves wait for their group's commit.
        pending: Future[list[int]] | None = None
        try:
            for fetched, last_uid in self.fetcher.groups(client, uids):
                if pending is not None:
                    self._after(client, pending.result())
                pending = self._storer.submit(self._store, fetched, uidvalidity, last_uid)
        except BaseException:
            if pending is not None:
                futures.wait([pending])  # never leave a store running behind a reconnect
                if pending.exception() is None:  # stored, not yet flagged or moved
                    self._leftovers = (uidvalidity, pending.result())
            raise
        if pending is not None:
            self._after(client, pending.result())
        return len(uids)

    def _act_on_leftovers(self, client: IMAPClient, uidvalidity: int) -> None:
        """Flag or move what was stored just before the last connection broke."""
        leftovers, self._leftovers = self._leftovers, None
        if leftovers is not None and leftovers[0] == uidvalidity:
            self._after(client, leftovers[1])

    def _start_from(self, client: IMAPClient, uidvalidity: int, status: dict[bytes, int]) -> int:
        with session_scope(self.settings) as session:
            return start_point(session, self.mailbox, uidvalidity, status, client)

    # --- store, checkpoint, act ---------------------------------------------------

    def _store(self, fetched: list[Fetched], uidvalidity: int, last_uid: int) -> list[int]:
        """Commit the group and the checkpoint together; return the UIDs stored."""
        self._check_lock()
        try:
            stored = self._store_group(fetched, uidvalidity, last_uid, careful=False)
        except (OperationalError, InterfaceError):
            raise
        except SQLAlchemyError:
            # One of the mails upset the database: redo the group one by one.
            stored = self._store_group(fetched, uidvalidity, last_uid, careful=True)
        self._storage.storage_works(storage_place(self.settings))
        self.enqueuer.submit(
            [result.inbound_id for mail, result in stored if result.created and not mail.reason]
        )
        created = sum(1 for _, result in stored if result.created)
        log.info(
            "mailbox %s: stored %d new of %d (up to UID %d)",
            self.mailbox.name,
            created,
            len(fetched),
            last_uid,
        )
        return [mail.uid for mail, _ in stored if mail.reason is None]

    def _store_group(
        self, fetched: list[Fetched], uidvalidity: int, last_uid: int, careful: bool
    ) -> list[tuple[Fetched, Stored]]:
        with session_scope(self.settings) as session:
            if careful:
                results = [self._store_carefully(session, mail) for mail in fetched]
            else:
                stored = store_many(session, [self._incoming(mail) for mail in fetched])
                results = list(zip(fetched, stored, strict=True))
            advance_checkpoint(session, self.mailbox.name, uidvalidity, last_uid)
        return results

    def _incoming(self, mail: Fetched) -> Incoming:
        return Incoming(
            mail.raw,
            self.mailbox.source,
            envelope_to=self.envelope_to,
            quarantine=mail.reason,
            size=mail.size,
        )

    def _store_carefully(self, session: Session, mail: Fetched) -> tuple[Fetched, Stored]:
        try:
            with session.begin_nested():
                return mail, store_many(session, [self._incoming(mail)])[0]
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:  # This mail only: keep a record, move on.
            if is_storage_full(error):
                raise  # not this mail's fault: it waits on the server for space
            reason = (
                f"could not be stored as received ({type(error).__name__}); "
                f"UID {mail.uid} stays on the server"
            )
            log.warning("mailbox %s: UID %d %s", self.mailbox.name, mail.uid, reason)
            record = Fetched(mail.uid, marker(self.mailbox, mail.uid), mail.size, reason)
            with session.begin_nested():
                return record, store_many(session, [self._incoming(record)])[0]

    def _after(self, client: IMAPClient, uids: list[int]) -> None:
        """Flag or move mail that is committed; a refusal leaves it where it is."""
        if not uids or self.mailbox.after == "leave":
            return
        try:
            if self.mailbox.after == "seen":
                client.add_flags(uids, [SEEN], silent=True)
            else:
                self._move(client, uids)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            log.warning(
                "mailbox %s: could not %s %d stored mails (%s); they stay in %s",
                self.mailbox.name,
                self.mailbox.after,
                len(uids),
                error,
                self.mailbox.folder,
            )

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        target = self.mailbox.move_to
        assert target is not None  # checked by the Mailbox model
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.add_flags(uids, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:  # A plain EXPUNGE would also remove other clients' deleted mail.
            log.warning("mailbox %s: no UIDPLUS; copies left flagged \\Deleted", self.mailbox.name)

    # --- waiting for news -----------------------------------------------------------

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until new mail, renewal time or stop; raise ConnectionLost on BYE/EOF."""
        client.idle()
        log.debug("mailbox %s: IDLE started", self.mailbox.name)
        # Re-sync at least every poll_interval even while idling: a server can
        # miss a notice (Dovecot did, for mail appended as IDLE began), and a
        # mail must not then wait for the next renewal.
        renew_at = time.monotonic() + min(self.mailbox.idle_renew, self.mailbox.poll_interval)
        while not self.stop.is_set() and time.monotonic() < renew_at:
            responses = client.idle_check(timeout=IDLE_TICK)
            if any(is_bye(response) for response in responses):
                raise ConnectionLost("the server said BYE")
            if any(is_news(response) for response in responses):
                break
            if not responses and peer_closed(client):
                raise ConnectionLost("the server closed the connection")
        client.idle_done()


def _address_of(mailbox: Mailbox, settings: Settings) -> str:
    return mailbox.username if "@" in mailbox.username else settings.consult_addresses[0]
