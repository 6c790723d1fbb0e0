"""Where the poller starts in a folder: the checkpoint rules, on a real SQLite database."""

from __future__ import annotations

import threading

import pytest

from consultant.db.models import MailboxCheckpoint
from consultant.db.session import session_scope
from consultant.pipeline.intake.imap import MailboxPoller
from consultant.settings import Mailbox, Settings

BOX = {"name": "consult", "host": "imap.example.org", "username": "c@example.org"}


def poller(settings: Settings, **fields: object) -> MailboxPoller:
    mailbox = Mailbox.model_validate({**BOX, "password_file": "/x", **fields})
    return MailboxPoller(settings, mailbox, lambda ids: None, threading.Event())


def start(settings: Settings, uidvalidity: int, uidnext: int, **fields: object) -> int:
    status = {b"UIDVALIDITY": uidvalidity, b"UIDNEXT": uidnext}
    subject = poller(settings, **fields)
    try:
        return subject._start_from(None, uidvalidity, status)
    finally:
        subject.close()


def saved(settings: Settings) -> tuple[int, int]:
    with session_scope(settings) as session:
        row = session.get_one(MailboxCheckpoint, "consult")
        return row.uidvalidity, row.last_uid


def advance(settings: Settings, last_uid: int) -> None:
    with session_scope(settings) as session:
        session.get_one(MailboxCheckpoint, "consult").last_uid = last_uid


@pytest.mark.parametrize(("mode", "expected"), [("all", 0), ("new", 41)])
def test_first_contact_takes_the_backlog_or_only_new_mail(
    migrated: Settings, mode: str, expected: int
) -> None:
    assert start(migrated, 7, 42, start=mode) == expected
    assert saved(migrated) == (7, expected)


def test_the_checkpoint_is_resumed_under_the_same_uidvalidity(migrated: Settings) -> None:
    start(migrated, 7, 42)
    advance(migrated, 30)
    assert start(migrated, 7, 42) == 30


def test_a_new_uidvalidity_restarts_from_zero(migrated: Settings) -> None:
    start(migrated, 7, 42)
    advance(migrated, 30)
    assert start(migrated, 8, 5) == 0
    assert saved(migrated) == (8, 0)


def test_uids_going_backwards_under_the_same_uidvalidity_force_a_resync(
    migrated: Settings,
) -> None:
    start(migrated, 7, 42)
    advance(migrated, 30)
    assert start(migrated, 7, 12) == 0  # UIDNEXT 12 is below the stored UID 30
    assert saved(migrated) == (7, 0)
