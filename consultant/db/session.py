"""Engine and session factory, one engine per database URL and process.

SQLite (the embedded profile) is shared by the intake, the CLI and several
worker processes: it runs in WAL mode, waits for locks instead of failing, and
starts every transaction with BEGIN IMMEDIATE so a read-then-write transaction
never dies on a lock upgrade. It holds raw mail: the file (and var/) are made
private before SQLite opens it, and secure_delete zeroes what a purge frees.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from consultant.filemodes import private_dir, private_sqlite
from consultant.settings import Settings, get_settings

SQLITE_BUSY_TIMEOUT_MS = 60_000
PING_AFTER_IDLE = 2.0  # seconds a pooled connection may sit unused before it is tested


def _make_engine(url: str) -> Engine:
    # hide_parameters: statement parameters (raw mail among them) never reach a
    # log line or an exception message, whatever the log level.
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_size=5, max_overflow=5, hide_parameters=True)
        _ping_when_idle(engine)
        return engine
    private_sqlite(url)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Freed pages and cells are overwritten with zeros: purged mail leaves no
        # bytes behind in the file (retention.py checkpoints the WAL after).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection at checkout only if it sat idle for PING_AFTER_IDLE.

    pool_pre_ping would cost a round trip per checkout: one per mail in the
    intake and in every task. A connection returned moments ago is alive; a
    server restart under load surfaces as one OperationalError (the task
    retries, the intake answers 451), after which SQLAlchemy renews the pool.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # The pool replaces it and tries again.
            raise exc.DisconnectionError("stale pooled connection") from error


_engines: dict[tuple[str, int], Engine] = {}


def _engine_for(url: str, pid: int) -> Engine:
    # Keyed by pid: a forked Celery child must not reuse its parent's sockets.
    key = (url, pid)
    if key not in _engines:
        _engines[key] = _make_engine(url)
    return _engines[key]


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, shutdown)."""
    _factories.clear()
    while _engines:
        _engines.popitem()[1].dispose()


def get_engine(settings: Settings | None = None) -> Engine:
    """Return this process's engine for the configured database."""
    settings = settings or get_settings()
    if settings.embedded and (settings.database_url, os.getpid()) not in _engines:
        private_dir(settings.var_dir)
    return _engine_for(settings.database_url, os.getpid())


_factories: dict[Engine, sessionmaker[Session]] = {}


def session_factory(settings: Settings | None = None) -> sessionmaker[Session]:
    """This process's session factory for the configured database.

    One per engine: every sessionmaker builds a Session subclass of its own,
    whose event setup cost more than storing a mail (the intake and every
    task open a session each).
    """
    engine = get_engine(settings)
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """Open a session; commit on success, roll back on any error."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
