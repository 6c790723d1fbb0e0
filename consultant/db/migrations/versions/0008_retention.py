"""Retention: cases remember when their mail data was purged; the audit log keeps no mail text

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

`cases.purged_at` marks a case whose subject, sender name, mail, drafts and
outbox copies were erased (consultant/retention.py). Audit entries written
before this revision kept mail text in their detail (draft diffs, reasons,
bounce diagnostics); they are rewritten once to what audit() now stores: the
text's size and SHA-256. The append-only triggers are lifted for that one
rewrite and restored in the same transaction. The rewrite cannot be undone:
downgrade only drops the column.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of consultant.cases.MAIL_TEXT_KEYS as of this revision.
MAIL_TEXT_KEYS = ("diff", "reason", "diagnostic")
SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_log_no_{event} BEFORE {EVENT} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)

audit_log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("detail", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
    _rewrite_audit_details()


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("purged_at")


def _fingerprint(text: str) -> dict[str, Any]:
    data = text.encode("utf-8", "surrogatepass")
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _scrubbed(detail: dict[str, Any]) -> dict[str, Any] | None:
    """The detail with mail text fingerprinted, or None when it holds none."""
    if not any(isinstance(detail.get(key), str) for key in MAIL_TEXT_KEYS):
        return None
    return {
        key: _fingerprint(value) if key in MAIL_TEXT_KEYS and isinstance(value, str) else value
        for key, value in detail.items()
    }


def _rewrite_audit_details() -> None:
    bind = op.get_bind()
    as_text = sa.cast(audit_log.c.detail, sa.Text)
    candidates = bind.execute(
        sa.select(audit_log.c.id, audit_log.c.detail).where(
            sa.or_(*(as_text.like(f'%"{key}"%') for key in MAIL_TEXT_KEYS))
        )
    ).all()
    rewrites = [(row.id, _scrubbed(row.detail or {})) for row in candidates]
    rewrites = [(entry_id, detail) for entry_id, detail in rewrites if detail is not None]
    if not rewrites:
        return
    _lift_append_only(bind.dialect.name)
    for entry_id, detail in rewrites:
        bind.execute(audit_log.update().where(audit_log.c.id == entry_id).values(detail=detail))
    _restore_append_only(bind.dialect.name)


def _lift_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        return
    op.execute("DROP TRIGGER audit_log_no_update")


def _restore_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        return
    op.execute(SQLITE_TRIGGER.format(event="update", EVENT="UPDATE"))
