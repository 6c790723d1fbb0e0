"""The one table from a refused request to its HTTP status, for the console's pages
and the JSON API alike: a name that does not exist is 404, someone else's change
or claim 409, any other refusal by a rule 422. The text is the refusal's own."""

from __future__ import annotations

from consultant.errors import Conflict, NotFound, ReviewError

STATUS: tuple[tuple[type[ReviewError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (ReviewError, 422),
)


def status_of(error: ReviewError) -> int:
    """The HTTP status of a refusal: the first row of STATUS its type belongs to."""
    return next(status for kind, status in STATUS if isinstance(error, kind))
