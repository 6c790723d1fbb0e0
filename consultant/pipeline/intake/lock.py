"""One poller per mailbox: a lock that dies with the process holding it.

Two pollers on one mailbox lose nothing and store nothing twice (store_raw
recognises the mail), but they fetch everything twice and race to flag or
move it. So a poller first takes its mailbox's lock, and waits while another
process holds it. PostgreSQL: a session advisory lock on a connection kept
open for the poller's life. SQLite (one machine): an flock on a file beside
the database. Either is released by the kernel or the server when the
holder dies, even by kill -9, so a restarted poller never waits on a ghost.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from consultant.db.session import get_engine
from consultant.filemodes import private_dir
from consultant.settings import Settings


class MailboxLock:
    """Try to own mailbox `name`; release() lets go."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self._connection: Any = None
        self._file: IO[bytes] | None = None
        digest = hashlib.sha256(f"mailbox:{name}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)  # a PostgreSQL bigint

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

    def release(self) -> None:
        if self._connection is not None:
            # Closing only returns the connection to the pool, lock and all:
            # unlock first. If the connection is gone, so is the lock.
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
                self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _acquire_file(self) -> bool:
        path = self.settings.var_dir / f"mailbox-{self.name}.lock"
        private_dir(path.parent)
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True
