"""The deployment files stay consistent with the code: compose, env.example, logging, alembic."""

from __future__ import annotations

import configparser
import logging
import logging.config
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from consultant.settings import SECRET_FIELDS, Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / "config" / "env.example"
LOGGING_YAML = REPO / "config" / "logging.yaml"
ALEMBIC_INI = REPO / "config" / "alembic.ini"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

APP_IMAGE = "consultant:latest"
REQUIRED_SERVICES = {"postgres", "redis", "migrate", "intake", "worker", "beat"}
NO_HEALTHCHECK = {"migrate", "beat"}
APP_COMMANDS = {
    "migrate": ["consultant", "db", "upgrade"],
    "intake": ["consultant", "intake"],
    "worker": ["consultant", "worker"],
    "beat": ["consultant", "beat"],
    "poller": ["consultant", "poll"],
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def _app_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("image") == APP_IMAGE}


# --- docker-compose.yml -----------------------------------------------------------


def test_compose_defines_the_production_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= REQUIRED_SERVICES
    assert "version" not in compose  # obsolete in the Compose specification


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert not service["healthcheck"].get("disable", False), name


def test_every_dependency_names_an_existing_service_and_a_condition(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on syntax"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert spec.get("condition") in CONDITIONS, f"{name} -> {target}: {spec}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"


def test_app_services_wait_for_migrations_and_the_broker(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart") == "no"
    for name in ("intake", "worker", "beat", "poller"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_app_services_run_the_consultant_commands(services: dict[str, dict[str, Any]]) -> None:
    apps = _app_services(services)
    assert set(apps) >= set(APP_COMMANDS)
    for name, command in APP_COMMANDS.items():
        assert _command(services[name]) == command, name
        assert services[name].get("build") is not None, name


def test_app_services_use_postgresql_and_redis(services: dict[str, dict[str, Any]]) -> None:
    for name, service in _app_services(services).items():
        environment = _environment(service)
        assert environment["CONSULTANT_DATABASE_URL_FILE"] == "/run/secrets/database_url", name
        assert environment["CONSULTANT_BROKER_URL"].startswith("redis://"), name
        for key in environment:
            field = key.removeprefix("CONSULTANT_").lower()
            if field not in Settings.model_fields:
                assert field.removesuffix("_file") in SECRET_FIELDS, f"{name}: {key} unknown"


def test_intake_listens_on_all_interfaces_on_the_published_port(
    services: dict[str, dict[str, Any]],
) -> None:
    intake = services["intake"]
    environment = _environment(intake)
    assert environment["CONSULTANT_SMTP_HOST"] == "0.0.0.0"
    port = environment.get("CONSULTANT_SMTP_PORT", str(Settings.model_fields["smtp_port"].default))
    published = [str(p).rpartition(":")[2] for p in intake["ports"]]
    assert port in published
    assert port in " ".join(map(str, intake["healthcheck"]["test"]))


def test_redis_keeps_an_append_only_file(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["redis"])
    assert "--appendonly" in command
    assert command[command.index("--appendonly") + 1] == "yes"


def test_declared_secrets_and_named_volumes_exist_at_top_level(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    top_secrets = compose.get("secrets") or {}
    top_volumes = compose.get("volumes") or {}
    for name, service in services.items():
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            assert source in top_secrets, f"{name} uses undeclared secret {source}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/", "~")):
                assert source in top_volumes, f"{name} uses undeclared volume {source}"
    assert {"pgdata", "redisdata"} <= set(top_volumes)


def test_secret_files_named_in_the_environment_are_mounted(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in _app_services(services).items():
        mounted = {
            s if isinstance(s, str) else s.get("target", s["source"])
            for s in service.get("secrets", [])
        }
        for key, value in _environment(service).items():
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in mounted, f"{name}: {key}"


def test_poller_runs_only_under_its_profile_with_the_mailboxes_file(
    services: dict[str, dict[str, Any]],
) -> None:
    poller = services["poller"]
    assert poller["profiles"] == ["imap"]
    assert _environment(poller)["CONSULTANT_MAILBOXES_FILE"] == "/app/config/mailboxes.yaml"
    assert any(v.endswith(":/app/config/mailboxes.yaml:ro") for v in poller["volumes"])
    assert all("profiles" not in services[name] for name in REQUIRED_SERVICES)


def test_web_listens_on_all_interfaces_on_the_published_port_with_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    web = services["web"]
    environment = _environment(web)
    assert _command(web) == ["consultant", "web"]
    assert environment["CONSULTANT_WEB_HOST"] == "0.0.0.0"
    port = environment["CONSULTANT_WEB_PORT"]
    assert port in [str(p).rpartition(":")[2] for p in web["ports"]]
    assert f"{port}/healthz" in " ".join(map(str, web["healthcheck"]["test"]))
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_published_ports_listen_on_localhost_unless_told_otherwise(
    services: dict[str, dict[str, Any]],
) -> None:
    published = [(name, str(p)) for name, s in services.items() for p in s.get("ports", [])]
    assert {name for name, _ in published} >= {"intake", "web"}
    localhost = re.compile(r"^(127\.0\.0\.1|\$\{[A-Z_]+:-127\.0\.0\.1\}):")
    for name, port in published:
        assert localhost.match(port), f"{name} publishes {port} beyond localhost"


def test_the_database_url_is_a_secret_file_and_never_in_the_environment(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    assert compose["secrets"]["database_url"]["file"] == "./secrets/database_url"
    for name, service in services.items():
        environment = _environment(service)
        assert "CONSULTANT_DATABASE_URL" not in environment, name
        assert not any("PASSWORD}" in value for value in environment.values()), name
    postgres = services["postgres"]
    assert _environment(postgres)["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert postgres["secrets"] == ["postgres_password"]


def test_app_services_know_the_console_s_public_address(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in _app_services(services).items():
        assert "${WEB_BASE_URL" in _environment(service)["CONSULTANT_WEB_BASE_URL"], name


# --- Dockerfile -----------------------------------------------------------------


def test_dockerfile_installs_the_package_and_runs_as_a_non_root_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert any("pip install --no-cache-dir ." in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_dockerignore_keeps_state_secrets_and_tooling_out_of_the_build_context() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"var", ".venv", ".git", "secrets", ".env", "*.sqlite3"} <= patterns
    assert not any(p.startswith("!") for p in patterns), "no exceptions to the exclusions"


# --- config/env.example ----------------------------------------------------------


def _env_example_names() -> set[str]:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"\bCONSULTANT_([A-Z0-9_]+)=", text))


def test_env_example_names_only_real_settings() -> None:
    for name in _env_example_names():
        field = name.lower()
        if field in Settings.model_fields:
            continue
        assert field.endswith("_file"), f"CONSULTANT_{name} is not a setting"
        assert field.removesuffix("_file") in SECRET_FIELDS, f"CONSULTANT_{name}: not a secret"


def test_env_example_lists_every_setting_and_every_secret_file_variant() -> None:
    names = _env_example_names()
    missing = [f for f in Settings.model_fields if f.upper() not in names]
    assert not missing, f"config/env.example lacks {missing}"
    missing_files = [f for f in SECRET_FIELDS if f"{f.upper()}_FILE" not in names]
    assert not missing_files, f"config/env.example lacks _FILE variants of {missing_files}"


# --- config/logging.yaml -----------------------------------------------------------


def _all_loggers() -> list[logging.Logger]:
    known = logging.Logger.manager.loggerDict.values()
    return [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put every logger back as it was: dictConfig replaces the root handlers."""
    saved = {
        id(lg): (lg.level, lg.handlers[:], lg.filters[:], lg.propagate, lg.disabled)
        for lg in _all_loggers()
    }
    try:
        yield
    finally:
        for lg in _all_loggers():
            level, handlers, filters, propagate, disabled = saved.get(
                id(lg), (logging.NOTSET, [], [], True, False)
            )
            for handler in lg.handlers:
                if handler not in handlers:
                    handler.close()
            lg.handlers[:] = handlers
            lg.filters[:] = filters
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled


def test_logging_yaml_configures_the_case_reference_format(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import consultant.logs

    assert hasattr(consultant.logs, "ContextFilter"), "consultant.logs.ContextFilter is missing"
    config = yaml.safe_load(LOGGING_YAML.read_text(encoding="utf-8"))
    assert config["version"] == 1
    assert config["disable_existing_loggers"] is False

    logging.config.dictConfig(config)

    assert logging.getLogger("consultant").level == logging.INFO
    assert logging.getLogger("workers").level == logging.INFO
    assert logging.getLogger("celery").level == logging.INFO
    assert logging.getLogger("mail.log").level == logging.WARNING
    assert logging.getLogger().level == logging.WARNING
    (handler,) = logging.getLogger().handlers
    assert any(isinstance(f, consultant.logs.ContextFilter) for f in handler.filters)

    log = logging.getLogger("consultant.deploy_test")
    log.info("outside a case")
    with consultant.logs.case_context("CC-2026-000042"):
        log.info("inside a case")
    logging.getLogger("mail.log").info("smtp chatter")
    err = capsys.readouterr().err
    assert " INFO consultant.deploy_test [-] outside a case" in err
    assert " INFO consultant.deploy_test [CC-2026-000042] inside a case" in err
    assert "smtp chatter" not in err


# --- config/alembic.ini ------------------------------------------------------------


def test_alembic_ini_finds_the_packaged_migrations() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    parser = configparser.ConfigParser()
    parser.read(ALEMBIC_INI, encoding="utf-8")
    assert parser["alembic"]["script_location"] == "consultant.db:migrations"
    assert parser["alembic"]["sqlalchemy.url"] == ""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    assert script.get_heads()
