"""One `consultant up` per var/: a second one names the first's PID and starts nothing."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.integration.conftest import Child, run_cli, wait_for
from tests.ports import free_port

pytestmark = pytest.mark.integration


def test_a_second_up_on_the_same_var_dir_names_the_first_and_exits(
    env: dict[str, str], spawn: Callable[..., Child]
) -> None:
    env["CONSULTANT_SMTP_PORT"] = str(free_port())
    first = spawn("up", "--concurrency", "1")
    wait_for(lambda: "Ctrl-C" in first.output(), "the welcome text of the first `up`", 180)

    # Other ports, so only the shared var/ can stop it.
    second_env = {
        **env,
        "CONSULTANT_SMTP_PORT": str(free_port()),
        "CONSULTANT_WEB_PORT": str(free_port()),
    }
    second = run_cli(second_env, "up", check=False)

    assert second.returncode == 1
    (line,) = second.stderr.strip().splitlines()
    assert f"already running on {env['CONSULTANT_VAR_DIR']} (pid {first.process.pid})" in line
    assert "Traceback" not in second.stderr and second.stdout == ""
    assert first.process.poll() is None, "the first `up` must go on running"
    assert first.stop(signal.SIGINT) == 0


def test_up_starts_again_once_the_first_is_gone(
    env: dict[str, str], spawn: Callable[..., Child]
) -> None:
    env["CONSULTANT_SMTP_PORT"] = str(free_port())
    first = spawn("up", "--concurrency", "1")
    wait_for(lambda: "Ctrl-C" in first.output(), "the welcome text of the first `up`", 180)
    first.stop(signal.SIGKILL)  # the kernel drops the lock with the process
    ports = {"CONSULTANT_SMTP_PORT": str(free_port()), "CONSULTANT_WEB_PORT": str(free_port())}
    again = spawn("up", "--concurrency", "1", name="up-again", **ports)  # the old ones may linger
    wait_for(lambda: "Ctrl-C" in again.output(), "the welcome text of the second `up`", 180)
    assert again.stop(signal.SIGINT) == 0
