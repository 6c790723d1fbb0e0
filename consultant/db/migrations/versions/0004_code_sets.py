"""Code sets and correct-coding edits, each row tied to a loaded release

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

`code_releases` records every loaded file or package (kind, label, effective
date, source, sha256, row counts); the code and edit tables hang off it with
ON DELETE CASCADE, so several quarters live side by side and replacing one is
a delete and a load in one transaction.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import consultant.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Why one function: a migration is the record of one schema step, applied as a
    # whole; it reads as the list of what that step creates, in order.
    op.create_table(
        "code_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("loaded_at", consultant.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_releases")),
        sa.UniqueConstraint("kind", "sha256", name=op.f("uq_code_releases_kind_sha256")),
    )
    with op.batch_alter_table("code_releases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_releases_kind_effective", ["kind", "effective"], unique=False
        )

    op.create_table(
        "addon_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("edit_type", sa.String(length=1), nullable=False),
        sa.Column("addon_code", sa.String(length=5), nullable=False),
        sa.Column("addon_deleted", sa.Date(), nullable=True),
        sa.Column("primary_code", sa.String(length=5), nullable=False),
        sa.Column("primary_deleted", sa.Date(), nullable=True),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("deleted", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_addon_edits_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addon_edits")),
    )
    with op.batch_alter_table("addon_edits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_addon_edits_release_addon", ["release_id", "addon_code"], unique=False
        )

    op.create_table(
        "cpt_descriptors",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_cpt_descriptors_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_cpt_descriptors")),
    )
    op.create_table(
        "hcpcs_codes",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("record_id", sa.String(length=1), nullable=False),
        sa.Column("long_description", sa.Text(), nullable=False),
        sa.Column("short_description", sa.String(length=60), nullable=False),
        sa.Column("coverage", sa.String(length=1), nullable=False),
        sa.Column("betos", sa.String(length=3), nullable=False),
        sa.Column("added", sa.Date(), nullable=True),
        sa.Column("action_effective", sa.Date(), nullable=True),
        sa.Column("terminated", sa.Date(), nullable=True),
        sa.Column("action", sa.String(length=1), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_hcpcs_codes_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_hcpcs_codes")),
    )
    op.create_table(
        "icd10cm_codes",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("parent", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_icd10cm_codes_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_icd10cm_codes")),
    )
    op.create_table(
        "icd10cm_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("character", sa.String(length=1), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_icd10cm_notes_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icd10cm_notes")),
    )
    with op.batch_alter_table("icd10cm_notes", schema=None) as batch_op:
        batch_op.create_index("ix_icd10cm_notes_release_code", ["release_id", "code"], unique=False)

    op.create_table(
        "mue_edits",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("mai", sa.String(length=1), nullable=False),
        sa.Column("mai_description", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_mue_edits_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", name=op.f("pk_mue_edits")),
    )
    op.create_table(
        "pfs_indicators",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("modifier", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("pctc", sa.String(length=1), nullable=False),
        sa.Column("global_days", sa.String(length=3), nullable=False),
        sa.Column("pre_op", sa.Float(), nullable=True),
        sa.Column("intra_op", sa.Float(), nullable=True),
        sa.Column("post_op", sa.Float(), nullable=True),
        sa.Column("mult_proc", sa.String(length=1), nullable=False),
        sa.Column("bilat_surg", sa.String(length=1), nullable=False),
        sa.Column("asst_surg", sa.String(length=1), nullable=False),
        sa.Column("co_surg", sa.String(length=1), nullable=False),
        sa.Column("team_surg", sa.String(length=1), nullable=False),
        sa.Column("endo_base", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_pfs_indicators_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "code", "modifier", name=op.f("pk_pfs_indicators")),
    )
    op.create_table(
        "ptp_edits",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("column1", sa.String(length=5), nullable=False),
        sa.Column("column2", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("deleted", sa.Date(), nullable=True),
        sa.Column("modifier_indicator", sa.String(length=1), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["code_releases.id"],
            name=op.f("fk_ptp_edits_release_id_code_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "release_id", "column1", "column2", "seq", name=op.f("pk_ptp_edits")
        ),
    )


def downgrade() -> None:
    op.drop_table("ptp_edits")
    op.drop_table("pfs_indicators")
    op.drop_table("mue_edits")
    with op.batch_alter_table("icd10cm_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_icd10cm_notes_release_code")

    op.drop_table("icd10cm_notes")
    op.drop_table("icd10cm_codes")
    op.drop_table("hcpcs_codes")
    op.drop_table("cpt_descriptors")
    with op.batch_alter_table("addon_edits", schema=None) as batch_op:
        batch_op.drop_index("ix_addon_edits_release_addon")

    op.drop_table("addon_edits")
    with op.batch_alter_table("code_releases", schema=None) as batch_op:
        batch_op.drop_index("ix_code_releases_kind_effective")

    op.drop_table("code_releases")
