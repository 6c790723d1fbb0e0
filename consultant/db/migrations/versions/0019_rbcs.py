"""RBCS classifications

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

`rbcs_codes` holds CMS's Restructured BETOS Classification System per release:
each CPT or HCPCS code's category, subcategory and family, one row per change
of classification (`seq`), from its effective date.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rbcs_codes",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=20), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subcategory", sa.Text(), nullable=False),
        sa.Column("family", sa.Text(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("ended", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_rbcs_codes_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", "seq", name=op.f("pk_rbcs_codes")),
    )


def downgrade() -> None:
    op.drop_table("rbcs_codes")
