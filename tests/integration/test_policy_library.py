"""The policy library on both profiles, through the commands and the console a desk
uses: `consultant db upgrade` installs the starting library with no other step and
`consultant policies list` shows it; a rule an admin edits in the console is what the
next draft cites, with its new version; a draft made before keeps citing the version
it used."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import Case, Draft
from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.policies import store
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import need
from tests.integration.conftest import PG_ADMIN, _pg_reachable, run_cli

RULE = "em-with-minor-procedure-25"
ADMIN = ("admin@desk.example", "admin-password-123")
REWORDED = "Reworded by our expert: a same-day visit needs its own documented reason."


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a desk whose database `consultant db upgrade` just created."""
    if request.param == "sqlite":
        var = tmp_path / "var"
        yield {"CONSULTANT_VAR_DIR": str(var), "CONSULTANT_DATABASE_URL": ""}
        dispose_engines()
        return
    need(_pg_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"consultant_policies_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield {"CONSULTANT_VAR_DIR": str(tmp_path / "var"), "CONSULTANT_DATABASE_URL": url}
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        var_dir=Path(env["CONSULTANT_VAR_DIR"]), database_url=env["CONSULTANT_DATABASE_URL"]
    )


def ask(settings: Settings, number: int) -> tuple[str, dict[str, object]]:
    """Process a question that calls for RULE; its case reference and fact sheet."""
    mail = EmailMessage()
    mail["From"], mail["To"] = "dana@clinic.example", "consult@localhost"
    mail["Subject"], mail["Message-ID"] = "Visit and biopsy", f"<rules-{number}@clinic.example>"
    mail.set_content("Can I bill 99213-25 with 11102 the same day? DOS 3/2/2025")
    with session_scope(settings) as session:
        inbound_id = store_raw(session, bytes(mail), source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        case = session.get_one(Case, case_id)
        draft = session.scalars(select(Draft).where(Draft.case_id == case_id)).one()
        return case.ref or "", {"sheet": json.loads(draft.lookup or "{}"), "text": draft.body_text}


def cited(found: dict[str, object]) -> dict[str, object]:
    sheet = found["sheet"]
    assert isinstance(sheet, dict)
    (rule,) = [rule for rule in sheet["rules"] if rule["id"] == RULE]
    assert isinstance(rule, dict)
    return rule


def edit_in_console(settings: Settings) -> int:
    """An admin rewords RULE on its console page; the version the edit wrote."""
    with session_scope(settings) as session:
        add_reviewer(session, ADMIN[0], role="admin", password=ADMIN[1])
        rule = next(rule for rule in store.in_use(session) if rule.id == RULE)
    with TestClient(create_app(settings, enqueue_send=lambda _: None)) as client:
        token = re.compile(r'name="csrf_token" value="([^"]+)"')
        login = token.search(client.get("/login").text)
        assert login is not None
        form = {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": login[1], "next": "/"}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        page = client.get(f"/admin/policies/{RULE}/edit")
        assert page.status_code == 200, page.text
        csrf = token.search(page.text)
        assert csrf is not None
        fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page.text))
        areas = dict(re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', page.text))
        form = {k: html.unescape(v) for k, v in {**fields, **areas}.items()}
        form.update(csrf_token=csrf[1], text=REWORDED)
        saved = client.post(f"/admin/policies/{RULE}/edit", data=form, follow_redirects=False)
        assert saved.status_code == 303, saved.text
    return rule.version + 1


def test_the_library_is_installed_by_db_upgrade_and_edits_reach_the_next_draft(
    desk: dict[str, str],
) -> None:
    upgraded = run_cli(desk, "db", "upgrade")
    assert "database at revision" in upgraded.stdout
    listed = run_cli(desk, "policies", "list").stdout
    shipped = store.package_rules()
    assert len(shipped) >= 30 and all(rule.id in listed for rule in shipped)
    settings = settings_of(desk)
    ref, before = ask(settings, 1)
    first = cited(before)
    assert first["version"] == next(r.version for r in shipped if r.id == RULE)
    assert f"[rule {RULE} v{first['version']}]" in str(before["text"])
    version = edit_in_console(settings)
    later_ref, after = ask(settings, 2)
    assert later_ref != ref
    rule = cited(after)
    assert (rule["version"], rule["text"]) == (version, REWORDED)
    assert f"[rule {RULE} v{version}]" in str(after["text"])
    shown = run_cli(desk, "policies", "show", RULE).stdout
    assert REWORDED in shown and f"v{first['version']}" in shown
