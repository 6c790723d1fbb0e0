"""Code references keep their part, range and units; drafts keep their lookup report

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

`case_codes.part` says whether a code was in the Subject or the text (offsets
index that part), `range` flags both endpoints of "99202-99205", `units` the
quantity stated with a code (for the MUE check). `drafts.lookup` is the JSON
report of facts and findings, each with its source, that a system draft was
made from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_codes") as batch_op:
        batch_op.add_column(
            sa.Column("part", sa.String(length=8), nullable=False, server_default="body")
        )
        batch_op.add_column(sa.Column("range", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=True))
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.add_column(sa.Column("lookup", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_column("lookup")
    with op.batch_alter_table("case_codes") as batch_op:
        batch_op.drop_column("units")
        batch_op.drop_column("range")
        batch_op.drop_column("part")
