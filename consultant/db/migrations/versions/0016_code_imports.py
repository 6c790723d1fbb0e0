"""Every import of code data is logged

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

`code_imports` holds one row per release imported (or found imported already)
and per file or release refused: when, who asked (`cli:<login>`, `drop folder`,
a reviewer), what, and the rows or the reason. The admin page lists them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("label", sa.String(length=60), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_imports")),
    )
    op.create_index(op.f("ix_code_imports_at"), "code_imports", ["at"])


def downgrade() -> None:
    op.drop_index("ix_code_imports_at", table_name="code_imports")
    op.drop_table("code_imports")
