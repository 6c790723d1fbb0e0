"""An account can say which claim setting its questions are for

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

`accounts.claim_setting` (practitioner, hospital, dme) is used for an account's
questions whose mail names no setting: a hospital's coders get the hospital
outpatient edits without writing "hospital outpatient" every time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("claim_setting", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("claim_setting")
