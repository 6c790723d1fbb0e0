"""The queue sorts and triages on columns

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

A case's due time (`due_at`, its opening plus its plan's SLA, fixed at open)
and the signals the queue shows (`verdicts`, `severity`, `stale_data`, written
with each system draft; `reopened_at`, when the asker replied) become columns,
so the queue sorts and limits in SQL with an index on (state, due_at, id)
instead of sorting every open case in Python. Existing cases get their due
time from the plans the desk runs with (`upgrade` passes its settings; the
built-in plans otherwise). The code filter's index also holds the case id, the
outbox gets (state, id) and the audit log (action, id) and, on PostgreSQL,
(lower(actor), id): the orders and filters their pages use. (An expression
index cannot live on SQLite: batch migrations rebuild a table from reflection,
which skips it.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from consultant.accounts import DEFAULT_PLANS, GUEST_PLAN, load_plans
from consultant.db.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reopened_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("verdicts", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("severity", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("stale_data", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _backfill_due()
    with op.batch_alter_table("cases") as batch_op:
        batch_op.alter_column("due_at", existing_type=UTCDateTime(), nullable=False)
        batch_op.drop_index("ix_cases_state")
        batch_op.create_index("ix_cases_state_due", ["state", "due_at", "id"])
    with op.batch_alter_table("case_codes") as batch_op:
        batch_op.drop_index("ix_case_codes_code")
        batch_op.create_index("ix_case_codes_code", ["code", "case_id"])
    op.create_index("ix_outbound_messages_state_id", "outbound_messages", ["state", "id"])
    if op.get_bind().dialect.name == "postgresql":  # SQLite's batch mode would drop it
        op.create_index("ix_audit_log_actor_id", "audit_log", [sa.text("lower(actor)"), "id"])
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log", if_exists=True)
    op.drop_index("ix_outbound_messages_state_id", table_name="outbound_messages")
    with op.batch_alter_table("case_codes") as batch_op:
        batch_op.drop_index("ix_case_codes_code")
        batch_op.create_index("ix_case_codes_code", ["code"])
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_index("ix_cases_state_due")
        batch_op.create_index("ix_cases_state", ["state"])
        for column in ("stale_data", "severity", "verdicts", "reopened_at", "due_at"):
            batch_op.drop_column(column)


def _backfill_due() -> None:
    """Each case is due its plan's SLA after it was opened (a guest's plan without an
    account, the default plan for an account whose plan is gone)."""
    settings = context.config.attributes.get("settings")
    plans = load_plans(settings) if settings is not None else dict(DEFAULT_PLANS)
    default = plans[settings.default_plan] if settings is not None else plans["free"]
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, plan in plans.items():
        if name == GUEST_PLAN:
            _set_due("due_at IS NULL AND account_id IS NULL", plan.sla_hours, sqlite)
        accounts = "SELECT id FROM accounts WHERE plan = :plan"
        _set_due(
            f"due_at IS NULL AND account_id IN ({accounts})", plan.sla_hours, sqlite, plan=name
        )
    _set_due("due_at IS NULL", default.sla_hours, sqlite)


def _set_due(where: str, hours: float, sqlite: bool, **params: str) -> None:
    seconds = int(hours * 3600)
    due = (
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff"; datetime() drops the fraction.
        f"datetime(created_at, '+{seconds} seconds') || substr(created_at, 20)"
        if sqlite
        else f"created_at + make_interval(secs => {seconds})"
    )
    op.execute(sa.text(f"UPDATE cases SET due_at = {due} WHERE {where}").bindparams(**params))
