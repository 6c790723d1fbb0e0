"""Real servers for integration tests: PostgreSQL, Redis, Celery workers as
child processes, the SMTP intake, and aiosmtpd peers on free ports.

Under CI=true a missing server fails the test; elsewhere it skips with why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from consultant.db.session import dispose_engines
from consultant.settings import Settings
from tests.conftest import need, set_env
from tests.ports import free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Parallel checkouts on one machine each set their own db (CONSULTANT_TEST_REDIS_DB).
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("CONSULTANT_TEST_REDIS_DB", "11"))
T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, deadline: float = 60.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what} after {deadline:.0f}s")
        time.sleep(0.1)


# --- PostgreSQL and Redis -----------------------------------------------------


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def scratch_pg(prefix: str) -> Iterator[Settings]:
    """Settings over a fresh PostgreSQL database `<prefix>_<pid>`, migrated, dropped after."""
    from consultant.db.migrate import upgrade

    need(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(database_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        upgrade(settings)
        yield settings
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    need(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"consultant_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from consultant.db.migrate import upgrade

    upgrade(Settings(database_url=url))
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(url: str) -> None:
    from sqlalchemy import text

    from consultant.db.session import get_engine

    tables = (
        "accounts, account_addresses, reviewers, cases, case_codes, drafts, "
        "inbound_messages, outbound_messages, audit_log, mailbox_checkpoints, "
        "web_sessions, login_failures"
    )
    with get_engine(Settings(database_url=url)).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis(REDIS_HOST, REDIS_PORT, db=REDIS_DB, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError:
        need(False, f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}")
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client.flushdb()


@pytest.fixture
def production(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, pg_database: str, redis_url: str
) -> Settings:
    """Production-profile settings: PostgreSQL (emptied per test) and Redis."""
    _truncate(pg_database)
    return set_env(
        monkeypatch,
        env,
        database_url=pg_database,
        broker_url=redis_url,
        smtp_port=str(free_port()),
        sweep_grace="0",
    )


@pytest.fixture
def private_redis() -> Iterator[Any]:
    """A redis-server of the test's own (not started yet), for tests that stop it."""
    from tests.integration.servers import PrivateRedis

    server = PrivateRedis(free_port())
    yield server
    server.stop()


# --- SMTP peers ---------------------------------------------------------------


@dataclass
class Sink:
    """An aiosmtpd server that keeps every envelope it accepts."""

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    answer: str = "250 2.0.0 OK"
    delay: float = 0.0  # seconds each DATA takes before the answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.answer


@pytest.fixture
def relay_sink() -> Iterator[Sink]:
    """The relay our answers go to in the production profile."""
    sink = Sink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    yield sink
    controller.stop()


# --- child processes ----------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                pytest.fail(f"{self.name} did not stop within {timeout:.0f}s:\n{self.output()}")
        return self.process.returncode


@pytest.fixture
def spawn(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[..., Child]]:
    """Start `consultant ARGS` as a child process with the test's environment."""
    children: list[Child] = []

    def start(*args: str, name: str | None = None, **extra_env: str) -> Child:
        name = name or args[0]
        log = tmp_path / f"{name}-{len(children)}.log"
        child_env = {**os.environ, **env, **extra_env, "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as out:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "consultant", *args],
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        children.append(Child(name, process, log))
        return children[-1]

    yield start
    for child in reversed(children):
        if child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def run_cli(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `consultant ARGS` to completion, as a reviewer at a terminal would."""
    result = subprocess.run(
        [sys.executable, "-m", "consultant", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"consultant {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def wait_for_port(port: int, child: Child | None = None, deadline: float = 60.0) -> None:
    def open_() -> bool:
        if child is not None and child.process.poll() is not None:
            pytest.fail(f"{child.name} exited early:\n{child.output()}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(open_, f"port {port}", deadline)


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    need(path is not None, "redis-server binary not installed")
    return str(path)


def worker_ready(child: Child) -> Callable[[], Any]:
    def ready() -> bool:
        if child.process.poll() is not None:
            pytest.fail(f"{child.name} exited early:\n{child.output()}")
        return " ready." in child.output()

    return ready


def start_worker_and_intake(
    spawn: Callable[..., Child], settings: Settings, concurrency: int = 2
) -> tuple[Child, Child]:
    """A `consultant worker` and a `consultant intake` child, both ready."""
    worker = spawn("worker", "--concurrency", str(concurrency))
    intake = spawn("intake")
    wait_for(worker_ready(worker), "the Celery worker to be ready", 120)
    wait_for_port(settings.smtp_port, intake)
    return worker, intake


def use_relay(env: dict[str, str], sink: Sink) -> None:
    """Point the children started after this at `sink` as their relay."""
    env.update(
        CONSULTANT_RELAY_HOST=sink.host,
        CONSULTANT_RELAY_PORT=str(sink.port),
        CONSULTANT_RELAY_SECURITY="none",
        CONSULTANT_FROM_ADDRESS="consult@example.org",
    )
