"""One-time passwords remember their use

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

`one_time_used_at` is when a one-time password's first (and only) login
happened. The password's hash stays, so that a second login with it can be
recognised and refused with a message that says so; a conditional update on
this column lets only one of two racing logins with it win. Setting any new
password clears it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.add_column(sa.Column("one_time_used_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviewers") as batch_op:
        batch_op.drop_column("one_time_used_at")
