"""Request body limit: an ASGI middleware in front of every route of the console and API.

Input: each HTTP request. Output: 413 for a body over the limit, before the
body is read in full: a declared Content-Length over it is refused before
the route runs (and before uvicorn asks the client for the body), and a body
without one (chunked) is counted as the route reads it, which stops at the
first chunk past the limit. No state beyond the request.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised while a route reads a body past the limit; the app's handler answers 413.

    An HTTPException, so FastAPI passes it through its body parsing (it turns
    other exceptions there into 400) to the console's error handler.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is over the {limit}-byte limit"


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413; see the module."""

    def __init__(self, app: ASGIApp, limit: int, api_prefix: str) -> None:
        self.app = app
        self.limit = limit
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, send)
            return
        counted, started = 0, False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # too late for a 413: let the server drop the connection
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """Answer 413 and close: the rest of the body is never read."""
        detail = too_large(self.limit)
        if str(scope.get("path", "")).startswith(self.api_prefix):
            body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
        else:
            body, kind = detail.encode(), b"text/plain; charset=utf-8"
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request itself
    return None
