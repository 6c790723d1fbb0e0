"""IMAP checkpoints, longer inbound source names

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

One checkpoint row per watched mailbox (UIDVALIDITY and the highest stored
UID). The inbound `source` grows to hold "imap:<mailbox name>".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailbox_checkpoints",
        sa.Column("mailbox", sa.String(length=40), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_checkpoints")),
    )
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.alter_column(
            "source", existing_type=sa.String(length=20), type_=sa.String(length=80)
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.alter_column(
            "source", existing_type=sa.String(length=80), type_=sa.String(length=20)
        )
    op.drop_table("mailbox_checkpoints")
