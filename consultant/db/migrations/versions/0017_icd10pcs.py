"""ICD-10-PCS codes

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

`icd10pcs_codes` holds, per release, each ICD-10-PCS code with its description
and the meaning of each of its seven characters (`consultant codes load
icd10pcs`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "icd10pcs_codes",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=7), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("axes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_icd10pcs_codes_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_icd10pcs_codes")),
    )


def downgrade() -> None:
    op.drop_table("icd10pcs_codes")
