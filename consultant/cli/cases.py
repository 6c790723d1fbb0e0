"""`consultant cases`: the review queue at a terminal (list, show, approve, reject).

Input: a reviewer's command. Output: lines for people; approve and reject go
through consultant/review/, which holds the rules and writes the
audit entries, and an approved answer is handed to a worker to send (or left
to the sweep when the broker is down). `cases erase` lives in retention.py.

Approve and reject act as a reviewer named by address (--as, else
$CONSULTANT_REVIEWER), who must be an active reviewer; the audit log names
that address. A case another reviewer claimed is refused unless --take-over.
`approve --edit FILE` replaces only the draft's answer part
(consultant/review/answer_part.py); `--whole` replaces the whole text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

from consultant.cli.common import (
    actor,
    cli_session,
    cli_settings,
    enqueue_send,
    reviewer_address,
)
from consultant.handoff import hand_over
from consultant.reviewers import acting_reviewer


@click.group()
def cases() -> None:
    """List, show, approve, reject and erase cases."""


@cases.command("list")
@click.option("--state", help="Only cases in this state (drafted, approved, sent, …).")
@click.option("--limit", default=50, show_default=True)
def cases_list(state: str | None, limit: int) -> None:
    """List cases, oldest first."""
    from consultant.review import code_counts, list_cases  # Jinja2 and lxml, on use

    with cli_session(cli_settings()) as session:
        rows = list_cases(session, state, limit)
        counts = code_counts(session, rows)
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
    from consultant.review import view_case  # Jinja2 and lxml, on use

    with cli_session(cli_settings()) as session:
        _echo_case(view_case(session, ref))


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


AS_REVIEWER = click.option(
    "--as",
    "reviewer",
    metavar="ADDRESS",
    help="The active reviewer acting (default: $CONSULTANT_REVIEWER; one is required).",
)
TAKE_OVER = click.option(
    "--take-over", is_flag=True, help="Take the case over from the reviewer who claimed it."
)


@cases.command("approve")
@click.argument("ref")
@click.option(
    "--edit",
    "edit_file",
    type=click.File("r", encoding="utf-8"),
    help="Replace the draft's answer part with this file's content (- for standard input); "
    "the greeting, what the answer cites, the disclaimer, the signature and the quoted "
    "question stay.",
)
@click.option(
    "--whole", is_flag=True, help="With --edit: the file is the whole mail text, not the answer."
)
@click.option("--subject", help="Replace the draft's subject.")
@AS_REVIEWER
@TAKE_OVER
def cases_approve(
    ref: str,
    edit_file: TextIO | None,
    whole: bool,
    subject: str | None,
    reviewer: str | None,
    take_over: bool,
) -> None:
    """Approve the case's draft and queue the answer for delivery."""
    from consultant.review import approve  # Jinja2 and lxml, on use
    from consultant.review.answer_part import draft_with_answer

    settings = cli_settings()
    address = reviewer_address(reviewer)
    text = edit_file.read() if edit_file else None
    if text is not None and not text.strip():
        raise click.ClickException("the edited answer is empty")
    if whole and text is None:
        raise click.ClickException("--whole needs --edit FILE")
    with cli_session(settings) as session:
        who = acting_reviewer(session, address)
        base = None
        if text is not None and not whole:
            with _whole_hint():
                edited = draft_with_answer(session, settings, ref, text)
            text, base = edited.text, edited.base_version
        outbound = approve(session, settings, ref, who, text, subject, base, take_over=take_over)
        outbound_id, message_id = outbound.id, outbound.rfc_message_id
    if hand_over(enqueue_send, outbound_id, "outbound"):
        queued = "queued for delivery"
    else:
        queued = "stored; the broker is unreachable, the sweep will deliver it"
    click.echo(f"approved {ref.upper()}: answer {message_id} {queued}")


@contextmanager
def _whole_hint() -> Iterator[None]:
    """A draft without a recognisable answer part: say how to replace it all on purpose."""
    from consultant.review.answer_part import AnswerPartMissing

    try:
        yield
    except AnswerPartMissing as error:
        raise click.ClickException(
            f"{error}; nothing was approved. Give --whole with --edit to replace the "
            "whole mail text with the file (greeting, signature and quote included)"
        ) from error


@cases.command("reject")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the case gets no answer (kept in the log).")
@AS_REVIEWER
@TAKE_OVER
def cases_reject(ref: str, reason: str, reviewer: str | None, take_over: bool) -> None:
    """Reject the case: no answer is sent."""
    from consultant.review import reject  # Jinja2 and lxml, on use

    address = reviewer_address(reviewer)
    with cli_session(cli_settings()) as session:
        reject(session, ref, acting_reviewer(session, address), reason, take_over=take_over)
    click.echo(f"rejected {ref.upper()}")


@cases.command("redraft")
@click.argument("ref")
@click.option("--as", "reviewer", help="Who asks (default: $CONSULTANT_REVIEWER).")
def cases_redraft(ref: str, reviewer: str | None) -> None:
    """Draft the case again with the code data loaded now (only the system's own draft)."""
    from consultant.review import redraft  # Jinja2 and lxml, on use

    settings = cli_settings()
    with cli_session(settings) as session:
        version = redraft(session, settings, ref, actor(reviewer)).version
    click.echo(f"redrafted {ref.upper()}: draft version {version}")
