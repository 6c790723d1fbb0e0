"""Child processes of `consultant up`: started in their own process group,
restarted with backoff when they die, stopped together and never left behind.

Input: a name and a command line per child, and the restart limit and window
from the settings. Output: children that come back after a crash (1 s,
doubling to 60 s), one log line per death with its exit status, and a state
file under var/ that the console and /metrics read. A child that dies
`restart_limit` times within `restart_window` seconds makes `up` give up
(`GaveUp`), so that a service manager restarts the whole desk or someone looks.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
FIRST_DELAY, MAX_DELAY = 1.0, 60.0  # seconds before a restart, doubling
STOP_TIMEOUT = 9.0  # a clean stop of everything fits in 10 s
STATE_FILE = "supervision.json"


class GaveUp(Exception):
    """A child died too often within the window; `up` ends with status 1."""


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child if `consultant up` itself
    # is killed, so a kill -9 of the parent leaves no orphan worker behind.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a child in a new process group (Ctrl-C is ours to relay)."""
    child = subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with_parent)
    log.info("started %s (pid %d)", " ".join(argv[2:4]), child.pid)
    return child


def exit_status(returncode: int) -> str:
    """`status 3`, or `status -9 (SIGKILL)` for a child ended by a signal."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"status {returncode} ({signal.Signals(-returncode).name})"
    return f"status {returncode}"


@dataclass
class Child:
    """One supervised child: its command, its process, and its recent deaths."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    since: float = 0.0  # Unix time of the last start, for the console
    deaths: deque[float] = field(default_factory=deque)
    restarts: int = 0
    delay: float = FIRST_DELAY
    restart_at: float | None = None
    last_status: str | None = None


class Supervisor:
    """Keeps the children of `up` running; `check()` is called about once a second."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        limit: int,
        window: float,
        state_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {name: Child(name, argv) for name, argv in commands.items()}
        self.limit, self.window = limit, window
        self.state_path = state_dir / STATE_FILE if state_dir is not None else None
        self.clock = clock

    def start(self) -> None:
        for child in self.children.values():
            self._start(child)
        self._write_state()

    def check(self) -> None:
        """Note the children that died, restart the ones whose delay is over."""
        now = self.clock()
        for child in self.children.values():
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._start(child)
                    self._write_state()
            elif child.process is not None and child.process.poll() is not None:
                self._died(child, now)
            elif now - child.started >= MAX_DELAY:
                child.delay = FIRST_DELAY  # up long enough: the next crash is a fresh one

    def _start(self, child: Child) -> None:
        child.process = start_child(child.argv)
        child.started, child.since, child.restart_at = self.clock(), time.time(), None

    def _died(self, child: Child, now: float) -> None:
        assert child.process is not None
        child.last_status = exit_status(child.process.returncode)
        _kill_group(child.process)  # a killed worker's pool processes, if any survived
        child.deaths.append(now)
        while child.deaths and child.deaths[0] <= now - self.window:
            child.deaths.popleft()
        self._write_state()
        if len(child.deaths) >= self.limit:
            raise GaveUp(
                f"{child.name} exited {len(child.deaths)} times within {self.window:.0f}s "
                f"(last: {child.last_status}); giving up"
            )
        log.warning(
            "%s exited with %s; restarting in %.0fs (%d death(s) within %.0fs; %d stop the desk)",
            child.name,
            child.last_status,
            child.delay,
            len(child.deaths),
            self.window,
            self.limit,
        )
        child.restart_at = now + child.delay
        child.delay = min(child.delay * 2, MAX_DELAY)

    def stop_all(
        self, meanwhile: Callable[[], None] | None = None, timeout: float = STOP_TIMEOUT
    ) -> None:
        """SIGTERM every child at once (a warm shutdown), run `meanwhile` (the
        intake's stop) while they wind down, wait, then SIGKILL what is left."""
        deadline = time.monotonic() + timeout
        running = [c.process for c in self.children.values() if c.process is not None]
        for process in running:
            if process.poll() is None:
                # The leader only: a Celery worker stops its own pool processes,
                # which log an ERROR each when they get the SIGTERM themselves.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        if meanwhile is not None:
            meanwhile()
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0fs; killing", process.pid, timeout)
            _kill_group(process)
            process.wait()
        self._write_state()

    def _write_state(self) -> None:
        if self.state_path is None:
            return
        state = {
            "updated": time.time(),
            "children": [_child_state(child) for child in self.children.values()],
        }
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        temporary.replace(self.state_path)  # readers never see half a file


def _child_state(child: Child) -> dict[str, Any]:
    process = child.process
    running = process is not None and process.poll() is None and child.restart_at is None
    return {
        "name": child.name,
        "pid": process.pid if running and process is not None else None,
        "running": running,
        "since": child.since if running else None,
        "restarts": child.restarts,
        "last_exit": child.last_status,
    }


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def supervision_state(var_dir: Path) -> list[dict[str, Any]]:
    """The children of the last `up` on `var_dir` (empty without one): name, pid,
    running, since (Unix time), restarts and last exit status."""
    try:
        state = json.loads((var_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    children = state.get("children") if isinstance(state, dict) else None
    return children if isinstance(children, list) else []
