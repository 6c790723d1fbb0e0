"""`consultant web` as a real process: a slow request head is cut off, connections
beyond the limit get 503, and a chunked body over the limit gets 413 before it ends.
Every wait is for a condition (the server's reply or its closing the socket), with
the socket's timeout as the deadline."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable

import pytest

from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.conftest import Child, wait_for, wait_for_port

pytestmark = pytest.mark.integration
DEADLINE = 30.0  # seconds any single reply may take before the test fails


def _start(
    spawn: Callable[..., Child], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, **limits: str
) -> Settings:
    settings = set_env(monkeypatch, env, **limits)
    wait_for_port(settings.web_port, spawn("web"))
    return settings


def _connect(settings: Settings) -> socket.socket:
    return socket.create_connection(("127.0.0.1", settings.web_port), timeout=DEADLINE)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _status(settings: Settings, path: str = "/login") -> int:
    with _connect(settings) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return int(_until_closed(sock).split(b" ", 2)[1])


def test_a_connection_that_sends_half_a_request_head_is_closed_after_the_timeout(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
) -> None:
    settings = _start(spawn, env, monkeypatch, web_header_timeout="1")
    with _connect(settings) as slow, _connect(settings) as silent:
        slow.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert _until_closed(slow) == b""
        assert _until_closed(silent) == b""
    assert _status(settings) == 200  # a whole head in time is served


def test_half_a_head_after_a_kept_alive_request_is_cut_off_too(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
) -> None:
    # uvicorn's keep-alive timer stops at the first byte of the next request.
    settings = _start(spawn, env, monkeypatch, web_header_timeout="1", web_keep_alive="600")
    with _connect(settings) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200 and response.read()
        sock.sendall(b"GET /login HTTP/1.1\r\n")
        assert _until_closed(sock) == b""


def test_connections_beyond_the_limit_are_answered_503(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
) -> None:
    settings = _start(spawn, env, monkeypatch, web_max_connections="3", web_header_timeout="600")
    assert _status(settings) == 200
    idle = [_connect(settings) for _ in range(3)]  # accepted before the next one
    try:
        assert _status(settings) == 503
    finally:
        for sock in idle:
            sock.close()
    wait_for(lambda: _status(settings) == 200, "a place to free up", DEADLINE)


def test_a_chunked_body_over_the_limit_gets_413_before_it_ends(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
) -> None:
    settings = _start(spawn, env, monkeypatch, web_max_body="100000")
    with _connect(settings) as sock:
        sock.sendall(
            b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (10_000, b" " * 10_000)
        for _ in range(11):  # 110,000 bytes, and the last chunk is never sent
            sock.sendall(chunk)
        reply = _until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert reply.endswith(b'{"detail":"the request body is over the 100000-byte limit"}')
