"""Console accounts: one-time passwords that must be changed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

A reviewer whose password was made up for them (a one-time password) has
`must_change_password` set: the first login with it uses it up, and that
session may do nothing but choose a new password. `password_changed_at` is
when the reviewer's password was last set, by anyone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("password_changed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
