"""Group commit: mails arriving during a commit share the next one; a refused
batch is stored again mail by mail, so only the mail at fault fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

import pytest

from consultant.pipeline.intake.group import MAX_BATCH_BYTES, GroupCommit
from consultant.pipeline.intake.store import Incoming, Stored


class Database:
    """Stands in for store_many: numbers rows, holds the first commit until released."""

    def __init__(self, refuse: bytes | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.calls = 0
        self.refuse = refuse
        self.next_id = 1

    def store(self, mails: Sequence[Incoming]) -> list[Stored]:
        with self.lock:
            first = not self.calls
            self.calls += 1
        if first:
            self.release.wait(10)
        with self.lock:
            self.batches.append([mail.raw for mail in mails])
        if self.refuse is not None and any(mail.raw == self.refuse for mail in mails):
            raise ValueError("refused")
        with self.lock:
            stored = [Stored(self.next_id + n, True, f"<{n}@x>") for n in range(len(mails))]
            self.next_id += len(mails)
        return stored


def mail(n: int) -> Incoming:
    return Incoming(f"Subject: {n}\n\nq\n".encode(), "smtp")


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until `condition` holds (threads do the work meanwhile)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def send_all(
    group: GroupCommit, database: Database, count: int, batches_before_release: int = 0
) -> list[object]:
    tasks = [asyncio.create_task(group.store(mail(0)))]
    await until(lambda: database.calls >= 1)  # the first mail's commit has begun, and holds
    tasks += [asyncio.create_task(group.store(mail(n))) for n in range(1, count)]
    await until(lambda: len(database.batches) >= batches_before_release)
    await asyncio.sleep(0)  # every other session has queued its mail
    database.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_mails_arriving_during_a_commit_share_the_next_one() -> None:
    database, created = Database(), []
    group = GroupCommit(database.store, created.extend)
    results = asyncio.run(send_all(group, database, 9))
    assert [len(batch) for batch in database.batches] == [1, 8]
    assert [r.inbound_id for r in results if isinstance(r, Stored)] == list(range(1, 10))
    assert created == list(range(1, 10))  # enqueued after their commit


def test_a_batch_is_cut_at_max_batch() -> None:
    database = Database()
    group = GroupCommit(database.store, lambda ids: None, max_batch=3)
    asyncio.run(send_all(group, database, 8))
    assert [len(batch) for batch in database.batches] == [1, 3, 3, 1]


def test_a_refused_batch_is_retried_one_by_one_and_only_the_bad_mail_fails() -> None:
    database, created = Database(refuse=mail(4).raw), []
    group = GroupCommit(database.store, created.extend)
    results = asyncio.run(send_all(group, database, 6))
    failed = [n for n, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [4]
    assert all(isinstance(r, Stored) for n, r in enumerate(results) if n != 4)
    assert [len(batch) for batch in database.batches] == [1, 5, 1, 1, 1, 1, 1]
    assert len(created) == 5


def test_one_session_alone_is_committed_at_once() -> None:
    database = Database()
    database.release.set()
    group = GroupCommit(database.store, lambda ids: None)

    async def one_after_another() -> None:
        for n in range(3):
            stored = await group.store(mail(n))
            assert stored.inbound_id == n + 1

    asyncio.run(one_after_another())
    assert [len(batch) for batch in database.batches] == [1, 1, 1]


def test_an_error_reaches_the_waiting_session() -> None:
    database = Database(refuse=mail(0).raw)
    database.release.set()
    group = GroupCommit(database.store, lambda ids: None)
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(group.store(mail(0)))


def test_with_several_writers_commits_run_side_by_side() -> None:
    database = Database()
    group = GroupCommit(database.store, lambda ids: None, writers=2)
    asyncio.run(send_all(group, database, 6, batches_before_release=1))
    # The first commit holds; a second writer takes everything that arrived meanwhile
    # and finishes first.
    assert [len(batch) for batch in database.batches] == [5, 1]


def test_a_failing_enqueue_still_answers_every_session() -> None:
    database = Database()

    def created(ids: list[int]) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    group = GroupCommit(database.store, created)
    results = asyncio.run(send_all(group, database, 4))
    assert all(isinstance(r, Stored) for r in results)  # stored; the sweep enqueues them


def test_a_batch_is_cut_by_size_too() -> None:
    database = Database()
    group = GroupCommit(database.store, lambda ids: None)
    big = Incoming(b"x" * (MAX_BATCH_BYTES // 2 + 1), "smtp")

    async def run() -> None:
        first = asyncio.create_task(group.store(mail(0)))
        await until(lambda: database.calls >= 1)
        rest = [asyncio.create_task(group.store(big)) for _ in range(3)]
        await asyncio.sleep(0)
        database.release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(run())
    assert [len(batch) for batch in database.batches] == [1, 1, 1, 1]


def test_a_session_gone_before_its_turn_is_not_stored() -> None:
    database = Database()
    group = GroupCommit(database.store, lambda ids: None)

    async def run() -> list[object]:
        tasks = [asyncio.create_task(group.store(mail(0)))]
        await until(lambda: database.calls >= 1)
        tasks += [asyncio.create_task(group.store(mail(n))) for n in range(1, 4)]
        await asyncio.sleep(0)
        tasks[2].cancel()  # the client of mail 2 hung up
        await asyncio.sleep(0)
        database.release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(run())
    assert isinstance(results[2], asyncio.CancelledError)
    assert database.batches[1] == [mail(1).raw, mail(3).raw]
