"""`consultant backup` while a real embedded desk takes mail in, and `consultant restore`.

`consultant up` runs; a thread sends 500 questions over SMTP; in the middle
of the flow (the sender waits at mail 300 until the backup is done, so mail is
still arriving and the worker drafting while it runs) `consultant backup`
copies the desk. The copy is restored into a fresh var/ with `consultant
restore`: PRAGMA integrity_check is ok, and every mail stored before the
backup started is in it. A restore into the running desk's var/ is refused.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.intake.store import store_raw
from tests.conftest import mail_bytes, need
from tests.integration.conftest import (
    PG_ADMIN,
    Child,
    run_cli,
    scratch_pg,
    wait_for,
    wait_for_port,
)
from tests.ports import free_port

pytestmark = pytest.mark.integration

MAILS = 500
PAUSE_AT = 300


def _stored_ids(database: Path) -> set[int]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=60)
    try:
        return {row[0] for row in connection.execute("SELECT id FROM inbound_messages")}
    finally:
        connection.close()


class Sender(threading.Thread):
    """Sends MAILS questions, each with its own Message-ID; waits at PAUSE_AT for `go_on`."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.sent = port, 0
        self.error: Exception | None = None
        self.go_on = threading.Event()

    def run(self) -> None:
        raw = mail_bytes("simple_question.eml")
        try:
            while self.sent < MAILS:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as smtp:
                    for _ in range(50):
                        if self.sent == PAUSE_AT:
                            self.go_on.wait(300)
                        mail = raw.replace(b"q1-", f"q1-{self.sent}-".encode())
                        smtp.sendmail("dana.biller@example-clinic.org", ["consult@localhost"], mail)
                        self.sent += 1
        except Exception as error:  # reported by the test, not lost in the thread
            self.error = error


def test_a_backup_taken_while_mail_flows_in_restores_every_mail_stored_before_it(
    env: dict[str, str], spawn: Callable[..., Child], tmp_path: Path
) -> None:
    port = free_port()
    env["CONSULTANT_SMTP_PORT"] = str(port)
    up = spawn("up", "--concurrency", "1")
    wait_for_port(port, up, deadline=180)
    wait_for(lambda: "Ctrl-C" in up.output(), "the welcome text of `consultant up`", 120)
    database = Path(env["CONSULTANT_VAR_DIR"]).resolve() / "consultant.sqlite3"

    sender = Sender(port)
    sender.start()
    wait_for(lambda: len(_stored_ids(database)) >= 100, "100 mails stored", 120)
    before = _stored_ids(database)  # stored before the snapshot started
    dest = tmp_path / "backup"
    backup = run_cli(env, "backup", str(dest))
    sent_during = sender.sent
    sender.go_on.set()
    sender.join(300)
    assert sender.error is None and sender.sent == MAILS
    assert len(before) < MAILS and sent_during < MAILS, "the backup ran after the flow"
    assert "database" in backup.stdout and "in all" in backup.stdout.splitlines()[-1]

    refused = run_cli(env, "restore", str(dest), "--force", check=False)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert f"consultant is running on {env['CONSULTANT_VAR_DIR']}" in line
    assert not list(database.parent.glob("*.before-restore-*"))

    fresh = {**env, "CONSULTANT_VAR_DIR": str(tmp_path / "fresh" / "var")}
    restored = run_cli(fresh, "restore", str(dest))
    assert "restored" in restored.stdout.splitlines()[-1]
    copy = Path(fresh["CONSULTANT_VAR_DIR"]) / "consultant.sqlite3"
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    in_copy = _stored_ids(copy)
    assert before <= in_copy, f"{len(before - in_copy)} stored mail(s) missing from the backup"
    wait_for(lambda: len(_stored_ids(database)) == MAILS, "all mails stored", 120)
    assert in_copy <= _stored_ids(database)
    assert run_cli(fresh, "db", "current").stdout.strip() != "(empty database)"
    assert up.stop(signal.SIGINT) == 0


# --- PostgreSQL: pg_dump and pg_restore -------------------------------------------


@contextmanager
def _empty_pg(name: str) -> Iterator[str]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_mail(url: str) -> list[tuple[int, str]]:
    plain = url.replace("+psycopg", "")
    with psycopg.connect(plain) as conn:
        rows = conn.execute("SELECT id, sha256 FROM inbound_messages ORDER BY id").fetchall()
    return [(int(row[0]), str(row[1])) for row in rows]


def test_on_postgresql_backup_runs_pg_dump_and_restore_pg_restore(
    env: dict[str, str], tmp_path: Path
) -> None:
    need(shutil.which("pg_dump") is not None, "pg_dump is not installed (postgresql-client)")
    with scratch_pg("consultant_backup_src") as settings:
        with session_scope(settings) as session:
            for n in range(3):
                raw = mail_bytes("simple_question.eml").replace(b"q1-", f"q1-{n}-".encode())
                store_raw(session, raw, source="smtp")
        source = {**env, "CONSULTANT_DATABASE_URL": settings.database_url}
        dest = tmp_path / "backup"
        taken = run_cli(source, "backup", str(dest))
        assert "pg_dump custom format" in taken.stdout
        assert (dest / "database.pgdump").read_bytes().startswith(b"PGDMP")
        stored = _pg_mail(settings.database_url)

        refused = run_cli(source, "restore", str(dest), check=False)
        assert refused.returncode == 1 and "already holds consultant's tables" in refused.stderr

        with _empty_pg(f"consultant_backup_dst_{os.getpid()}") as url:
            target = {
                **env,
                "CONSULTANT_DATABASE_URL": url,
                "CONSULTANT_VAR_DIR": str(tmp_path / "t"),
            }
            restored = run_cli(target, "restore", str(dest))
            assert "restored from" in restored.stdout
            assert _pg_mail(url) == stored and len(stored) == 3
            again = run_cli(target, "restore", str(dest), "--force")
            assert "kept aside" in again.stdout
            assert list((tmp_path / "t" / "backups").glob("before-restore-*/database.pgdump"))
            assert _pg_mail(url) == stored


def test_on_postgresql_without_pg_dump_backup_says_what_to_do(
    env: dict[str, str], tmp_path: Path
) -> None:
    url = "postgresql+psycopg://desk:pg-pa55@127.0.0.1:5432/consultant"
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    result = run_cli(
        {**env, "CONSULTANT_DATABASE_URL": url, "PATH": str(no_tools)},
        "backup",
        str(tmp_path / "backup"),
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "pg_dump is not installed: run `apt-get install postgresql-client`" in line
    assert (
        "pg_dump --format=custom" in line and "postgresql://desk@127.0.0.1:5432/consultant" in line
    )
    assert "pg-pa55" not in result.stderr + result.stdout
