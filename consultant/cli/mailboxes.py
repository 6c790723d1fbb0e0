"""`consultant mailboxes check`: what the IMAP poller would see, changing nothing.

Input: the mailboxes configured in CONSULTANT_MAILBOXES_FILE (all, or those
named). Output: for each, its capabilities, UIDVALIDITY, counts and our
checkpoint, or why it cannot be reached; exit status 1 if any failed.
"""

from __future__ import annotations

import ssl
from typing import Any

import click

from consultant.cli.common import cli_settings
from consultant.settings import Settings


def configured_mailboxes(settings: Settings, names: tuple[str, ...]) -> list[Any]:
    """The configured mailboxes called NAMES (all for none); unknown names are an error."""
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


@click.group()
def mailboxes() -> None:
    """The IMAP mailboxes the poller watches."""


@mailboxes.command("check")
@click.argument("names", nargs=-1)
def mailboxes_check(names: tuple[str, ...]) -> None:
    """Connect to each mailbox and show what the poller would see; change nothing."""
    from consultant.pipeline.intake.mailbox import check_mailbox  # imapclient, on use

    settings = cli_settings()
    failed = 0
    for mailbox in configured_mailboxes(settings, names):
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
    from imapclient.exceptions import LoginError  # imapclient, on use (a failed check)

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
