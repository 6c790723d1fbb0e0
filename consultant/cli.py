"""The `consultant` command: run the services, migrate, and review cases.

This is the shell around the pipeline: it reads settings, wires the Celery
enqueue functions into the intake and the review commands, and prints for
people. The rules live in consultant/pipeline.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, TextIO

import click
from sqlalchemy import func, select

from consultant.cli_common import actor, cli_settings
from consultant.cli_errors import ConsultantGroup
from consultant.db.models import CaseCode
from consultant.db.session import session_scope
from consultant.errors import ReviewError
from consultant.logs import redact_url, setup_logging
from consultant.settings import Settings

_settings = cli_settings


@click.group(cls=ConsultantGroup)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="consultant")
def main(debug: bool) -> None:
    """consultant: an email consult desk for medical coding."""


# --- database -----------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from consultant.db.migrate import current, upgrade

    settings = _settings()
    upgrade(settings, revision)
    click.echo(f"database at revision {current(settings)}")


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision (and the database, without its password)."""
    from consultant.db.migrate import current

    settings = _settings()
    click.echo(current(settings) or "(empty database)")
    click.echo(f"database {redact_url(settings.database_url)}", err=True)


# --- services -----------------------------------------------------------------


def _enqueuers() -> tuple[Callable[[int], None], Callable[[int], None]]:
    from workers.tasks import enqueue_process, enqueue_send

    return enqueue_process, enqueue_send


def _refuse_unsafe_mail() -> None:
    """Stop a process that writes mail when this Python could inject headers (CVE-2024-6923)
    and our own header encoding fails its self-test."""
    from consultant.mailer.guard import UnsafeMailEncoding, check_mail_encoding

    try:
        check_mail_encoding()
    except UnsafeMailEncoding as error:
        raise click.ClickException(str(error)) from error


@main.command()
def intake() -> None:
    """Run the SMTP intake until interrupted."""
    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    _refuse_unsafe_mail()
    controller = _start_intake(settings)
    click.echo(f"SMTP intake listening on {settings.smtp_host}:{settings.smtp_port}")
    _wait_for_signal()
    controller.stop()


def _start_intake(settings: Settings) -> Any:
    from consultant.pipeline.intake.smtp import make_controller
    from workers.tasks import enqueue_process, enqueue_process_many

    controller = make_controller(settings, enqueue_process, enqueue_process_many)
    try:
        controller.start()
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {settings.smtp_host}:{settings.smtp_port}: {error.strerror}; "
            "choose another port with CONSULTANT_SMTP_PORT"
        ) from error
    return controller


def _worker_argv(settings: Settings, concurrency: int | None, beat: bool) -> list[str]:
    # Without gossip and mingle: workers here share nothing but the queue, so
    # there is nothing to sync at start (mingle waited a second on every start
    # and reconnect) and no events to exchange (gossip's fanout channel failed
    # to close on every broker loss, logging an error).
    argv = [
        "worker",
        "--loglevel",
        settings.log_level,
        "--concurrency",
        str(concurrency or settings.worker_concurrency),
        "--without-gossip",
        "--without-mingle",
    ]
    return [*argv, "--beat"] if beat else argv


@main.command()
@click.option("--concurrency", "-c", type=int, help="Worker processes (default from settings).")
@click.option("--beat", is_flag=True, help="Also run the sweep schedule in this worker.")
def worker(concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker for the pipeline tasks."""
    from workers.app import app

    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    _refuse_unsafe_mail()
    app.worker_main(_worker_argv(settings, concurrency, beat))


@main.command()
@click.option("--host", help="Address to listen on (default: CONSULTANT_WEB_HOST).")
@click.option("--port", type=int, help="Port (default: CONSULTANT_WEB_PORT).")
def web(host: str | None, port: int | None) -> None:
    """Run the reviewer console (pages and JSON API) until interrupted."""
    import uvicorn

    from consultant.web.app import create_app
    from consultant.web.server import server_limits

    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    _refuse_unsafe_mail()
    host, port = host or settings.web_host, port or settings.web_port
    _check_port(host, port, "CONSULTANT_WEB_PORT")
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        # Off: X-Forwarded-For counts only from CONSULTANT_TRUSTED_PROXIES, which
        # web/deps.py `client_address` applies (one source of truth), and nothing
        # reads X-Forwarded-Proto (cookies are Secure by CONSULTANT_WEB_BASE_URL).
        proxy_headers=False,
        server_header=False,
        log_config=None,
        access_log=False,  # paths name cases; the audit log records what reviewers do
        **server_limits(settings),
    )
    click.echo(f"reviewer console on {settings.web_base_url}")
    uvicorn.Server(config).run()


def _check_port(host: str, port: int, variable: str) -> None:
    """Fail with a clear message now, rather than from inside the server, if the port is taken."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {error.strerror}; choose another port with "
                f"{variable}"
            ) from error


@main.command()
def beat() -> None:
    """Run Celery beat, which schedules the sweep."""
    from workers.app import app

    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    app.start(["beat", "--loglevel", settings.log_level])


@main.command("sweep")
def sweep_once() -> None:
    """Re-enqueue stored mail and outbox rows whose task never ran, once."""
    from workers.sweep import sweep

    counts = sweep(_settings(), *_enqueuers())
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


@main.command()
@click.option("--concurrency", "-c", type=int, help="Worker processes (default from settings).")
def up(concurrency: int | None) -> None:
    """Run everything on this machine: migrations, worker(s), sweep, intakes."""
    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    # The lock first: a second `up` says only who holds var/, and starts nothing.
    with _hold_instance_lock(settings):  # held until everything has stopped
        _refuse_unsafe_mail()
        _run_all(settings, concurrency)


def _run_all(settings: Settings, concurrency: int | None) -> None:
    from consultant.db.migrate import upgrade
    from consultant.supervise import start_child, stop_child
    from workers.app import declare_queue

    upgrade(settings)
    _ensure_icd10cm(settings)
    _check_port(settings.web_host, settings.web_port, "CONSULTANT_WEB_PORT")
    first_login = _ensure_admin(settings)
    if settings.broker_url.startswith(("sqla+", "sqlalchemy+")):
        declare_queue()  # and the SQL broker's tables, before any process races to
    controller = _start_intake(settings)
    workers = str(concurrency or settings.worker_concurrency)
    consultant = [sys.executable, "-m", "consultant"]
    children = {"worker": start_child([*consultant, "worker", "--beat", "-c", workers])}
    children["web"] = start_child([*consultant, "web"])
    if settings.mailboxes:
        children["poller"] = start_child([*consultant, "poll"])
    try:
        _print_welcome(settings, first_login)
        _wait_for_signal(children)
    finally:
        click.echo("shutting down…", err=True)
        controller.stop()
        for child in children.values():
            stop_child(child)
    click.echo("stopped", err=True)


def _hold_instance_lock(settings: Settings) -> Any:
    from consultant.instance import AlreadyRunning, hold_instance_lock

    try:
        return hold_instance_lock(settings.var_dir)
    except AlreadyRunning as error:
        raise click.ClickException(str(error)) from error


def _ensure_icd10cm(settings: Settings) -> None:
    """Load the ICD-10-CM tabular on first start; it ships with consultant (a few seconds)."""
    from consultant.codes.icd10cm import load_icd10cm
    from consultant.codes.releases import release_in_effect

    with session_scope(settings) as session:
        if release_in_effect(session, "icd10cm") is not None:
            return
        click.echo("loading the ICD-10-CM tabular (first start only)…", err=True)
        result = load_icd10cm(session)
    click.echo(f"ICD-10-CM {result.label}: {result.rows:,} entries loaded", err=True)


def _ensure_admin(settings: Settings) -> tuple[str, Path] | None:
    """On a fresh embedded setup, create the first admin; return (address, password file).

    The one-time password goes to a file only its owner can read, never to
    stdout (which service managers keep in their logs); the file is deleted
    when the password is used up or replaced.
    """
    from consultant.db.models import Reviewer
    from consultant.reviewers import add_reviewer, first_admin_address, write_first_password

    if not settings.embedded:
        return None
    with session_scope(settings) as session:
        if session.scalar(select(func.count()).select_from(Reviewer)):
            return None
        created = add_reviewer(session, first_admin_address(settings), role="admin")
        assert created.one_time_password is not None
        path = write_first_password(settings, created.one_time_password)
        return created.reviewer.email, path


def _wait_for_signal(children: dict[str, Any] | None = None) -> None:
    """Block until SIGINT/SIGTERM (or a child process dies)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        for name, child in (children or {}).items():
            if child.poll() is not None:
                raise click.ClickException(f"{name} exited with status {child.returncode}")


# --- IMAP mailboxes -------------------------------------------------------------


def _mailboxes(settings: Settings, names: tuple[str, ...]) -> list[Any]:
    if not settings.mailboxes:
        raise click.ClickException(
            "no mailboxes configured: set CONSULTANT_MAILBOXES_FILE "
            "(see config/mailboxes.example.yaml)"
        )
    known = {mailbox.name: mailbox for mailbox in settings.mailboxes}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.ClickException(
            f"no mailbox named {', '.join(unknown)}; configured: {', '.join(known)}"
        )
    return [known[name] for name in names] if names else list(known.values())


@main.command()
@click.argument("names", nargs=-1)
def poll(names: tuple[str, ...]) -> None:
    """Watch the configured IMAP mailboxes (or only NAMES) until interrupted."""
    from consultant.pipeline.intake.imap import MailboxPoller
    from workers.tasks import enqueue_process_many

    settings = _settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    stop = threading.Event()
    pollers = [
        threading.Thread(
            target=MailboxPoller(settings, mailbox, enqueue_process_many, stop).run,
            name=f"poll-{mailbox.name}",
        )
        for mailbox in _mailboxes(settings, names)
    ]
    for thread in pollers:
        thread.start()
    click.echo(f"polling {len(pollers)} mailbox(es); Ctrl-C to stop")
    try:
        _wait_for_signal()
    finally:
        stop.set()  # Each poller finishes the batch in hand, then logs out.
        for thread in pollers:
            thread.join()


@main.group()
def mailboxes() -> None:
    """The IMAP mailboxes the poller watches."""


@mailboxes.command("check")
@click.argument("names", nargs=-1)
def mailboxes_check(names: tuple[str, ...]) -> None:
    """Connect to each mailbox and show what the poller would see; change nothing."""
    from consultant.pipeline.intake.mailbox import check_mailbox

    settings = _settings()
    failed = 0
    for mailbox in _mailboxes(settings, names):
        where = f"{mailbox.host}:{mailbox.imap_port} ({mailbox.security})"
        click.echo(f"{mailbox.name}: {mailbox.username} at {where}, folder {mailbox.folder!r}")
        try:
            report = check_mailbox(settings, mailbox)
        except Exception as error:  # Setup errors of every kind: say which, go on.
            failed += 1
            click.echo(f"  FAILED: {_describe(error)}")
            continue
        _echo_report(report)
        failed += bool(report.problems)
    if failed:
        raise click.ClickException(f"{failed} mailbox(es) failed the check")


def _describe(error: Exception) -> str:
    import ssl

    from imapclient.exceptions import LoginError

    if isinstance(error, LoginError):
        return f"login refused: {error}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"certificate not trusted: {error.verify_message} "
            "(set ca_file, or verify_certificate: false for a test server)"
        )
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError):
        return f"cannot connect: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def _echo_report(report: Any) -> None:
    click.echo(f"  capabilities  {' '.join(report.capabilities)}")
    click.echo(f"  UIDVALIDITY   {report.uidvalidity}")
    click.echo(f"  UIDNEXT       {report.uidnext}")
    click.echo(f"  messages      {report.messages}")
    checkpoint = report.checkpoint
    click.echo(
        "  checkpoint    "
        + (f"UID {checkpoint[1]} (UIDVALIDITY {checkpoint[0]})" if checkpoint else "none yet")
    )
    click.echo(f"  waiting       {report.waiting}")
    for note in report.notes:
        click.echo(f"  note: {note}")
    for problem in report.problems:
        click.echo(f"  PROBLEM: {problem}")


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
  consultant cases approve CC-… --edit answer.txt
Press Ctrl-C to stop.
""".rstrip(),
        err=False,
    )
    sys.stdout.flush()


@main.command()
@click.argument("question")
@click.option("--sender", "from_", default="coder@example.org", show_default=True)
@click.option("--subject", default="Coding question", show_default=True)
def ask(question: str, from_: str, subject: str) -> None:
    """Mail QUESTION to the running SMTP intake, as a user would."""
    from consultant.mailer import headers

    settings = _settings()
    try:  # Through the header module like every header we write: one line, a plain address.
        from_, subject = headers.addr_spec(from_), headers.clean(subject)
    except headers.HeaderError as error:
        raise click.ClickException(str(error)) from error
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = from_, settings.consult_addresses[0], subject
    msg["Message-ID"] = make_msgid(domain=from_.rpartition("@")[2] or "localhost")
    msg.set_content(question)
    host = "127.0.0.1" if settings.smtp_host in ("0.0.0.0", "") else settings.smtp_host
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=30) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as error:
        raise click.ClickException(
            f"could not hand the question to {host}:{settings.smtp_port}: {error}"
        ) from error
    click.echo(f"sent {msg['Message-ID']}")


# --- extraction -----------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
@click.option(
    "--context-only",
    is_flag=True,
    help="Decide from the words around each code only, not from the loaded code sets.",
)
def extract(files: tuple[str, ...], as_json: bool, context_only: bool) -> None:
    """Print the code references found in each mail FILE (.eml).

    With --json each line is {"file", "codes": [{"code", "system", "as_written",
    "start", "end", "quoted", "part", "range", "units"}]}; start/end index the
    part ("subject" or "body") the code was found in. A file that cannot be read
    or parsed gets {"file", "error"} and the exit status is 1.
    """
    from dataclasses import asdict

    from consultant.codes.systems import NO_VOCABULARY
    from consultant.errors import Quarantine
    from consultant.pipeline.extract import extract_message
    from consultant.pipeline.parse import parse

    vocabulary = NO_VOCABULARY if context_only else _vocabulary(_settings())
    failed = False
    for name in files:
        try:
            with open(name, "rb") as handle:
                refs = extract_message(parse(handle.read()), vocabulary)
        except (OSError, Quarantine) as error:
            failed = True
            reason = error.strerror if isinstance(error, OSError) else str(error)
            if as_json:
                click.echo(json.dumps({"file": name, "error": reason}))
            else:
                click.echo(f"{name}: {reason}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({"file": name, "codes": [asdict(ref) for ref in refs]}))
            continue
        click.echo(f"{name}: {len(refs)} code{'s' if len(refs) != 1 else ''}")
        for ref in refs:
            notes = [ref.part] if ref.part != "body" else []
            notes += ["quoted"] * ref.quoted
            notes += [f"range {ref.range}"] if ref.range else []
            notes += [f"{ref.units} units"] if ref.units else []
            extra = f" ({', '.join(notes)})" if notes else ""
            click.echo(f"  {ref.code:<9} {ref.system:<9} as {ref.as_written!r}{extra}")
    if failed:
        sys.exit(1)


def _vocabulary(settings: Settings) -> Any:
    """The loaded code sets, or no vocabulary when there is no database to read yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from consultant.codes.systems import NO_VOCABULARY
    from consultant.codes.vocabulary import current_vocabulary

    if settings.embedded and not settings.database_url.startswith("sqlite:///:memory:"):
        path = settings.database_url.removeprefix("sqlite:///")
        if not os.path.exists(path):
            return NO_VOCABULARY
    try:
        with session_scope(settings) as session:
            return current_vocabulary(session)
    except SQLAlchemyError as error:
        click.echo(f"code sets not read ({type(error).__name__}); using context only", err=True)
        return NO_VOCABULARY


# --- review -------------------------------------------------------------------


@main.group()
def cases() -> None:
    """List, show, approve, reject and erase cases."""


_reviewer = actor


@cases.command("list")
@click.option("--state", help="Only cases in this state (drafted, approved, sent, …).")
@click.option("--limit", default=50, show_default=True)
def cases_list(state: str | None, limit: int) -> None:
    """List cases, oldest first."""
    from consultant.pipeline.review import list_cases

    with session_scope(_settings()) as session:
        rows = list_cases(session, state, limit)
        counts: dict[int, int] = {
            case_id: count
            for case_id, count in session.execute(
                select(CaseCode.case_id, func.count())
                .where(CaseCode.case_id.in_([c.id for c in rows]))
                .group_by(CaseCode.case_id)
            )
        }
    if not rows:
        click.echo("no cases")
        return
    click.echo(f"{'REF':<16} {'STATE':<16} {'RECEIVED':<17} {'CODES':>5}  {'SENDER':<30} SUBJECT")
    for c in rows:
        click.echo(
            f"{c.ref or '':<16} {c.state:<16} {c.created_at:%Y-%m-%d %H:%M}  "
            f"{counts.get(c.id, 0):>5}  {c.sender[:30]:<30} {c.subject[:60]}"
        )


@cases.command("show")
@click.argument("ref")
def cases_show(ref: str) -> None:
    """Show a case: sender, state, codes found, and the current draft."""
    from consultant.pipeline.review import view_case

    with session_scope(_settings()) as session:
        try:
            view = view_case(session, ref)
        except ReviewError as error:
            raise click.ClickException(str(error)) from error
        _echo_case(view)


def _echo_case(view: Any) -> None:
    case = view.case
    click.echo(f"{case.ref}  [{case.state}]{'  ' + case.state_reason if case.state_reason else ''}")
    click.echo(f"From:     {case.sender_name} <{case.sender}>")
    click.echo(f"Subject:  {case.subject}")
    click.echo(f"Received: {case.created_at:%Y-%m-%d %H:%M} UTC; messages: {len(view.inbound)}")
    click.echo(
        "Codes:    "
        + (
            ", ".join(f"{c.code} ({c.system}{', quoted' if c.quoted else ''})" for c in view.codes)
            or "none found"
        )
    )
    for out in view.outbound:
        click.echo(
            f"Outbound: {out.rfc_message_id} {out.state} attempts={out.attempts}"
            + (f" last error: {out.last_error}" if out.last_error else "")
        )
    if view.draft is not None:
        d = view.draft
        click.echo(f"\n--- draft v{d.version} by {d.author} ---\nSubject: {d.subject}\n")
        click.echo(d.body_text)


@cases.command("approve")
@click.argument("ref")
@click.option(
    "--edit",
    "edit_file",
    type=click.File("r", encoding="utf-8"),
    help="Replace the draft text with this file's content (- for standard input).",
)
@click.option("--subject", help="Replace the draft's subject.")
@click.option("--as", "reviewer", help="Reviewer address (default: $CONSULTANT_REVIEWER).")
@click.option(
    "--take-over", is_flag=True, help="Take the case over from the reviewer who claimed it."
)
def cases_approve(
    ref: str, edit_file: TextIO | None, subject: str | None, reviewer: str | None, take_over: bool
) -> None:
    """Approve the case's draft and queue the answer for delivery."""
    from consultant.pipeline.review import approve

    settings = _settings()
    text = edit_file.read() if edit_file else None
    if text is not None and not text.strip():
        raise click.ClickException("the edited answer is empty")
    try:
        with session_scope(settings) as session:
            outbound = approve(
                session, settings, ref, _reviewer(reviewer), text, subject, take_over=take_over
            )
            outbound_id, message_id = outbound.id, outbound.rfc_message_id
    except ReviewError as error:
        raise click.ClickException(str(error)) from error
    try:
        _enqueuers()[1](outbound_id)
        queued = "queued for delivery"
    except Exception:  # The outbox row is committed; the sweep delivers it.
        queued = "stored; the broker is unreachable, the sweep will deliver it"
    click.echo(f"approved {ref.upper()}: answer {message_id} {queued}")


@cases.command("reject")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the case gets no answer (kept in the log).")
@click.option("--as", "reviewer", help="Reviewer address (default: $CONSULTANT_REVIEWER).")
@click.option(
    "--take-over", is_flag=True, help="Take the case over from the reviewer who claimed it."
)
def cases_reject(ref: str, reason: str, reviewer: str | None, take_over: bool) -> None:
    """Reject the case: no answer is sent."""
    from consultant.pipeline.review import reject

    try:
        with session_scope(_settings()) as session:
            reject(session, ref, _reviewer(reviewer), reason, take_over=take_over)
    except ReviewError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"rejected {ref.upper()}")


# --- inbound mail -------------------------------------------------------------


@main.group()
def inbound() -> None:
    """Stored mail: what was quarantined or failed, and why."""


@inbound.command("list")
@click.option("--state", help="stored, processed, ignored, quarantined or failed (default: all).")
@click.option("--limit", default=50, show_default=True)
def inbound_list(state: str | None, limit: int) -> None:
    """List stored mail, newest first, with the reason for any refusal."""
    from consultant.db.models import InboundMessage

    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if state:
        query = query.where(InboundMessage.state == state)
    with session_scope(_settings()) as session:
        rows = list(session.scalars(query))
    if not rows:
        click.echo("no stored mail")
        return
    click.echo(f"{'ID':>6}  {'STATE':<12} {'RECEIVED':<17} {'BYTES':>9}  {'SOURCE':<8} REASON")
    for row in rows:
        why = row.error or (f"{row.kind}: {row.note}" if row.note else row.kind) or ""
        reason = why.strip().splitlines()[-1:] or [""]
        click.echo(
            f"{row.id:>6}  {row.state:<12} {row.received_at:%Y-%m-%d %H:%M} "
            f"{row.size:>9}  {row.source:<8} {reason[0][:80]}"
        )


@inbound.command("retry")
@click.argument("inbound_id", type=int)
def inbound_retry(inbound_id: int) -> None:
    """Put a failed, quarantined or ignored mail back in line for processing.

    E.g. after registering a sender who was sent the invitation, or fixing a
    quota: the mail is processed again under the current rules.
    """
    from sqlalchemy import update

    from consultant.cases import audit
    from consultant.db.models import InboundMessage, InboundState

    with session_scope(_settings()) as session:
        moved = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == inbound_id,
                InboundMessage.state.in_(
                    [InboundState.FAILED, InboundState.QUARANTINED, InboundState.IGNORED]
                ),
            )
            .values(state=InboundState.STORED.value, enqueued_at=None, kind=None, note=None)
        ).rowcount  # type: ignore[attr-defined]
        if moved:
            audit(session, _reviewer(None), "inbound.retried", None, inbound_id=inbound_id)
    if not moved:
        raise click.ClickException(f"inbound {inbound_id} is not failed, quarantined or ignored")
    try:
        _enqueuers()[0](inbound_id)
        click.echo(f"inbound {inbound_id} queued for processing")
    except Exception:  # Stored again; the sweep enqueues it.
        click.echo(f"inbound {inbound_id} will be picked up by the sweep")


# --- accounts -----------------------------------------------------------------


@main.group()
def accounts() -> None:
    """Accounts, their addresses and plans, and the consults used this month."""


@contextmanager
def _accounts_session(settings: Settings) -> Iterator[Any]:
    """A session whose AccountError becomes a one-line message and exit status 1."""
    from consultant.accounts import AccountError

    try:
        with session_scope(settings) as session:
            yield session
    except AccountError as error:
        raise click.ClickException(str(error)) from error


def _quota(used: int, quota: int | None) -> str:
    return f"{used}/{'unlimited' if quota is None else quota}"


def _account_data(session: Any, settings: Settings, account: Any) -> dict[str, Any]:
    """What list and show print about one account, as JSON-ready data."""
    from consultant.accounts import AccountError, standing

    addresses = sorted(a.address for a in account.addresses)
    data: dict[str, Any] = {"id": account.id, "name": account.name, "plan": account.plan}
    quota: dict[str, Any]
    try:
        weighed = standing(session, settings, account, addresses[0] if addresses else "")
        quota = {"monthly_quota": weighed.plan.monthly_quota, "used": weighed.used}
        quota |= {"remaining": weighed.remaining, "exhausted": weighed.exhausted}
    except AccountError as error:  # A plan the file no longer defines: say so, go on.
        quota = {"monthly_quota": None, "used": None, "remaining": None, "problem": str(error)}
    return data | {"addresses": addresses, **quota, "created_at": account.created_at.isoformat()}


@accounts.command("add")
@click.argument("name")
@click.option("--address", "addresses", multiple=True, required=True, help="Repeatable.")
@click.option("--plan", help="Plan name (default: CONSULTANT_DEFAULT_PLAN).")
def accounts_add(name: str, addresses: tuple[str, ...], plan: str | None) -> None:
    """Create an account NAME that writes from the given addresses."""
    from consultant.accounts import create_account

    settings = _settings()
    with _accounts_session(settings) as session:
        account = create_account(session, settings, name, addresses, plan, _reviewer(None))
        line = (
            f"account {account.id} ({account.name}) created on plan {account.plan}: "
            + ", ".join(a.address for a in account.addresses)
        )
    click.echo(line)


@accounts.command("list")
@click.option("--plan", help="Only accounts on this plan.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def accounts_list(plan: str | None, as_json: bool) -> None:
    """List accounts with their plan and consults used this month."""
    from sqlalchemy.orm import selectinload

    from consultant.db.models import Account

    settings = _settings()
    query = select(Account).options(selectinload(Account.addresses)).order_by(Account.id)
    if plan:
        query = query.where(Account.plan == plan)
    with _accounts_session(settings) as session:
        rows = [_account_data(session, settings, a) for a in session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no accounts{f' on plan {plan}' if plan else ''}")
        return
    click.echo(f"{'ID':>6}  {'NAME':<30} {'PLAN':<12} {'MONTH':>13}  ADDRESSES")
    for row in rows:
        month = "?" if row["used"] is None else _quota(row["used"], row["monthly_quota"])
        click.echo(
            f"{row['id']:>6}  {row['name'][:30]:<30} {row['plan']:<12} {month:>13}  "
            + ", ".join(row["addresses"])
        )


@accounts.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def accounts_show(key: str, as_json: bool) -> None:
    """Show an account (KEY: its id or one of its addresses) and its newest cases."""
    from consultant.accounts import get_account
    from consultant.db.models import Case

    settings = _settings()
    with _accounts_session(settings) as session:
        account = get_account(session, key)
        data = _account_data(session, settings, account)
        newest = session.scalars(
            select(Case).where(Case.account_id == account.id).order_by(Case.id.desc()).limit(10)
        )
        data["cases"] = [
            {
                "ref": c.ref,
                "state": c.state,
                "subject": c.subject,
                "created_at": c.created_at.isoformat(),
            }
            for c in newest
        ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    _echo_account(data)


def _echo_account(data: dict[str, Any]) -> None:
    quota = data["monthly_quota"]
    click.echo(f"account {data['id']}: {data['name']}")
    click.echo(
        f"Plan:       {data['plan']} "
        f"({'unlimited' if quota is None else f'{quota} consults a month'})"
    )
    click.echo(f"Addresses:  {', '.join(data['addresses'])}")
    if data["used"] is None:
        click.echo(f"This month: ? ({data['problem']})")
    else:
        remaining = "unlimited" if data["remaining"] is None else data["remaining"]
        click.echo(f"This month: {data['used']} used, {remaining} remaining")
    click.echo("Cases:" + ("" if data["cases"] else "      none"))
    for case in data["cases"]:
        click.echo(f"  {case['ref'] or '':<16} {case['state']:<16} {case['subject'][:60]}")


@accounts.command("set-plan")
@click.argument("key")
@click.argument("plan")
def accounts_set_plan(key: str, plan: str) -> None:
    """Move the account KEY (id or address) to PLAN."""
    from consultant.accounts import get_account, set_plan

    settings = _settings()
    with _accounts_session(settings) as session:
        account = get_account(session, key)
        old = account.plan
        set_plan(session, settings, account, plan, _reviewer(None))
        who = f"account {account.id} ({account.name})"
    click.echo(f"{who}: plan {old} -> {plan}" if old != plan else f"{who} is on plan {plan}")


@accounts.command("add-address")
@click.argument("key")
@click.argument("address")
def accounts_add_address(key: str, address: str) -> None:
    """Let the account KEY (id or address) also write from ADDRESS."""
    from consultant.accounts import add_address, get_account

    with _accounts_session(_settings()) as session:
        account = get_account(session, key)
        row = add_address(session, account, address, _reviewer(None))
        line = f"account {account.id} ({account.name}): added {row.address}"
    click.echo(line)


# --- code sets ------------------------------------------------------------------

from consultant.codes.cli import codes  # noqa: E402  (its own module: a large command group)

main.add_command(codes)


# --- lookup -----------------------------------------------------------------------


@main.command("lookup")
@click.argument("codes", nargs=-1, required=True)
@click.option("--dos", help="Date of service, YYYY-MM-DD (default: today).")
@click.option("--units", multiple=True, metavar="CODE=N", help="Units stated for a code.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def lookup(codes: tuple[str, ...], dos: str | None, units: tuple[str, ...], as_json: bool) -> None:
    """Look up CODES on a date of service: facts, NCCI edits and findings, with sources."""
    from datetime import date

    from consultant.pipeline.lookup import look_up, parse_codes, render_text

    try:
        refs = parse_codes(codes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="CODES") from error
    try:
        on = date.fromisoformat(dos) if dos else date.today()
    except ValueError as error:
        raise click.BadParameter(f"{dos!r} is not YYYY-MM-DD", param_hint="--dos") from error
    stated: dict[str, int] = {}
    for given in units:
        code, _, number = given.partition("=")
        if not number.isdigit():
            raise click.BadParameter(f"{given!r} is not CODE=N", param_hint="--units")
        stated[code.strip().upper()] = int(number)
    with session_scope(_settings()) as session:
        report = look_up(session, refs, dos=on, units=stated, dos_basis="given" if dos else "today")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_text(report), nl=False)


# --- groups that live beside the code they drive ------------------------------------

from consultant.mailer.outbox_cli import outbox  # noqa: E402
from consultant.retention_cli import erase_command, purge_command  # noqa: E402
from consultant.reviewers_cli import reviewers  # noqa: E402

main.add_command(outbox)
main.add_command(reviewers)
main.add_command(purge_command)
cases.add_command(erase_command)
