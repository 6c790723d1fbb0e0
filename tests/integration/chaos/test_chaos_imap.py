"""Faults on the IMAP side, with a real Dovecot and real workers: the poller
killed with -9 in the middle of a 500-mail backlog, and Dovecot restarted
while the poller idles between two halves of a batch.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import need
from tests.integration.chaos.conftest import (
    BATCH,
    CHAOS,
    Mail,
    Tally,
    assert_whole,
    chaos_env,
    count_mail,
    record,
    settle,
    start_workers,
    with_clinic,
)
from tests.integration.conftest import Child, wait_for
from tests.integration.imapd import Dovecot, dovecot_binary, running_dovecot
from tests.integration.test_imap_intake import Imap, _imap_user, idling, use_mailbox

pytestmark = CHAOS


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")
    with running_dovecot(tmp_path / "dovecot") as server:
        yield server


def stored(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def imap_tally(name: str, fault: str, settings: Settings, batch: list[Mail]) -> Tally:
    accepted = {mail.message_id for mail in batch}  # the folder held every one
    settle(settings, accepted)
    cases, drafted, duplicates, lost = count_mail(settings, accepted)
    return record(Tally(name, fault, len(accepted), cases, drafted, 0, duplicates, lost))


def test_poller_killed_mid_backlog_every_mail_drafted_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    dovecot: Dovecot,
    spawn: Callable[..., Child],
    mails: list[Mail],
) -> None:
    imap = _imap_user(dovecot)
    use_mailbox(monkeypatch, env, imap, batch_size=25)
    settings = chaos_env(monkeypatch, env)
    with_clinic(settings)
    dovecot.deliver(imap.user, "INBOX", (mail.raw for mail in mails))
    start_workers(spawn)

    first = spawn("poll")
    wait_for(lambda: stored(settings) >= 150, "150 mails stored", 120)
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()
    at_kill = stored(settings)
    spawn("poll", name="poll-2")

    fault = f"kill -9 of the poller at {at_kill} of {BATCH} stored, then a new poller"
    result = imap_tally("IMAP poller kill -9", fault, settings, mails)
    assert at_kill < BATCH, "the kill landed mid-backlog"
    assert stored(settings) == BATCH
    assert_whole(result, BATCH)


def test_dovecot_restarted_while_the_poller_idles_the_rest_arrives_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    dovecot: Dovecot,
    spawn: Callable[..., Child],
    mails: list[Mail],
) -> None:
    imap: Imap = _imap_user(dovecot)
    use_mailbox(monkeypatch, env, imap, poll_interval=5, reconnect_max=2)
    settings = chaos_env(monkeypatch, env)
    with_clinic(settings)
    start_workers(spawn)
    poller = spawn("poll")
    half = BATCH // 2

    imap.append([mail.raw for mail in mails[:half]])
    wait_for(lambda: stored(settings) == half, "the first half stored", 120)
    wait_for(idling(poller, settings), "the poller to idle")
    time.sleep(2)  # the batch is done: the poller is back in IDLE
    dovecot.restart()
    imap.append([mail.raw for mail in mails[half:]])

    fault = f"Dovecot restarted while the poller idled after {half} mails; {half} more after"
    result = imap_tally("Dovecot restart", fault, settings, mails)
    assert poller.output().count("connected to") >= 2, "the poller reconnected"
    assert stored(settings) == BATCH
    assert_whole(result, BATCH)
