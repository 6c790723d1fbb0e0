"""`consultant reviewers` as an operator types it, over a migrated SQLite database;
a reviewer it creates logs in at the console's real login form."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.cli.reviewers import reviewers
from consultant.db.models import AuditEntry, Reviewer
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.unit.web.conftest import csrf_of, log_in

pytestmark = pytest.mark.integration

ACTOR = f"cli:{getpass.getuser()}"


def _run(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(reviewers, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _refused(*args: str) -> str:
    """Run a command that must fail; return its one-line reason."""
    result = CliRunner().invoke(reviewers, list(args), catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _one_time(output: str, email: str) -> str:
    prefix = f"one-time password for {email}: "
    lines = [line for line in output.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, output
    return lines[0].removeprefix(prefix)


def _console_login(settings: Settings, email: str, password: str) -> int:
    """Log in through the console's form; the status of the login POST."""
    with TestClient(create_app(settings, enqueue_send=lambda _: None)) as client:
        form = client.get("/login")
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        return response.status_code


def test_a_reviewer_added_by_the_cli_logs_in_with_the_printed_password(
    migrated: Settings,
) -> None:
    added = _run("add", "Nina@Desk.example", "--name", "Nina Coder")
    assert added.stdout.splitlines()[0] == "reviewer nina@desk.example added as reviewer"
    password = _one_time(added.stdout, "nina@desk.example")

    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as client:
        log_in(client, ("nina@desk.example", password))
        page = client.get("/")
        assert page.status_code == 200 and "nina@desk.example" in page.text

    with session_scope(migrated) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reviewer.added"))
        assert [(e.actor, e.detail) for e in entry] == [
            (ACTOR, {"reviewer": "nina@desk.example", "role": "reviewer"})
        ]


def test_list_shows_roles_and_logins_as_text_and_json(migrated: Settings) -> None:
    assert _run("list").stdout == "no reviewers\n"
    _run("add", "boss@desk.example", "--role", "admin")
    _run("add", "rita@desk.example", "--name", "Rita")
    lines = _run("list").stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "ROLE", "ACTIVE", "LAST", "LOGIN", "NAME"]
    assert lines[1].split() == ["boss@desk.example", "admin", "yes", "never"]
    assert lines[2].split() == ["rita@desk.example", "reviewer", "yes", "never", "Rita"]
    data = json.loads(_run("list", "--json").stdout)
    assert [(r["email"], r["role"], r["active"], r["last_login_at"]) for r in data] == [
        ("boss@desk.example", "admin", True, None),
        ("rita@desk.example", "reviewer", True, None),
    ]


def test_password_from_stdin_and_a_one_time_reset(migrated: Settings) -> None:
    added = _run("add", "rita@desk.example", "--password-stdin", stdin="rita-chose-this-1\n")
    assert "one-time password" not in added.stdout
    assert _console_login(migrated, "rita@desk.example", "rita-chose-this-1") == 303

    reset = _run("set-password", "RITA@desk.example")
    password = _one_time(reset.stdout, "rita@desk.example")
    assert "their console sessions are ended" in reset.stdout
    assert _console_login(migrated, "rita@desk.example", "rita-chose-this-1") == 401
    assert _console_login(migrated, "rita@desk.example", password) == 303

    chosen = _run("set-password", "rita@desk.example", "--password-stdin", stdin="another-one-22\n")
    assert "one-time password" not in chosen.stdout
    assert _console_login(migrated, "rita@desk.example", "another-one-22") == 303


def test_roles_and_logins_change_but_the_last_admin_stays(migrated: Settings) -> None:
    _run("add", "boss@desk.example", "--role", "admin")
    _run("add", "rita@desk.example", "--password-stdin", stdin="rita-chose-this-1\n")
    last_admin = "Error: this is the last active admin; make another admin first"
    assert _refused("set-role", "boss@desk.example", "reviewer") == last_admin
    assert _refused("disable", "boss@desk.example") == last_admin

    assert _run("set-role", "rita@desk.example", "admin").stdout == (
        "rita@desk.example: role reviewer -> admin\n"
    )
    assert (
        _run("disable", "boss@desk.example").stdout == "boss@desk.example disabled and logged out\n"
    )
    assert _refused("set-role", "rita@desk.example", "reviewer") == last_admin
    assert _refused("disable", "rita@desk.example") == last_admin
    assert _run("enable", "boss@desk.example").stdout == "boss@desk.example enabled\n"
    _run("disable", "rita@desk.example")
    assert _console_login(migrated, "rita@desk.example", "rita-chose-this-1") == 401
    _run("enable", "rita@desk.example")
    assert _console_login(migrated, "rita@desk.example", "rita-chose-this-1") == 303

    with session_scope(migrated) as session:
        changes = session.execute(
            select(AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action == "reviewer.changed")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in changes] == [
        (ACTOR, {"reviewer": "rita@desk.example", "role": "admin"}),
        (ACTOR, {"reviewer": "boss@desk.example", "active": False}),
        (ACTOR, {"reviewer": "boss@desk.example", "active": True}),
        (ACTOR, {"reviewer": "rita@desk.example", "active": False}),
        (ACTOR, {"reviewer": "rita@desk.example", "active": True}),
    ]


def test_mistakes_are_one_line_errors_and_write_nothing(migrated: Settings) -> None:
    _run("add", "rita@desk.example")
    assert _refused("add", "rita@desk.example") == "Error: rita@desk.example is already a reviewer"
    assert "is not an email address" in _refused("add", "not-an-address")
    assert (
        _refused("set-password", "nobody@desk.example") == "Error: no reviewer nobody@desk.example"
    )
    assert _refused("disable", "nobody@desk.example") == "Error: no reviewer nobody@desk.example"
    short = CliRunner().invoke(
        reviewers, ["add", "x@desk.example", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1
    assert short.stderr.strip() == "Error: a password needs at least 12 characters"
    empty = CliRunner().invoke(reviewers, ["add", "x@desk.example", "--password-stdin"], input="")
    assert empty.exit_code == 1 and "stdin held no password" in empty.stderr
    wrong_role = CliRunner().invoke(reviewers, ["set-role", "rita@desk.example", "owner"])
    assert wrong_role.exit_code == 2 and "'owner' is not one of" in wrong_role.stderr
    with session_scope(migrated) as session:
        assert session.scalars(select(Reviewer.email)).all() == ["rita@desk.example"]


def test_the_commands_run_in_their_own_process_reading_stdin(
    migrated: Settings, env: dict[str, str]
) -> None:
    """A real process: stdin is a pipe, the actor is the login user, the exit status is 1."""
    command = [sys.executable, "-c", "from consultant.cli.reviewers import reviewers; reviewers()"]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], input=stdin, capture_output=True, text=True, timeout=120
        )

    added = run(
        "add",
        "pia@desk.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin="pia-password-1234\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "reviewer pia@desk.example added as admin\n"
    assert _console_login(migrated, "pia@desk.example", "pia-password-1234") == 303
    refused = run("disable", "pia@desk.example")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "Error: this is the last active admin; make another admin first"
    ]
