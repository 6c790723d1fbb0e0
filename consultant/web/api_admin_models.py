"""What the JSON API's admin routes read and write: reviewers, accounts, plans.

The bounded types and the conventions are api_models.py's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from consultant.accounts import Plan
from consultant.db.models import Account, Reviewer
from consultant.web.api_models import LINE_PATTERN, Address, Closed, Name, PlanName, Role


class ReviewerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, reviewer: Reviewer) -> ReviewerOut:
        return cls.model_validate(reviewer)


class ReviewerIn(Closed):
    email: Address
    name: Name = ""
    role: Role = "reviewer"


class ReviewerCreatedOut(BaseModel):
    reviewer: ReviewerOut
    one_time_password: str = Field(description="Shown this once; only its hash is kept.")


class ReviewerChangeIn(Closed):
    role: Role | None = None
    active: bool | None = None


class AccountOut(BaseModel):
    id: int
    name: str
    plan: str
    addresses: list[str]
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            name=account.name,
            plan=account.plan,
            addresses=sorted(a.address for a in account.addresses),
            created_at=account.created_at,
        )


class AccountIn(Closed):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=LINE_PATTERN)]
    addresses: Annotated[list[Address], Field(min_length=1, max_length=50)]
    plan: PlanName | None = Field(default=None, description="Default: the configured default plan.")


class AccountChangeIn(Closed):
    plan: PlanName


class PlanOut(BaseModel):
    name: str
    monthly_quota: int | None = Field(description="None: unlimited.")
    sla_hours: float
    description: str

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(
            name=plan.name,
            monthly_quota=plan.monthly_quota,
            sla_hours=plan.sla_hours,
            description=plan.description,
        )
