"""Retention on the embedded profile: purge and erase leave no mail text in any
table, in the SQLite file and its WAL, or in the outbox; open cases are kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from consultant.cli import main
from consultant.db.base import utcnow
from consultant.db.models import (
    AuditEntry,
    Case,
    CaseCode,
    CaseState,
    Draft,
    InboundMessage,
    OutboundMessage,
    OutboundState,
)
from consultant.db.session import session_scope
from consultant.retention import RetentionError, compact, erase, purge, purge_due
from consultant.settings import Settings
from tests.retention_support import (
    age_everything,
    answered_case,
    database_hits,
    file_hits,
    new_marker,
    open_case,
    quarantined_mail,
)


def _var(settings: Settings) -> Path:
    return settings.var_dir


def test_purge_leaves_no_trace_of_closed_mail_in_tables_sqlite_files_or_outbox(
    migrated: Settings,
) -> None:
    marker = new_marker()
    ref = answered_case(migrated, marker)
    quarantined_mail(migrated, marker)
    age_everything(migrated, days=400)
    compact(migrated)  # A year on, the mail sits in the database file, not only in its WAL.
    # The scan sees the marker before the purge (so its silence after means something).
    assert "inbound_messages.raw" in database_hits(migrated, marker)
    assert {"consultant.sqlite3", "outbox"} <= {
        hit.split("/")[0] for hit in file_hits(_var(migrated), marker)
    }

    erased = purge(migrated, 365, actor="test")

    assert (erased.cases, erased.caseless_inbound, erased.outbox_files) == (1, 1, 1)
    assert database_hits(migrated, marker) == []
    assert file_hits(_var(migrated), marker) == []
    with session_scope(migrated) as session:
        case = session.scalars(select(Case)).one()
        codes = list(session.scalars(select(CaseCode.code).order_by(CaseCode.position)))
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id))
        )
    assert case.ref == ref and case.state == CaseState.SENT and case.purged_at is not None
    assert case.sender.startswith("asker-") and case.sender.endswith("@example-clinic.org")
    assert "20700" in codes and "27447" in codes
    assert actions[0] == "case.opened" and actions[-1] == "case.purged"
    assert "draft.edited" in actions and "answer.sent" in actions


def test_purge_keeps_open_cases_and_cases_younger_than_the_period(migrated: Settings) -> None:
    old_open, recent = new_marker(), new_marker()
    open_case(migrated, old_open)
    age_everything(migrated, days=400)
    answered_case(migrated, recent)

    erased = purge(migrated, 365, actor="test")

    assert erased.cases == 0
    assert "inbound_messages.raw" in database_hits(migrated, old_open)
    assert "drafts.body_text" in database_hits(migrated, recent)
    assert any(hit.startswith("outbox/") for hit in file_hits(_var(migrated), recent))


def test_purge_waits_for_a_refusal_still_in_the_outbox(migrated: Settings) -> None:
    from consultant.review import reject

    marker = new_marker()
    ref = open_case(migrated, marker)
    with session_scope(migrated) as session:
        reject(
            session,
            ref,
            "r@example.org",
            "not a coding question",
            settings=migrated,
            send_refusal=True,
        )
    age_everything(migrated, days=400)

    assert purge(migrated, 365, actor="test").cases == 0
    assert "inbound_messages.raw" in database_hits(migrated, marker)


def test_a_purged_case_reopened_by_a_follow_up_is_purged_again_once_closed(
    migrated: Settings,
) -> None:
    answered_case(migrated, new_marker())
    age_everything(migrated, days=400)
    assert purge(migrated, 365, actor="test").cases == 1
    assert purge(migrated, 365, actor="test").cases == 0
    # A follow-up reopened it after the purge, and it was answered again long ago.
    with session_scope(migrated) as session:
        case = session.scalars(select(Case)).one()
        case.purged_at = utcnow() - timedelta(days=300)
        case.updated_at = utcnow() - timedelta(days=200)

    assert purge(migrated, 100, actor="test").cases == 1
    with session_scope(migrated) as session:
        purged = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.purged"))
        assert [entry.detail for entry in purged] == [
            {"older_than_days": 365},
            {"older_than_days": 100},
        ]


def test_dry_run_counts_what_would_go_and_changes_nothing(migrated: Settings) -> None:
    marker = new_marker()
    answered_case(migrated, marker)
    quarantined_mail(migrated, marker)
    age_everything(migrated, days=400)
    before = database_hits(migrated, marker)

    result = CliRunner().invoke(main, ["purge", "--older-than", "365", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "would purge (older than 365 days): cases=1 inbound=1 drafts=2" in result.output
    assert "outbox_files=1 caseless_inbound=1" in result.output
    assert database_hits(migrated, marker) == before
    with session_scope(migrated) as session:
        assert session.scalars(select(Case.purged_at)).one() is None
    result = CliRunner().invoke(main, ["purge", "--older-than", "365"])
    assert result.exit_code == 0 and "purged (older than 365 days): cases=1" in result.output
    assert database_hits(migrated, marker) == []


def test_purge_by_setting_does_nothing_when_retention_is_zero(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = new_marker()
    answered_case(migrated, marker)
    age_everything(migrated, days=4000)
    monkeypatch.setattr(migrated, "retention_days", 0)
    assert purge_due(migrated) is None
    assert "inbound_messages.raw" in database_hits(migrated, marker)
    monkeypatch.setattr(migrated, "retention_days", 3650)
    erased = purge_due(migrated)
    assert erased is not None and erased.cases == 1
    assert database_hits(migrated, marker) == []


def test_erase_removes_one_open_case_at_once_audited_and_closed(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker, other = new_marker(), new_marker()
    ref = open_case(migrated, marker)
    open_case(migrated, other)
    monkeypatch.setenv("CONSULTANT_REVIEWER", "privacy@example.org")

    result = CliRunner().invoke(main, ["cases", "erase", ref.lower()])

    assert result.exit_code == 0, result.output
    assert f"erased {ref}: cases=1 inbound=1 drafts=1" in result.output
    assert database_hits(migrated, marker) == []
    assert file_hits(_var(migrated), marker) == []
    assert "inbound_messages.raw" in database_hits(migrated, other)
    with session_scope(migrated) as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        erased = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.erased")).one()
    assert case.state == CaseState.CLOSED and case.purged_at is not None
    assert erased.actor == "privacy@example.org" and erased.case_id == case.id


def test_erase_refuses_a_case_whose_answer_waits_in_the_outbox_unless_forced(
    migrated: Settings,
) -> None:
    marker = new_marker()
    ref = open_case(migrated, marker)
    from consultant.review import approve

    with session_scope(migrated) as session:
        approve(session, migrated, ref, "r@example.org", "Use modifier 59.\n")

    with pytest.raises(
        RetentionError, match=r"waiting in the outbox: outbound \d+ \(answer, queued\)"
    ):
        erase(migrated, ref, actor="test")
    assert "outbound_messages.raw" in database_hits(migrated, marker)
    result = CliRunner().invoke(main, ["cases", "erase", ref])
    assert result.exit_code == 1 and "erase --force" in result.output

    erase(migrated, ref, actor="test", force=True)
    assert database_hits(migrated, marker) == []
    with session_scope(migrated) as session:
        row = session.scalars(select(OutboundMessage)).one()
    assert row.state == OutboundState.FAILED and row.raw == b""


def test_erase_of_an_unknown_case_says_so_and_changes_nothing(migrated: Settings) -> None:
    result = CliRunner().invoke(main, ["cases", "erase", "CC-2026-999999"])
    assert result.exit_code == 1 and "no case CC-2026-999999" in result.output


def test_draft_rows_keep_version_and_author_after_a_purge(migrated: Settings) -> None:
    answered_case(migrated, new_marker())
    age_everything(migrated, days=400)
    purge(migrated, 365, actor="test")
    with session_scope(migrated) as session:
        drafts = list(session.execute(select(Draft.version, Draft.author, Draft.body_text)))
        raws = list(session.scalars(select(InboundMessage.raw)))
    assert drafts == [(1, "system", ""), (2, "r@example.org", "")]
    assert raws == [b""]


def test_beat_runs_the_purge_task_daily_by_the_retention_setting(migrated: Settings) -> None:
    from workers.app import celery_config
    from workers.tasks import purge_task

    schedule = celery_config(migrated)["beat_schedule"]
    assert schedule["purge"] == {"task": "pipeline.purge", "schedule": 86400.0}
    marker = new_marker()
    answered_case(migrated, marker)
    age_everything(migrated, days=366)

    line = purge_task.run()

    assert line.startswith("cases=1 inbound=1 drafts=2 outbound=1 outbox_files=1")
    assert database_hits(migrated, marker) == []


def test_the_case_page_of_a_purged_case_says_the_mail_was_erased_and_shows_no_hashes(
    migrated: Settings,
) -> None:
    from consultant.web.casepage import ERASED, case_page

    marker = new_marker()
    ref = answered_case(migrated, marker)
    age_everything(migrated, 400)
    purge(migrated, 365, actor="system")
    with session_scope(migrated) as session:
        page = case_page(session, ref)
        assert [(m.view, m.unreadable) for m in page.messages] == [(None, ERASED)]
        edits = [e.detail["diff"] for e in page.history if e.action == "draft.edited"]
    assert edits and all(set(diff) == {"sha256", "size"} for diff in edits)
