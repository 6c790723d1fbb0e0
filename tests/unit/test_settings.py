from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from consultant.settings import Settings
from tests.conftest import set_env


def test_defaults_are_the_embedded_profile(settings: Settings, tmp_path: Path) -> None:
    assert settings.embedded
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'consultant.sqlite3'}"
    assert settings.broker_url.startswith("sqla+sqlite:///")
    assert settings.relay_host is None
    assert settings.from_address == "consult@localhost"


def test_consult_addresses_accept_a_comma_separated_list(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, env, consult_addresses="Consult@Example.org, help@example.org")
    assert settings.consult_addresses == ["consult@example.org", "help@example.org"]


def test_secrets_are_read_from_file_variables(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "relay_password"
    secret.write_text("s3cr3t-from-file\n")
    settings = set_env(monkeypatch, env, relay_password_file=str(secret))
    assert settings.relay_password is not None
    assert settings.relay_password.get_secret_value() == "s3cr3t-from-file"
    assert "s3cr3t" not in repr(settings)


def test_placeholder_secret_is_refused(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        set_env(monkeypatch, env, relay_password="change-me")


def test_postgres_url_is_the_production_profile(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, env, database_url="postgresql+psycopg://u@db/consultant")
    assert not settings.embedded
