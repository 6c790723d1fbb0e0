"""HCPCS codes keep the file's cross-references (XREF1-XREF5)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

The Alpha-Numeric HCPCS file names, for many terminated codes, the codes to
use instead (A4466, terminated 2016-12-31, cross-references A4467). They are
kept as one space-separated text, empty when the file names none, so a
validity verdict can say what replaced a code. Rows imported before keep an
empty value until their file is imported again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hcpcs_codes") as batch_op:
        batch_op.add_column(
            sa.Column("xref", sa.String(length=29), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("hcpcs_codes") as batch_op:
        batch_op.drop_column("xref")
