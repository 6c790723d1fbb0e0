"""The JSON API's admin routes: reviewers, accounts and plans (admins only).

The conventions are routes/api.py's: the same login, CSRF header and refusals.
"""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError

from consultant import accounts, reviewers
from consultant.accounts import create_account, find_account, load_plans, set_plan
from consultant.db.models import Account, Reviewer
from consultant.reviewers import add_reviewer, find_reviewer, update_reviewer
from consultant.web.api_admin_models import (
    AccountChangeIn,
    AccountIn,
    AccountOut,
    PlanOut,
    ReviewerChangeIn,
    ReviewerCreatedOut,
    ReviewerIn,
    ReviewerOut,
)
from consultant.web.api_models import Limit, RowId, changes, problems
from consultant.web.deps import DB, ApiAdmin, SettingsDep
from consultant.web.refusals import refusals
from consultant.web.routes.api_common import api_router, refused

admin = api_router("admin", 403)


@admin.get("/reviewers")
def list_reviewers(login: ApiAdmin, session: DB) -> list[ReviewerOut]:
    """Every reviewer, active or not."""
    return [ReviewerOut.of(r) for r in reviewers.list_reviewers(session)]


@admin.post("/reviewers", status_code=201, **changes(409, 422))
def add_reviewer_(login: ApiAdmin, session: DB, body: ReviewerIn) -> ReviewerCreatedOut:
    """Add a reviewer; the answer holds their one-time password, shown only here."""
    if find_reviewer(session, body.email) is not None:
        raise HTTPException(409, f"{body.email.strip().lower()} is already a reviewer")
    # IntegrityError: someone else added them since we looked.
    with refused(409, IntegrityError), refusals():
        created = add_reviewer(
            session, body.email, role=body.role, name=body.name, actor=login.email
        )
    session.commit()
    assert created.one_time_password is not None  # no password given: one was made up
    return ReviewerCreatedOut(
        reviewer=ReviewerOut.of(created.reviewer), one_time_password=created.one_time_password
    )


@admin.patch("/reviewers/{reviewer_id}", **changes(404, 422))
def change_reviewer(
    login: ApiAdmin, session: DB, reviewer_id: RowId, body: ReviewerChangeIn
) -> ReviewerOut:
    """Change a reviewer's role or switch their login off (which ends their sessions)."""
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None:
        raise HTTPException(404, f"no reviewer {reviewer_id}")
    with refusals():
        update_reviewer(session, reviewer, login.email, role=body.role, active=body.active)
    session.commit()
    return ReviewerOut.of(reviewer)


@admin.get("/accounts", responses=problems(422))
def list_accounts(login: ApiAdmin, session: DB, limit: Limit = 100) -> list[AccountOut]:
    """Accounts with their addresses, newest first."""
    newest = accounts.list_accounts(session, newest_first=True, limit=limit)
    return [AccountOut.of(account) for account in newest]


@admin.post("/accounts", status_code=201, **changes(409, 422))
def add_account(login: ApiAdmin, session: DB, settings: SettingsDep, body: AccountIn) -> AccountOut:
    """Open an account with its addresses, on `plan` or the default plan."""
    for address in body.addresses:
        owner = find_account(session, address)
        if owner is not None:
            raise HTTPException(409, f"{address.strip().lower()} belongs to account {owner.id}")
    with refusals():
        account = create_account(
            session, settings, body.name, body.addresses, body.plan, actor=login.email
        )
    session.commit()
    return AccountOut.of(account)


@admin.patch("/accounts/{account_id}", **changes(404, 422))
def change_account(
    login: ApiAdmin, session: DB, settings: SettingsDep, account_id: RowId, body: AccountChangeIn
) -> AccountOut:
    """Move the account to another plan."""
    account = session.get(Account, account_id)
    if account is None:
        raise HTTPException(404, f"no account {account_id}")
    with refusals():
        set_plan(session, settings, account, body.plan, actor=login.email)
    session.commit()
    return AccountOut.of(account)


@admin.get("/plans")
def plans(login: ApiAdmin, settings: SettingsDep) -> list[PlanOut]:
    """The plans accounts can be on (from the plans file, or the built-in ones)."""
    return [PlanOut.of(plan) for plan in load_plans(settings).values()]
