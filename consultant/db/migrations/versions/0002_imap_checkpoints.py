"""IMAP checkpoints, longer inbound source names

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

One checkpoint row per watched mailbox (UIDVALIDITY and the highest stored
UID). The inbound `source` grows to hold "imap:<mailbox name>". On
PostgreSQL, raw mail is compressed with lz4 instead of pglz where the server
has it: storing a mail costs about 40% less (benchmarks/imap_intake.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LZ4 = """
DO $$
BEGIN
  ALTER TABLE {table} ALTER COLUMN raw SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
  RAISE NOTICE 'lz4 not available; raw mail stays compressed with pglz';
END $$;
"""


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
    if op.get_bind().dialect.name == "postgresql":
        for table in ("inbound_messages", "outbound_messages"):
            op.execute(LZ4.format(table=table))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.alter_column(
            "source", existing_type=sa.String(length=80), type_=sa.String(length=20)
        )
    op.drop_table("mailbox_checkpoints")
