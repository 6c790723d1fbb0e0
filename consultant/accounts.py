"""Accounts, plans and quota: who may ask how many questions a month.

Input: a session, the settings and an operator's request (create an account,
add an address, change a plan) or a sender to weigh. Output: accounts and
their addresses, written with an audit entry each, or a `Standing`: the plan,
the consults used this month and what remains. Nothing here commits; the
caller does. A consult counts against the quota when its answer is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from consultant.cases import audit
from consultant.codes.kinds import SETTING_NAMES
from consultant.db.base import utcnow
from consultant.db.models import Account, AccountAddress, Case, OutboundMessage, OutboundState
from consultant.errors import Refused
from consultant.settings import Settings

GUEST_PLAN = "guest"
PLAN_NAME = re.compile(r"[a-z0-9_-]{1,40}")
PLAN_KEYS = frozenset({"monthly_quota", "sla_hours", "description"})
MAX_ADDRESS = 320
MAX_NAME = 200


class AccountError(Refused):
    """An operator's request that cannot be done; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    monthly_quota: int | None  # None = unlimited
    description: str = ""
    sla_hours: float = 48.0  # a case should be answered within this many hours


DEFAULT_PLANS: dict[str, Plan] = {
    "guest": Plan("guest", 1, "Senders without an account", 72.0),
    "free": Plan("free", 5, "Registered, free of charge", 48.0),
    "paid": Plan("paid", None, "Subscription, unlimited consults", 24.0),
}


@dataclass(frozen=True, slots=True)
class Standing:
    plan: Plan
    used: int
    remaining: int | None  # None = unlimited

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


# --- plans --------------------------------------------------------------------

_plans_cache: dict[tuple[Path, int], dict[str, Plan]] = {}


def load_plans(settings: Settings) -> dict[str, Plan]:
    """Return the configured plans, checked against the settings that name them."""
    path = settings.plans_file
    plans = DEFAULT_PLANS if path is None else _read_plans_cached(path)
    source = "the built-in plans" if path is None else f"plans file {path}"
    if settings.default_plan not in plans:
        raise AccountError(
            f"CONSULTANT_DEFAULT_PLAN is {settings.default_plan!r}, "
            f"which {source} does not define (plans: {', '.join(plans)})"
        )
    if settings.unknown_sender == "guest" and GUEST_PLAN not in plans:
        raise AccountError(
            f"{source} defines no {GUEST_PLAN!r} plan, which CONSULTANT_UNKNOWN_SENDER=guest needs"
        )
    return dict(plans)


def _read_plans_cached(path: Path) -> dict[str, Plan]:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as error:
        raise AccountError(f"cannot read plans file {path}: {error.strerror}") from error
    key = (path.resolve(), mtime)
    if key not in _plans_cache:
        _plans_cache[key] = _read_plans(path)
    return _plans_cache[key]


def _read_plans(path: Path) -> dict[str, Plan]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AccountError(f"cannot read plans file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise AccountError(f"plans file {path} is not valid YAML{line}") from error
    entries = data.get("plans") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise AccountError(f"plans file {path} must hold a mapping of plans under 'plans:'")
    try:
        return {str(name): _plan(name, entry) for name, entry in entries.items()}
    except ValueError as error:
        raise AccountError(f"plans file {path}: {error}") from error


def _plan(name: Any, entry: Any) -> Plan:
    if not isinstance(name, str) or not PLAN_NAME.fullmatch(name):
        raise ValueError(f"plan name {name!r} is not 1-40 of a-z, 0-9, _ and -")
    entry = {} if entry is None else entry
    if not isinstance(entry, dict):
        raise ValueError(f"plan {name}: expected monthly_quota, sla_hours and description")
    unknown = sorted(str(key) for key in set(entry) - PLAN_KEYS)
    if unknown:
        raise ValueError(f"plan {name}: unknown setting {', '.join(unknown)}")
    quota = entry.get("monthly_quota")
    # bool is an int in Python; "monthly_quota: yes" is a mistake, not 1.
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        raise ValueError(
            f"plan {name}: monthly_quota must be a whole number >= 0, "
            f"or empty for unlimited (got {quota!r})"
        )
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError(f"plan {name}: description must be text")
    sla = entry.get("sla_hours", 48)
    if isinstance(sla, bool) or not isinstance(sla, int | float) or sla <= 0:
        raise ValueError(f"plan {name}: sla_hours must be a number of hours > 0 (got {sla!r})")
    return Plan(name, quota, description or "", float(sla))


def _require_plan(settings: Settings, name: str) -> Plan:
    plans = load_plans(settings)
    if name not in plans:
        raise AccountError(f"no plan named {name!r} (plans: {', '.join(plans)})")
    return plans[name]


# --- accounts and addresses ---------------------------------------------------


def normalize_address(address: str) -> str:
    """Return the address lower-cased, or raise AccountError saying what is wrong."""
    value = address.strip().lower()
    local, _, domain = value.partition("@")
    if value.count("@") != 1 or not local or not domain:
        raise AccountError(f"{address!r} is not an email address (one @ between two parts)")
    if any(char.isspace() for char in value):
        raise AccountError(f"{address!r} is not an email address (it contains a space)")
    if len(value) > MAX_ADDRESS:
        raise AccountError(f"{value[:40]}… is longer than {MAX_ADDRESS} characters")
    return value


def list_accounts(
    session: Session,
    *,
    plan: str | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Account]:
    """Accounts with their addresses loaded, by id, optionally of one plan."""
    query = select(Account).options(selectinload(Account.addresses))
    if plan:
        query = query.where(Account.plan == plan)
    query = query.order_by(Account.id.desc() if newest_first else Account.id).limit(limit)
    return list(session.scalars(query))


def accounts_per_plan(session: Session) -> dict[str, int]:
    """How many accounts are on each plan name (including names the plans file lost)."""
    counted = session.execute(select(Account.plan, func.count()).group_by(Account.plan))
    return {plan: number for plan, number in counted}


def newest_cases(session: Session, account: Account, limit: int) -> list[Case]:
    """The account's most recent cases, newest first."""
    query = select(Case).where(Case.account_id == account.id).order_by(Case.id.desc())
    return list(session.scalars(query.limit(limit)))


def find_account(session: Session, address: str) -> Account | None:
    """The account that owns `address` (any case), if any."""
    # Addresses are stored lower-cased, so plain equality finds any spelling
    # and uses the unique index (the intake asks this for every mail).
    return session.scalars(
        select(Account)
        .join(AccountAddress)
        .where(AccountAddress.address == address.strip().lower())
    ).one_or_none()


def get_account(session: Session, key: str) -> Account:
    """The account with this numeric id or address; AccountError if there is none."""
    key = key.strip()
    if key.isdigit():
        account = session.get(Account, int(key))
        if account is None:
            raise AccountError(f"no account {key}")
        return account
    account = find_account(session, key)
    if account is None:
        raise AccountError(f"no account with address {key}")
    return account


def _check_free(session: Session, address: str) -> None:
    owner = find_account(session, address)
    if owner is not None:
        raise AccountError(f"{address} already belongs to account {owner.id} ({owner.name})")


def create_account(
    session: Session,
    settings: Settings,
    name: str,
    addresses: Sequence[str],
    plan: str | None = None,
    actor: str = "cli",
) -> Account:
    """Create an account on `plan` (default: the settings' default plan) with its addresses."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise AccountError(f"the account name must be 1-{MAX_NAME} characters")
    # Everything is checked before anything is added, so a refusal writes nothing.
    wanted = list(dict.fromkeys(normalize_address(a) for a in addresses))
    if not wanted:
        raise AccountError("an account needs at least one address")
    for address in wanted:
        _check_free(session, address)
    chosen = _require_plan(settings, plan or settings.default_plan)
    account = Account(name=name, plan=chosen.name)
    account.addresses = [AccountAddress(address=address) for address in wanted]
    session.add(account)
    _flush(session, wanted)
    audit(
        session,
        actor,
        "account.created",
        None,
        account_id=account.id,
        name=name,
        plan=chosen.name,
        addresses=wanted,
    )
    return account


def add_address(
    session: Session, account: Account, address: str, actor: str = "cli"
) -> AccountAddress:
    """Give the account one more address it can write from."""
    address = normalize_address(address)
    _check_free(session, address)
    row = AccountAddress(account=account, address=address)
    session.add(row)
    _flush(session, [address])
    audit(session, actor, "account.address_added", None, account_id=account.id, address=address)
    return row


def _flush(session: Session, addresses: Sequence[str]) -> None:
    # Another process may have taken an address since we looked; the unique
    # constraint is the real guard, so its refusal becomes the operator's reason.
    try:
        session.flush()
    except IntegrityError as error:
        raise AccountError(
            f"{', '.join(addresses)} was just taken by another account; try again"
        ) from error


def set_plan(
    session: Session, settings: Settings, account: Account, plan: str, actor: str = "cli"
) -> None:
    """Move the account to `plan`; nothing happens when it is on that plan already."""
    chosen = _require_plan(settings, plan)
    if account.plan == chosen.name:
        return
    old, account.plan = account.plan, chosen.name
    session.flush()
    audit(
        session,
        actor,
        "account.plan_changed",
        None,
        account_id=account.id,
        old_plan=old,
        plan=chosen.name,
    )


def set_claim_setting(session: Session, account: Account, setting: str, actor: str = "cli") -> None:
    """Answer the account's questions for `setting` when a mail names none; "" (or
    "auto") goes back to practitioner unless the mail says otherwise."""
    chosen = None if setting in ("", "auto") else setting
    if chosen is not None and chosen not in SETTING_NAMES:
        raise AccountError(f"{setting!r} is not a claim setting: {', '.join(SETTING_NAMES)}")
    if account.claim_setting == chosen:
        return
    old, account.claim_setting = account.claim_setting, chosen
    session.flush()
    audit(
        session, actor, "account.setting_changed", None, account_id=account.id, old=old, new=chosen
    )


# --- quota --------------------------------------------------------------------


def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s month in UTC."""
    if now.tzinfo is None:
        raise ValueError("month_start needs a timezone-aware datetime")
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def consults_used(session: Session, *, account_id: int | None, sender: str, since: datetime) -> int:
    """Count the cases whose answer was sent since `since`: the account's, or the guest's."""
    query = (
        select(func.count(func.distinct(Case.id)))
        .join(OutboundMessage, OutboundMessage.case_id == Case.id)
        .where(
            OutboundMessage.kind == "answer",
            OutboundMessage.state == OutboundState.SENT.value,
            OutboundMessage.sent_at >= since,
        )
    )
    if account_id is not None:
        query = query.where(Case.account_id == account_id)
    else:
        query = query.where(Case.account_id.is_(None), Case.sender == sender.strip().lower())
    return session.scalar(query) or 0


def standing(
    session: Session,
    settings: Settings,
    account: Account | None,
    sender: str,
    now: datetime | None = None,
    *,
    count_unlimited: bool = True,
) -> Standing:
    """Weigh the sender's consults this month against the plan (a guest's is 'guest').

    With `count_unlimited` False, an unlimited plan's consults are not counted
    (`used` is 0): the intake only asks whether the quota is exhausted.
    """
    plans = load_plans(settings)
    name = account.plan if account is not None else GUEST_PLAN
    if name not in plans:
        who = f"account {account.id}" if account is not None else "a guest"
        raise AccountError(f"{who} is on plan {name!r}, which is not defined")
    plan = plans[name]
    if plan.monthly_quota is None and not count_unlimited:
        return Standing(plan, 0, None)
    used = consults_used(
        session,
        account_id=account.id if account is not None else None,
        sender=sender,
        since=month_start(now or utcnow()),
    )
    remaining = None if plan.monthly_quota is None else max(plan.monthly_quota - used, 0)
    return Standing(plan, used, remaining)
