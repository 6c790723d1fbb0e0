"""The IMAP poller against a real Dovecot while the database is full (SQLite's page
cap): it stores nothing and flags nothing, says so once, and takes the mail when
space returns."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from consultant.db.models import InboundMessage, InboundState
from consultant.pipeline.intake.imap import MailboxPoller
from consultant.settings import Settings
from tests.conftest import need
from tests.disk_support import capped
from tests.integration.conftest import wait_for
from tests.integration.imapd import dovecot_binary, running_dovecot
from tests.integration.test_imap_intake import _imap_user, checkpoint, count, mail, use_mailbox

pytestmark = pytest.mark.integration


def test_the_poller_leaves_mail_on_the_server_while_full_and_takes_it_after(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")
    caplog.set_level(logging.INFO)
    with running_dovecot(tmp_path / "dovecot") as server:
        imap = _imap_user(server)
        settings = use_mailbox(
            monkeypatch, env, imap, after="seen", poll_interval=1, reconnect_max=0.2
        )
        uids = imap.append([mail(1, size=12_000), mail(2, size=12_000)])
        stop, enqueued = threading.Event(), list[int]()
        poller = MailboxPoller(settings, settings.mailboxes[0], enqueued.extend, stop)
        thread = threading.Thread(target=poller.run, daemon=True)
        with capped(settings):
            thread.start()
            wait_for(lambda: caplog.text.count("connected to") >= 3, "three tries while full")
            assert count(settings, InboundMessage) == 0
            noted = checkpoint(settings)  # the first contact may be noted, but no UID passed
            assert noted is None or noted[1] == 0
            assert all(b"\\Seen" not in flags for flags in imap.flags().values())
        try:
            wait_for(lambda: count(settings, InboundMessage) == 2, "the mail once space is back")
            wait_for(lambda: all(b"\\Seen" in f for f in imap.flags().values()), "the flags")
        finally:
            stop.set()
            thread.join(30)
    assert checkpoint(settings) is not None and checkpoint(settings)[1] == uids[-1]  # type: ignore[index]
    assert count(settings, InboundMessage, InboundMessage.state == InboundState.STORED) == 2
    assert len(enqueued) == 2
    full = [r.getMessage() for r in caplog.records if "storage full" in r.getMessage()]
    assert full == [
        f"storage full under {settings.var_dir.resolve()}: leaving mailbox consult's mail "
        "on the server until space returns"
    ]
    assert "takes writes again" in caplog.text
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text
    assert "database unavailable" not in caplog.text
