"""The System admin page and /metrics: the children of `consultant up` with their
restarts and last exit status, read from the state file the supervisor writes,
and the free space under var/."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from consultant.db.session import session_scope
from consultant.metrics import render_metrics
from consultant.settings import Settings
from consultant.supervise import Supervisor
from tests.conftest import set_env
from tests.unit.web.conftest import ADMIN, REVIEWER

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]
FAILING = [sys.executable, "-c", "import sys; sys.exit(7)"]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """More free space asked for than any disk has: the page must say it is short."""
    return set_env(monkeypatch, env, min_free_mb=str(10**9))


def test_the_admin_sees_each_child_and_its_restarts(
    console_db: Settings, client_for: Client
) -> None:
    now = [0.0]
    supervisor = Supervisor(
        {"worker": FAILING, "web": SLEEPER}, 5, 600, console_db.var_dir, lambda: now[0]
    )
    supervisor.start()
    try:
        process = supervisor.children["worker"].process
        assert process is not None
        process.wait(30)
        supervisor.check()  # noted dead, waits 1 s
        admin, _ = client_for(ADMIN)
        text = " ".join(admin.get("/admin/system").text.split())
        assert '<td><strong>worker</strong></td> <td><span class="error-text">not running' in text
        assert "<td>status 7</td>" in text
        assert "<td><strong>web</strong></td> <td>running (pid" in text
        assert "MB free under" in text
        now[0] += 1
        supervisor.check()
        text = " ".join(admin.get("/admin/system").text.split())
        assert "<td><strong>worker</strong></td> <td>running (pid" in text
        assert "<td>1</td> <td>status 7</td>" in text
        assert scraped(console_db) == {
            ("consultant_child_restarts", "worker"): 1.0,
            ("consultant_child_restarts", "web"): 0.0,
            ("consultant_child_up", "worker"): 1.0,
            ("consultant_child_up", "web"): 1.0,
        }
    finally:
        supervisor.stop_all()

    reviewer, _ = client_for(REVIEWER)
    assert reviewer.get("/admin/system", follow_redirects=False).status_code == 403


def scraped(settings: Settings) -> dict[tuple[str, str], float]:
    with session_scope(settings) as session:
        text = render_metrics(session, settings).decode()
    return {
        (sample.name, sample.labels["child"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("consultant_child_")
    }


def test_low_disk_space_is_shown(console_db: Settings, client_for: Client) -> None:
    admin, _ = client_for(ADMIN)
    page = admin.get("/admin/system")
    assert "below the 1,000,000,000 MB this desk needs" in page.text
    assert "No <code>consultant up</code> has run on this folder" in page.text
