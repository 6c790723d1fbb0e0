"""One line, not a traceback, for what an operator fixes in the configuration.

Input: any exception a `consultant` command raises. Output: for a known kind
(settings that do not validate, a secret file that cannot be read, a database
or broker URL that is malformed or unreachable, a database not yet migrated) a
`click.ClickException` whose one line names the CONSULTANT_* variable to fix;
anything else passes through untouched. `consultant --debug` prints the full
traceback as well.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from consultant.settings import ConfigError, describe_config_error

NOT_MIGRATED = "the database is not migrated: run `consultant db upgrade`"
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing relation


class ConsultantGroup(click.Group):
    """The `consultant` group: every command runs inside `invoke`, so errors are caught once."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            if debug and error.__cause__ is not None:
                _print_traceback(error.__cause__)
            raise
        except Exception as error:
            message = explain(error)
            if message is None:
                raise
            if debug:
                _print_traceback(error)
            raise click.ClickException(message) from error


def explain(error: BaseException) -> str | None:
    """The one line for a known configuration or connection error, else None."""
    if isinstance(error, ConfigError | ValidationError):
        return f"configuration error: {describe_config_error(error)}"
    if isinstance(error, sa_exc.ArgumentError):
        return f"CONSULTANT_DATABASE_URL cannot be used: {_first_line(error)}"
    if isinstance(error, sa_exc.DBAPIError):
        if _not_migrated(error):
            return NOT_MIGRATED
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            reason = _first_line(error.orig or error)
            return f"cannot reach the database ({reason}); check CONSULTANT_DATABASE_URL"
    if _is_broker_error(error):
        return f"cannot reach the broker ({_first_line(error)}); check CONSULTANT_BROKER_URL"
    return None


def _not_migrated(error: sa_exc.DBAPIError) -> bool:
    orig = error.orig
    return getattr(orig, "sqlstate", None) == UNDEFINED_TABLE or "no such table" in str(orig)


def _is_broker_error(error: BaseException) -> bool:
    from kombu.exceptions import OperationalError as KombuError
    from redis.exceptions import ConnectionError as RedisError

    return isinstance(error, KombuError | RedisError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def _print_traceback(error: BaseException) -> None:
    traceback.print_exception(error, file=sys.stderr)
