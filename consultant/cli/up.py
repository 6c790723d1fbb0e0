"""`consultant up`: everything on one machine, for the embedded profile and trials.

Input: the settings. Output: the database migrated, ICD-10-CM loaded on the
first start, a first admin with a one-time password in a file (embedded
profile, empty reviewers table), then the SMTP intake in this process and a
worker (with beat), the console and the IMAP poller as child processes, until
SIGINT/SIGTERM. A child that dies is restarted (consultant/supervise.py); one
that dies too often ends `up` with status 1. One `up` per var/ directory (a lock).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from consultant.cli import services
from consultant.cli.common import cli_settings
from consultant.cli.room import check_room, refusing_full, room_to_migrate
from consultant.codes.icd10cm import load_icd10cm
from consultant.codes.kinds import ICD10CM
from consultant.codes.releases import release_in_effect
from consultant.db.session import session_scope
from consultant.instance import AlreadyRunning, hold_instance_lock
from consultant.logs import redact_url, setup_logging
from consultant.reviewers import (
    add_reviewer,
    any_reviewer,
    first_admin_address,
    write_first_password,
)
from consultant.settings import Settings
from consultant.supervise import GaveUp, Supervisor


@click.command()
@click.option("--concurrency", "-c", type=int, help="Worker processes (default from settings).")
@click.option("--check", is_flag=True, help="Check settings, folders, space, ports; start nothing.")
def up(concurrency: int | None, check: bool) -> None:
    """Run everything on this machine: migrations, worker(s), sweep, intakes."""
    settings = cli_settings()
    if check:
        raise SystemExit(_check(settings))
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    # The lock first: a second `up` says only who holds var/, and starts nothing.
    with _hold_instance_lock(settings):  # held until everything has stopped
        services.refuse_unsafe_mail()
        _run_all(settings, concurrency)


def _run_all(settings: Settings, concurrency: int | None) -> None:
    # On use: Alembic (migrate) and Celery (declare_queue), off `consultant --help`.
    from consultant.db.migrate import upgrade
    from workers.app import declare_queue

    with room_to_migrate(settings):  # one line, not a traceback, on a full disk
        upgrade(settings)
    _ensure_icd10cm(settings)
    services.check_port(settings.web_host, settings.web_port, "CONSULTANT_WEB_PORT")
    first_login = _ensure_admin(settings)
    if settings.broker_url.startswith(("sqla+", "sqlalchemy+")):
        declare_queue()  # and the SQL broker's tables, before any process races to
    controller = services.start_intake(settings)
    supervisor = Supervisor(
        _commands(settings, concurrency),
        settings.restart_limit,
        settings.restart_window,
        state_dir=settings.var_dir,
    )
    try:
        supervisor.start()
        _print_welcome(settings, first_login)
        services.wait_for_signal(supervisor.check)
    except GaveUp as error:
        raise click.ClickException(str(error)) from error
    finally:
        click.echo("shutting down…", err=True)
        supervisor.stop_all(controller.stop)
    click.echo("stopped", err=True)


def _commands(settings: Settings, concurrency: int | None) -> dict[str, list[str]]:
    """The children of `up`: the worker (with beat), the console, and the IMAP poller."""
    consultant = [sys.executable, "-m", "consultant"]
    workers = str(concurrency or settings.worker_concurrency)
    commands = {"worker": [*consultant, "worker", "--beat", "-c", workers]}
    commands["web"] = [*consultant, "web"]
    if settings.mailboxes:
        commands["poller"] = [*consultant, "poll"]
    return commands


def _check(settings: Settings) -> int:
    """Print what `up` would find here; 0 if it would start, 1 if not."""
    from consultant.preflight import preflight

    findings = preflight(settings)
    for finding in findings:
        click.echo(f"{finding.level:<4}  {finding.what:<13} {finding.detail}")
    failed = [finding for finding in findings if finding.level == "fail"]
    click.echo(f"{len(failed)} problem(s); up would not start" if failed else "up would start")
    return 1 if failed else 0


def _hold_instance_lock(settings: Settings) -> Any:
    try:
        return hold_instance_lock(settings.var_dir)
    except AlreadyRunning as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:  # a read-only or full file system, a folder not ours
        raise click.ClickException(
            f"cannot write in {settings.var_dir.resolve()}: {error.strerror or error}"
        ) from error


def _ensure_icd10cm(settings: Settings) -> None:
    """Load the ICD-10-CM tabular on first start; it ships with consultant (a few seconds).
    Where the disk cannot take it, say so in one line, before loading if it can tell."""
    with refusing_full(settings), session_scope(settings) as session:
        if release_in_effect(session, ICD10CM) is not None:
            return
        check_room(settings)
        click.echo("loading the ICD-10-CM tabular (first start only)…", err=True)
        result = load_icd10cm(session)
    click.echo(f"ICD-10-CM {result.label}: {result.rows:,} entries loaded", err=True)


def _ensure_admin(settings: Settings) -> tuple[str, Path] | None:
    """On a fresh embedded setup, create the first admin; return (address, password file).

    The one-time password goes to a file only its owner can read, never to
    stdout (which service managers keep in their logs); the file is deleted
    when the password is used up or replaced.
    """
    if not settings.embedded:
        return None
    with session_scope(settings) as session:
        if any_reviewer(session):
            return None
        created = add_reviewer(session, first_admin_address(settings), role="admin")
        assert created.one_time_password is not None
        path = write_first_password(settings, created.one_time_password)
        return created.reviewer.email, path


def _mailbox_lines(settings: Settings) -> str:
    return "".join(
        f"  IMAP poller   {m.name}: {m.folder} at {m.host}:{m.imap_port} (after: {m.after})\n"
        for m in settings.mailboxes
    )


def _login_lines(settings: Settings, first_login: tuple[str, Path] | None) -> str:
    if first_login is None:
        return ""
    return (
        f"  first login   {first_login[0]}  one-time password in: {first_login[1].resolve()}\n"
        "                (readable only by you; it works once, then choose your own)\n"
    )


def _print_welcome(settings: Settings, first_login: tuple[str, Path] | None = None) -> None:
    address = settings.consult_addresses[0]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    click.echo(
        f"""
consultant is running ({"embedded" if settings.embedded else "production"} profile)
  SMTP intake   {where}  (accepts mail for {", ".join(settings.consult_addresses)})
{_mailbox_lines(settings)}  console       {settings.web_base_url}
{_login_lines(settings, first_login)}  database      {redact_url(settings.database_url)}
  outbound      {settings.relay_host or settings.outbox_path().resolve()}

Send a test question (from another terminal):
  consultant ask "Can I bill 20700 with 27447? Modifier 59? Dx M86.161"
  or any mail client / curl to smtp://{where}, recipient {address}
Code sets: ICD-10-CM is loaded; import the CMS files you download each quarter
  consultant codes import hcpcs|ncci-ptp|mue|addon|pfs FILE   (see: consultant codes status)
Then review it in the console ({settings.web_base_url}), or from the shell:
  consultant cases list
  consultant cases show CC-…
  consultant cases approve CC-… --edit answer.txt --as YOUR-ADDRESS
Press Ctrl-C to stop.
""".rstrip(),
        err=False,
    )
    sys.stdout.flush()
