"""Restores: put a backup (consultant.backup) back, after checking every byte of it.

Input: a backup folder and the settings of the desk to restore into. Output:
the database (and the outbox) in place, or a BackupError whose one line says
why nothing was changed: the manifest missing or unreadable, a file whose
checksum differs from the manifest, a file the manifest does not name, the
copied database failing PRAGMA integrity_check, a desk running on the target
var/ (its instance lock is held), or a database already there (unless
``force``: then the current one is kept aside, renamed with a timestamp).

Every check runs before the first change; the database is copied to a
temporary file beside its place and moved there with os.replace, so a crash
leaves either the old file or the new one. `put_back` is the in-place variant
a failed `consultant db upgrade` uses: it writes the pre-upgrade copy back
through SQLite's backup API, which other connections see whole.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consultant.backup import (
    DATABASE,
    FORMAT,
    MANIFEST,
    OUTBOX,
    PG_DUMP,
    SQLITE_TIMEOUT,
    BackupError,
    Written,
    integrity,
    pg_tool,
    run_pg_tool,
    sha256,
    sqlite_path,
    stamp,
    take_backup,
)
from consultant.filemodes import SQLITE_SIDE_FILES, private_dir, private_file
from consultant.instance import AlreadyRunning, hold_instance_lock
from consultant.logs import redact_url
from consultant.settings import Settings


def verify(src: Path) -> dict[str, Any]:
    """The backup's manifest, once every file it names is there with its size and
    sha256, and nothing else is; else a BackupError naming the file and the fault."""
    manifest = _read_manifest(src)
    files: dict[str, Any] = manifest["files"]
    root = src.resolve()
    for name, entry in files.items():
        path = src / name
        if not path.resolve().is_relative_to(root):
            raise BackupError(f"{src / MANIFEST}: names a file outside the backup: {name}")
        if not path.is_file():
            raise BackupError(f"{path}: missing (the manifest names it)")
        if not isinstance(entry, dict) or not _matches(path, entry):
            raise BackupError(f"{path}: checksum differs from the manifest")
    for path in sorted(src.rglob("*")):
        name = path.relative_to(src).as_posix()
        if path.is_file() and name != MANIFEST and name not in files:
            raise BackupError(f"{path}: not in the manifest")
    if DATABASE not in files and PG_DUMP not in files:
        raise BackupError(f"{src}: the backup holds no database")
    return manifest


def restore_backup(settings: Settings, src: Path, *, force: bool = False) -> list[Written]:
    """Restore the backup in `src` into the desk `settings` describe; return what was
    written. Refuses, changing nothing, while a desk runs on that var/."""
    manifest = verify(src)
    kind = "sqlite" if settings.embedded else "postgresql"
    if manifest.get("database") != kind:
        raise BackupError(
            f"{src} holds a {manifest.get('database')} database; this desk uses {kind} "
            "(check CONSULTANT_DATABASE_URL)"
        )
    with _instance_lock(settings.var_dir):
        outbox = settings.outbox_path()
        if not force:
            _refuse_overwrite(settings, outbox)
        if settings.embedded:
            written = _restore_sqlite(settings, src, manifest, force)
        else:
            written = _restore_pg(settings, src, force)
        if force:
            written += _outbox_aside(outbox)
        if (src / OUTBOX).is_dir():
            written.append(_restore_outbox(src / OUTBOX, outbox, manifest))
    return written


def put_back(settings: Settings, folder: Path) -> None:
    """Write the database copy in `folder` back over the live SQLite database, in place."""
    verify(folder)
    source = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
    target = sqlite3.connect(sqlite_path(settings.database_url), timeout=SQLITE_TIMEOUT)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    if not src.is_dir():
        raise BackupError(f"{src}: not a folder")
    if not path.is_file():
        raise BackupError(f"{path}: manifest missing; this is not a consultant backup")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{path}: the manifest is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{path}: the manifest lists no files")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}, not {FORMAT}")
    return manifest


def _matches(path: Path, entry: dict[str, Any]) -> bool:
    return path.stat().st_size == entry.get("size") and sha256(path) == entry.get("sha256")


@contextmanager
def _instance_lock(var_dir: Path) -> Iterator[None]:
    """Hold var/'s instance lock for the restore: no `consultant up` runs meanwhile."""
    try:
        handle = hold_instance_lock(var_dir)
    except AlreadyRunning as error:
        raise BackupError(
            f"consultant is running on {var_dir} (pid {error.pid or 'unknown'}); "
            "stop it before restoring into it"
        ) from None
    try:
        yield
    finally:
        handle.close()


def _restore_sqlite(
    settings: Settings, src: Path, manifest: dict[str, Any], force: bool
) -> list[Written]:
    live = sqlite_path(settings.database_url)
    temp = _checked_copy(src / DATABASE, live.parent, manifest["files"][DATABASE])
    written = []
    try:
        if force:
            written += _set_aside(live, sqlite_path(settings.broker_url))
        os.replace(temp, live)
    finally:
        temp.unlink(missing_ok=True)
    revision = manifest.get("schema_revision") or "(none)"
    note = f"revision {revision}, integrity_check ok"
    return [*written, Written("database", live, live.stat().st_size, note)]


def _refuse_overwrite(settings: Settings, outbox: Path) -> None:
    live = sqlite_path(settings.database_url) if settings.embedded else None
    if live is not None and live.is_file() and live.stat().st_size > 0:
        raise BackupError(
            f"{live} already holds a database; restore into a fresh CONSULTANT_VAR_DIR, "
            "or add --force to keep it aside and replace it"
        )
    if outbox.is_dir() and any(outbox.iterdir()):
        raise BackupError(f"{outbox} is not empty; add --force to keep it aside and replace it")


def _checked_copy(source: Path, folder: Path, entry: dict[str, Any]) -> Path:
    """The backup's database copied into `folder` under a temporary name, checked again
    (checksum, then PRAGMA integrity_check) where it will be used."""
    private_dir(folder)
    fd, name = tempfile.mkstemp(prefix=".restore-", suffix=".sqlite3", dir=folder)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
            out.flush()
            os.fsync(out.fileno())
        if not _matches(temp, entry):
            raise BackupError(f"{source}: checksum differs from the manifest after copying")
        checked = integrity(temp)
        if checked != "ok":
            raise BackupError(f"{source}: integrity_check: {checked}")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _set_aside(live: Path, broker: Path) -> list[Written]:
    """Rename the database a forced restore replaces, with a timestamp; the broker's
    waiting tasks name rows of the old database, so it goes aside as well."""
    suffix = f".before-restore-{stamp()}"
    moved = []
    for path in (live, broker):
        if path.is_file():
            _checkpoint(path)
            aside = path.with_name(path.name + suffix)
            for side in ("", *SQLITE_SIDE_FILES):
                if path.with_name(path.name + side).exists():
                    os.replace(path.with_name(path.name + side), Path(f"{aside}{side}"))
            moved.append(Written("kept aside", aside, aside.stat().st_size, f"was {path.name}"))
    return moved


def _outbox_aside(outbox: Path) -> list[Written]:
    if not outbox.is_dir() or not any(outbox.iterdir()):
        return []
    aside = outbox.with_name(f"{outbox.name}.before-restore-{stamp()}")
    os.replace(outbox, aside)
    return [Written("kept aside", aside, _tree_size(aside), f"was {outbox.name}")]


def _checkpoint(path: Path) -> None:
    """Fold the -wal into the file, so the renamed file is whole by itself."""
    connection = sqlite3.connect(path, timeout=SQLITE_TIMEOUT)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _restore_outbox(source: Path, outbox: Path, manifest: dict[str, Any]) -> Written:
    """The outbox's files, copied beside the outbox and checked, then moved in whole."""
    private_dir(outbox.parent)
    temp = Path(tempfile.mkdtemp(prefix=".restore-outbox-", dir=outbox.parent))
    try:
        count = 0
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            copy = temp / path.relative_to(source)
            private_file(copy)
            shutil.copyfile(path, copy)
            name = f"{OUTBOX}/{path.relative_to(source).as_posix()}"
            if not _matches(copy, manifest["files"][name]):
                raise BackupError(f"{path}: checksum differs from the manifest after copying")
            count += 1
        if outbox.is_dir():
            outbox.rmdir()  # empty: refused otherwise, or set aside
        os.replace(temp, outbox)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return Written("outbox", outbox, _tree_size(outbox), f"{count} file(s)")


def _tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _restore_pg(settings: Settings, src: Path, force: bool) -> list[Written]:
    from consultant.db.migrate import current  # Alembic on use, as the CLI does

    url = settings.database_url
    clean = ["--clean", "--if-exists"] if force else []
    argv = ["--no-owner", "--exit-on-error", "--single-transaction", *clean]
    tool = pg_tool("pg_restore", [*argv, str(src / PG_DUMP), "--dbname"], url)
    written = []
    if current(settings) is not None:
        if not force:
            raise BackupError(
                "the database already holds consultant's tables; restore into an empty "
                "database, or add --force to back it up first and replace it"
            )
        aside = private_dir(settings.var_dir / "backups") / f"before-restore-{stamp()}"
        kept = take_backup(settings, aside, database_only=True)[0]
        written.append(Written("kept aside", kept.path, kept.size, "the database before"))
    dump = src / PG_DUMP
    run_pg_tool(tool, [*argv, str(dump), "--dbname"], url)
    note = f"restored from {dump}, revision {current(settings) or '(none)'}"
    return [*written, Written("database", Path(redact_url(url)), dump.stat().st_size, note)]
