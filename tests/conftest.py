"""Shared fixtures: settings pointed at a temporary var dir, the shared data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from consultant.db.session import dispose_engines
from consultant.settings import Settings, get_settings
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[1]
MAIL = REPO / "tests" / "data" / "mail"
IN_CI = os.environ.get("CI") == "true"


def shared_dir() -> Path:
    """../shared beside the checkout (or CONSULTANT_SHARED_DIR)."""
    return Path(os.environ.get("CONSULTANT_SHARED_DIR", REPO.parent / "shared"))


def cms_files() -> dict[str, Path]:
    """The shared CMS files by import kind, with the PTP subset (column 1 in 10000-29999)
    that keeps a module's import to a second."""
    data = shared_dir() / "data"
    return {
        "hcpcs": data / "hcpcs" / "HCPC2025_OCT_ANWEB.csv",
        "mue": data / "ncci" / "mue_practitioner_2024q3.csv",
        "addon": data / "ncci" / "aoc_medicare_2026q2.csv",
        "pfs": data / "pfs" / "pfs_rvu_indicators_2024_jul.csv",
        "ncci-ptp": data / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz",
    }


def need(condition: bool, reason: str) -> None:
    """Skip with `reason` when a resource is missing, but fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def mail_bytes(name: str) -> bytes:
    return (MAIL / name).read_bytes()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A clean CONSULTANT_* environment with var/ in a temporary folder."""
    for name in list(os.environ):
        if name.startswith("CONSULTANT_") and name != "CONSULTANT_SHARED_DIR":
            monkeypatch.delenv(name)
    # A free console port: `consultant up` starts the console, and tests run side by side.
    values = {"CONSULTANT_VAR_DIR": str(tmp_path / "var"), "CONSULTANT_WEB_PORT": str(free_port())}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()
    dispose_engines()


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **values: str) -> Settings:
    """Set more CONSULTANT_* variables and return the fresh settings."""
    for name, value in values.items():
        key = f"CONSULTANT_{name.upper()}"
        env[key] = value
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return get_settings()


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    """Embedded-profile settings with the SQLite schema migrated."""
    from consultant.db.migrate import upgrade

    upgrade(settings)
    return settings


@contextmanager
def module_database(directory: Path) -> Iterator[Settings]:
    """Embedded settings over a migrated SQLite database in `directory`, for a
    module-scoped fixture that loads code sets once; the environment is restored after."""
    from consultant.db.migrate import upgrade

    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in list(os.environ):
            if name.startswith("CONSULTANT_") and name != "CONSULTANT_SHARED_DIR":
                monkeypatch.delenv(name)
        monkeypatch.setenv("CONSULTANT_VAR_DIR", str(directory / "var"))
        get_settings.cache_clear()
        settings = get_settings()
        upgrade(settings)
        try:
            yield settings
        finally:
            get_settings.cache_clear()
            dispose_engines()
