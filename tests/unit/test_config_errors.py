"""Configuration mistakes: one line naming the CONSULTANT_* variable, no traceback,
unless `consultant --debug`; and a `.env` in the working directory is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from consultant.cli import main
from consultant.settings import Settings, get_settings
from tests.conftest import set_env
from tests.disk_support import capped


def run(*args: str) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Result) -> str:
    """The single line a failed command printed; assert there was nothing else."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_missing_secret_file_names_its_variable_in_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONSULTANT_DATABASE_URL_FILE", str(tmp_path / "absent"))
    line = one_line_error(run("cases", "list"))
    assert "CONSULTANT_DATABASE_URL_FILE" in line and str(tmp_path / "absent") in line


def test_with_debug_the_traceback_is_shown(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONSULTANT_DATABASE_URL_FILE", str(tmp_path / "absent"))
    result = run("--debug", "cases", "list")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "FileNotFoundError" in result.stderr
    assert "CONSULTANT_DATABASE_URL_FILE" in result.stderr.strip().splitlines()[-1]


def test_an_invalid_value_names_the_variable_not_the_field(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULTANT_SMTP_PORT", "twenty-five")
    line = one_line_error(run("cases", "list"))
    assert "CONSULTANT_SMTP_PORT" in line and "integer" in line


@pytest.mark.parametrize("command", [["cases", "list"], ["codes", "status"]])
def test_every_command_group_says_a_bad_value_in_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("CONSULTANT_SMTP_PORT", "twenty-five")
    line = one_line_error(run(*command))
    assert line.startswith("Error: configuration error: CONSULTANT_SMTP_PORT")


def test_an_unparsable_database_url_is_named_without_its_value(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULTANT_DATABASE_URL", "postgres ql://consultant:hunter2@db/x")
    line = one_line_error(run("cases", "list"))
    assert "CONSULTANT_DATABASE_URL" in line and "not a database URL" in line
    assert "hunter2" not in line


def test_an_unknown_database_driver_names_the_url_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULTANT_DATABASE_URL", "nosuchdb://consultant@db/x")
    line = one_line_error(run("cases", "list"))
    assert line.startswith("Error: CONSULTANT_DATABASE_URL cannot be used")


def test_cases_list_before_db_upgrade_says_to_migrate(settings: object) -> None:
    line = one_line_error(run("cases", "list"))
    assert line == "Error: the database is not migrated: run `consultant db upgrade`"


def test_a_dotenv_file_in_the_working_directory_is_read(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CONSULTANT_SMTP_PORT=2626\nCONSULTANT_FROM_NAME=Desk\n")
    monkeypatch.chdir(tmp_path)
    settings = set_env(monkeypatch, env)
    assert settings.smtp_port == 2626 and settings.from_name == "Desk"


def test_the_environment_wins_over_the_dotenv_file(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CONSULTANT_SMTP_PORT=2626\n")
    monkeypatch.chdir(tmp_path)
    assert set_env(monkeypatch, env, smtp_port="2727").smtp_port == 2727


def test_a_full_database_is_one_line_naming_the_cause(migrated: Settings) -> None:
    with capped(migrated):
        addresses = [f"--address=coder{n}@full-clinic.example.org" for n in range(400)]
        result = run("accounts", "add", "Full Clinic", *addresses)  # pages more than it has
    line = one_line_error(result)
    assert line.startswith("Error: cannot write: the storage is full or read-only (")
    assert "database or disk is full" in line
    assert "CONSULTANT_DATABASE_URL" not in line  # not a connection problem
