"""The supervisor of `consultant up`, with real child processes and a clock the
test moves: a dead child is noted with its exit status and restarted after
1 s, 2 s, 4 s ... up to 60 s; a child that stays up a minute starts over at
1 s; `restart_limit` deaths within the window give up; the state file says
what runs; stop_all ends everything with SIGTERM."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pytest

from consultant.supervise import GaveUp, Supervisor, exit_status, supervision_state

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
FAILING = [sys.executable, "-c", "import sys; sys.exit(3)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_dead(supervisor: Supervisor, name: str) -> None:
    process = supervisor.children[name].process
    assert process is not None
    process.wait(30)


def test_exit_status_names_the_signal() -> None:
    assert exit_status(-9) == "status -9 (SIGKILL)"
    assert exit_status(3) == "status 3"
    assert exit_status(-200) == "status -200"


def test_a_dead_child_is_restarted_after_a_doubling_delay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    supervisor = Supervisor({"worker": FAILING, "web": SLEEPER}, 10, 600, tmp_path, clock)
    caplog.set_level(logging.INFO, "consultant.supervise")
    try:
        supervisor.start()
        delays = []
        for _ in range(7):
            wait_dead(supervisor, "worker")
            supervisor.check()
            child = supervisor.children["worker"]
            assert child.restart_at is not None
            delays.append(child.restart_at - clock.now)
            clock.now = child.restart_at - 0.5
            supervisor.check()  # not yet
            assert supervisor.children["worker"].restart_at is not None
            clock.now += 0.5
            supervisor.check()
        assert delays == [1, 2, 4, 8, 16, 32, 60]
        assert supervisor.children["worker"].restarts == 7
        assert "worker exited with status 3; restarting in 1s" in caplog.text
        states = {child["name"]: child for child in supervision_state(tmp_path)}
        assert states["worker"]["restarts"] == 7
        assert states["worker"]["last_exit"] == "status 3"
        assert states["web"]["running"] and states["web"]["restarts"] == 0
    finally:
        supervisor.stop_all()
    assert not any(child["running"] for child in supervision_state(tmp_path))


def test_a_child_up_for_a_minute_starts_over_at_one_second(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor({"web": SLEEPER}, 10, 600, tmp_path, clock)
    try:
        supervisor.start()
        web = supervisor.children["web"]
        web.delay = 16.0  # after a run of crashes
        clock.now += 59
        supervisor.check()
        assert web.delay == 16.0
        clock.now += 1
        supervisor.check()
        assert web.delay == 1.0
    finally:
        supervisor.stop_all()


def test_the_limit_of_deaths_in_the_window_gives_up(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor({"poller": FAILING}, 3, 600, tmp_path, clock)
    try:
        supervisor.start()
        for _ in range(2):
            wait_dead(supervisor, "poller")
            supervisor.check()
            clock.now += 300  # two deaths, 300 s apart ...
            supervisor.check()
        wait_dead(supervisor, "poller")
        clock.now += 1  # ... and the third 301 s after the first: the first has left the window
        supervisor.check()
        assert supervisor.children["poller"].restart_at is not None
        clock.now += 10
        supervisor.check()
        wait_dead(supervisor, "poller")
        with pytest.raises(GaveUp, match=r"poller exited 3 times within 600s \(last: status 3\)"):
            supervisor.check()
    finally:
        supervisor.stop_all()


def test_stop_all_ends_every_child_with_sigterm_and_runs_the_intake_stop(tmp_path: Path) -> None:
    supervisor = Supervisor({"a": SLEEPER, "b": SLEEPER}, 5, 600, tmp_path)
    supervisor.start()
    stopped: list[float] = []
    supervisor.stop_all(lambda: stopped.append(time.monotonic()))
    assert stopped
    for child in supervisor.children.values():
        assert child.process is not None
        assert child.process.returncode == -15  # SIGTERM, not SIGKILL
