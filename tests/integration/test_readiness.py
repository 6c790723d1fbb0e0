"""/readyz on the production profile: real PostgreSQL and Redis, each taken away in turn;
and the CLI's one line for a database it cannot reach or that is not migrated.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consultant.heartbeat import last_beat, record_beat
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import set_env
from tests.integration.conftest import run_cli, scratch_pg
from tests.ports import free_port

pytestmark = pytest.mark.integration


def readyz(settings: Settings) -> tuple[int, dict[str, Any]]:
    with TestClient(create_app(settings, enqueue_send=lambda _: None)) as client:
        assert client.get("/healthz").status_code == 200  # alive, whatever readyz says
        response = client.get("/readyz")
    return response.status_code, response.json()["checks"]


def test_ready_with_postgresql_redis_and_a_fresh_heartbeat(production: Settings) -> None:
    record_beat(production)
    assert last_beat(production) is not None
    status, checks = readyz(production)
    assert status == 200, checks
    assert checks["broker"]["detail"] == "answered PING"


def test_database_down_is_not_ready_and_says_why(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record_beat(production)
    port = str(free_port())
    closed = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/consultant"
    status, checks = readyz(set_env(monkeypatch, env, database_url=closed))
    assert status == 503
    assert not checks["database"]["ok"] and "OperationalError" in checks["database"]["detail"]
    assert not checks["backlog"]["ok"]  # it needs the database too
    assert checks["broker"]["ok"] and checks["beat"]["ok"]
    # The public answer names no host, port, user or password; the log has the host and port.
    for secret in ("postgres", "hunter2", "127.0.0.1", port):
        assert secret not in str(checks)
    logged = [
        r.getMessage() for r in caplog.records if "the database check failed" in r.getMessage()
    ]
    assert len(logged) == 1 and port in logged[0] and "hunter2" not in caplog.text


def test_a_failure_is_logged_once_until_its_reason_changes(
    production: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = set_env(monkeypatch, env, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(closed, enqueue_send=lambda _: None)) as client:
        for _ in range(3):
            assert client.get("/readyz").status_code == 503
    assert sum("the broker check failed" in r.getMessage() for r in caplog.records) == 1


def test_broker_down_is_not_ready_and_says_why(
    production: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record_beat(production)
    closed = f"redis://127.0.0.1:{free_port()}/0"
    status, checks = readyz(set_env(monkeypatch, env, broker_url=closed))
    assert status == 503
    assert not checks["broker"]["ok"] and "ConnectionError" in checks["broker"]["detail"]
    assert not checks["beat"]["ok"]  # the heartbeat lives in Redis
    assert checks["database"]["ok"] and checks["backlog"]["ok"]


def test_a_stale_heartbeat_in_redis_is_not_ready(production: Settings) -> None:
    record_beat(production, at=time.time() - 4 * production.sweep_interval)
    status, checks = readyz(production)
    assert status == 503 and "stale after" in checks["beat"]["detail"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]


def test_the_cli_names_the_database_url_when_it_cannot_connect(env: dict[str, str]) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/consultant"
    result = run_cli({**env, "CONSULTANT_DATABASE_URL": closed}, "cases", "list", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "cannot reach the database" in line and "CONSULTANT_DATABASE_URL" in line
    debug = run_cli(
        {**env, "CONSULTANT_DATABASE_URL": closed}, "--debug", "cases", "list", check=False
    )
    assert "Traceback" in debug.stderr and "OperationalError" in debug.stderr


def test_the_cli_says_to_migrate_an_empty_postgresql_database(env: dict[str, str]) -> None:
    with scratch_pg("consultant_unmigrated") as settings:
        from sqlalchemy import text

        from consultant.db.session import get_engine

        with get_engine(settings).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        url = settings.database_url
        result = run_cli({**env, "CONSULTANT_DATABASE_URL": url}, "cases", "list", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: the database is not migrated: run `consultant db upgrade`"
    )
