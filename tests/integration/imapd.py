"""A real Dovecot IMAP server for tests, run in the foreground as a child.

`Dovecot(root)` writes a minimal configuration under `root` (passwd-file
users, one Maildir per user, plain-text login on a free loopback port, IDLE
checks every second) and runs `dovecot -F -c CONF` in its own process group,
so stop() and kill() take down the master and every child it forked. Mail
processes run as the unprivileged `dovecot` user when we are root, as
ourselves otherwise. Besides IMAP APPEND, `deliver()` writes mails straight
into the Maildir for large backlogs.

`Dovecot(root, ssl=(cert, key))` also serves implicit TLS on `tls_port`
(STARTTLS on `port`) with `ssl = required`; `extra_config` is appended to
the configuration as it is (later settings win).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.ports import free_port

CONFIG = """\
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
# Refused logins answer at once and do not slow the next ones from 127.0.0.1
# (with the anvil-auth-penalty socket off, below).
auth_failure_delay = 0
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/info.log
mail_location = maildir:{root}/mail/%u
mailbox_idle_check_interval = 1 secs
first_valid_uid = {uid}
first_valid_gid = {gid}
{users}
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}{tls_listener}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{extra}"""

SSL = """\
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}"""

TLS_LISTENER = """
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}"""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


def _mail_owner() -> tuple[int, int, str]:
    """Who mail processes run as: `dovecot` when we are root, else ourselves."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam("dovecot")
        return entry.pw_uid, entry.pw_gid, ""
    me = pwd.getpwuid(os.geteuid())
    # Unprivileged: every Dovecot service must run as us.
    users = f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}"
    return me.pw_uid, me.pw_gid, users


class Dovecot:
    """One Dovecot master and its children, on 127.0.0.1:`port` (and `tls_port`)."""

    host = "127.0.0.1"

    def __init__(
        self, root: Path, extra_config: str = "", ssl: tuple[Path, Path] | None = None
    ) -> None:
        self.root = root
        self.port = free_port()
        self.tls_port: int | None = free_port() if ssl else None
        self.uid, self.gid, users = _mail_owner()
        self.process: subprocess.Popen[bytes] | None = None
        for sub in ("run", "state", "log", "mail", "home"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(root / sub, self.uid, self.gid)
        # The mail user must reach its Maildir through every parent folder.
        for folder in [root, *root.parents]:
            mode = folder.stat().st_mode
            if not mode & 0o001:
                folder.chmod(mode | 0o001)
        (root / "passwd").write_text("")
        self._passwd_stamp = 0.0
        self.config = root / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                root=root,
                port=self.port,
                uid=self.uid,
                gid=self.gid,
                users=users,
                ssl=SSL.format(cert=ssl[0], key=ssl[1]) if ssl else "ssl = no",
                tls_listener=TLS_LISTENER.format(port=self.tls_port) if ssl else "",
                extra=extra_config and extra_config.rstrip("\n") + "\n",
            )
        )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, deadline: float = 20.0) -> None:
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        log = (self.root / "log" / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [str(dovecot_binary()), "-F", "-c", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1) as sock,
            ):
                if sock.recv(100).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"dovecot did not start:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        self._signal(signal.SIGKILL, 10.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, signum: int, timeout: float) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Children left in the group (none should be) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("stdout.log", "dovecot.log"):
            path = self.root / "log" / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    # --- users and mail ---------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add a user; Dovecot re-reads the passwd-file when its mtime changes."""
        path = self.root / "passwd"
        with path.open("a") as passwd:
            passwd.write(f"{name}:{{PLAIN}}{password}::::::\n")
        # Dovecot compares whole seconds and looks at most once a second:
        # make every change a new second, then wait until the user can log in.
        self._passwd_stamp = max(time.time(), self._passwd_stamp + 1)
        os.utime(path, (self._passwd_stamp, self._passwd_stamp))
        end = time.monotonic() + 10
        while True:
            try:
                self.client(name, password).logout()
                return
            except LoginError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def client(self, user: str, password: str) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        try:
            client.login(user, password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(
        self,
        user: str,
        password: str,
        folder: str,
        raws: Iterable[bytes],
        flags: Iterable[bytes] = (),
    ) -> list[int]:
        """APPEND each mail; return the UIDs the server gave them."""
        client = self.client(user, password)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            uids = []
            for raw in raws:
                response = client.append(folder, raw, flags=tuple(flags))
                # b"[APPENDUID <uidvalidity> <uid>] Append completed."
                uids.append(int(response.split(b"]")[0].split()[-1]))
            return uids
        finally:
            client.logout()

    def deliver(self, user: str, folder: str, raws: Iterable[bytes]) -> int:
        """Write mails into the Maildir directly (fast, for big backlogs)."""
        base = self.root / "mail" / user
        box = base if folder == "INBOX" else base / f".{folder}"
        for sub in ("tmp", "new", "cur"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        for path in [base, box, *(box / sub for sub in ("tmp", "new", "cur"))]:
            os.chown(path, self.uid, self.gid)
        count = 0
        stamp = int(time.time())
        for count, raw in enumerate(raws, 1):
            name = f"{stamp}.M{count:08d}P{os.getpid()}.{uuid.uuid4().hex[:8]}"
            tmp = box / "tmp" / name
            tmp.write_bytes(raw)
            os.chown(tmp, self.uid, self.gid)
            os.rename(tmp, box / "new" / name)
        if self.process is not None:
            # Dovecot numbers new files at the folder's next sync; do it now,
            # so a mail appended next does not get a lower UID than these.
            self.doveadm("mailbox", "status", "-u", user, "uidnext", folder)
        return count

    def recreate_folder(self, user: str, password: str, folder: str, raws: Iterable[bytes]) -> int:
        """Delete and recreate `folder` with these mails; return its new UIDVALIDITY."""
        client = self.client(user, password)
        try:
            old = client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]
            client.delete_folder(folder)
            while True:  # Dovecot derives UIDVALIDITY from the clock.
                client.create_folder(folder)
                new = client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]
                if new != old:
                    break
                client.delete_folder(folder)
                time.sleep(0.2)
        finally:
            client.logout()
        self.append(user, password, folder, raws)
        return int(new)

    def kick(self, user: str) -> None:
        """Drop every connection of `user` (the server closes them)."""
        self.doveadm("kick", user)

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            ["doveadm", "-c", str(self.config), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout


@contextlib.contextmanager
def running_dovecot(
    root: Path, extra_config: str = "", ssl: tuple[Path, Path] | None = None
) -> Iterator[Dovecot]:
    """Start a Dovecot under `root` and always stop it."""
    server = Dovecot(root, extra_config, ssl)
    server.start()
    try:
        yield server
    finally:
        server.stop()
