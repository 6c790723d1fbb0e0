"""`consultant backup DEST` and `consultant restore SRC`: the desk's data to a folder and back.

Input: the settings (the desk to copy or to restore into) and a folder. Output:
one line per thing written and a last line with the total size; a refusal
(a folder not new, a backup whose checksums differ, a desk running on the
target var/) as one line and exit status 1. The work is consultant.backup's
and consultant.restore's.
"""

from __future__ import annotations

from pathlib import Path

import click

from consultant.backup import BROKER_NOTE, SETTINGS, Written, take_backup
from consultant.cli.common import cli_settings, one_line


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_command(dest: Path) -> None:
    """Write a consistent snapshot of the desk to DEST, a new folder, while it runs.

    DEST gets the database (SQLite's online backup, or pg_dump's custom format on
    PostgreSQL), the outbox, the settings in use without secrets, and a manifest
    with versions and checksums. The broker's queue is left out: after a restore,
    the sweep enqueues stored mail again.
    """
    settings = cli_settings()
    with one_line():
        written = take_backup(settings, dest)
    _print(written)
    click.echo(f"broker     {BROKER_NOTE}")
    click.echo(f"backup of {settings.var_dir.resolve()} in {dest}: {_size(written)}")


@click.command("restore")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing database and outbox (each is kept aside, renamed with the time).",
)
def restore_command(src: Path, force: bool) -> None:
    """Restore the backup in SRC into this desk's var/ (CONSULTANT_VAR_DIR).

    Every file is checked against the manifest, and the database with PRAGMA
    integrity_check, before anything is put in place. Refused while a desk runs
    on that var/, and over an existing database unless --force.
    """
    from consultant.restore import restore_backup  # the instance lock's module, on use

    settings = cli_settings()
    with one_line():
        written = restore_backup(settings, src, force=force)
    _print(written)
    if (src / SETTINGS).is_file():
        click.echo(f"settings   not applied: they come from the environment; compare {SETTINGS}")
    click.echo(f"restored {src} into {settings.var_dir.resolve()}: {_size(written)}")


def _print(written: list[Written]) -> None:
    for item in written:
        note = f"  ({item.note})" if item.note else ""
        click.echo(f"{item.what:<10} {item.path}  {_human(item.size)}{note}")


def _size(written: list[Written]) -> str:
    return f"{_human(sum(item.size for item in written if item.what != 'kept aside'))} in all"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
