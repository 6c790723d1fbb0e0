"""One table maps a refused request to its HTTP status, for the console and the API;
one function to its one-line message, for the CLI."""

from __future__ import annotations

import click
import pytest

from consultant.accounts import AccountError
from consultant.cli.common import explain, one_line
from consultant.errors import Conflict, NotFound, Refused
from consultant.mailer.headers import HeaderError
from consultant.retention import RetentionError
from consultant.reviewers import ReviewerError
from consultant.web.refusals import STATUS, status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("no case CC-2026-999999"), 404),
        (Conflict("case CC-2026-000001 is claimed by rita@desk.example; take it over first"), 409),
        (Refused("the answer still holds the placeholder"), 422),
    ],
)
def test_each_kind_of_refusal_has_its_status(error: Refused, status: int) -> None:
    assert status_of(error) == status


def test_the_table_ends_with_the_base_so_every_refusal_has_a_status() -> None:
    assert STATUS[-1][0] is Refused
    kinds = [kind for kind, _ in STATUS]
    # A kind listed after its base would never be reached.
    for earlier, kind in enumerate(kinds):
        assert not any(issubclass(kind, base) for base in kinds[:earlier])


@pytest.mark.parametrize("kind", [AccountError, ReviewerError, RetentionError, HeaderError])
def test_the_domain_refusals_are_refusals_so_every_shell_maps_them(kind: type[Refused]) -> None:
    # The console, the API and the CLI each catch Refused in one place; a rule's
    # error outside that hierarchy would surface as a 500 or a traceback.
    assert issubclass(kind, Refused)
    assert status_of(kind("no plan named 'gold'")) == 422


def test_the_cli_turns_every_refusal_into_its_one_line() -> None:
    for error in (NotFound("no case CC-2026-999999"), AccountError("no plan named 'gold'")):
        with pytest.raises(click.ClickException) as caught, one_line():
            raise error
        assert caught.value.message == str(error)
        assert explain(error) == str(error)
    with pytest.raises(KeyError), one_line():
        raise KeyError("not a refusal")
