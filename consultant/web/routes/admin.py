"""Admin pages (reviewers, accounts, plans) and the audit log and outbox pages.

Input: a reviewer's GET (the audit log and the outbox are for every
reviewer) or an admin's form. Output: pages. Changes go through
consultant/reviewers.py and consultant/accounts.py, which write the audit
entries; these routes commit them and turn refusals into messages. The audit
log is read-only here: no route changes or deletes an entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from consultant.accounts import (
    AccountError,
    accounts_per_plan,
    add_address,
    create_account,
    list_accounts,
    load_plans,
    set_claim_setting,
    set_plan,
    standing,
)
from consultant.codes.kinds import SETTING_NAMES
from consultant.db.models import (
    Account,
    OutboundState,
    Reviewer,
)
from consultant.errors import NotFound
from consultant.review.listings import AuditRecord, audit_records, outbox_rows
from consultant.reviewers import (
    ROLES,
    ReviewerError,
    add_reviewer,
    list_reviewers,
    set_password,
    update_reviewer,
)
from consultant.settings import Settings
from consultant.web.deps import DB, PageAdmin, PageLogin, SettingsDep
from consultant.web.refusals import status_of
from consultant.web.routes.pages import back, render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 100
OUTBOX_LIMIT = 200
OUTBOX_STATES = [state.value for state in OutboundState]
# Long enough that the domain modules, not a 422, explain what is wrong with a value.
Field = Annotated[str, Form(max_length=2000)]
Many = Annotated[str, Form(max_length=50_000)]
Filter = Annotated[str, Query(max_length=320)]
SEPARATORS = re.compile(r"[,;\s]+")


# --- the audit log ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry as the page shows it: a draft edit's diff apart, the rest as key: value."""

    entry: AuditRecord
    ref: str | None
    diff: str | None
    fields: list[tuple[str, str]]


def _readable(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _audit_row(record: AuditRecord) -> AuditRow:
    detail = dict(record.detail)
    diff = detail.pop("diff") if isinstance(detail.get("diff"), str) else None
    fields = [(str(key), _readable(value)) for key, value in detail.items() if value is not None]
    return AuditRow(record, record.ref, diff, fields)


@router.get("/audit")
def audit_log(
    request: Request,
    login: PageLogin,
    session: DB,
    case: Filter = "",
    actor: Filter = "",
    action: Filter = "",
    before: int | None = None,
) -> Response:
    filters = {"case": case.strip().upper(), "actor": actor.strip(), "action": action.strip()}
    context: dict[str, Any] = {"filters": filters, "before": before, "notice": "", "older": None}
    try:
        found = audit_records(
            session,
            case=filters["case"],
            actor=filters["actor"],
            action=filters["action"],
            before=before,
            limit=AUDIT_PAGE + 1,
        )
    except NotFound:
        error = f"There is no case {filters['case']}."
        return render(request, "audit.html.j2", 404, rows=[], error=error, **context)
    rows = [_audit_row(record) for record in found[:AUDIT_PAGE]]
    if len(found) > AUDIT_PAGE:
        context["older"] = rows[-1].entry.id
    return render(request, "audit.html.j2", rows=rows, error="", **context)


# --- the outbox ---------------------------------------------------------------


@router.get("/outbox")
def outbox(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    state: Filter = "",
    case: Filter = "",
) -> Response:
    case = case.strip().upper()
    context: dict[str, Any] = {"states": OUTBOX_STATES, "state": state, "case": case}
    context |= {"limit": OUTBOX_LIMIT, "notice": ""}
    context["folder"] = settings.outbox_path() if settings.relay_host is None else None
    try:
        rows = outbox_rows(session, state=state or None, case=case, limit=OUTBOX_LIMIT)
    except NotFound:
        error = f"There is no case {case}."
        return render(request, "outbox.html.j2", 404, rows=[], error=error, **context)
    return render(request, "outbox.html.j2", rows=rows, error="", **context)


# --- reviewers (admins only) --------------------------------------------------


def _reviewers_page(
    request: Request, session: Session, status: int = 200, **extra: Any
) -> Response:
    reviewers = list_reviewers(session)
    context: dict[str, Any] = {"notice": "", "error": "", "one_time": None, "form": {}}
    context |= extra
    return render(
        request, "admin_reviewers.html.j2", status, reviewers=reviewers, roles=ROLES, **context
    )


def _reviewer(session: Session, reviewer_id: int) -> Reviewer:
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None:
        raise HTTPException(404, f"there is no reviewer {reviewer_id}")
    return reviewer


def _switch(value: str) -> bool | None:
    """The form's on/off; empty leaves the login as it is."""
    if value not in ("", "on", "off"):
        raise ReviewerError(f"active must be on or off, not {value[:20]!r}")
    return None if not value else value == "on"


@router.get("/admin/reviewers")
def reviewers_page(request: Request, login: PageAdmin, session: DB, notice: str = "") -> Response:
    return _reviewers_page(request, session, notice=notice)


@router.post("/admin/reviewers")
def reviewer_add(
    request: Request,
    login: PageAdmin,
    session: DB,
    email: Field = "",
    name: Field = "",
    role: Field = "reviewer",
) -> Response:
    """Add a reviewer; the one-time password is in this response and nowhere else."""
    try:
        created = add_reviewer(session, email, role=role, name=name[:200], actor=login.email)
    except ReviewerError as error:
        session.rollback()
        form = {"email": email, "name": name, "role": role}
        return _reviewers_page(request, session, status_of(error), error=str(error), form=form)
    session.commit()
    address = created.reviewer.email
    one_time = (address, created.one_time_password)
    return _reviewers_page(request, session, 201, one_time=one_time, notice=f"{address} added.")


@router.post("/admin/reviewers/{reviewer_id}")
def reviewer_change(
    request: Request,
    login: PageAdmin,
    session: DB,
    reviewer_id: int,
    role: Field = "",
    active: Field = "",
) -> Response:
    reviewer = _reviewer(session, reviewer_id)
    try:
        update_reviewer(session, reviewer, login.email, role=role or None, active=_switch(active))
    except ReviewerError as error:
        session.rollback()
        return _reviewers_page(
            request, session, status_of(error), error=f"{reviewer.email}: {error}"
        )
    session.commit()
    state = "active" if reviewer.active else "disabled (logged out everywhere)"
    return back("/admin/reviewers", f"{reviewer.email}: {reviewer.role}, {state}.")


@router.post("/admin/reviewers/{reviewer_id}/password")
def reviewer_password(
    request: Request, login: PageAdmin, session: DB, reviewer_id: int
) -> Response:
    """Replace the reviewer's password by a one-time one, shown in this response only."""
    reviewer = _reviewer(session, reviewer_id)
    one_time = set_password(session, reviewer, None, login.email)
    session.commit()
    notice = f"{reviewer.email} has a new password and was logged out everywhere."
    return _reviewers_page(request, session, one_time=(reviewer.email, one_time), notice=notice)


# --- accounts (admins only) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account with this month's consults weighed against its plan."""

    account: Account
    addresses: list[str]
    used: int | None  # None: the plan is not defined (problem says so)
    quota: int | None
    remaining: int | None
    problem: str = ""


def _account_row(session: Session, settings: Settings, account: Account) -> AccountRow:
    addresses = sorted(row.address for row in account.addresses)
    try:
        weighed = standing(session, settings, account, addresses[0] if addresses else "")
    except AccountError as error:  # a plan the file no longer defines: say so, go on
        return AccountRow(account, addresses, None, None, None, str(error))
    quota = weighed.plan.monthly_quota
    return AccountRow(account, addresses, weighed.used, quota, weighed.remaining)


def _accounts_page(
    request: Request, session: Session, settings: Settings, status: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {"notice": "", "error": "", "form": {}} | extra
    try:
        plans = list(load_plans(settings))
    except AccountError as error:
        plans, context["error"] = [], context["error"] or str(error)
    rows = [_account_row(session, settings, account) for account in list_accounts(session)]
    return render(
        request,
        "admin_accounts.html.j2",
        status,
        rows=rows,
        plans=plans,
        default_plan=settings.default_plan,
        **context,
    )


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise HTTPException(404, f"there is no account {account_id}")
    return account


def _account_refused(
    request: Request, session: Session, settings: Settings, error: AccountError, **extra: Any
) -> Response:
    session.rollback()
    return _accounts_page(request, session, settings, status_of(error), error=str(error), **extra)


@router.get("/admin/accounts")
def accounts_page(
    request: Request, login: PageAdmin, session: DB, settings: SettingsDep, notice: str = ""
) -> Response:
    return _accounts_page(request, session, settings, notice=notice)


@router.post("/admin/accounts")
def account_create(
    request: Request,
    login: PageAdmin,
    session: DB,
    settings: SettingsDep,
    name: Field = "",
    addresses: Many = "",
    plan: Field = "",
) -> Response:
    wanted = [address for address in SEPARATORS.split(addresses) if address]
    try:
        account = create_account(session, settings, name, wanted, plan or None, login.email)
    except AccountError as error:
        form = {"name": name, "addresses": addresses, "plan": plan}
        return _account_refused(request, session, settings, error, form=form)
    session.commit()
    notice = f"Account {account.id} ({account.name}) created on plan {account.plan}."
    return back("/admin/accounts", notice)


@router.post("/admin/accounts/{account_id}/plan")
def account_plan(
    request: Request,
    login: PageAdmin,
    session: DB,
    settings: SettingsDep,
    account_id: int,
    plan: Field = "",
) -> Response:
    account = _account(session, account_id)
    old = account.plan
    try:
        set_plan(session, settings, account, plan, login.email)
    except AccountError as error:
        return _account_refused(request, session, settings, error)
    session.commit()
    changed = f"plan {old} → {account.plan}" if old != account.plan else f"still on {old}"
    return back("/admin/accounts", f"Account {account.id} ({account.name}): {changed}.")


@router.post("/admin/accounts/{account_id}/setting")
def account_setting(
    request: Request, login: PageAdmin, session: DB, settings: SettingsDep, account_id: int,
    setting: Field = "",
) -> Response:  # fmt: skip
    account = _account(session, account_id)
    try:
        set_claim_setting(session, account, setting, login.email)
    except AccountError as error:
        return _account_refused(request, session, settings, error)
    session.commit()
    named = SETTING_NAMES.get(account.claim_setting or "", "read from each mail")
    return back("/admin/accounts", f"Account {account.id} ({account.name}): claim setting {named}.")


@router.post("/admin/accounts/{account_id}/addresses")
def account_address(
    request: Request,
    login: PageAdmin,
    session: DB,
    settings: SettingsDep,
    account_id: int,
    address: Field = "",
) -> Response:
    account = _account(session, account_id)
    try:
        row = add_address(session, account, address, login.email)
    except AccountError as error:
        return _account_refused(request, session, settings, error)
    session.commit()
    return back("/admin/accounts", f"Account {account.id} ({account.name}): added {row.address}.")


# --- plans (admins only, read-only) -------------------------------------------


@router.get("/admin/plans")
def plans_page(request: Request, login: PageAdmin, session: DB, settings: SettingsDep) -> Response:
    counts = accounts_per_plan(session)
    try:
        plans, error = list(load_plans(settings).values()), ""
    except AccountError as refused:
        plans, error = [], str(refused)
    undefined = {name: n for name, n in counts.items() if name not in {p.name for p in plans}}
    return render(
        request,
        "admin_plans.html.j2",
        500 if error else 200,
        plans=plans,
        counts=counts,
        undefined=undefined,
        plans_file=settings.plans_file,
        default_plan=settings.default_plan,
        notice="",
        error=error,
    )
