"""Backups: a consistent snapshot of the desk's data, taken while it runs.

Input: the settings and a new folder. Output, in that folder (0700, every
file 0600): the database (SQLite: ``consultant.sqlite3``, copied with SQLite's
online backup API, which gives one consistent state while the intake and the
workers go on writing; PostgreSQL: ``database.pgdump``, from ``pg_dump
--format=custom``), the outbox folder as it is, ``settings.json`` (the
settings in use, every secret left out) and ``manifest.json`` (versions, the
schema revision, and each file's size and sha256), which consultant.restore
checks before it puts anything back.

The SQLite broker (var/broker.sqlite3) is left out on purpose: it holds only
task messages, and the sweep enqueues every stored mail and queued answer
again after a restore. Nor are secrets kept: the first admin's one-time
password, the relay's and the mailboxes' passwords stay where they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from consultant.errors import Refused
from consultant.filemodes import PRIVATE_FILE, private_dir, private_file
from consultant.logs import redact_url
from consultant.settings import SECRET_FIELDS, Settings

log = logging.getLogger(__name__)

FORMAT = 1
DATABASE = "consultant.sqlite3"
PG_DUMP = "database.pgdump"
OUTBOX = "outbox"
SETTINGS = "settings.json"
MANIFEST = "manifest.json"
SECRET = "(secret, not backed up)"
BROKER_NOTE = "not included: the sweep enqueues stored mail and queued answers again"
SQLITE_TIMEOUT = 60.0
INSTALL_PG_CLIENT = "apt-get install postgresql-client"


class BackupError(Refused):
    """A backup that cannot be taken or restored, with the one-line reason."""


@dataclass(frozen=True)
class Written:
    """One thing a backup or restore wrote: what, where, how many bytes."""

    what: str
    path: Path
    size: int
    note: str = ""


def take_backup(settings: Settings, dest: Path, *, database_only: bool = False) -> list[Written]:
    """Write a backup of the desk into `dest`, a new (or empty) folder; return what was
    written, the manifest last. `database_only` leaves out the outbox and settings (the
    copy `consultant db upgrade` takes before migrating)."""
    _new_folder(dest)
    try:
        database, revision = _database(settings, dest)
        written = [database]
        if not database_only:
            outbox = _copy_outbox(settings.outbox_path(), dest / OUTBOX)
            if outbox is not None:
                written.append(outbox)
            written.append(_write_settings(settings, dest / SETTINGS))
        written.append(write_manifest(settings, dest, revision))
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # no half backup that looks like one
        raise
    return written


def sqlite_path(url: str) -> Path:
    """The database file a sqlite:/// URL names, absolute."""
    database = make_url(url).database
    if not database or database.startswith(":memory:"):
        raise BackupError("the database is in memory; there is no file to back up")
    path = Path(database)
    return path if path.is_absolute() else Path.cwd() / path


def snapshot_sqlite(source: Path, target: Path) -> str | None:
    """Copy the live database `source` into `target` (a new file, 0600) with the online
    backup API, as one self-contained file (no -wal); return its schema revision."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    private_file(target)
    src = sqlite3.connect(source, timeout=SQLITE_TIMEOUT)
    dst = sqlite3.connect(target)
    try:
        # One step (pages=-1): the whole copy is one read transaction, so it is one
        # consistent state; in WAL mode the writers do not wait for it.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        revision = schema_revision(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(target, PRIVATE_FILE)
    return revision


def integrity(path: Path) -> str:
    """PRAGMA integrity_check of the SQLite file at `path`: "ok", or what is wrong."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    return "; ".join(str(row[0]) for row in rows[:3])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(settings: Settings, dest: Path, revision: str | None) -> Written:
    """manifest.json: versions, the schema revision, and every file's size and sha256."""
    files = {
        path.relative_to(dest).as_posix(): {"size": path.stat().st_size, "sha256": sha256(path)}
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {
        "format": FORMAT,
        "consultant": version("consultant"),
        "schema_revision": revision,
        "database": "sqlite" if settings.embedded else "postgresql",
        "sqlite": sqlite3.sqlite_version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(settings.var_dir.resolve()),
        "broker": BROKER_NOTE,
        "files": files,
    }
    return _write_json(dest / MANIFEST, manifest, "manifest", f"{len(files)} file(s)")


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings in use as JSON-ready values, every secret replaced by SECRET and the
    database and broker URLs without their passwords."""
    values: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name in ("database_url", "broker_url"):
            values[name] = redact_url(value)
        elif name in SECRET_FIELDS:
            values[name] = SECRET if value else None
        else:
            values[name] = _public(value)
    return values


def fresh_folder(parent: Path, name: str) -> Path:
    """`parent/name`, or `parent/name-2`, … : the first that does not exist yet."""
    candidate, number = parent / name, 1
    while candidate.exists():
        number += 1
        candidate = parent / f"{name}-{number}"
    return candidate


def stamp() -> str:
    """Now, for a file name: 20260301T142501Z."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _new_folder(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder; name a new one")
    private_dir(dest)


def _database(settings: Settings, dest: Path) -> tuple[Written, str | None]:
    if not settings.embedded:
        return _pg_dump(settings, dest / PG_DUMP)
    target = dest / DATABASE
    revision = snapshot_sqlite(sqlite_path(settings.database_url), target)
    checked = integrity(target)
    if checked != "ok":
        raise BackupError(f"{target}: integrity_check: {checked}")
    note = f"revision {revision or '(none)'}, integrity_check ok"
    return Written("database", target, target.stat().st_size, note), revision


def schema_revision(connection: sqlite3.Connection) -> str | None:
    """The Alembic revision of an SQLite database, or None if it was never migrated."""
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return None
    return str(row[0]) if row else None


def _copy_outbox(source: Path, target: Path) -> Written | None:
    """The outbox's files as they are (an .eml is written once, then only listed)."""
    if not source.is_dir():
        return None
    count = size = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        copy = target / path.relative_to(source)
        private_file(copy)
        shutil.copyfile(path, copy)
        count, size = count + 1, size + copy.stat().st_size
    private_dir(target)
    return Written("outbox", target, size, f"{count} file(s)")


def _write_settings(settings: Settings, target: Path) -> Written:
    return _write_json(target, public_settings(settings), "settings", "secrets left out")


def _write_json(target: Path, data: Any, what: str, note: str) -> Written:
    private_file(target)
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Written(what, target, target.stat().st_size, note)


def _public(value: Any) -> Any:
    """A setting's value as JSON, any SecretStr (a mailbox's password) replaced."""
    if isinstance(value, SecretStr):
        return SECRET
    if isinstance(value, BaseModel):
        return {name: _public(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, list | tuple):
        return [_public(item) for item in value]
    if isinstance(value, Path | IPv4Network | IPv6Network):
        return str(value)
    return value


# --- PostgreSQL -------------------------------------------------------------------


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore take it (no driver, no password) and the
    environment that carries the password (PGPASSWORD): never on the command line,
    where `ps` shows it to every user."""
    parsed = make_url(url)
    password = parsed.password
    plain = parsed.set(drivername=parsed.get_backend_name())._replace(password=None)
    extra = {"PGPASSWORD": str(password)} if password is not None else {}
    return plain.render_as_string(hide_password=False), extra


def pg_tool(name: str, argv: list[str], url: str) -> str:
    """The path of `name` (pg_dump, pg_restore), or a BackupError saying what to
    install and the command to run by hand (its password left out)."""
    found = shutil.which(name)
    if found is None:
        target, extra = libpq_target(url)
        shown = " ".join(["PGPASSWORD=…"] * bool(extra) + [name, *argv, target])
        raise BackupError(
            f"{name} is not installed: run `{INSTALL_PG_CLIENT}` (the same major version "
            f"as the server, or newer), or run it yourself: {shown}"
        )
    return found


def run_pg_tool(tool: str, argv: list[str], url: str) -> None:
    """Run a PostgreSQL client tool against `url`; its error, first line, as a BackupError."""
    target, extra = libpq_target(url)
    result = subprocess.run(
        [tool, *argv, target],
        env={**os.environ, **extra},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        reason = lines[0] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{Path(tool).name} failed: {reason}")


def _pg_dump(settings: Settings, target: Path) -> tuple[Written, str | None]:
    from consultant.db.migrate import current  # Alembic on use, as the CLI does

    argv = ["--format=custom", "--no-password", "--file", str(target)]
    tool = pg_tool("pg_dump", argv, settings.database_url)
    revision = current(settings)
    private_file(target)  # pg_dump writes into it, keeping the mode
    run_pg_tool(tool, [*argv, "--dbname"], settings.database_url)
    os.chmod(target, PRIVATE_FILE)
    note = f"revision {revision or '(none)'}, pg_dump custom format"
    return Written("database", target, target.stat().st_size, note), revision
