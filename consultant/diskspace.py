"""Disk space: how much is free, and whether an error means storage is full.

Input: a path (free space of the file system holding it), or an exception
raised while writing (the OS's, SQLite's, PostgreSQL's, or SQLAlchemy's
wrapping of those). Output: megabytes free; True when the error means the
disk, the quota or the database's own cap is full, or the storage is
read-only; and where the mail is stored, for a log line (the SQLite
database's folder, or "the database", never a URL). Such an error is not the
mail's fault and ends once an operator frees space (or remounts the disk
writable), so the intakes answer "try later" and the worker leaves the mail
stored, instead of failing or quarantining it.

`OncePerInterval` keeps the log to one line a minute while storage stays full
(one traceback per mail would fill the very disk that is full), and one line
when it works again.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from consultant.settings import Settings

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
# SQLite's primary result codes (the extended ones keep them in the low byte).
SQLITE_READONLY, SQLITE_FULL = 8, 13
# PostgreSQL's SQLSTATE disk_full (psycopg raises errors.DiskFull for it).
PG_DISK_FULL = "53100"
FULL_TEXTS = (
    "database or disk is full",
    "attempt to write a readonly database",
    "could not extend file",
    "no space left on device",
    "disk quota exceeded",
    "read-only file system",
)
MB = 1024 * 1024
# A fresh var/ after `up`'s first start peaks near 30 MB (the database of 15 MB
# with ICD-10-CM, and the load's write-ahead log beside it); twice that leaves
# room for the first mail.
FIRST_START_MB = 60


def free_mb(path: Path) -> int:
    """Megabytes free to an unprivileged user on the file system holding `path`
    (its nearest existing ancestor if `path` does not exist yet)."""
    stats = os.statvfs(nearest_existing(path))
    return stats.f_bavail * stats.f_frsize // MB


def nearest_existing(path: Path) -> Path:
    """`path` made absolute, or its nearest ancestor that exists."""
    probe = Path(os.path.abspath(path))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def storage_place(settings: Settings) -> str:
    """Where mail is stored, for a log line: var/, or the database (never its URL)."""
    folder = sqlite_folder(settings)
    return str(folder) if folder is not None else "the database"


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database file (in var/ by default); None for a database server."""
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def sqlite_folder(settings: Settings) -> Path | None:
    """The folder of the SQLite database file; None for a database server."""
    database = sqlite_file(settings)
    return None if database is None else database.parent


def is_storage_full(error: BaseException) -> bool:
    """Whether `error`, or any error it was raised from or wraps, says the
    storage is full or read-only."""
    return any(_says_full(one) for one in _chain(error))


def read_only(error: BaseException) -> bool:
    """Whether `error` (or one it comes from) says the storage is read-only."""
    for one in _chain(error):
        if isinstance(one, OSError) and one.errno == errno.EROFS:
            return True
        text = str(one).lower()
        if "readonly database" in text or "read-only file system" in text:
            return True
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, its causes and contexts, and the driver errors SQLAlchemy wraps."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        one = todo.pop()
        if id(one) in seen:
            continue
        seen.add(id(one))
        yield one
        wrapped = getattr(one, "orig", None)  # sqlalchemy.exc.DBAPIError
        for nxt in (one.__cause__, one.__context__, wrapped):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _says_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in FULL_ERRNOS:
        return True
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in (SQLITE_FULL, SQLITE_READONLY):
            return True
    if getattr(error, "sqlstate", None) == PG_DISK_FULL:  # psycopg
        return True
    if getattr(error, "pgcode", None) == PG_DISK_FULL:  # psycopg2
        return True
    text = str(error).lower()
    return any(words in text for words in FULL_TEXTS)


class OncePerInterval:
    """A warning while storage is full, at most once per `interval` seconds, and
    one line when it works again. Thread-safe: the SMTP intake stores from
    executor threads."""

    def __init__(self, log: logging.Logger, interval: float = 60.0) -> None:
        self.log = log
        self.interval = interval
        self.full = False
        self._last = float("-inf")
        self._lock = threading.Lock()

    def storage_full(self, where: str, doing: str) -> bool:
        """Note that storage under `where` is full; log one line (saying what we
        do meanwhile) unless one went out within the interval. Tell whether one did."""
        with self._lock:
            self.full = True
            now = time.monotonic()
            if now - self._last < self.interval:
                return False
            self._last = now
        self.log.warning("storage full under %s: %s until space returns", where, doing)
        return True

    def storage_works(self, where: str) -> None:
        """Note that a write succeeded; log one line if storage was full."""
        with self._lock:
            if not self.full:
                return
            self.full = False
            self._last = float("-inf")
        self.log.warning("storage under %s takes writes again", where)
