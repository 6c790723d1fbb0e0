"""Two logins racing with one one-time password on PostgreSQL (READ COMMITTED): the
one that commits first opens the session; the other, which read the reviewer
before that commit, is refused as a reuse and opens nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant.db.models import Reviewer
from consultant.db.session import session_scope
from consultant.reviewers import (
    OneTimePasswordUsed,
    add_reviewer,
    check_password,
    find_reviewer,
)
from consultant.settings import Settings

pytestmark = pytest.mark.integration

NINA = "nina@desk.example"


def test_of_two_logins_racing_with_a_one_time_password_only_one_gets_in(
    production: Settings,
) -> None:
    with session_scope(production) as session:
        one_time = add_reviewer(session, NINA).one_time_password
    assert one_time is not None

    with pytest.raises(OneTimePasswordUsed), session_scope(production) as late:
        seen = find_reviewer(late, NINA)
        assert seen is not None and seen.one_time_used_at is None  # read before the other
        with session_scope(production) as first:
            assert check_password(first, NINA, one_time) is not None  # committed first
        check_password(late, NINA, one_time)

    with session_scope(production) as session:
        nina = session.execute(select(Reviewer).where(Reviewer.email == NINA)).scalar_one()
        assert nina.must_change_password and nina.one_time_used_at is not None
