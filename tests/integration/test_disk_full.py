"""A full disk, as SQLite's page cap makes one: the SMTP intake answers 452 4.3.1
and logs one line, the worker leaves the mail stored; both resume once space returns."""

from __future__ import annotations

import errno
import smtplib
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.diskspace import OncePerInterval, free_mb, is_storage_full
from consultant.pipeline.intake.smtp import make_controller
from consultant.pipeline.intake.store import store_raw
from consultant.settings import Settings
from tests.conftest import set_env
from tests.disk_support import capped, padded_mail
from tests.integration.conftest import wait_for
from tests.ports import free_port

pytestmark = pytest.mark.integration
FULL = "452 4.3.1 Mail system full, please try again later"


@pytest.fixture
def intake(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, migrated: Settings
) -> Iterator[tuple[Settings, list[int]]]:
    settings = set_env(monkeypatch, env, smtp_port=str(free_port()))
    enqueued: list[int] = []
    controller = make_controller(settings, enqueued.append)
    controller.start()
    yield settings, enqueued
    controller.stop()


def _send(settings: Settings, raw: bytes) -> tuple[int, str]:
    """The answer to DATA (sendmail raises on anything but 250)."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        try:
            smtp.sendmail("dana@example.org", ["consult@localhost"], raw)
        except smtplib.SMTPDataError as refused:
            error = refused.smtp_error
            return refused.smtp_code, error.decode() if isinstance(error, bytes) else error
    return 250, ""


def _stored(settings: Settings) -> list[InboundMessage]:
    with session_scope(settings) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_a_full_database_answers_452_with_one_log_line_and_then_takes_mail_again(
    intake: tuple[Settings, list[int]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, enqueued = intake
    var = str(settings.var_dir.resolve())
    with capped(settings):
        answers = [_send(settings, padded_mail(n)) for n in range(4)]
    assert answers == [(452, FULL.removeprefix("452 "))] * 4
    assert _stored(settings) == [] and enqueued == []
    full = [r for r in caplog.records if "storage full" in r.getMessage()]
    assert [r.getMessage() for r in full] == [
        f"storage full under {var}: answering 452 until space returns"
    ]
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text
    assert "27400" not in caplog.text  # nothing of the mail's content
    # Space is back: the mails refused are sent again, and all of them are taken.
    assert [_send(settings, padded_mail(n))[0] for n in range(4)] == [250] * 4
    rows = _stored(settings)
    assert len(rows) == 4 and {row.state for row in rows} == {InboundState.STORED}
    assert wait_for(lambda: len(enqueued) == 4 and enqueued, "the enqueues")
    assert f"storage under {var} takes writes again" in caplog.text


def test_other_store_failures_still_answer_451_with_the_traceback(
    intake: tuple[Settings, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, _ = intake

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("not a disk problem")

    monkeypatch.setattr("consultant.pipeline.intake.smtp.store_many", broken)
    assert _send(settings, padded_mail(1))[0] == 451
    assert any(r.exc_info for r in caplog.records) and "storage full" not in caplog.text


def test_the_worker_leaves_mail_stored_while_full_and_processes_it_after(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from workers.sweep import sweep
    from workers.tasks import process_message_task

    settings = set_env(monkeypatch, env, sweep_grace="0")
    with session_scope(settings) as session:
        inbound_ids = [
            store_raw(session, padded_mail(n), source="smtp").inbound_id for n in range(3)
        ]
    with capped(settings):
        assert [process_message_task.run(i) for i in inbound_ids] == [None] * 3
    rows = _stored(settings)
    assert {row.state for row in rows} == {InboundState.STORED}
    assert {row.error for row in rows} == {None}  # not failed, not quarantined
    assert sum("storage full under" in r.getMessage() for r in caplog.records) == 1
    assert not any(r.exc_info for r in caplog.records)
    # Space is back: the sweep hands the stored mail over again, and it is processed.
    handed: list[int] = []
    sweep(settings, handed.append, lambda _: None)
    assert handed == inbound_ids
    for inbound_id in handed:
        process_message_task.run(inbound_id)
    rows = _stored(settings)
    assert InboundState.STORED not in {row.state for row in rows}
    assert all(row.case_id is not None for row in rows)


def test_storage_full_errors_are_told_apart_from_the_rest(migrated: Settings) -> None:
    for number in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        assert is_storage_full(OSError(number, "x"))
    assert not is_storage_full(OSError(errno.EACCES, "x"))
    assert not is_storage_full(RuntimeError("database is gone"))
    with (
        capped(migrated),
        pytest.raises(OperationalError) as full,
        session_scope(migrated) as session,
    ):
        store_raw(session, padded_mail(1), source="smtp")
    assert is_storage_full(full.value)
    assert is_storage_full(sqlite3.OperationalError("attempt to write a readonly database"))
    disk_full = psycopg.errors.DiskFull('could not extend file "base/16384/2619"')
    assert is_storage_full(OperationalError("INSERT", {}, disk_full))
    assert not is_storage_full(OperationalError("INSERT", {}, psycopg.errors.AdminShutdown()))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise RuntimeError("while writing") from error
    except RuntimeError as wrapped:
        assert is_storage_full(wrapped)


def test_free_space_is_measured_from_the_nearest_folder_that_exists(migrated: Settings) -> None:
    var = migrated.var_dir.resolve()
    assert free_mb(var / "not" / "yet") == free_mb(var) > 0


def test_the_storage_full_line_goes_out_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    limiter = OncePerInterval(logging.getLogger("test"), interval=3600)
    assert limiter.storage_full("/var", "waiting") is True
    assert limiter.storage_full("/var", "waiting") is False
    limiter.storage_works("/var")
    limiter.storage_works("/var")  # only the first after a full spell says so
    assert limiter.storage_full("/var", "waiting") is True
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "storage full under /var: waiting until space returns",
        "storage under /var takes writes again",
        "storage full under /var: waiting until space returns",
    ]
