"""Redraft: a case drafted before the code data were loaded is drafted again with
them, from the console's button or `consultant cases redraft`; a reviewer's own
version is never overwritten."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant import review
from consultant.cli import main
from consultant.db.models import AuditEntry
from consultant.db.session import session_scope
from consultant.errors import Conflict
from consultant.settings import Settings
from tests.unit.web.conftest import REVIEWER, drafts

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]


def test_the_console_button_redrafts_with_the_data_loaded_now(
    console_db: Settings, drafted_without_data: str, client_for: Client
) -> None:
    client, csrf = client_for(REVIEWER)
    page = client.get(f"/cases/{drafted_without_data}")
    assert "Redraft with current code data" in page.text
    done = client.post(
        f"/cases/{drafted_without_data}/redraft",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    (_, _, first), (version, author, text) = drafts(console_db)
    assert (version, author) == (2, "system")
    assert text.split("\n\n")[2].startswith("99214 with 20610 (0-day global period)")
    assert "[[EXPERT ANSWER" not in text and "[[EXPERT ANSWER" in first
    with session_scope(console_db) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "case.redrafted" in actions


def test_a_reviewers_version_is_never_replaced(
    console_db: Settings, drafted_without_data: str
) -> None:
    with session_scope(console_db) as session:
        review.save_draft(session, console_db, drafted_without_data, REVIEWER[0], "Mine.\n")
    with session_scope(console_db) as session, pytest.raises(Conflict, match="written by rita"):
        review.redraft(session, console_db, drafted_without_data, "cli:ops")
    assert [(v, a) for v, a, _ in drafts(console_db)] == [(1, "system"), (2, REVIEWER[0])]
    result = CliRunner().invoke(main, ["cases", "redraft", drafted_without_data])
    assert result.exit_code == 1 and "nothing was changed" in result.output


def test_the_cli_redrafts_a_system_draft(console_db: Settings, drafted_without_data: str) -> None:
    result = CliRunner().invoke(main, ["cases", "redraft", drafted_without_data])
    assert result.exit_code == 0, result.output
    assert re.search(r"redrafted CC-\d{4}-\d{6}: draft version 2", result.output)
    assert "modifier 25 on 99214" in drafts(console_db)[-1][2]
