"""Child processes of `consultant up`: started in their own process group,
told to stop politely, killed if they do not, and never left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 30.0


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child if `consultant up` itself
    # is killed, so a kill -9 of the parent leaves no orphan worker behind.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a child in a new process group (Ctrl-C is ours to relay)."""
    child = subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with_parent)
    log.info("started %s (pid %d)", argv[2:4], child.pid)
    return child


def stop_child(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's group (warm shutdown), wait, then SIGKILL what is left."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("pid %d did not stop in %.0fs; killing", child.pid, STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)  # prefork children, if any survived
    child.wait()
