"""Retention on the production profile: after a purge or an erase, no row of any
PostgreSQL table (read as values and cast to text) and no file under var/ holds
the mail; old audit entries are rewritten by the migration, append-only kept."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from consultant.db.migrate import upgrade
from consultant.db.models import AuditEntry, Case, CaseState
from consultant.db.session import session_scope
from consultant.retention import ERASED_TABLES, erase, purge
from consultant.settings import Settings
from tests.integration.conftest import scratch_pg
from tests.retention_support import (
    age_everything,
    answered_case,
    database_hits,
    file_hits,
    new_marker,
    old_audit_entries,
    open_case,
    quarantined_mail,
)


def test_purge_and_erase_leave_no_trace_of_the_mail_in_postgresql_or_the_outbox(
    production: Settings,
) -> None:
    marker, asked_to_erase = new_marker(), new_marker()
    answered_case(production, marker)
    quarantined_mail(production, marker)
    age_everything(production, days=400)
    ref = open_case(production, asked_to_erase)
    assert {
        "inbound_messages.raw",
        "drafts.body_text",
        "cases.subject",
        "cases.sender_name",
    } <= set(database_hits(production, marker))
    assert any(hit.startswith("outbox/") for hit in file_hits(production.var_dir, marker))

    vacuums = _vacuum_counts(production)
    erased = purge(production, 365, actor="test")
    erase(production, ref, actor="privacy@example.org")
    # Each ran VACUUM on the tables it rewrote: old row versions are reclaimed now.
    after = _vacuum_counts(production)
    assert all(after[table] >= vacuums[table] + 2 for table in ERASED_TABLES), (vacuums, after)

    assert (erased.cases, erased.caseless_inbound, erased.outbox_files) == (1, 1, 1)
    for gone in (marker, asked_to_erase):
        assert database_hits(production, gone) == []
        assert file_hits(production.var_dir, gone) == []
    with session_scope(production) as session:
        states = {key: state for key, state in session.execute(select(Case.ref, Case.state))}
        erasures = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "case.erased")
        )
        assert list(erasures) == ["privacy@example.org"]
    assert states[ref] == CaseState.CLOSED


def _vacuum_counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        rows = session.execute(text("SELECT relname, vacuum_count FROM pg_stat_user_tables"))
        return {name: count for name, count in rows}


def test_migration_rewrites_old_audit_text_on_postgresql_and_keeps_it_append_only(
    env: dict[str, str],
) -> None:
    marker = new_marker()
    with scratch_pg("consultant_retention") as settings:
        old = old_audit_entries(settings, marker)
        assert "audit_log.detail" in database_hits(settings, marker)

        upgrade(settings)

        assert database_hits(settings, marker) == []
        with session_scope(settings) as session:
            reason = session.scalar(
                select(AuditEntry.detail).where(AuditEntry.action == "case.rejected")
            )
        expected = old["case.rejected"]["reason"].encode()
        assert reason == {
            "reason": {"sha256": hashlib.sha256(expected).hexdigest(), "size": len(expected)}
        }
        with pytest.raises(DatabaseError, match="append-only"), session_scope(settings) as session:
            session.execute(text("UPDATE audit_log SET actor = 'x'"))
