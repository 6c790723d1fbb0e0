"""A reviewer can set the claim's setting of a case

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

`cases.setting` holds the setting a reviewer chose for the claim (practitioner,
hospital, dme): its drafts are then made with that setting's NCCI edits and
MUEs. Empty, the setting is read from the mail, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("setting", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("setting")
