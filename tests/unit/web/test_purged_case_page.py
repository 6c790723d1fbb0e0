"""The case page of a case whose mail was purged: it says so, and the history
shows what the audit log kept of mail text (sizes), never a raw hash dict."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from consultant.db.session import session_scope
from consultant.retention import erase
from consultant.review import save_draft
from consultant.settings import Settings
from tests.unit.web.conftest import REVIEWER


def test_an_erased_case_page_says_the_mail_was_erased_and_shows_edit_sizes(
    console_db: Settings,
    case_ref: str,
    client_for: Callable[[tuple[str, str]], tuple[TestClient, str]],
) -> None:
    with session_scope(console_db) as session:
        save_draft(session, console_db, case_ref, REVIEWER[0], "Dear asker,\nUse 59.\n")
    erase(console_db, case_ref, actor=REVIEWER[0])
    client, _ = client_for(REVIEWER)

    page = client.get(f"/cases/{case_ref}").text

    assert "This mail cannot be shown: its text was erased" in page
    assert "bytes of diff (the log keeps its size and hash, not the text)" in page
    assert "sha256" not in page
