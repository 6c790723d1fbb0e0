"""`consultant up`'s first admin: the one-time password sits in a file only its owner
can read, stdout shows only the file's path, and the file goes once the password is
used; its login leads only to the password change and a second login with it is
refused; no command prints the database URL with its password."""

from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from consultant.cli import main
from consultant.cli.up import _ensure_admin, _print_welcome
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import set_env
from tests.unit.web.conftest import csrf_of

pytestmark = pytest.mark.integration

DB_URL = "postgresql+psycopg://u:s3cret@h/db"
BROKER_URL = "redis://:s3cret@h:6379/0"


def test_the_first_admin_password_is_in_a_private_file_and_only_its_path_is_printed(
    migrated: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _ensure_admin(migrated)
    assert first is not None
    address, path = first
    assert path == migrated.var_dir / "first-admin-password.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 12
    assert _ensure_admin(migrated) is None  # only on a fresh setup

    _print_welcome(migrated, first)
    out = capsys.readouterr().out
    assert str(path.resolve()) in out and address in out
    assert password not in out

    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as client:
        form = client.get("/login")
        login = client.post(
            "/login",
            data={"email": address, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert (login.status_code, login.headers["location"]) == (303, "/account")
        assert client.get("/", follow_redirects=False).headers["location"] == "/account"
    assert not path.exists()  # used up: nothing left to read
    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as again:
        form = again.get("/login")
        reused = again.post(
            "/login",
            data={"email": address, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert reused.status_code == 401
        assert "This one-time password was used already" in reused.text


def test_the_file_goes_when_the_cli_replaces_the_first_admins_password(
    migrated: Settings,
) -> None:
    first = _ensure_admin(migrated)
    assert first is not None
    result = CliRunner().invoke(
        main,
        ["reviewers", "set-password", first[0], "--password-stdin"],
        input="the-admins-own-password\n",
    )
    assert result.exit_code == 0, result.output
    assert not first[1].exists()


def test_the_welcome_text_shows_the_database_without_its_password(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = settings.model_copy(update={"database_url": DB_URL, "broker_url": BROKER_URL})
    _print_welcome(shown)
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "postgresql+psycopg://u:***@h/db" in out


def test_db_current_shows_the_revision_and_the_database_without_its_password(
    pg_database: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server trusts local logins, so a made-up password still connects.
    with_password = pg_database.replace("postgres@", "postgres:s3cret@", 1)
    set_env(monkeypatch, env, database_url=with_password)
    result = CliRunner().invoke(main, ["db", "current"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{_head()}\n"
    assert "s3cret" not in result.output
    assert "postgres:***@127.0.0.1:5432/" in result.stderr


def _head() -> str:
    from alembic.script import ScriptDirectory

    from consultant.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
