"""Room on disk for `consultant up`'s first start: one line, not a traceback.

Input: the settings, and the writes of the first start (the migrations of an
empty database, the ICD-10-CM load) run inside `refusing_full` or
`room_to_migrate`. Output: a `click.ClickException` whose one line names the
folder and the room needed, raised before the writes when the folder of the
SQLite database has less free than a first start needs, or in place of the
storage-full error (consultant.diskspace) that one of them hit half-way.
Everything written half-way was rolled back, so the next start begins again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from consultant.diskspace import (
    FIRST_START_MB,
    free_mb,
    is_storage_full,
    read_only,
    sqlite_file,
    sqlite_folder,
)
from consultant.settings import Settings


def no_room(settings: Settings, error: BaseException | None = None, first: bool = True) -> str:
    """The one line for storage that cannot take the database's writes."""
    folder = sqlite_folder(settings)
    if folder is None:
        return "cannot write the database: the database server's storage is full or read-only"
    if error is not None and read_only(error):
        return f"cannot write the database in {folder}: the file system is read-only"
    needs = f"; the first start needs about {FIRST_START_MB} MB" if first else ""
    free = free_mb(folder)
    return f"cannot write the database in {folder}: the disk is full ({free} MB free{needs})"


def check_room(settings: Settings) -> None:
    """Refuse a first start where the SQLite database has less room than it needs."""
    folder = sqlite_folder(settings)
    if folder is not None and free_mb(folder) < FIRST_START_MB:
        raise click.ClickException(no_room(settings))


@contextmanager
def refusing_full(settings: Settings, first: bool = True) -> Iterator[None]:
    """Turn a storage-full (or read-only) error inside into its one line."""
    try:
        yield
    except Exception as error:
        if not is_storage_full(error):
            raise
        raise click.ClickException(no_room(settings, error, first)) from error


@contextmanager
def room_to_migrate(settings: Settings) -> Iterator[None]:
    """Around the migrations: on an empty database, check the room first."""
    database = sqlite_file(settings)
    first = database is not None and (not database.exists() or database.stat().st_size == 0)
    if first:
        check_room(settings)
    with refusing_full(settings, first):
        yield
