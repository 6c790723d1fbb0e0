"""/readyz on the embedded profile: the heartbeat file under var/, the SQL broker, the backlog,
the free space under var/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from consultant.db.base import utcnow
from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.heartbeat import last_beat, record_beat
from consultant.pipeline.intake.store import store_raw
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import mail_bytes, set_env


@pytest.fixture
def client(migrated: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as client:
        yield client


def readyz(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    checks: dict[str, Any] = response.json()["checks"]
    assert set(checks) == {"database", "broker", "beat", "backlog", "disk"}
    return response.status_code, checks


def test_ready_when_the_sweep_ticked_and_nothing_waits(
    client: TestClient, migrated: Settings
) -> None:
    record_beat(migrated)
    status, checks = readyz(client)
    assert status == 200, checks
    assert all(check["ok"] for check in checks.values())


def test_not_ready_before_the_first_sweep_and_healthz_still_answers(client: TestClient) -> None:
    status, checks = readyz(client)
    assert status == 503
    assert not checks["beat"]["ok"] and "no sweep has run yet" in checks["beat"]["detail"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert client.get("/healthz").status_code == 200


def test_a_heartbeat_older_than_three_sweep_intervals_is_stale(
    client: TestClient, migrated: Settings
) -> None:
    record_beat(migrated, at=time.time() - 3.5 * migrated.sweep_interval)
    status, checks = readyz(client)
    assert status == 503 and "stale after" in checks["beat"]["detail"]
    record_beat(migrated, at=time.time() - 2 * migrated.sweep_interval)
    assert readyz(client)[0] == 200


def test_stored_mail_waiting_longer_than_the_limit_is_not_ready(
    client: TestClient, migrated: Settings
) -> None:
    record_beat(migrated)
    with session_scope(migrated) as session:
        inbound_id = store_raw(session, mail_bytes("simple_question.eml"), source="smtp").inbound_id
    assert readyz(client)[0] == 200  # just arrived: the workers have time
    waited = timedelta(seconds=migrated.ready_backlog_age + 60)
    with session_scope(migrated) as session:
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(received_at=utcnow() - waited)
        )
    status, checks = readyz(client)
    assert status == 503 and not checks["backlog"]["ok"]
    assert "CONSULTANT_READY_BACKLOG_AGE" in checks["backlog"]["detail"]


def test_each_sweep_tick_records_the_heartbeat(migrated: Settings) -> None:
    from workers.tasks import sweep_task

    assert last_beat(migrated) is None
    before = time.time()
    sweep_task.run()
    beat = last_beat(migrated)
    assert beat is not None and beat >= before


def test_less_free_space_under_var_than_the_setting_is_not_ready(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record_beat(migrated)
    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as client:
        status, checks = readyz(client)
    assert status == 200 and checks["disk"]["ok"]
    var = str(migrated.var_dir.resolve())
    assert checks["disk"]["detail"].endswith(f"MB free under {var}")
    starved = set_env(monkeypatch, env, min_free_mb=str(10**9))
    with TestClient(create_app(starved, enqueue_send=lambda _: None)) as client:
        status, checks = readyz(client)
    assert status == 503 and not checks["disk"]["ok"]
    detail = checks["disk"]["detail"]
    assert detail.startswith("only ") and f"MB free under {var}" in detail
    assert "(CONSULTANT_MIN_FREE_MB=1000000000)" in detail
    assert all(check["ok"] for name, check in checks.items() if name != "disk")
