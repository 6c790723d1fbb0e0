"""One poller per mailbox: a lock that dies with the process holding it.

Two pollers on one mailbox lose nothing and store nothing twice (store_raw
recognises the mail), but they fetch everything twice and race to flag or
move it. So a poller first takes its mailbox's lock, and waits while another
process holds it. PostgreSQL: a session advisory lock on a connection kept
open for the poller's life. SQLite (one machine): an flock on a file beside
the database. Either is released by the kernel or the server when the
holder dies, even by kill -9, so a restarted poller never waits on a ghost.

A lock can also be lost while its holder lives: the server ends the lock's
connection (a restart, a terminated backend, a network cut) and another
poller takes the mailbox; someone removes the lock file and another poller
locks a new one. So the poller asks `held()` every cycle and stops when the
answer is no.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from consultant.db.session import get_engine
from consultant.filemodes import private_dir
from consultant.settings import Settings


class LockLost(Exception):
    """The mailbox's lock is gone: stop working the mailbox, wait to own it again."""


class MailboxLock:
    """Try to own mailbox `name`; release() lets go."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self._connection: Any = None
        self._file: IO[bytes] | None = None
        digest = hashlib.sha256(f"mailbox:{name}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)  # a PostgreSQL bigint
        self._guard = threading.Lock()  # the poller and its storer thread both ask held()

    def acquire(self) -> bool:
        """Take the lock if free; return whether we hold it."""
        if self.settings.embedded:
            return self._acquire_file()
        connection = get_engine(self.settings).connect()
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
        ).scalar()
        connection.commit()  # the lock is the session's, not the transaction's
        if taken:
            self._connection = connection
        else:
            connection.close()
        return bool(taken)

    def held(self) -> bool:
        """Whether we still own the mailbox; after a False, acquire() again before working it."""
        with self._guard:
            if self._file is not None:
                if self._file_is_ours():
                    return True
                self._file.close()  # a lock on a file nobody else can find any more
                self._file = None
                return False
            if self._connection is None:
                return False
            try:
                held = self._connection.execute(HELD, self._lock_ids()).scalar()
                self._connection.commit()
            except SQLAlchemyError:
                held = False  # the connection, and the lock with it, is gone
            if not held:
                self._drop_connection()
            return bool(held)

    def release(self) -> None:
        if self._connection is not None:
            # Closing only returns the connection to the pool, lock and all:
            # unlock first. If the connection is gone, so is the lock.
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
                self._connection.commit()
            self._drop_connection()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _acquire_file(self) -> bool:
        path = self._path()
        private_dir(path.parent)
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _file_is_ours(self) -> bool:
        assert self._file is not None
        try:
            on_disk = os.stat(self._path())
        except FileNotFoundError:
            return False
        return os.path.samestat(on_disk, os.fstat(self._file.fileno()))

    def _path(self) -> Path:
        return self.settings.var_dir / f"mailbox-{self.name}.lock"

    def _lock_ids(self) -> dict[str, int]:
        # pg_locks shows a bigint advisory key as two unsigned 32-bit halves.
        unsigned = self._key & 0xFFFF_FFFF_FFFF_FFFF
        return {"classid": unsigned >> 32, "objid": unsigned & 0xFFFF_FFFF}

    def _drop_connection(self) -> None:
        with contextlib.suppress(SQLAlchemyError):
            self._connection.close()
        self._connection = None


# Our backend holds the advisory lock (objsubid 1: the one-bigint form).
HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
    "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
    "AND classid::bigint = :classid AND objid::bigint = :objid)"
)
