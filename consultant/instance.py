"""One `consultant up` per var/ directory: a lock file that holds the owner's PID.

Two `up` on one var/ would run two workers and two beats over the same SQLite
files, each sweeping the other's work. `hold_instance_lock` takes an flock on
``var/consultant.lock`` for the life of the process (the kernel lets go when
it exits, even by kill -9) and writes the PID into it; a second `up` reads
that PID and refuses to start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from consultant.filemodes import private_dir

LOCK_NAME = "consultant.lock"


class AlreadyRunning(RuntimeError):
    """Another process holds the instance lock of this var/ directory."""

    def __init__(self, path: Path, pid: str) -> None:
        self.path, self.pid = path, pid
        super().__init__(
            f"consultant is already running on {path.parent} (pid {pid or 'unknown'}); "
            "stop it first, or give this one its own CONSULTANT_VAR_DIR"
        )


def hold_instance_lock(var_dir: Path) -> IO[str]:
    """Lock var_dir for this process and write our PID; keep the returned file open."""
    private_dir(var_dir)
    path = var_dir / LOCK_NAME
    # 0600 as everything under var/; the PID is no secret, but the folder is private.
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+", encoding="ascii")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip()
        handle.close()
        raise AlreadyRunning(path, pid) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def lock_holder(var_dir: Path) -> str | None:
    """The PID of the process holding var_dir's lock ("unknown" if it wrote none), or
    None when nobody holds it; takes nothing and creates nothing (`up --check`)."""
    try:
        handle = (var_dir / LOCK_NAME).open("r", encoding="ascii")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        return None
