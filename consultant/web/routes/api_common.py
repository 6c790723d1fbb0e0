"""What the JSON API's route modules share: the documented login and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Security
from fastapi.security import APIKeyCookie

from consultant.web.api_models import problems
from consultant.web.auth import SESSION_COOKIE

# Documents the login for OpenAPI; ApiLogin is what checks it.
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    description="The session cookie that POST /api/v1/session sets.",
    auto_error=False,
)


def api_router(tag: str, *codes: int) -> APIRouter:
    """A router whose routes need the session cookie and may answer 401 (and `codes`)."""
    return APIRouter(
        tags=[tag], dependencies=[Security(session_cookie)], responses=problems(401, *codes)
    )


@contextmanager
def refused(status: int, *kinds: type[Exception]) -> Iterator[None]:
    """Answer a domain refusal of one of `kinds` with `status` and its reason."""
    try:
        yield
    except kinds as error:
        raise HTTPException(status, str(error)) from error
