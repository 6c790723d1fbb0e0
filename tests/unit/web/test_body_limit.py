"""Every route refuses a request body over CONSULTANT_WEB_MAX_BODY with 413."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consultant.settings import Settings

MIB = 1024 * 1024


def _json_of_size(size: int) -> bytes:
    """A JSON login body of exactly `size` bytes."""
    head, tail = b'{"email": "rita@desk.example", "password": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_the_default_limit_is_one_mebibyte(console_db: Settings) -> None:
    assert console_db.web_max_body == MIB


def test_a_json_body_one_byte_over_the_limit_gets_413_before_the_route(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/session",
            content=_json_of_size(MIB + 1),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is over the 1048576-byte limit"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_json_body_at_the_limit_reaches_the_route(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/session",
            content=_json_of_size(MIB),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422  # the route read it: the password is too long


def test_a_chunked_body_over_the_limit_gets_413(app: FastAPI) -> None:
    def chunks() -> Iterator[bytes]:
        body = _json_of_size(MIB + 1)
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    with TestClient(app) as client:
        response = client.post(
            "/api/v1/session", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is over the 1048576-byte limit"}


def test_a_form_page_over_the_limit_gets_413_too(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.post("/login", data={"email": "a@b.c", "password": "x" * MIB})
    assert response.status_code == 413
