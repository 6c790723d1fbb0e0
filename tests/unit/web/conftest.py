"""Console fixtures: a migrated SQLite database with a drafted case, reviewers, a client.

`console_db` processes a real question mail through the pipeline (so the case
has codes, a lookup report and a system draft) and creates an admin and a
reviewer. `client_for` logs a TestClient in through the real login form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant import reviewers
from consultant.codes.importers import import_file
from consultant.db.models import Case, Draft
from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import cms_files, mail_bytes

# argon2 at production cost takes about 0.35 s a hash here; the console tests make many.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADMIN = ("admin@desk.example", "admin-password-123")
REVIEWER = ("rita@desk.example", "reviewer-password-123")
OTHER = ("otto@desk.example", "other-password-1234")
# A question the fee schedule answers: modifier 25 on 99214 (20610 has a 0-day global).
QUESTION = "Can I bill 99214 with 20610 and do I need a modifier? DOS 9/3/2024"


@dataclass
class Sent:
    """The outbox ids the console handed to the send task."""

    ids: list[int] = field(default_factory=list)

    def __call__(self, outbound_id: int) -> None:
        self.ids.append(outbound_id)


def process(settings: Settings, raw: bytes) -> str:
    """Store and process one mail; return its case's reference."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def ask(settings: Settings, number: int = 1) -> str:
    """Process QUESTION from a clinic (Message-ID numbered); return its case's reference."""
    mail = EmailMessage()
    mail["From"], mail["To"] = "dana@clinic.example", "consult@localhost"
    mail["Subject"], mail["Message-ID"] = "99214 and 20610", f"<redraft-{number}@clinic.example>"
    mail.set_content(QUESTION)
    return process(settings, bytes(mail))


def drafts(settings: Settings) -> list[tuple[int, str, str]]:
    """Every draft's (version, author, text), oldest first."""
    with session_scope(settings) as session:
        rows = session.execute(
            select(Draft.version, Draft.author, Draft.body_text).order_by(Draft.id)
        )
        return [(version, author, text) for version, author, text in rows]


@pytest.fixture
def drafted_without_data(console_db: Settings) -> str:
    """A case drafted with no code data loaded; the fee schedule is imported after it."""
    ref = ask(console_db)
    ((_, _, text),) = drafts(console_db)
    assert "[[EXPERT ANSWER" in text  # nothing loaded: no verdict, the placeholder
    with session_scope(console_db) as session:
        import_file(session, "pfs", cms_files()["pfs"])
    return ref


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for the reviewers these tests create (autouse: before them)."""
    monkeypatch.setattr(reviewers, "_hasher", CHEAP_HASHER)
    monkeypatch.setattr(reviewers, "_DUMMY_HASH", CHEAP_HASHER.hash("not a password"))


@pytest.fixture
def console_db(migrated: Settings) -> Iterator[Settings]:
    with session_scope(migrated) as session:
        add_reviewer(session, ADMIN[0], role="admin", password=ADMIN[1])
        add_reviewer(session, REVIEWER[0], role="reviewer", password=REVIEWER[1], name="Rita")
        add_reviewer(session, OTHER[0], role="reviewer", password=OTHER[1], name="Otto")
    yield migrated
    dispose_engines()


@pytest.fixture
def case_ref(console_db: Settings) -> str:
    return process(console_db, mail_bytes("simple_question.eml"))


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
def app(console_db: Settings, sent: Sent) -> FastAPI:
    return create_app(console_db, enqueue_send=sent)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client: TestClient, who: tuple[str, str]) -> str:
    """Log in through the form; return the session's CSRF token."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": who[0], "password": who[1], "csrf_token": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[tuple[str, str]], tuple[TestClient, str]]]:
    clients: list[TestClient] = []

    def make(who: tuple[str, str]) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        return client, log_in(client, who)

    yield make
    for client in clients:
        client.close()
