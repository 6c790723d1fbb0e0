"""Group commit for the SMTP intake: mails that arrive together share one commit.

Input: a mail from an SMTP session, awaited on the event loop. Output: its
inbound row (`Stored`), committed before the await returns, so the session
answers 250 only for a mail on disk. State: the mails waiting for the next
commit, and at most one commit running at a time.

While a commit runs, the mails that arrive wait and go together in the next
one. One session at a time still gets a commit per mail, with no added wait.
Under load, one transaction (and one fsync) serves many sessions, as
PostgreSQL's own group commit does for its WAL. A batch the database refuses
is stored again mail by mail, so only the mail at fault fails its session (451),
unless the storage is full: then every session of the batch fails alike (452).

SQLite has one writer at a time, held by a worker for its whole task: there
several commits wait for the lock at once (`writers`), as separate sessions
did before, or the intake would get the lock only one try in many.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from consultant.diskspace import is_storage_full
from consultant.pipeline.intake.store import Incoming, Stored

log = logging.getLogger(__name__)

MAX_BATCH = 32  # mails per commit
MAX_BATCH_BYTES = 16 * 1024 * 1024  # and their size (a mail may be 25 MB: then it goes alone)

Waiting = tuple[Incoming, asyncio.Future[Stored]]  # a mail and its session's answer
StoreMany = Callable[[Sequence[Incoming]], list[Stored]]
Created = Callable[[list[int]], None]


class GroupCommit:
    """Store mails from concurrent sessions in shared transactions; see the module."""

    def __init__(
        self, store: StoreMany, created: Created, max_batch: int = MAX_BATCH, writers: int = 1
    ) -> None:
        self._store = store
        self._created = created  # called with the new rows' ids after each commit
        self._max = max_batch
        self._writers = writers  # commits that may run at once
        self._waiting: list[Waiting] = []
        self._running: set[asyncio.Task[None]] = set()

    async def store(self, incoming: Incoming) -> Stored:
        """Store `incoming` with whatever else is waiting; return once it is committed."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, future))
        if len(self._running) < self._writers:
            self._running.add(asyncio.create_task(self._write()))
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                try:
                    await self._commit_and_answer(batch)
                except BaseException as error:  # never leave a session waiting for no one
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    raise
        finally:
            # Now, not in a done callback: a session woken above may store again at
            # once, and must find this writer gone (or it would wait for none).
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)

    def _next_batch(self) -> list[Waiting]:
        """Up to max_batch waiting mails and MAX_BATCH_BYTES (one mail at least).

        A session that went away before its turn is left out: it was never
        acknowledged, and its client will send again.
        """
        self._waiting = [(mail, future) for mail, future in self._waiting if not future.done()]
        size, count = 0, 0
        for mail, _ in self._waiting[: self._max]:
            if count and size + len(mail.raw) > MAX_BATCH_BYTES:
                break
            size, count = size + len(mail.raw), count + 1
        batch, self._waiting = self._waiting[:count], self._waiting[count:]
        return batch

    async def _commit_and_answer(self, batch: list[Waiting]) -> None:
        mails = [incoming for incoming, _ in batch]
        # The database calls block: off the event loop, so sessions keep talking.
        outcomes = await asyncio.get_running_loop().run_in_executor(None, self._commit, mails)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the session went away; it was never acknowledged
                continue
            if isinstance(outcome, Stored):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)
        try:
            self._created([o.inbound_id for o in outcomes if isinstance(o, Stored) and o.created])
        except Exception:  # The mail is stored: the sweep enqueues what this missed.
            log.exception("could not hand %d stored mails to the enqueuer", len(mails))

    def _commit(self, mails: list[Incoming]) -> list[Stored | Exception]:
        try:
            return list(self._store(mails))
        except Exception as error:
            # A full disk refuses every mail alike: no use trying them one by one.
            if len(mails) == 1 or is_storage_full(error):
                return [error] * len(mails)
            log.warning(
                "a batch of %d mails failed to store (%s); storing them one by one",
                len(mails),
                type(error).__name__,
            )
        # Should the failed batch have been committed after all (a connection lost
        # during COMMIT), its mails come back "already stored" and are not enqueued
        # here: the sweep enqueues stored mail that waited past its grace.
        return [self._one(mail) for mail in mails]

    def _one(self, mail: Incoming) -> Stored | Exception:
        try:
            return self._store([mail])[0]
        except Exception as error:
            return error
