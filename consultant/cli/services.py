"""`consultant intake|poll|worker|beat|web|sweep`: the long-running processes, one each.

Input: the settings. Output: a running service until SIGINT/SIGTERM (or one
sweep). The processes that write mail refuse to start on a Python whose
header encoding could be injected (CVE-2024-6923). Each service's own
library (aiosmtpd, imapclient, Celery, uvicorn and FastAPI) is imported by
the command that runs it, so `consultant --help` and the quick commands do
not pay for them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from consultant.cli.common import cli_settings, enqueuers
from consultant.cli.mailboxes import configured_mailboxes
from consultant.logs import setup_logging
from consultant.settings import Settings


def refuse_unsafe_mail() -> None:
    """Stop a process that writes mail when this Python could inject headers (CVE-2024-6923)
    and our own header encoding fails its self-test."""
    # On use: the guard loads the mail composer and charset_normalizer.
    from consultant.mailer.guard import UnsafeMailEncoding, check_mail_encoding

    try:
        check_mail_encoding()
    except UnsafeMailEncoding as error:
        raise click.ClickException(str(error)) from error


@click.command()
def intake() -> None:
    """Run the SMTP intake until interrupted."""
    settings = cli_settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    refuse_unsafe_mail()
    controller = start_intake(settings)
    click.echo(f"SMTP intake listening on {settings.smtp_host}:{settings.smtp_port}")
    wait_for_signal()
    controller.stop()


def start_intake(settings: Settings) -> Any:
    """Start the SMTP intake in its own thread; a port in use is a one-line error."""
    # On use: aiosmtpd, and Celery behind the enqueue functions.
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


@click.command()
@click.option("--concurrency", "-c", type=int, help="Worker processes (default from settings).")
@click.option("--beat", is_flag=True, help="Also run the sweep schedule in this worker.")
def worker(concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker for the pipeline tasks."""
    from workers.app import app  # Celery, on use

    settings = cli_settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    refuse_unsafe_mail()
    app.worker_main(_worker_argv(settings, concurrency, beat))


@click.command()
@click.option("--host", help="Address to listen on (default: CONSULTANT_WEB_HOST).")
@click.option("--port", type=int, help="Port (default: CONSULTANT_WEB_PORT).")
def web(host: str | None, port: int | None) -> None:
    """Run the reviewer console (pages and JSON API) until interrupted."""
    # On use: uvicorn and FastAPI (about 0.2 s).
    import uvicorn

    from consultant.web.app import create_app
    from consultant.web.server import server_limits

    settings = cli_settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    refuse_unsafe_mail()
    host, port = host or settings.web_host, port or settings.web_port
    check_port(host, port, "CONSULTANT_WEB_PORT")
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


def check_port(host: str, port: int, variable: str) -> None:
    """Fail with a clear message now, rather than from inside the server, if the port is taken."""
    from consultant.preflight import bind_problem

    problem = bind_problem(host, port)
    if problem:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {problem}; choose another port with {variable}"
        )


@click.command()
def beat() -> None:
    """Run Celery beat, which schedules the sweep."""
    from workers.app import app  # Celery, on use

    settings = cli_settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    app.start(["beat", "--loglevel", settings.log_level])


@click.command("sweep")
def sweep_once() -> None:
    """Re-enqueue stored mail and outbox rows whose task never ran, once."""
    # On use: workers/ imports consultant/, and consultant/ reaches workers/
    # only when a command runs (the sweep needs Celery's enqueue functions).
    from workers.sweep import sweep

    counts = sweep(cli_settings(), *enqueuers())
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


@click.command()
@click.argument("names", nargs=-1)
def poll(names: tuple[str, ...]) -> None:
    """Watch the configured IMAP mailboxes (or only NAMES) until interrupted."""
    # On use: imapclient, and Celery behind the enqueue function.
    from consultant.pipeline.intake.imap import MailboxPoller
    from workers.tasks import enqueue_process_many

    settings = cli_settings()
    setup_logging(settings.log_level, settings.logging_config, settings.log_format)
    stop = threading.Event()
    pollers = [
        threading.Thread(
            target=MailboxPoller(settings, mailbox, enqueue_process_many, stop).run,
            name=f"poll-{mailbox.name}",
        )
        for mailbox in configured_mailboxes(settings, names)
    ]
    for thread in pollers:
        thread.start()
    click.echo(f"polling {len(pollers)} mailbox(es); Ctrl-C to stop")
    try:
        wait_for_signal()
    finally:
        stop.set()  # Each poller finishes the batch in hand, then logs out.
        for thread in pollers:
            thread.join()


def wait_for_signal(tick: Callable[[], None] | None = None) -> None:
    """Block until SIGINT/SIGTERM, calling `tick` about once a second meanwhile."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        if tick is not None:
            tick()
