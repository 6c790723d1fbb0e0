"""`consultant ask|extract|lookup`: try the pipeline's pieces from a terminal.

`ask` mails a question to the running SMTP intake, as a user would; `extract`
prints the code references found in .eml files; `lookup` prints what the code
sets say about codes on a date of service. They read the database (or mail a
running intake) and change nothing else.
"""

from __future__ import annotations

import json
import os
import smtplib
import sys
from dataclasses import asdict
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from consultant.cli.common import cli_settings
from consultant.db.session import session_scope
from consultant.errors import Quarantine
from consultant.settings import Settings


@click.command()
@click.argument("question")
@click.option("--sender", "from_", default="coder@example.org", show_default=True)
@click.option("--subject", default="Coding question", show_default=True)
def ask(question: str, from_: str, subject: str) -> None:
    """Mail QUESTION to the running SMTP intake, as a user would."""
    # On use: the header module loads the MIME helpers and charset_normalizer.
    from consultant.mailer import headers

    settings = cli_settings()
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


@click.command()
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
    # On use: the parser loads lxml and inscriptis (about 50 ms).
    from consultant.codes.systems import NO_VOCABULARY
    from consultant.pipeline.extract import extract_message
    from consultant.pipeline.parse import parse

    vocabulary = NO_VOCABULARY if context_only else loaded_vocabulary(cli_settings())
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


def loaded_vocabulary(settings: Settings) -> Any:
    """The loaded code sets, or no vocabulary when there is no database to read yet."""
    # On use: the code systems' recognisers compile their patterns at import.
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


@click.command("lookup")
@click.argument("codes", nargs=-1, required=True)
@click.option("--dos", help="Date of service, YYYY-MM-DD (default: today).")
@click.option("--units", multiple=True, metavar="CODE=N", help="Units stated for a code.")
@click.option(
    "--setting",
    type=click.Choice(["practitioner", "hospital", "dme"]),
    default="practitioner",
    show_default=True,
    help="Whose NCCI edits and MUEs: hospital outpatient or DME supplier ones where loaded.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def lookup(
    codes: tuple[str, ...], dos: str | None, units: tuple[str, ...], setting: str, as_json: bool
) -> None:
    """Look up CODES on a date of service: facts, NCCI edits and findings, with sources."""
    # On use: the lookup loads every code table's fact readers (about 30 ms).
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
    with session_scope(cli_settings()) as session:
        basis = "given" if dos else "today"
        report = look_up(session, refs, dos=on, units=stated, dos_basis=basis, setting=setting)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_text(report), nl=False)
