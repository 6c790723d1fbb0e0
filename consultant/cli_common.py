"""What every command group of the CLI shares: the settings, and who is acting."""

from __future__ import annotations

import getpass
import os

import click

from consultant.settings import Settings, describe_config_error, get_settings


def cli_settings() -> Settings:
    """The settings, or a one-line configuration error instead of a traceback."""
    try:
        return get_settings()
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(
            f"configuration error: {describe_config_error(error)}"
        ) from error


def actor(value: str | None = None) -> str:
    """Who the audit log names: --as, else $CONSULTANT_REVIEWER, else cli:<login>."""
    if value:
        return value
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return os.environ.get("CONSULTANT_REVIEWER") or f"cli:{login}"
