"""`consultant up` as a one-machine deployment: a child killed with -9 comes
back while the intake keeps taking mail, a child that keeps dying ends `up`
with status 1, and SIGTERM stops an idle or a busy desk within 10 s with no
ERROR line and nothing lost.

Every test runs the real `up` on the embedded profile (SQLite database and
broker under a temporary var/), fed by the chaos tests' SMTP feeder; the
IMAP poller polls a real Dovecot.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consultant.settings import Settings
from consultant.supervise import STATE_FILE
from tests.conftest import need, set_env
from tests.integration.chaos.conftest import (
    Feeder,
    consult_mails,
    count_mail,
    lost_mail,
    settle,
    with_clinic,
)
from tests.integration.conftest import Child, run_cli, wait_for, wait_for_port
from tests.integration.imapd import Dovecot, dovecot_binary, running_dovecot
from tests.integration.test_imap_intake import _imap_user, mail, use_mailbox
from tests.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
BATCH = 300


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")
    with running_dovecot(tmp_path / "dovecot") as server:
        yield server


def desk(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **values: str) -> Settings:
    """Embedded settings for `up` with a quick sweep, so a mail whose task died with
    its worker is taken up again within seconds."""
    defaults = {"smtp_port": str(free_port()), "sweep_interval": "2", "sweep_grace": "10"}
    return set_env(monkeypatch, env, log_level="INFO", **{**defaults, **values})


def start_up(spawn: Callable[..., Child], settings: Settings, name: str = "up") -> Child:
    up = spawn("up", "--concurrency", "2", name=name)
    wait_for(lambda: "Ctrl-C" in up.output() or up.process.poll() is not None, "`up`", 120)
    assert up.process.poll() is None, up.output()
    wait_for_port(settings.smtp_port, up)
    wait_for_port(settings.web_port, up)
    return up


def children(settings: Settings) -> dict[str, dict[str, Any]]:
    try:
        state = json.loads((settings.var_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {child["name"]: child for child in state["children"]}


def kill_and_wait_back(settings: Settings, name: str, up: Child) -> tuple[int, int]:
    """kill -9 the child `name` of `up`; wait until `up` has started it again.
    Returns (old pid, new pid)."""
    before = children(settings)[name]
    assert before["running"], before
    os.kill(before["pid"], signal.SIGKILL)

    def back() -> dict[str, Any] | None:
        assert up.process.poll() is None, up.output()[-3000:]
        now = children(settings)[name]
        return now if now["running"] and now["restarts"] == before["restarts"] + 1 else None

    after = wait_for(back, f"`up` to restart the {name}", 60)
    assert after["pid"] != before["pid"]
    assert after["last_exit"] == "status -9 (SIGKILL)"
    return before["pid"], after["pid"]


def assert_every_mail_drafted_once(settings: Settings, accepted: set[str]) -> None:
    settle(settings, accepted)
    cases, drafts, duplicates, lost = count_mail(settings, accepted)
    assert lost == 0, lost_mail(settings, accepted)
    assert duplicates == 0
    assert cases == drafts == len(accepted)


def test_each_child_killed_mid_batch_comes_back_and_every_mail_is_drafted_once(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
    dovecot: Dovecot,
) -> None:
    imap = _imap_user(dovecot)
    use_mailbox(monkeypatch, env, imap, poll_interval=2, idle=False)
    settings = desk(monkeypatch, env)
    up = start_up(spawn, settings)
    with_clinic(settings)
    wait_for(lambda: "poller" in children(settings), "the poller to start")
    # 50 mails a second: the batch lasts 6 s, so each kill lands while mail flows in.
    feeder = Feeder(settings.smtp_port, consult_mails(BATCH), rate=50).start()

    wait_for(lambda: feeder.progress() >= 50, "50 mails accepted", 120)
    at_kill = feeder.progress()
    kill_and_wait_back(settings, "worker", up)
    assert feeder.progress() > at_kill, "the intake stopped taking mail with the worker down"
    assert feeder.progress() < BATCH, "the worker came back after the batch had ended"

    wait_for(lambda: feeder.progress() >= 150, "150 mails accepted", 120)
    kill_and_wait_back(settings, "web", up)
    wait_for_port(settings.web_port, up)

    kill_and_wait_back(settings, "poller", up)
    imap.append([mail(n, sender="coder1@chaos-clinic.example.org") for n in range(5)])
    feeder.join()

    log = up.output()
    for name in ("worker", "web", "poller"):
        assert f"{name} exited with status -9 (SIGKILL); restarting in 1s" in log
    assert "Traceback" not in log.split("shutting down")[0]
    assert_every_mail_drafted_once(settings, feeder.accepted)
    wait_for(lambda: _imap_cases(settings) == 5, "the 5 IMAP mails to become cases", 120)
    assert up.stop(signal.SIGTERM, timeout=10) == 0


def _imap_cases(settings: Settings) -> int:
    with sqlite3.connect(settings.var_dir / "consultant.sqlite3") as db:
        row = db.execute(
            "SELECT count(*) FROM inbound_messages WHERE source = 'imap:consult'"
            " AND case_id IS NOT NULL"
        ).fetchone()
    return int(row[0])


def test_a_child_that_keeps_dying_ends_up_with_status_1(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, spawn: Callable[..., Child]
) -> None:
    settings = desk(monkeypatch, env, restart_limit="3", restart_window="600")
    up = start_up(spawn, settings)
    kill_and_wait_back(settings, "web", up)
    kill_and_wait_back(settings, "web", up)
    os.kill(children(settings)["web"]["pid"], signal.SIGKILL)

    assert up.process.wait(60) == 1
    log = up.output()
    assert "web exited 3 times within 600s (last: status -9 (SIGKILL)); giving up" in log
    assert "restarting in 2s" in log, "the second restart waited twice as long"
    assert not [c for c in children(settings).values() if c["running"]]


def test_sigterm_stops_an_idle_desk_within_10s_without_error_or_kill(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, spawn: Callable[..., Child]
) -> None:
    settings = desk(monkeypatch, env)
    up = start_up(spawn, settings)
    wait_for(lambda: " ready." in up.output(), "the worker to be ready", 120)
    pids = running_pids(settings)
    check = run_cli(env, "up", "--check", check=False)
    assert check.returncode == 1
    assert f"a desk is running on {settings.var_dir} (pid {up.process.pid})" in check.stdout

    assert up.stop(signal.SIGTERM, timeout=10) == 0
    assert_stopped_cleanly(up, settings, pids)


def test_sigint_stops_a_busy_desk_within_10s_and_loses_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, spawn: Callable[..., Child]
) -> None:
    settings = desk(monkeypatch, env)
    up = start_up(spawn, settings)
    with_clinic(settings)
    # 100 mails a second: 2 s of the batch are left when the stop comes.
    feeder = Feeder(settings.smtp_port, consult_mails(BATCH), rate=100).start()
    wait_for(lambda: feeder.progress() >= 100, "100 mails accepted", 120)
    pids = running_pids(settings)

    assert up.stop(signal.SIGINT, timeout=10) == 0
    assert_stopped_cleanly(up, settings, pids)
    at_stop = set(feeder.accepted)
    assert len(at_stop) < BATCH, "the stop landed mid-batch"
    with sqlite3.connect(settings.var_dir / "consultant.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    start_up(spawn, settings, name="up-again")  # the feeder's deferred mails go in now
    feeder.join()
    assert at_stop <= feeder.accepted
    assert_every_mail_drafted_once(settings, feeder.accepted)


def running_pids(settings: Settings) -> list[int]:
    pids = [child["pid"] for child in children(settings).values() if child["running"]]
    assert len(pids) == 2, children(settings)  # the worker and the console
    return pids


def assert_stopped_cleanly(up: Child, settings: Settings, pids: list[int]) -> None:
    log = up.output()
    stop = log.split("shutting down")[-1]
    assert "stopped" in stop
    for bad in ("ERROR", "Traceback", "killing", "SIGKILL"):
        assert bad not in stop, stop
    assert not [c for c in children(settings).values() if c["running"]]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
