"""The one table from a refused request to its HTTP status, for the console's pages
and the JSON API alike: a name that does not exist is 404, someone else's change
or claim 409, any other refusal by a rule 422. The text is the refusal's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from consultant.errors import Conflict, NotFound, Refused

STATUS: tuple[tuple[type[Refused], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
)


def status_of(error: Refused) -> int:
    """The HTTP status of a refusal: the first row of STATUS its type belongs to."""
    return next(status for kind, status in STATUS if isinstance(error, kind))


@contextmanager
def refusals() -> Iterator[None]:
    """Answer a refusal raised inside with its status and its own text (the JSON API's
    Problem, or the console's error page); the request's session rolls back."""
    try:
        yield
    except Refused as error:
        raise HTTPException(status_of(error), str(error)) from error
