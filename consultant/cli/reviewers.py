"""`consultant reviewers`: the console's logins, as an operator manages them at a terminal.

Input: an operator's command. Output: reviewers added or changed through
consultant/reviewers.py (which writes the audit entries, with the operator
"cli:<user>" as actor) and lines for people. A password the command makes up
is printed once and never stored; it works for one login, which must choose
a new password. `--password-stdin` reads one line instead (the reviewer's
own password, not one-time), so a password never sits in the shell history
or the process list. `unlock` forgets failed logins counted against an address.
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import click
from sqlalchemy.orm import Session

from consultant.cli.common import actor, cli_session, cli_settings
from consultant.db.models import Reviewer
from consultant.reviewers import (
    ROLES,
    ReviewerError,
    add_reviewer,
    find_reviewer,
    forget_first_password,
    list_reviewers,
    set_password,
    update_reviewer,
)
from consultant.web.auth import unlock

PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


def _session() -> AbstractContextManager[Session]:
    """A session whose ReviewerError becomes a one-line message and exit status 1."""
    return cli_session(cli_settings())


def _find(session: Session, email: str) -> Reviewer:
    reviewer = find_reviewer(session, email)
    if reviewer is None:
        raise ReviewerError(f"no reviewer {email.strip().lower()}")
    return reviewer


def _read_password(from_stdin: bool) -> str | None:
    """The line on stdin with --password-stdin; None: make a one-time password up."""
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("--password-stdin: stdin held no password")
    return password


@click.group()
def reviewers() -> None:
    """The reviewers who log in to the console: add, list, passwords, roles."""


@reviewers.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="reviewer", show_default=True)
@click.option("--name", default="", help="Their name, as the console shows it.")
@PASSWORD_STDIN
def reviewers_add(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Add a reviewer EMAIL; without --password-stdin a one-time password is printed once."""
    password = _read_password(password_stdin)
    with _session() as session:
        created = add_reviewer(
            session, email, role=role, name=name, password=password, actor=actor()
        )
        address = created.reviewer.email
    click.echo(f"reviewer {address} added as {role}")
    if created.one_time_password:
        click.echo(f"one-time password for {address}: {created.one_time_password}")


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _data(reviewer: Reviewer) -> dict[str, Any]:
    return {
        "id": reviewer.id,
        "email": reviewer.email,
        "name": reviewer.name,
        "role": reviewer.role,
        "active": reviewer.active,
        "last_login_at": _when(reviewer.last_login_at),
        "created_at": _when(reviewer.created_at),
    }


@reviewers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def reviewers_list(as_json: bool) -> None:
    """List reviewers with their role, whether they may log in, and their last login."""
    with _session() as session:
        rows = [_data(r) for r in list_reviewers(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no reviewers")
        return
    click.echo(f"{'EMAIL':<32} {'ROLE':<9} {'ACTIVE':<7} {'LAST LOGIN':<25} NAME")
    for row in rows:
        active = "yes" if row["active"] else "no"
        last = row["last_login_at"] or "never"
        click.echo(f"{row['email']:<32} {row['role']:<9} {active:<7} {last:<25} {row['name']}")


@reviewers.command("set-password")
@click.argument("email")
@PASSWORD_STDIN
def reviewers_set_password(email: str, password_stdin: bool) -> None:
    """Replace EMAIL's password (one-time, printed once, unless --password-stdin)."""
    password = _read_password(password_stdin)
    with _session() as session:
        reviewer = _find(session, email)
        one_time = set_password(session, reviewer, password, actor())
        address = reviewer.email
    forget_first_password(cli_settings(), address)
    if one_time:
        click.echo(f"one-time password for {address}: {one_time}")
    click.echo(f"password of {address} replaced; their console sessions are ended")


@reviewers.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
def reviewers_set_role(email: str, role: str) -> None:
    """Make EMAIL a reviewer or an admin (the last active admin stays one)."""
    with _session() as session:
        reviewer = _find(session, email)
        old = reviewer.role
        update_reviewer(session, reviewer, actor(), role=role)
        address = reviewer.email
    click.echo(f"{address}: role {old} -> {role}" if old != role else f"{address} is a {role}")


def _switch(email: str, active: bool) -> None:
    with _session() as session:
        reviewer = _find(session, email)
        update_reviewer(session, reviewer, actor(), active=active)
        address = reviewer.email
    click.echo(f"{address} enabled" if active else f"{address} disabled and logged out")


@reviewers.command("disable")
@click.argument("email")
def reviewers_disable(email: str) -> None:
    """Switch EMAIL's login off and end their sessions (never the last active admin)."""
    _switch(email, False)


@reviewers.command("enable")
@click.argument("email")
def reviewers_enable(email: str) -> None:
    """Let EMAIL log in again."""
    _switch(email, True)


@reviewers.command("unlock")
@click.argument("email")
@click.option("--client", help="Also forget this client address's failures (all addresses).")
def reviewers_unlock(email: str, client: str | None) -> None:
    """Let EMAIL log in again at once: forget the failed logins counted against it."""
    with _session() as session:
        removed = unlock(session, email, client)
    where = f" and client {client}" if client else ""
    click.echo(f"{email.strip().lower()}{where}: {removed} failed login(s) forgotten")
