"""The case page parses its mail once while the parsed view is cached; a mail over the
MIME limits is parsed neither for the page nor for an attachment download."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from consultant.db.models import Case, InboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web import mailview
from consultant.web.app import create_app
from tests.conftest import set_env
from tests.mime_shapes import many_parts
from tests.unit.web.conftest import REVIEWER, log_in

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the parses the console's mail view makes."""
    calls: list[int] = []
    real = mailview.parse

    def counted(raw: bytes) -> mailview.ParsedMessage:
        calls.append(len(raw))
        return real(raw)

    monkeypatch.setattr(mailview, "parse", counted)
    return calls


def test_a_case_page_viewed_twice_parses_its_mail_once(
    client_for: Client, case_ref: str, parses: list[int]
) -> None:
    client, _ = client_for(REVIEWER)
    first = client.get(f"/cases/{case_ref}")
    second = client.get(f"/cases/{case_ref}")
    assert first.status_code == second.status_code == 200
    assert "27447" in second.text
    assert len(parses) == 1


def test_a_mail_whose_bytes_changed_is_parsed_again(
    client_for: Client, case_ref: str, console_db: Settings, parses: list[int]
) -> None:
    client, _ = client_for(REVIEWER)
    assert "27447" in client.get(f"/cases/{case_ref}").text
    with session_scope(console_db) as session:
        session.execute(update(InboundMessage).values(raw=b"From: a@example.org\n\nPurged.\n"))
    assert "Purged." in client.get(f"/cases/{case_ref}").text
    assert len(parses) == 2


def test_with_the_cache_off_every_view_parses(
    console_db: Settings,
    case_ref: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    parses: list[int],
) -> None:
    settings = set_env(monkeypatch, env, mail_view_cache="0")
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        log_in(client, REVIEWER)
        for _ in range(2):
            assert client.get(f"/cases/{case_ref}").status_code == 200
    assert len(parses) == 2


def test_a_stored_mail_over_the_mime_limits_is_shown_unparsed_with_the_reason(
    client_for: Client, case_ref: str, console_db: Settings, parses: list[int]
) -> None:
    # Stored before the limits existed: the page must not parse its 50,000 parts.
    with session_scope(console_db) as session:
        session.execute(update(InboundMessage).values(raw=many_parts(50_000)))
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{case_ref}")
    assert page.status_code == 200
    assert "This mail cannot be shown: too many MIME parts (limit 500)" in page.text
    assert parses == []


def test_an_attachment_of_a_mail_over_the_mime_limits_is_refused_unparsed(
    client_for: Client, case_ref: str, console_db: Settings, parses: list[int]
) -> None:
    with session_scope(console_db) as session:
        session.execute(update(InboundMessage).values(raw=many_parts(50_000)))
        case_id = session.scalars(select(Case.id).where(Case.ref == case_ref)).one()
        inbound_id = session.scalars(
            select(InboundMessage.id).where(InboundMessage.case_id == case_id)
        ).first()
    client, _ = client_for(REVIEWER)
    download = client.get(f"/cases/{case_ref}/mail/{inbound_id}/attachments/0")
    assert download.status_code == 422
    assert "too many MIME parts (limit 500)" in download.text
    assert parses == []
