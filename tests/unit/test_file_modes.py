"""Mail data on disk is private to the service user whatever the umask: var/ and
the outbox 0700, the SQLite database (with its WAL), the broker file and every
outbox .eml 0600; looser modes left from before are tightened at start."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from consultant.db.session import get_engine
from consultant.mailer.relay import write_outbox_file
from consultant.settings import Settings
from workers.app import celery_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _use_database(settings: Settings) -> Path:
    with get_engine(settings).begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS probe (x TEXT)"))
        connection.execute(text("INSERT INTO probe VALUES ('mail')"))
    return settings.var_dir / "consultant.sqlite3"


def _use_broker(settings: Settings) -> Path:
    """Configure Celery, then open the broker file as kombu's SQL transport does."""
    celery_config(settings)
    engine = create_engine(settings.broker_url.removeprefix("sqla+"))
    with engine.begin() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))
        connection.execute(text("CREATE TABLE IF NOT EXISTS kombu_probe (x TEXT)"))
    engine.dispose()
    return settings.var_dir / "broker.sqlite3"


def test_var_database_broker_and_outbox_files_are_private_whatever_the_umask(
    settings: Settings, umask: int
) -> None:
    database = _use_database(settings)
    broker = _use_broker(settings)
    eml = write_outbox_file(settings.outbox_path(), "000001-answer", b"Subject: x\r\n\r\nbody\r\n")

    assert _mode(settings.var_dir) == 0o700
    assert _mode(settings.outbox_path()) == 0o700
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), broker, eml]
    assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_loose_modes_left_from_before_are_tightened_at_start_with_one_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    var = settings.var_dir
    (var / "outbox").mkdir(parents=True)
    database = var / "consultant.sqlite3"
    old = [database, Path(f"{database}-wal"), var / "outbox" / "000001-answer.eml"]
    for path in old:
        path.touch()
        os.chmod(path, 0o644)
    for folder in (var / "outbox", var):
        os.chmod(folder, 0o755)
    caplog.set_level(logging.WARNING, logger="consultant.filemodes")

    _use_database(settings)

    assert _mode(var) == 0o700 and _mode(var / "outbox") == 0o700
    assert {path.name: _mode(path) for path in old} == {path.name: 0o600 for path in old}
    [line] = [r.getMessage() for r in caplog.records]
    assert (
        line
        == f"{var} was mode 0755; tightened to 0700, and 3 file(s) under it to 0600 (mail data)"
    )
