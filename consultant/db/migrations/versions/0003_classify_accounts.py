"""Classification, bounces, automatic mail, reviewer attention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Inbound rows record what classify made of them (`kind`, `note`). Outbound
rows say whether they are automatic mail and to whom (`auto`, `rcpt`), which
the loop limit counts, and carry a bounce's status and diagnostic; automatic
mail answering a mail that opened no case has no case. A case
carries `attention`: why a reviewer must look first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table("outbound_messages") as batch_op:
        batch_op.add_column(
            sa.Column("auto", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("rcpt", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("bounced_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("bounce_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("bounce_diagnostic", sa.Text(), nullable=True))
        batch_op.create_index("ix_outbound_messages_rcpt_created", ["rcpt", "created_at"])
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("attention", sa.Text(), nullable=True))
        batch_op.create_index("ix_cases_sender", ["sender"])
    # Existing outbox rows: the first recipient, for the loop limit's index.
    op.execute(
        "UPDATE outbound_messages SET rcpt = lower(coalesce(json_extract(recipients, '$[0]'), ''))"
        if op.get_bind().dialect.name == "sqlite"
        else "UPDATE outbound_messages SET rcpt = lower(coalesce(recipients->>0, ''))"
    )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_index("ix_cases_sender")
        batch_op.drop_column("attention")
    with op.batch_alter_table("outbound_messages") as batch_op:
        batch_op.drop_index("ix_outbound_messages_rcpt_created")
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        for column in ("bounce_diagnostic", "bounce_status", "bounced_at", "rcpt", "auto"):
            batch_op.drop_column(column)
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("kind")
