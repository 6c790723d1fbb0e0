"""The audit log keeps no relay text: a delivery failure's error and attention line as size and hash

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

A relay's refusal often echoes the recipient's address and at times the
mail's words; delivery-failure entries kept it in `error` and `attention`,
and a retry kept the cleared line in `cleared_attention`. Those are rewritten
once to what audit() now stores: the text's size and SHA-256, as 0008 did for
diffs, reasons and diagnostics. The rewrite cannot be undone; downgrade does
nothing.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys this revision adds to consultant.cases.MAIL_TEXT_KEYS (frozen).
RELAY_TEXT_KEYS = ("error", "attention", "cleared_attention")
SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)

audit_log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("detail", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    as_text = sa.cast(audit_log.c.detail, sa.Text)
    candidates = bind.execute(
        sa.select(audit_log.c.id, audit_log.c.detail).where(
            sa.or_(*(as_text.like(f'%"{key}"%') for key in RELAY_TEXT_KEYS))
        )
    ).all()
    rewrites = [(row.id, _scrubbed(row.detail or {})) for row in candidates]
    rewrites = [(entry_id, detail) for entry_id, detail in rewrites if detail is not None]
    if not rewrites:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    for entry_id, detail in rewrites:
        bind.execute(audit_log.update().where(audit_log.c.id == entry_id).values(detail=detail))
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    pass  # the text is gone; the hashes stay


def _fingerprint(text: str) -> dict[str, Any]:
    data = text.encode("utf-8", "surrogatepass")
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _scrubbed(detail: dict[str, Any]) -> dict[str, Any] | None:
    """The detail with relay text fingerprinted, or None when it holds none."""
    if not any(isinstance(detail.get(key), str) for key in RELAY_TEXT_KEYS):
        return None
    return {
        key: _fingerprint(value) if key in RELAY_TEXT_KEYS and isinstance(value, str) else value
        for key, value in detail.items()
    }
