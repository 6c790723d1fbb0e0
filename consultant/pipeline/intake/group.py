"""Group commit for the SMTP intake: mails that arrive together share one commit.

Input: a mail from an SMTP session, awaited on the event loop. Output: its
inbound row (`Stored`), committed before the await returns, so the session
answers 250 only for a mail on disk. State: the mails waiting for the next
commit, and at most one commit running at a time.

While a commit runs, the mails that arrive wait and go together in the next
one. One session at a time still gets a commit per mail, with no added wait.
Under load, one transaction (and one fsync) serves many sessions, as
PostgreSQL's own group commit does for its WAL. A batch the database refuses
is stored again mail by mail, so only the mail at fault fails its session (451).

SQLite has one writer at a time, held by a worker for its whole task: there
several commits wait for the lock at once (`writers`), as separate sessions
did before, or the intake would get the lock only one try in many.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from consultant.pipeline.intake.store import Incoming, Stored

log = logging.getLogger(__name__)

MAX_BATCH = 32  # mails per commit

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
        self._waiting: list[tuple[Incoming, asyncio.Future[Stored]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def store(self, incoming: Incoming) -> Stored:
        """Store `incoming` with whatever else is waiting; return once it is committed."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, future))
        if len(self._running) < self._writers:
            self._running.add(asyncio.create_task(self._write()))
        return await future

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                mails = [incoming for incoming, _ in batch]
                # The database calls block: off the event loop, so sessions keep talking.
                outcomes = await loop.run_in_executor(None, self._commit, mails)
                self._created(
                    [o.inbound_id for o in outcomes if isinstance(o, Stored) and o.created]
                )
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the session went away; it was never acknowledged
                        continue
                    if isinstance(outcome, Stored):
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)
        finally:
            # Now, not in a done callback: a session woken above may store again at
            # once, and must find this writer gone (or it would wait for none).
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)

    def _commit(self, mails: list[Incoming]) -> list[Stored | Exception]:
        try:
            return list(self._store(mails))
        except Exception as error:
            if len(mails) == 1:
                return [error]
            log.warning("a batch of %d mails failed to store; storing them one by one", len(mails))
        return [self._one(mail) for mail in mails]

    def _one(self, mail: Incoming) -> Stored | Exception:
        try:
            return self._store([mail])[0]
        except Exception as error:
            return error
