"""The audit log keeps no mail text: edits, reasons and diagnostics are stored as
their size and SHA-256, from now on (audit()) and for old entries (migrations 0008
and 0009)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from consultant.cases import audit
from consultant.db.migrate import upgrade
from consultant.db.models import AuditEntry
from consultant.db.session import session_scope
from consultant.review import reject, save_draft
from consultant.settings import Settings
from tests.retention_support import database_hits, new_marker, old_audit_entries, open_case


def _fingerprint(value: str) -> dict[str, object]:
    data = value.encode()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_audit_entries_of_an_edit_and_a_rejection_hold_no_mail_text(migrated: Settings) -> None:
    marker = new_marker()
    ref = open_case(migrated, marker)
    reason = f"{marker} asked about a patient, not a code"
    with session_scope(migrated) as session:
        save_draft(session, migrated, ref, "r@example.org", f"Dear {marker},\n")
    with session_scope(migrated) as session:
        reject(session, ref, "r@example.org", reason)
        audit(
            session, "system", "outbound.bounced", None, diagnostic=f"550 {marker}", status="5.1.1"
        )

    assert not [hit for hit in database_hits(migrated, marker) if hit.startswith("audit_log")]
    with session_scope(migrated) as session:
        details = {a: d for a, d in session.execute(select(AuditEntry.action, AuditEntry.detail))}
    assert details["case.rejected"]["reason"] == _fingerprint(reason)
    assert set(details["draft.edited"]["diff"]) == {"sha256", "size"}
    assert details["draft.edited"]["version"] == 2
    assert details["outbound.bounced"]["status"] == "5.1.1"


def test_migration_rewrites_old_mail_text_in_the_audit_log_to_size_and_hash(
    migrated: Settings,
) -> None:
    marker = new_marker()
    old = old_audit_entries(migrated, marker)
    assert "audit_log.detail" in database_hits(migrated, marker)

    upgrade(migrated)

    assert database_hits(migrated, marker) == []
    with session_scope(migrated) as session:
        details = {a: d for a, d in session.execute(select(AuditEntry.action, AuditEntry.detail))}
    assert details["draft.edited"] == {
        "version": 2,
        "diff": _fingerprint(old["draft.edited"]["diff"]),
    }
    assert details["case.rejected"]["reason"] == _fingerprint(old["case.rejected"]["reason"])
    assert details["outbound.bounced"]["outbound_id"] == 7
    assert details["login"] == {"client": "127.0.0.1"}
    assert details["answer.failed"] == {
        "outbound_id": 8,
        "error": _fingerprint(old["answer.failed"]["error"]),
        "attention": _fingerprint(old["answer.failed"]["attention"]),
    }
    assert details["auto_mail.retried"]["cleared_attention"] == _fingerprint(
        old["auto_mail.retried"]["cleared_attention"]
    )


def test_relay_text_written_after_0008_is_rewritten_by_0009(migrated: Settings) -> None:
    marker = new_marker()
    old = old_audit_entries(migrated, marker, revision="0008")
    assert "audit_log.detail" in database_hits(migrated, marker)

    upgrade(migrated)

    with session_scope(migrated) as session:
        details = {a: d for a, d in session.execute(select(AuditEntry.action, AuditEntry.detail))}
    for action in ("answer.failed", "auto_mail.retried"):
        assert marker not in str(details[action])
    assert details["answer.failed"]["error"] == _fingerprint(old["answer.failed"]["error"])
    # 0009 touches only the relay's text: what 0008 rewrote stays as the entry was written.
    assert details["case.rejected"] == old["case.rejected"]


@pytest.mark.parametrize("revision", ["0006", "0008"])
@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_log_stays_append_only_after_the_rewrite(
    migrated: Settings, statement: str, revision: str
) -> None:
    old_audit_entries(migrated, new_marker(), revision)
    upgrade(migrated)
    with pytest.raises(DatabaseError, match="append-only"), session_scope(migrated) as session:
        session.execute(text(statement))
