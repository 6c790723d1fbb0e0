"""The `consultant` command: run the services, migrate, and review cases.

This is the shell around the pipeline: it reads settings, wires the Celery
enqueue functions into the intake and the review commands, and prints for
people. The rules live in consultant/pipeline. This module holds only the
group and its registrations; each command family has its own module here.
"""

from __future__ import annotations

from typing import Any

import click

from consultant.cli.accounts import accounts
from consultant.cli.answer import answer
from consultant.cli.audit import audit
from consultant.cli.backup import backup_command, restore_command
from consultant.cli.cases import cases
from consultant.cli.codes import codes
from consultant.cli.common import explain, print_traceback
from consultant.cli.db import db
from consultant.cli.extract import ask, extract, lookup
from consultant.cli.inbound import inbound
from consultant.cli.mailboxes import mailboxes
from consultant.cli.outbox import outbox
from consultant.cli.policies import policies
from consultant.cli.retention import erase_command, purge_command
from consultant.cli.reviewers import reviewers
from consultant.cli.services import beat, intake, poll, sweep_once, web, worker
from consultant.cli.up import up


class ConsultantGroup(click.Group):
    """The `consultant` group: every command runs inside `invoke`, so errors are caught once."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            if debug and error.__cause__ is not None:
                print_traceback(error.__cause__)
            raise
        except Exception as error:
            message = explain(error)
            if message is None:
                raise
            if debug:
                print_traceback(error)
            raise click.ClickException(message) from error


@click.group(cls=ConsultantGroup)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="consultant")
def main(debug: bool) -> None:
    """consultant: an email consult desk for medical coding."""


for command in [
    db,
    up,
    intake,
    poll,
    worker,
    beat,
    web,
    sweep_once,
    mailboxes,
    ask,
    extract,
    answer,
]:
    main.add_command(command)
for command in [
    answer,
    lookup,
    cases,
    inbound,
    outbox,
    audit,
    accounts,
    reviewers,
    codes,
    policies,
]:
    main.add_command(command)
main.add_command(purge_command)
main.add_command(backup_command)
main.add_command(restore_command)
cases.add_command(erase_command)
