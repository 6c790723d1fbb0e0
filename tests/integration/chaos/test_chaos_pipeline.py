"""Faults in the processing path: a worker killed, the broker restarted empty,
the database restarted, each in the middle of a 500-mail batch sent through
the real SMTP intake to real Celery workers on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant.db.migrate import upgrade
from consultant.db.models import Draft
from consultant.db.session import dispose_engines, session_scope
from consultant.settings import Settings
from tests.integration.chaos.conftest import (
    BATCH,
    CHAOS,
    Feeder,
    Mail,
    Tally,
    assert_alive,
    assert_whole,
    chaos_env,
    count_mail,
    lost_mail,
    record,
    settle,
    start_pipeline,
    with_clinic,
)
from tests.integration.conftest import (
    Child,
    free_port,
    wait_for,
    worker_ready,
)
from tests.integration.servers import PrivatePostgres, PrivateRedis, private_postgres

pytestmark = CHAOS


def drafts(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(Draft)) or 0)


def pool_processes(worker: Child) -> list[int]:
    """The pids of the worker's pool processes (its children)."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def running(pid: int) -> bool:
    """Whether the process is on a CPU now (a pool process between tasks sleeps)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "R"


def kill_pool_until_a_task_is_lost(worker: Child, tries: int = 5) -> int:
    """kill -9 the pool processes while one is running a task, until Celery reports
    WorkerLostError (a task died in flight). Tasks take milliseconds, so the kill
    waits for a running process, and is repeated should it still land between
    two tasks. Returns the kills made.
    """
    for kill in range(1, tries + 1):
        end = time.monotonic() + 5
        while not any(map(running, pool_processes(worker))) and time.monotonic() < end:
            time.sleep(0.001)
        for pid in pool_processes(worker):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 2
        while time.monotonic() < end:
            if "WorkerLostError" in worker.output():
                return kill
            time.sleep(0.05)
        wait_for(lambda: len(pool_processes(worker)) == 2, "the pool to be replaced")
    pytest.fail(f"no task was in flight in {tries} kills")


def tally(name: str, fault: str, settings: Settings, feeder: Feeder, notes: str = "") -> Tally:
    settle(settings, feeder.accepted)
    cases, drafted, duplicates, lost = count_mail(settings, feeder.accepted)
    deferred = sum(feeder.deferrals.values())
    notes = "; ".join(filter(None, [notes, f"{deferred} deferrals" if deferred else ""]))
    if lost:  # where each lost mail stopped, for the failure message
        notes += f"; lost: {lost_mail(settings, feeder.accepted)}"
    return record(
        Tally(name, fault, len(feeder.accepted), cases, drafted, 0, duplicates, lost, notes)
    )


@pytest.mark.parametrize("target", ["pool", "whole"])
def test_worker_killed_with_tasks_in_flight_loses_and_doubles_nothing(
    target: str,
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> None:
    settings = chaos_env(monkeypatch, env)
    with_clinic(settings)
    worker, _ = start_pipeline(spawn, settings)
    feeder = feeder_for(settings.smtp_port, mails)

    feeder.join()  # a backlog in the queue: the pool is never idle
    wait_for(lambda: drafts(settings) >= 50, "50 drafts", 180)
    at_kill = drafts(settings)
    if target == "pool":  # the pool processes die mid-task; the main process replaces them
        kills = kill_pool_until_a_task_is_lost(worker)
        in_flight = worker.output().count("Task handler raised error: WorkerLostError")
        fault = f"kill -9 of both pool processes at {at_kill} drafts ({in_flight} tasks in flight"
        fault += f", {kills} kills)" if kills > 1 else ")"
    else:  # the whole worker dies; its unacknowledged tasks wait for the sweep
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        replacement = spawn("worker", "--concurrency", "2", name="worker-2")
        wait_for(worker_ready(replacement), "the replacement worker", 120)
        fault = f"kill -9 of the worker (main and pool) at {at_kill} drafts, then a new one"

    result = tally(f"worker kill -9 ({target})", fault, settings, feeder)
    assert 50 <= at_kill < BATCH, "the kill landed mid-batch"
    assert_whole(result, BATCH)


def test_broker_restarted_empty_mid_batch_every_stored_mail_is_drafted(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    private_redis: PrivateRedis,
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> None:
    private_redis.start()
    settings = chaos_env(monkeypatch, env, broker_url=private_redis.url)
    with_clinic(settings)
    worker, intake = start_pipeline(spawn, settings)
    feeder = feeder_for(settings.smtp_port, mails, 150.0)  # still sending when it stops

    wait_for(lambda: feeder.progress() >= 150, "150 mails accepted", 120)
    private_redis.stop()  # no persistence: every queued task is gone
    at_stop = len(feeder.accepted)
    time.sleep(5)
    during = len(feeder.accepted) - at_stop
    private_redis.start()
    feeder.join()

    fault = f"Redis stopped at {at_stop} accepted for 5 s, restarted empty"
    result = tally("Redis restart", fault, settings, feeder, f"{during} accepted while down")
    assert not feeder.refused, feeder.refused
    assert during > 0, "the intake kept accepting while the broker was down"
    assert_alive(worker, intake)
    assert " ERROR celery.bootsteps " not in worker.output(), "each worker part restarted cleanly"
    assert_whole(result, BATCH)


@pytest.fixture
def own_postgres(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> Iterator[tuple[PrivatePostgres, Settings]]:
    with private_postgres() as server:
        url = server.create_database("consultant")
        settings = chaos_env(
            monkeypatch, env, database_url=url, broker_url=redis_url, smtp_port=str(free_port())
        )
        upgrade(settings)
        yield server, settings
        dispose_engines()


def test_database_restarted_mid_batch_intake_defers_and_nothing_is_lost(
    own_postgres: tuple[PrivatePostgres, Settings],
    spawn: Callable[..., Child],
    mails: list[Mail],
    feeder_for: Callable[..., Feeder],
) -> None:
    server, settings = own_postgres
    with_clinic(settings)
    worker, intake = start_pipeline(spawn, settings)
    # Paced (the intake alone takes 500 mails in about a second), so the crash
    # meets the intake and the workers both mid-batch.
    feeder = feeder_for(settings.smtp_port, mails, 150.0)

    wait_for(lambda: feeder.progress() >= 150, "150 accepted", 180)
    at_stop = len(feeder.accepted)
    server.stop("immediate")  # as after a crash: sessions cut, no checkpoint
    time.sleep(3)
    server.start()
    feeder.join()

    fault = f"PostgreSQL crashed (stop -m immediate) at {at_stop} accepted, up after 3 s"
    result = tally("PostgreSQL restart", fault, settings, feeder)
    assert not feeder.refused, feeder.refused
    assert at_stop < BATCH, "the restart landed mid-batch"
    assert sum(feeder.deferrals.values()) > 0, "the intake deferred mail while it could not store"
    assert_alive(worker, intake)
    assert_whole(result, BATCH)
