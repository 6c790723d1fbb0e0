"""The review and inbound commands as a reviewer types them (embedded profile)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant.db.base import utcnow
from consultant.db.models import Draft, InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import mail_bytes
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration

REVIEWER = "rita@desk.example"


def _process(settings: Settings, name: str) -> int:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, mail_bytes(name), source="smtp").inbound_id
        process_message(session, settings, inbound_id)
    return inbound_id


def test_quarantined_mail_is_listed_with_its_reason_and_can_be_retried(
    migrated: Settings, env: dict[str, str]
) -> None:
    inbound_id = _process(migrated, "no_sender.eml")
    listing = run_cli(env, "inbound", "list", "--state", "quarantined").stdout
    assert f"{inbound_id:>6}  quarantined" in listing
    assert "no sender address in From" in listing

    assert "queued for processing" in run_cli(env, "inbound", "retry", str(inbound_id)).stdout
    with session_scope(migrated) as session:
        assert session.get_one(InboundMessage, inbound_id).state == InboundState.STORED
    again = run_cli(env, "inbound", "retry", str(inbound_id), check=False)
    assert again.returncode == 1 and "not failed, quarantined or ignored" in again.stderr


def test_approve_reads_the_answer_from_standard_input(
    migrated: Settings, env: dict[str, str]
) -> None:
    _process(migrated, "simple_question.eml")
    with session_scope(migrated) as session:
        add_reviewer(session, REVIEWER, password="long-enough-password")
    ref = f"CC-{utcnow().year}-000001"
    approve = ["cases", "approve", ref, "--edit", "-", "--as", REVIEWER]
    empty = run_cli(env, *approve, stdin="  \n", check=False)
    assert empty.returncode == 1 and "empty" in empty.stderr
    done = run_cli(env, *approve, stdin="Our answer.\n")
    assert f"approved {ref}" in done.stdout
    with session_scope(migrated) as session:
        newest = session.scalars(select(Draft).order_by(Draft.version.desc())).first()
    assert newest is not None and newest.version == 2
    assert "\n\nOur answer.\n\n" in newest.body_text  # where the answer goes


def test_unknown_case_is_a_clear_error(migrated: Settings, env: dict[str, str]) -> None:
    result = run_cli(env, "cases", "show", "CC-2026-999999", check=False)
    assert result.returncode == 1
    assert "no case CC-2026-999999" in result.stderr and "Traceback" not in result.stderr


def test_reject_records_the_reason(migrated: Settings, env: dict[str, str]) -> None:
    _process(migrated, "simple_question.eml")
    ref = run_cli(env, "cases", "list").stdout.split("\n")[1].split()[0]
    with session_scope(migrated) as session:
        add_reviewer(session, REVIEWER, password="long-enough-password")
    run_cli(env, "cases", "reject", ref, "--reason", "not a coding question", "--as", REVIEWER)
    shown = run_cli(env, "cases", "show", ref).stdout
    assert shown.startswith(f"{ref}  [rejected]  not a coding question")
