"""`consultant accounts`: the accounts that may ask, their addresses and plans, at a terminal.

Input: an operator's command. Output: accounts created or changed through
consultant/accounts.py (which checks plans and addresses and writes the audit
entries), and lines or JSON with the consults used this month. An AccountError
is one line on stderr, exit status 1, and nothing changed.
"""

from __future__ import annotations

import json
from typing import Any

import click

from consultant.accounts import (
    AccountError,
    add_address,
    create_account,
    get_account,
    list_accounts,
    newest_cases,
    set_claim_setting,
    set_plan,
    standing,
)
from consultant.cli.common import actor, cli_session, cli_settings
from consultant.settings import Settings


@click.group()
def accounts() -> None:
    """Accounts, their addresses and plans, and the consults used this month."""


def _quota(used: int, quota: int | None) -> str:
    return f"{used}/{'unlimited' if quota is None else quota}"


def _account_data(session: Any, settings: Settings, account: Any) -> dict[str, Any]:
    """What list and show print about one account, as JSON-ready data."""
    addresses = sorted(a.address for a in account.addresses)
    data: dict[str, Any] = {"id": account.id, "name": account.name, "plan": account.plan}
    data["claim_setting"] = account.claim_setting  # None: read from each mail
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
    settings = cli_settings()
    with cli_session(settings) as session:
        account = create_account(session, settings, name, addresses, plan, actor())
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
    settings = cli_settings()
    with cli_session(settings) as session:
        rows = [_account_data(session, settings, a) for a in list_accounts(session, plan=plan)]
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
    settings = cli_settings()
    with cli_session(settings) as session:
        account = get_account(session, key)
        data = _account_data(session, settings, account)
        newest = newest_cases(session, account, 10)
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
    settings = cli_settings()
    with cli_session(settings) as session:
        account = get_account(session, key)
        old = account.plan
        set_plan(session, settings, account, plan, actor())
        who = f"account {account.id} ({account.name})"
    click.echo(f"{who}: plan {old} -> {plan}" if old != plan else f"{who} is on plan {plan}")


@accounts.command("set-setting")
@click.argument("key")
@click.argument("setting", type=click.Choice(["practitioner", "hospital", "dme", "auto"]))
def accounts_set_setting(key: str, setting: str) -> None:
    """Answer KEY's questions (id or address) for SETTING's NCCI edits and MUEs when a
    mail names no setting; auto goes back to reading each mail (else practitioner)."""
    settings = cli_settings()
    with cli_session(settings) as session:
        account = get_account(session, key)
        set_claim_setting(session, account, setting, actor())
        who = f"account {account.id} ({account.name})"
    click.echo(f"{who}: claim setting {setting}")


@accounts.command("add-address")
@click.argument("key")
@click.argument("address")
def accounts_add_address(key: str, address: str) -> None:
    """Let the account KEY (id or address) also write from ADDRESS."""
    with cli_session(cli_settings()) as session:
        account = get_account(session, key)
        row = add_address(session, account, address, actor())
        line = f"account {account.id} ({account.name}): added {row.address}"
    click.echo(line)
