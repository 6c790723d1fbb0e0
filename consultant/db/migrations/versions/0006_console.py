"""Reviewer console: logins, sessions, throttling, case assignment

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Reviewers get an argon2 password hash, an active flag and the time of their
last login. `web_sessions` holds server-side sessions by the SHA-256 of their
cookie token (a stolen database gives no usable cookie) with the session's
CSRF token. `login_failures` counts failed logins per address and per client
for throttling across web processes. A case may be claimed by one reviewer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Why one function: a migration is the record of one schema step, applied as a
    # whole; it reads as the list of what that step creates, in order.
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("last_login_at", UTCDateTime(), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["reviewers.id"],
            name=op.f("fk_web_sessions_reviewer_id_reviewers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_reviewer_id", "web_sessions", ["reviewer_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"])
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            "fk_cases_assignee_id_reviewers",
            "reviewers",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_case_codes_code", "case_codes", ["code"])


def downgrade() -> None:
    op.drop_index("ix_case_codes_code", table_name="case_codes")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("fk_cases_assignee_id_reviewers", type_="foreignkey")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assignee_id")
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_web_sessions_reviewer_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("active")
        batch_op.drop_column("password_hash")
