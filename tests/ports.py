"""The one free_port() of the tests and benchmarks: a TCP port on 127.0.0.1 that was
free a moment ago (the caller binds it soon; another process could take it first)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
