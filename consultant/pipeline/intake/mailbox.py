"""Connect to a configured IMAP mailbox, and check one for the operator.

Input: a `Mailbox` from the settings. Output: a logged-in IMAPClient (implicit
TLS, STARTTLS or plain; certificates verified unless the mailbox opts out;
password or XOAUTH2 token read fresh at every login from the settings, a file
or a command, so rotated tokens are picked up), or for `check_mailbox` the
facts a user wants when setting up: capabilities, the folder's UIDVALIDITY,
UIDNEXT and how many mails wait for the poller. Secrets never reach a log.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import SQLAlchemyError

from consultant.db.models import MailboxCheckpoint
from consultant.db.session import session_scope
from consultant.settings import Mailbox, Settings

COMMAND_TIMEOUT = 30.0


class CredentialError(Exception):
    """The password or token could not be read (file missing, command failed)."""


def read_secret(mailbox: Mailbox) -> str:
    """Return the password or access token, read now (tokens rotate)."""
    if mailbox.password is not None:
        return mailbox.password.get_secret_value()
    path = mailbox.password_file or mailbox.token_file
    if path is not None:
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CredentialError(f"cannot read {path}: {error.strerror}") from error
        if not secret:
            raise CredentialError(f"{path} is empty")
        return secret
    command = mailbox.password_command or mailbox.token_command or ""
    return _run_secret_command(command)


def _run_secret_command(command: str) -> str:
    argv = shlex.split(command)
    name = argv[0] if argv else "(empty command)"
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, IndexError, subprocess.TimeoutExpired) as error:
        raise CredentialError(f"cannot run {name}: {type(error).__name__}") from error
    # Neither stdout nor stderr is quoted: either may hold the secret.
    if done.returncode != 0:
        raise CredentialError(f"{name} exited with status {done.returncode}")
    secret = done.stdout.strip()
    if not secret:
        raise CredentialError(f"{name} printed nothing")
    return secret


def ssl_context(mailbox: Mailbox) -> ssl.SSLContext:
    """A client context that verifies the server, unless the mailbox opts out."""
    context = ssl.create_default_context(cafile=str(mailbox.ca_file) if mailbox.ca_file else None)
    if not mailbox.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(mailbox: Mailbox) -> IMAPClient:
    """Open, secure and log in; the caller logs out (or the socket is dropped)."""
    context = ssl_context(mailbox) if mailbox.security != "none" else None
    client = IMAPClient(
        mailbox.host,
        port=mailbox.imap_port,
        ssl=mailbox.security == "tls",
        ssl_context=context,
        timeout=mailbox.timeout,
    )
    # imapclient turns imaplib's debug output up to 5 and routes it to DEBUG
    # logging; imaplib then formats every response, mail text included, into
    # a string before the logger drops it. That cost half the fetch time, and
    # mail text has no business in log strings: turn it off.
    client._imap.debug = 0
    _keep_alive(client.socket())
    try:
        if mailbox.security == "starttls":
            client.starttls(context)
        secret = read_secret(mailbox)
        if mailbox.auth == "xoauth2":
            client.oauth2_login(mailbox.username, secret)
        else:
            client.login(mailbox.username, secret)
    except BaseException:
        # A failed STARTTLS handshake leaves imaplib a detached socket whose
        # shutdown() raises EBADF: that must not hide the certificate error.
        with contextlib.suppress(OSError):
            client.shutdown()
        raise
    return client


def _keep_alive(sock: socket.socket) -> None:
    """TCP keepalive: a connection a NAT or firewall dropped in silence is
    noticed in about two minutes, not at the next IDLE renewal."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
        if hasattr(socket, option):  # Linux names; other systems keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


@contextlib.contextmanager
def logged_in(connect: Callable[[Mailbox], IMAPClient], mailbox: Mailbox) -> Iterator[IMAPClient]:
    """Connect; on the way out log out politely, or just drop the socket after an error."""
    client = connect(mailbox)
    try:
        yield client
    except BaseException:
        with contextlib.suppress(Exception):
            client.shutdown()
        raise
    with contextlib.suppress(IMAPClientError, OSError):
        client.logout()


@dataclass
class MailboxReport:
    """What `consultant mailboxes check` prints for one mailbox."""

    name: str
    capabilities: list[str] = field(default_factory=list)
    uidvalidity: int | None = None
    uidnext: int | None = None
    messages: int | None = None
    checkpoint: tuple[int, int] | None = None  # (uidvalidity, last_uid)
    waiting: int | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the poller would fail on these


def check_mailbox(settings: Settings, mailbox: Mailbox) -> MailboxReport:
    """Connect, log in and look at the folder without changing anything."""
    report = MailboxReport(mailbox.name)
    with logged_in(connect, mailbox) as client:
        report.capabilities = sorted(c.decode("ascii", "replace") for c in client.capabilities())
        status = client.select_folder(mailbox.folder, readonly=True)
        report.uidvalidity = int(status[b"UIDVALIDITY"])
        report.uidnext = int(status[b"UIDNEXT"]) if b"UIDNEXT" in status else None
        report.messages = int(status[b"EXISTS"])
        report.checkpoint = _checkpoint(settings, mailbox, report)
        report.waiting = _waiting(client, mailbox, report)
        _check_actions(client, mailbox, report)
    return report


def _checkpoint(
    settings: Settings, mailbox: Mailbox, report: MailboxReport
) -> tuple[int, int] | None:
    try:
        with session_scope(settings) as session:
            row = session.get(MailboxCheckpoint, mailbox.name)
            return (row.uidvalidity, row.last_uid) if row else None
    except SQLAlchemyError as error:
        report.notes.append(f"checkpoint unknown: database not reachable ({type(error).__name__})")
        return None


def _waiting(client: IMAPClient, mailbox: Mailbox, report: MailboxReport) -> int:
    if report.checkpoint is None and mailbox.start == "new":
        report.notes.append("first run: start is 'new', so only mail arriving from now is taken")
        return 0
    last = 0
    if report.checkpoint is not None:
        if report.checkpoint[0] == report.uidvalidity:
            last = report.checkpoint[1]
        else:
            report.notes.append(
                f"UIDVALIDITY changed (was {report.checkpoint[0]}): the poller will resync "
                "the folder and recognise mail it already stored"
            )
    return sum(1 for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)


def _check_actions(client: IMAPClient, mailbox: Mailbox, report: MailboxReport) -> None:
    if not client.has_capability("IDLE"):
        report.notes.append(f"no IDLE: the poller checks every {mailbox.poll_interval:g}s")
    if mailbox.after != "move" or mailbox.move_to is None:
        return
    if not client.folder_exists(mailbox.move_to):
        report.problems.append(f"the folder {mailbox.move_to!r} (move_to) does not exist")
    elif not client.has_capability("MOVE"):
        how = "COPY, \\Deleted and UID EXPUNGE"
        if not client.has_capability("UIDPLUS"):
            how = "COPY and \\Deleted (no UIDPLUS: nothing is expunged)"
        report.notes.append(f"no MOVE: stored mail is moved by {how}")
