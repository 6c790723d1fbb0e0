"""The IMAP poller against a real Dovecot: UIDs, IDLE, crashes, broken mail.

Each test gets its own IMAP user (its own Maildir) on a Dovecot shared by the
session; tests that restart or kill the server start their own. Mails are
counted in the database, never assumed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError
from sqlalchemy import func, select

from consultant.db.models import Case, InboundMessage, InboundState, MailboxCheckpoint
from consultant.db.session import session_scope
from consultant.pipeline.intake.imap import MailboxPoller
from consultant.pipeline.intake.lock import MailboxLock
from consultant.pipeline.intake.mailbox import connect
from consultant.pipeline.process import process_message
from consultant.settings import Mailbox, Settings
from tests.conftest import need, set_env
from tests.integration.conftest import Child, run_cli, wait_for, worker_ready
from tests.integration.imapd import Dovecot, dovecot_binary, running_dovecot
from tests.ports import free_port

pytestmark = [pytest.mark.integration]


# --- fixtures and helpers -------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """One Dovecot for the tests that do not stop it."""
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server


@pytest.fixture
def own_dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A Dovecot of this test's own, for tests that restart or kill it."""
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")
    with running_dovecot(tmp_path / "dovecot") as server:
        yield server


@dataclass
class Imap:
    server: Dovecot
    user: str
    password: str

    def append(
        self, raws: list[bytes], folder: str = "INBOX", flags: tuple[bytes, ...] = ()
    ) -> list[int]:
        return self.server.append(self.user, self.password, folder, raws, flags=flags)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        client = self.server.client(self.user, self.password)
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return {uid: set(data[b"FLAGS"]) for uid, data in client.fetch(uids, ["FLAGS"]).items()}
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.server.client(self.user, self.password)
        try:
            return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
        finally:
            client.logout()


def _imap_user(server: Dovecot) -> Imap:
    user, password = f"u{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    server.add_user(user, password)
    return Imap(server, user, password)


@pytest.fixture
def imap(dovecot_server: Dovecot) -> Imap:
    return _imap_user(dovecot_server)


def use_mailbox(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], imap: Imap, **fields: object
) -> Settings:
    entry = {
        "name": "consult",
        "host": imap.server.host,
        "port": imap.server.port,
        "security": "none",
        "username": imap.user,
        "password": imap.password,
        "address": "consult@localhost",
        "timeout": 20,
        **fields,
    }
    return set_env(monkeypatch, env, mailboxes=json.dumps([entry]))


def mail(n: int, *, subject: str = "", body: str = "", size: int = 0, sender: str = "") -> bytes:
    sender = sender or f"coder{n}@example.org"
    text = body or f"Question {n}: can I bill 27447 with 20700? Modifier 59? Dx M86.161\r\n"
    if size:
        text += ("x" * 76 + "\r\n") * (size // 78)
    return (
        f"From: Coder {n} <{sender}>\r\n"
        "To: consult@localhost\r\n"
        f"Subject: {subject or f'Question {n}'}\r\n"
        f"Message-ID: <q{n}.{uuid.uuid4().hex}@example.org>\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}"
    ).encode()


def poll_once(settings: Settings) -> list[int]:
    """Run one in-process sync; return the inbound ids it enqueued."""
    enqueued: list[int] = []
    poller = MailboxPoller(settings, settings.mailboxes[0], enqueued.extend, threading.Event())
    try:
        poller.sync_once()
    finally:
        poller.close()
    return sorted(enqueued)


def process_all(settings: Settings, inbound_ids: list[int]) -> None:
    for inbound_id in inbound_ids:
        with session_scope(settings) as session:
            process_message(session, settings, inbound_id)


def count(settings: Settings, model: type, *where: object) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def checkpoint(settings: Settings, name: str = "consult") -> tuple[int, int] | None:
    with session_scope(settings) as session:
        row = session.get(MailboxCheckpoint, name)
        return (row.uidvalidity, row.last_uid) if row else None


def idling(poller: Child, settings: Settings) -> Callable[[], bool]:
    def ready() -> bool:
        if poller.process.poll() is not None:
            pytest.fail(f"the poller exited early:\n{poller.output()}")
        return "idling" in poller.output() and checkpoint(settings) is not None

    return ready


# --- the tests ------------------------------------------------------------------


def test_new_mail_while_idling_becomes_a_case_without_waiting_for_a_poll(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, poll_interval=3600)
    worker = spawn("worker")
    # At DEBUG the poller says when IDLE has begun: mail appended in the very
    # moment IDLE begins can miss Dovecot's notice (poll_interval covers that).
    poller = spawn("poll", CONSULTANT_LOG_LEVEL="DEBUG")
    wait_for(worker_ready(worker), "the Celery worker to be ready", 120)
    wait_for(lambda: "IDLE started" in poller.output(), "the poller to idle")
    imap.append([mail(1)])
    # A poll would take an hour; only IDLE can bring the mail in this fast.
    wait_for(lambda: count(settings, Case) == 1, "a case from the mail", 30)
    assert count(settings, InboundMessage, InboundMessage.source == "imap:consult") == 1
    assert poller.stop() == 0
    # Even at DEBUG: no password, and no line of the mail in the log.
    assert imap.password not in poller.output()
    assert "can I bill" not in poller.output() and "27447" not in poller.output()


def test_mail_already_seen_by_another_client_is_taken_and_left_as_it_was(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap)
    seen_uid, unseen_uid = imap.append([mail(1)], flags=(b"\\Seen",)) + imap.append([mail(2)])
    enqueued = poll_once(settings)
    assert len(enqueued) == 2
    assert checkpoint(settings) is not None and checkpoint(settings)[1] == unseen_uid  # type: ignore[index]
    flags = imap.flags()
    assert b"\\Seen" in flags[seen_uid]
    assert b"\\Seen" not in flags[unseen_uid]  # BODY.PEEK[] marks nothing read
    # A second pass finds nothing new.
    assert poll_once(settings) == []
    assert count(settings, InboundMessage) == 2


def test_uidvalidity_change_resyncs_and_makes_exactly_one_new_case(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, folder="Consults")
    mails = [mail(n) for n in range(3)]
    imap.append(mails, folder="Consults")
    process_all(settings, poll_once(settings))
    before = checkpoint(settings)
    assert before is not None and count(settings, Case) == 3

    imap.server.recreate_folder(imap.user, imap.password, "Consults", [*mails, mail(3)])
    process_all(settings, poll_once(settings))
    after = checkpoint(settings)
    assert after is not None and after[0] != before[0]
    assert count(settings, InboundMessage) == 4
    assert count(settings, Case) == 4  # exactly one new case


def test_kill_9_mid_backlog_then_restart_stores_every_mail_exactly_once(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    total = 2000
    settings = use_mailbox(monkeypatch, env, imap, batch_size=50)
    imap.server.deliver(imap.user, "INBOX", (mail(n) for n in range(total)))
    first = spawn("poll")
    wait_for(lambda: count(settings, InboundMessage) >= 400, "400 mails stored", 120)
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()
    at_kill = count(settings, InboundMessage)

    spawn("poll")
    wait_for(lambda: count(settings, InboundMessage) >= total, f"{total} mails stored", 180)
    with session_scope(settings) as session:
        ids = session.scalar(select(func.count(func.distinct(InboundMessage.rfc_message_id))))
    stored = count(settings, InboundMessage)
    print(f"\nbacklog {total}: stored at kill {at_kill}, stored {stored}, distinct {ids}")
    assert 400 <= at_kill < total  # the kill did land mid-backlog
    assert stored == total and ids == total
    cp = checkpoint(settings)
    assert cp is not None and cp[1] == max(imap.flags())


def test_poller_reconnects_after_server_restart_and_dropped_connection(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    own_dovecot: Dovecot,
    spawn: Callable[..., Child],
) -> None:
    imap = _imap_user(own_dovecot)
    settings = use_mailbox(monkeypatch, env, imap, poll_interval=5, reconnect_max=2)
    poller = spawn("poll")
    wait_for(idling(poller, settings), "the poller to idle")

    own_dovecot.restart()
    imap.append([mail(1)])
    wait_for(lambda: count(settings, InboundMessage) == 1, "the mail sent after the restart", 60)

    own_dovecot.kick(imap.user)
    imap.append([mail(2)])
    wait_for(lambda: count(settings, InboundMessage) == 2, "the mail sent after the kick", 60)
    assert poller.output().count("connected to") >= 3
    assert poller.stop() == 0


def test_broken_and_oversize_mail_in_a_batch_do_not_stop_the_others(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, max_message_size=20_000)
    broken = (
        b"Subject: \xff\xfe garbage\r\nContent-Type: multipart/mixed; boundary=\r\n"
        b"\r\n\x00\x01 --\r\n"
    )
    uids = imap.append([mail(1), broken, mail(2), mail(3, size=60_000), mail(4)])
    process_all(settings, poll_once(settings))

    assert count(settings, InboundMessage) == 5
    assert count(settings, Case) == 3
    with session_scope(settings) as session:
        quarantined = {
            row.size: row.error or ""
            for row in session.scalars(
                select(InboundMessage).where(InboundMessage.state == InboundState.QUARANTINED)
            )
        }
    assert len(quarantined) == 2
    oversize = next(reason for size, reason in quarantined.items() if size > 20_000)
    assert "over the 20000-byte limit" in oversize and f"UID {uids[3]}" in oversize
    assert any("sender" in reason for size, reason in quarantined.items() if size < 20_000)
    assert checkpoint(settings) is not None and checkpoint(settings)[1] == uids[-1]  # type: ignore[index]


def test_flag_seen_happens_after_the_commit(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, after="seen")
    imap.append([mail(1), mail(2)])
    assert len(poll_once(settings)) == 2
    assert all(b"\\Seen" in flags for flags in imap.flags().values())


def _pg(settings: Settings) -> str:
    return settings.database_url.replace("postgresql+psycopg://", "postgresql://")


def test_move_happens_only_for_mails_that_were_stored(
    production: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, after="move", move_to="Done")
    client = imap.server.client(imap.user, imap.password)
    client.create_folder("Done")
    client.logout()
    imap.append([mail(1), mail(2, body="POISON-PILL in this one\r\n"), mail(3)])
    with psycopg.connect(_pg(settings), autocommit=True) as conn:
        conn.execute(
            """
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF position('POISON-PILL'::bytea IN NEW.raw) > 0 THEN
                RAISE EXCEPTION 'refused by test trigger';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON inbound_messages
              FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """
        )
    try:
        enqueued = poll_once(settings)
    finally:
        with psycopg.connect(_pg(settings), autocommit=True) as conn:
            conn.execute(
                "DROP TRIGGER refuse_poison ON inbound_messages; DROP FUNCTION refuse_poison()"
            )
    assert len(enqueued) == 2
    assert imap.count("Done") == 2
    assert imap.count("INBOX") == 1  # the refused mail stays, unflagged
    assert all(
        b"\\Seen" not in flags and b"\\Deleted" not in flags for flags in imap.flags().values()
    )
    assert count(settings, InboundMessage, InboundMessage.state == InboundState.QUARANTINED) == 1


def test_nothing_is_moved_when_the_commit_fails(
    production: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, after="move", move_to="Done")
    client = imap.server.client(imap.user, imap.password)
    client.create_folder("Done")
    client.logout()
    imap.append([mail(1), mail(2)])
    with psycopg.connect(_pg(settings), autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$; "
            "CREATE TRIGGER refuse_all BEFORE INSERT ON inbound_messages "
            "FOR EACH ROW EXECUTE FUNCTION refuse_all();"
        )
    try:
        with pytest.raises(Exception, match="refused by test trigger"):
            poll_once(settings)
        assert imap.count("Done") == 0 and imap.count("INBOX") == 2
        assert count(settings, InboundMessage) == 0
    finally:
        with psycopg.connect(_pg(settings), autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse_all ON inbound_messages; DROP FUNCTION refuse_all()")
    assert len(poll_once(settings)) == 2
    assert imap.count("Done") == 2 and imap.count("INBOX") == 0


def test_mailboxes_check_shows_what_waits_and_explains_a_refused_login(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    use_mailbox(monkeypatch, env, imap)
    imap.append([mail(1), mail(2), mail(3)])
    result = run_cli(env, "mailboxes", "check")
    assert "IDLE" in result.stdout and "UIDVALIDITY" in result.stdout
    assert "waiting       3" in result.stdout
    assert "checkpoint    none yet" in result.stdout

    use_mailbox(monkeypatch, env, imap, after="move", move_to="Taken")
    missing = run_cli(env, "mailboxes", "check", check=False)
    assert missing.returncode == 1
    assert "PROBLEM: the folder 'Taken' (move_to) does not exist" in missing.stdout

    use_mailbox(monkeypatch, env, imap, password="wrong-" + imap.password)
    refused = run_cli(env, "mailboxes", "check", check=False)
    assert refused.returncode == 1
    assert "login refused" in refused.stdout
    assert imap.password not in refused.stdout + refused.stderr


def test_up_with_a_mailbox_configured_polls_it_too(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    settings = use_mailbox(monkeypatch, env, imap)
    env["CONSULTANT_SMTP_PORT"] = str(free_port())
    up = spawn("up", "--concurrency", "1")
    wait_for(lambda: "Ctrl-C" in up.output(), "the welcome text of `consultant up`", 120)
    assert f"IMAP poller   consult: INBOX at 127.0.0.1:{imap.server.port}" in up.output()
    imap.append([mail(1)])
    wait_for(lambda: count(settings, Case) == 1, "a case from the IMAP mail", 120)
    assert up.stop(signal.SIGINT) == 0


def test_mail_the_server_cannot_return_is_recorded_and_the_rest_are_taken(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, after="seen", reconnect_max=2)
    uids = imap.append([mail(1), mail(2, subject="unreadable"), mail(3)])
    client = imap.server.client(imap.user, imap.password)
    client.select_folder("INBOX")  # read-write: Dovecot moves the files from new/ to cur/
    client.logout()
    cur = imap.server.root / "mail" / imap.user / "cur"
    broken = next(p for p in cur.iterdir() if b"unreadable" in p.read_bytes())
    broken.chmod(0)  # the mail process (an unprivileged user) cannot open it
    # Dovecot answers a FETCH of it with BYE: the poller must not loop forever.
    poller = spawn("poll")
    quarantined = InboundMessage.state == InboundState.QUARANTINED
    wait_for(lambda: count(settings, InboundMessage, quarantined) == 1, "the record", 60)

    assert count(settings, InboundMessage) == 3
    with session_scope(settings) as session:
        reason = session.scalars(select(InboundMessage.error).where(quarantined)).one() or ""
    assert f"UID {uids[1]}" in reason and "stays on the server" in reason
    wait_for(lambda: (checkpoint(settings) or (0, 0))[1] == uids[-1], "the checkpoint")
    assert poller.stop() == 0
    broken.chmod(0o600)
    flags = imap.flags()
    assert b"\\Seen" not in flags[uids[1]]  # only stored mail is flagged
    assert b"\\Seen" in flags[uids[0]] and b"\\Seen" in flags[uids[2]]


def test_without_idle_the_folder_is_polled_at_the_interval(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, idle=False, poll_interval=1)
    poller = spawn("poll")
    wait_for(lambda: "polling every 1s" in poller.output(), "the poller to poll")
    imap.append([mail(1)])
    wait_for(lambda: count(settings, InboundMessage) == 1, "the mail, at the next poll", 30)
    assert poller.stop() == 0


def test_one_poller_watches_several_mailboxes_each_with_its_checkpoint(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    dovecot_server: Dovecot,
    spawn: Callable[..., Child],
) -> None:
    first, second = _imap_user(dovecot_server), _imap_user(dovecot_server)
    entries = [
        {
            "name": name,
            "host": box.server.host,
            "port": box.server.port,
            "security": "none",
            "username": box.user,
            "password": box.password,
            # Mail appended between a sync and the next IDLE can miss Dovecot's
            # notice; the poll then finds it (60 s by default: the test's deadline).
            "poll_interval": 5,
        }
        for name, box in (("first", first), ("second", second))
    ]
    settings = set_env(monkeypatch, env, mailboxes=json.dumps(entries))
    first.append([mail(1), mail(2)])
    second.append([mail(3)])
    poller = spawn("poll")
    wait_for(lambda: count(settings, InboundMessage) == 3, "mail from both mailboxes")
    second.append([mail(4)])
    wait_for(lambda: count(settings, InboundMessage) == 4, "new mail in the second mailbox")
    assert count(settings, InboundMessage, InboundMessage.source == "imap:first") == 2
    assert count(settings, InboundMessage, InboundMessage.source == "imap:second") == 2
    assert checkpoint(settings, "first") is not None and checkpoint(settings, "second") is not None
    assert poller.stop() == 0


def test_mail_stored_just_before_a_dropped_connection_is_moved_after_reconnecting(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    settings = use_mailbox(monkeypatch, env, imap, after="move", move_to="Done", batch_size=2)
    client = imap.server.client(imap.user, imap.password)
    client.create_folder("Done")
    client.logout()
    imap.append([mail(n) for n in range(4)])
    connections = []

    def connect_dropping_the_second_body_fetch(mailbox: Mailbox) -> IMAPClient:
        real = connect(mailbox)
        if not connections:  # the first connection breaks at its second body fetch
            fetch, bodies = real.fetch, []

            def fetch_then_drop(uids: Any, data: list[str]) -> Any:
                if data == ["BODY.PEEK[]"]:
                    bodies.append(uids)
                    if len(bodies) == 2:
                        raise IMAPClientAbortError("connection dropped (test)")
                return fetch(uids, data)

            real.fetch = fetch_then_drop
        connections.append(real)
        return real

    enqueued: list[int] = []
    poller = MailboxPoller(
        settings,
        settings.mailboxes[0],
        enqueued.extend,
        threading.Event(),
        connect_dropping_the_second_body_fetch,
    )
    try:
        with pytest.raises(IMAPClientAbortError):
            poller.sync_once()
        assert count(settings, InboundMessage) == 2  # the first group was committed…
        assert imap.count("Done") == 0  # …but not moved before the drop
        poller.sync_once()
    finally:
        poller.close()
    assert count(settings, InboundMessage) == 4 and len(enqueued) == 4
    assert imap.count("Done") == 4 and imap.count("INBOX") == 0


@pytest.mark.parametrize("database", ["migrated", "production"])  # flock; advisory lock
def test_a_second_poller_on_one_mailbox_waits_until_the_first_is_gone(
    database: str,
    request: pytest.FixtureRequest,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    spawn: Callable[..., Child],
) -> None:
    request.getfixturevalue(database)
    # A short poll_interval: IDLE can miss mail appended as it begins (see imap.py).
    settings = use_mailbox(monkeypatch, env, imap, poll_interval=5)
    first = spawn("poll", name="poll-first")
    wait_for(idling(first, settings), "the first poller to idle")
    second = spawn("poll", name="poll-second")
    wait_for(lambda: "polled by another process" in second.output(), "the second to wait")
    imap.append([mail(1)])
    wait_for(lambda: count(settings, InboundMessage) == 1, "the mail, from the first poller")
    assert "connected to" not in second.output()  # it never touched the mailbox

    os.killpg(first.process.pid, signal.SIGKILL)  # the lock dies with its holder
    first.process.wait()
    wait_for(lambda: "taking over" in second.output(), "the second poller to take over", 30)
    imap.append([mail(2)])
    wait_for(lambda: count(settings, InboundMessage) == 2, "the mail, from the second poller")
    assert second.stop() == 0


@pytest.mark.parametrize("database", ["migrated", "production"])
def test_a_released_mailbox_lock_can_be_taken_again(
    database: str, request: pytest.FixtureRequest
) -> None:
    settings: Settings = request.getfixturevalue(database)
    first, second = MailboxLock(settings, "consult"), MailboxLock(settings, "consult")
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


@dataclass
class Sessions:
    """IMAP sessions one poller opened and closed (logged out or dropped)."""

    opened: int = 0
    closed: int = 0

    def connect(self, mailbox: Mailbox) -> IMAPClient:
        client = connect(mailbox)
        self.opened += 1
        for name in ("logout", "shutdown"):
            close = getattr(client, name)

            def counted(*args: Any, _close: Any = close) -> Any:
                self.closed += 1
                return _close(*args)

            setattr(client, name, counted)
        return client

    @property
    def live(self) -> int:
        return self.opened - self.closed


def _lock_backends(settings: Settings) -> list[int]:
    with psycopg.connect(_pg(settings)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def test_a_poller_that_loses_its_lock_connection_stops_and_the_waiting_one_takes_over(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    imap: Imap,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import consultant.pipeline.intake.imap as imap_module

    monkeypatch.setattr(imap_module, "LOCK_RETRY", 0.1)
    settings = use_mailbox(monkeypatch, env, imap, idle=False, poll_interval=0.2)
    stop = threading.Event()
    sessions = {"first": Sessions(), "second": Sessions()}
    enqueued: dict[str, list[int]] = {"first": [], "second": []}
    threads = [
        threading.Thread(
            target=MailboxPoller(
                settings, settings.mailboxes[0], enqueued[who].extend, stop, sessions[who].connect
            ).run,
            name=f"poll-{who}",
        )
        for who in ("first", "second")
    ]
    try:
        threads[0].start()
        wait_for(lambda: checkpoint(settings) is not None, "the first poller to sync")
        threads[1].start()
        wait_for(lambda: "polled by another process" in caplog.text, "the second to wait")
        imap.append([mail(1)])
        wait_for(lambda: enqueued["first"], "the mail, from the first poller")

        (backend,) = _lock_backends(settings)
        with psycopg.connect(_pg(settings), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
        wait_for(lambda: sessions["second"].opened, "the second poller to take over", 30)
        wait_for(lambda: sessions["first"].live == 0, "the first poller to let go", 30)
        first_opened = sessions["first"].opened

        imap.append([mail(2)])
        wait_for(lambda: enqueued["second"], "the next mail, from the second poller")
        assert count(settings, InboundMessage) == 2
        assert len(enqueued["first"]) == 1 and sessions["first"].live == 0
        assert sessions["first"].opened == first_opened  # it never came back meanwhile
        assert "lost its lock" in caplog.text
    finally:
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join()


def test_mail_over_a_mime_limit_is_stored_whole_and_quarantined_unparsed(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, imap: Imap
) -> None:
    from tests.mime_shapes import many_parts, nested

    monkeypatch.setenv("CONSULTANT_MAX_MIME_PARTS", "10")
    monkeypatch.setenv("CONSULTANT_MAX_MIME_DEPTH", "3")
    settings = use_mailbox(monkeypatch, env, imap)
    over = {
        "too many MIME parts (limit 10)": [many_parts(50_000), many_parts(11)],
        "MIME parts nested too deeply (limit 3 levels)": [nested(4)],
    }
    within = [mail(1), many_parts(10), nested(3)]
    imap.append(
        [
            *over["too many MIME parts (limit 10)"],
            *over["MIME parts nested too deeply (limit 3 levels)"],
            *within,
        ]
    )
    enqueued = poll_once(settings)

    with session_scope(settings) as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        stored = {row.raw: (row.state, row.error) for row in rows}
    assert len(rows) == 6
    for reason, raws in over.items():
        for raw in raws:
            assert stored[raw] == (InboundState.QUARANTINED, reason)
    assert [stored[raw] for raw in within] == [(InboundState.STORED, None)] * 3
    assert enqueued == sorted(row.id for row in rows if row.state == InboundState.STORED)
