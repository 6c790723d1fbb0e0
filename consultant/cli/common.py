"""What the command modules share: the settings, who is acting, a session, one-line errors.

Input: any exception a `consultant` command raises. Output: for a known kind
(settings that do not validate, a secret file that cannot be read, a database
or broker URL that is malformed or unreachable, a database not yet migrated) a
`click.ClickException` whose one line names the CONSULTANT_* variable to fix
(`explain`, used by the `consultant` group); a refusal (consultant.errors.Refused
and its kinds: NotFound, Conflict, AccountError, ReviewerError, …) becomes its
own message and exit status 1, in `one_line`, the CLI's one table of
refusals; anything else passes through untouched. `consultant --debug` prints the full
traceback as well.
"""

from __future__ import annotations

import getpass
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from consultant.db.session import session_scope
from consultant.diskspace import is_storage_full
from consultant.errors import Refused
from consultant.settings import ConfigError, Settings, describe_config_error, get_settings

NOT_MIGRATED = "the database is not migrated: run `consultant db upgrade`"
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing relation

Enqueue = Callable[[int], None]


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


REVIEWER_VARIABLE = "CONSULTANT_REVIEWER"
NO_REVIEWER = (
    f"say which reviewer is acting: --as ADDRESS or {REVIEWER_VARIABLE}=ADDRESS "
    "(the address of an active reviewer)"
)


def reviewer_address(value: str | None = None) -> str:
    """The reviewer a case command acts as: --as, else $CONSULTANT_REVIEWER, else a
    refusal naming both (never the login, which the audit log could not tie to anyone).
    Whether the address is an active reviewer's is consultant.reviewers.acting_reviewer's."""
    address = (value or os.environ.get(REVIEWER_VARIABLE) or "").strip()
    if not address:
        raise click.ClickException(NO_REVIEWER)
    return address


@contextmanager
def one_line(*errors: type[Exception]) -> Iterator[None]:
    """Turn a refusal, and any of the given errors, into its one-line message and exit
    status 1."""
    caught: tuple[type[Exception], ...] = (Refused, *errors)
    try:
        yield
    except caught as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def cli_session(settings: Settings, *errors: type[Exception]) -> Iterator[Session]:
    """A session whose refusals (and given errors) become a one-line message and exit
    status 1; the session rolls back."""
    with one_line(*errors), session_scope(settings) as session:
        yield session


def enqueuers() -> tuple[Enqueue, Enqueue]:
    """The functions that hand an inbound (process) or outbound (send) id to a worker."""
    return enqueue_process, enqueue_send


# Celery is imported when a row is enqueued: workers.tasks loads it (about
# 0.3 s), which `consultant --help` and most commands never need; and an import
# that fails then fails the enqueue, which consultant.handoff turns into "the
# sweep will".
def enqueue_process(inbound_id: int) -> None:
    from workers.tasks import enqueue_process as enqueue

    enqueue(inbound_id)


def enqueue_send(outbound_id: int) -> None:
    from workers.tasks import enqueue_send as enqueue

    enqueue(outbound_id)


def enqueue_redraft_stale() -> None:
    from workers.tasks import enqueue_redraft_stale as enqueue

    enqueue()


def explain(error: BaseException) -> str | None:
    """The one line for a known configuration or connection error, else None."""
    if isinstance(error, Refused):
        return str(error)
    if isinstance(error, ConfigError | ValidationError):
        return f"configuration error: {describe_config_error(error)}"
    if isinstance(error, sa_exc.ArgumentError):
        return f"CONSULTANT_DATABASE_URL cannot be used: {_first_line(error)}"
    if is_storage_full(error):
        return (
            f"cannot write: the storage is full or read-only ({_first_line(error)}); "
            "free some space (consultant up --check shows how much there is) and try again"
        )
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
    # Imported only once a command has failed: kombu and redis stay off the
    # path of commands that never touch the broker.
    from kombu.exceptions import OperationalError as KombuError
    from redis.exceptions import ConnectionError as RedisError

    return isinstance(error, KombuError | RedisError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def print_traceback(error: BaseException) -> None:
    """Print the full traceback on stderr (for `consultant --debug`)."""
    traceback.print_exception(error, file=sys.stderr)
