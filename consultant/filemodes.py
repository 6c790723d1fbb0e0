"""File modes for mail data on disk: private to the service user, whatever the umask.

var/ (and the outbox folder) are 0700; the SQLite database, the broker's file
and every outbox .eml are 0600. Directories and files are created with those
modes (and chmod-ed after, since a umask can only take bits away, never add
them, but a process may run with umask 0); an existing one found looser is
tightened, with one log line. A folder found looser is an install from before
this rule: everything under it is tightened too (files 0600, folders 0700).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite creates its -wal and -shm (or -journal) files with the database's mode;
# ones left from a run before this fix are tightened too.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if needed, and make it 0700; if it existed
    with a looser mode, make everything under it private as well."""
    existed = path.is_dir()
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    current = stat.S_IMODE(path.stat().st_mode)
    if current == PRIVATE_DIR:
        return path
    os.chmod(path, PRIVATE_DIR)
    if existed:
        count = _tighten_tree(path)
        log.warning(
            "%s was mode %04o; tightened to %04o, and %d file(s) under it to %04o (mail data)",
            path,
            current,
            PRIVATE_DIR,
            count,
            PRIVATE_FILE,
        )
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing, and make it 0600 (its folder is made 0700)."""
    private_dir(path.parent)
    existed = path.exists()
    if not existed:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    _tighten(path, PRIVATE_FILE, existed)
    return path


def private_sqlite(url: str) -> Path | None:
    """For a file SQLite URL (sqlite:///…, sqla+sqlite:///…): the database and its
    side files made private before SQLite opens them; None for other URLs."""
    scheme, _, rest = url.partition(":///")
    if not scheme.endswith("sqlite") or not rest or rest.startswith(":memory:"):
        return None
    path = Path(rest.split("?", 1)[0])
    if not path.is_absolute():
        path = Path.cwd() / path
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _tighten(side, PRIVATE_FILE, True)
    return path


def open_private(path: Path) -> int:
    """Open `path` for writing, created or truncated, mode 0600; return the descriptor."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd


def _tighten_tree(top: Path) -> int:
    """Take group and other bits off everything under `top`; return how many files."""
    count = 0
    for folder, folders, files in os.walk(top):
        for name in folders:
            os.chmod(os.path.join(folder, name), PRIVATE_DIR)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and stat.S_IMODE(os.stat(path).st_mode) & 0o077:
                os.chmod(path, PRIVATE_FILE)
                count += 1
    return count


def _tighten(path: Path, mode: int, existed: bool) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current == mode:
        return
    os.chmod(path, mode)
    if existed:
        log.warning("%s was mode %04o; tightened to %04o (mail data)", path, current, mode)
