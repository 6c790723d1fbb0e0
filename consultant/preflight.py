"""`consultant up --check`: would `up` start here? Checked without starting or
writing anything.

Input: the settings (already validated when they loaded). Output: one `Finding`
per thing `up` needs: the var/ folder (writable, private), the free space under
it, the instance lock (is a desk already running?), the SMTP and console ports,
the database (reachable; its schema revision against the newest) and the
broker, the files the settings name, and this Python's header encoding. A
finding is "ok", "note" (up will fix or do it: a folder to create, migrations
to run) or "fail" (up would stop on it), with the fix in its detail.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from consultant.diskspace import FIRST_START_MB, free_mb, nearest_existing, sqlite_file
from consultant.instance import lock_holder
from consultant.logs import redact_url
from consultant.settings import Settings

Level = Literal["ok", "note", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    what: str
    detail: str


def preflight(settings: Settings) -> list[Finding]:
    """Every check, each on its own: one that raises is a "fail" naming the error."""
    checks: list[Callable[[Settings], Iterator[Finding]]] = [
        _folder,
        _space,
        _running_and_ports,
        _database,
        _broker,
        _named_files,
        _mail_encoding,
    ]
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check(settings))
        except Exception as error:  # the world's fault: report it and go on
            name = check.__name__.strip("_").replace("_", " ")
            findings.append(Finding("fail", name, f"{type(error).__name__}: {_first_line(error)}"))
    return findings


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:300]


def _folder(settings: Settings) -> Iterator[Finding]:
    var = settings.var_dir.absolute()
    if not var.exists():
        parent = nearest_existing(var)
        if not os.access(parent, os.W_OK | os.X_OK):
            yield Finding("fail", "folder", f"{var} does not exist and {parent} is not writable")
        else:
            yield Finding("note", "folder", f"{var} does not exist yet; up creates it (mode 0700)")
        return
    if not os.access(var, os.W_OK | os.X_OK):
        yield Finding("fail", "folder", f"{var} is not writable by this user (uid {os.getuid()})")
        return
    mode = stat.S_IMODE(var.stat().st_mode)
    if mode & 0o077:
        yield Finding("note", "folder", f"{var} is mode {mode:04o}; up makes it 0700 (mail data)")
    else:
        yield Finding("ok", "folder", f"{var} (mode {mode:04o})")


def _space(settings: Settings) -> Iterator[Finding]:
    var = settings.var_dir.absolute()
    free = free_mb(var)
    database = sqlite_file(settings)
    first = database is not None and not database.exists()
    need = max(settings.min_free_mb, FIRST_START_MB if first else 0)
    why = "CONSULTANT_MIN_FREE_MB" if need == settings.min_free_mb else "a first start"
    level: Level = "ok" if free >= need else "fail"
    yield Finding(level, "disk space", f"{free:,} MB free under {var}; {why} needs {need:,} MB")


def _running_and_ports(settings: Settings) -> Iterator[Finding]:
    pid = lock_holder(settings.var_dir)
    if pid is not None:
        yield Finding("fail", "instance", f"a desk is running on {settings.var_dir} (pid {pid})")
        return  # its ports are in use, by it
    yield Finding("ok", "instance", f"no desk is running on {settings.var_dir}")
    for host, port, variable in (
        (settings.smtp_host, settings.smtp_port, "CONSULTANT_SMTP_PORT"),
        (settings.web_host, settings.web_port, "CONSULTANT_WEB_PORT"),
    ):
        problem = bind_problem(host, port)
        if problem:
            yield Finding("fail", "port", f"cannot listen on {host}:{port}: {problem} ({variable})")
        else:
            yield Finding("ok", "port", f"{host}:{port} is free ({variable})")


def bind_problem(host: str, port: int) -> str | None:
    """Why this process could not listen on host:port (its strerror), or None."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def _database(settings: Settings) -> Iterator[Finding]:
    head = _head_revision()
    database = sqlite_file(settings)
    where = redact_url(settings.database_url)
    if database is not None and not database.exists():
        yield Finding("note", "database", f"{database} does not exist yet; up creates it")
        return
    revision = _sqlite_revision(database) if database is not None else _server_revision(settings)
    if revision == head:
        yield Finding("ok", "database", f"{where} at revision {revision} (the newest)")
    elif revision is None:
        yield Finding("note", "database", f"{where} is empty; up creates the schema")
    else:
        backup = "backs up the database, then " if database is not None else ""
        yield Finding(
            "note", "database", f"{where} at revision {revision}; up {backup}migrates to {head}"
        )


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # Alembic on use

    from consultant.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _sqlite_revision(database: Path) -> str | None:
    """The revision, read without writing: a read-only connection creates nothing."""
    from consultant.backup import schema_revision

    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return schema_revision(connection)
    finally:
        connection.close()


def _server_revision(settings: Settings) -> str | None:
    from consultant.db.migrate import current

    return current(settings)


def _broker(settings: Settings) -> Iterator[Finding]:
    if settings.broker_url.startswith(("sqla+sqlite", "sqlalchemy+sqlite")):
        yield Finding("ok", "broker", "SQLite broker under var/ (embedded)")
        return
    from consultant.health import check_broker

    yield Finding("ok", "broker", f"{redact_url(settings.broker_url)} {check_broker(settings)}")


def _named_files(settings: Settings) -> Iterator[Finding]:
    named = {
        "CONSULTANT_LOGGING_CONFIG": settings.logging_config,
        "CONSULTANT_TEMPLATES_DIR": settings.templates_dir,
        "CONSULTANT_PLANS_FILE": settings.plans_file,
        "CONSULTANT_MAILBOXES_FILE": settings.mailboxes_file,
        "CONSULTANT_RELAY_CA_FILE": settings.relay_ca_file,
        "CONSULTANT_DKIM_KEY_FILE": settings.dkim_key_file,
        "CONSULTANT_CODE_CATALOGUE": settings.code_catalogue,
    }
    for variable, path in named.items():
        if path is not None and not os.access(path, os.R_OK):
            yield Finding("fail", "file", f"{variable} names {path}, which cannot be read")
        elif path is not None:
            yield Finding("ok", "file", f"{variable}: {path}")
    for mailbox in settings.mailboxes:
        for secret in (mailbox.password_file, mailbox.token_file):
            if secret is not None and not os.access(secret, os.R_OK):
                yield Finding("fail", "mailbox", f"{mailbox.name}: {secret} cannot be read")
        yield Finding("ok", "mailbox", f"{mailbox.name}: {mailbox.host}:{mailbox.imap_port}")


def _mail_encoding(settings: Settings) -> Iterator[Finding]:
    from consultant.mailer.guard import UnsafeMailEncoding, check_mail_encoding

    try:
        check_mail_encoding()
    except UnsafeMailEncoding as error:
        yield Finding("fail", "mail encoding", str(error))
        return
    yield Finding("ok", "mail encoding", "this Python's header encoding passed its self-test")
