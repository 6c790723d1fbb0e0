"""One table maps a refused request to its HTTP status, for the console and the API."""

from __future__ import annotations

import pytest

from consultant.errors import Conflict, NotFound, ReviewError
from consultant.web.refusals import STATUS, status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("no case CC-2026-999999"), 404),
        (Conflict("case CC-2026-000001 is claimed by rita@desk.example; take it over first"), 409),
        (ReviewError("the answer still holds the placeholder"), 422),
    ],
)
def test_each_kind_of_refusal_has_its_status(error: ReviewError, status: int) -> None:
    assert status_of(error) == status


def test_the_table_ends_with_the_base_so_every_refusal_has_a_status() -> None:
    assert STATUS[-1][0] is ReviewError
    kinds = [kind for kind, _ in STATUS]
    # A kind listed after its base would never be reached.
    for earlier, kind in enumerate(kinds):
        assert not any(issubclass(kind, base) for base in kinds[:earlier])
