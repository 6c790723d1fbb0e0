"""Pooled connections after a PostgreSQL restart: one idle longer than
PING_AFTER_IDLE is tested at checkout and replaced, so a quiet process (the
console, an idle worker) never sees the restart; one used a moment ago is
not tested (no round trip per mail), fails once, and the pool is renewed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from consultant.db import session as session_module
from consultant.db.session import dispose_engines, get_engine
from consultant.settings import Settings
from tests.integration.servers import PrivatePostgres, private_postgres

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def server() -> Iterator[tuple[PrivatePostgres, Settings]]:
    with private_postgres() as pg:
        yield pg, Settings(database_url=pg.url("postgres"))
        dispose_engines()


def backend_pid(settings: Settings) -> int:
    with get_engine(settings).connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_an_idle_connection_is_tested_and_replaced_after_a_restart(
    server: tuple[PrivatePostgres, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg, settings = server
    before = backend_pid(settings)
    pg.stop("immediate")
    pg.start()
    monkeypatch.setattr(session_module, "PING_AFTER_IDLE", 0.0)  # it has been idle long enough
    assert backend_pid(settings) != before  # no error: the dead one was replaced


def test_a_connection_used_a_moment_ago_fails_once_then_the_pool_is_renewed(
    server: tuple[PrivatePostgres, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg, settings = server
    monkeypatch.setattr(session_module, "PING_AFTER_IDLE", 3600.0)  # however slow the restart
    backend_pid(settings)
    pg.stop("immediate")
    pg.start()
    with pytest.raises(OperationalError):
        backend_pid(settings)
    assert backend_pid(settings) > 0
