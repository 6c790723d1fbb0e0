"""The policy library: cited coding rules, every version kept

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

One row per version of a rule (rule_id, version unique). The newest version
of a rule is the one the answer engine uses; a retired rule's newest version
says so. The package's starting library is written by `consultant db upgrade`
and `consultant up` after the migrations (consultant.policies.store), not here,
so a later package can add rules without a migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rules")),
        sa.UniqueConstraint("rule_id", "version", name=op.f("uq_policy_rules_rule_id_version")),
    )


def downgrade() -> None:
    op.drop_table("policy_rules")
