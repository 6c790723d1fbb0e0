"""The embedded mailbox lock (an flock on var/mailbox-<name>.lock) knows when it is lost."""

from __future__ import annotations

from consultant.pipeline.intake.lock import MailboxLock
from consultant.settings import Settings


def test_a_held_file_lock_says_so(settings: Settings) -> None:
    lock = MailboxLock(settings, "consult")
    assert not lock.held()  # not taken yet
    assert lock.acquire()
    assert lock.held()
    lock.release()
    assert not lock.held()


def test_a_lock_whose_file_was_removed_is_lost_and_the_new_file_wins(settings: Settings) -> None:
    first, second = MailboxLock(settings, "consult"), MailboxLock(settings, "consult")
    assert first.acquire()
    (settings.var_dir / "mailbox-consult.lock").unlink()  # e.g. someone cleaned var/
    assert second.acquire()  # a new file, a new lock: the mailbox has a second owner
    assert not first.held()  # so the first must stop working it
    assert not first.acquire()  # and wait, like any poller that comes second
    assert second.held()
    second.release()
