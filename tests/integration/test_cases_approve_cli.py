"""`consultant cases approve REF --edit FILE` and `cases reject` as a reviewer types
them (embedded profile): the file replaces only the draft's answer part, a draft
without one is refused unless --whole says the file is the whole mail, and the
command acts as an active reviewer named by address, whom the audit log names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant import review
from consultant.codes.importers import import_file
from consultant.db.models import AuditEntry, Case, CaseState, Draft
from consultant.db.session import session_scope
from consultant.pipeline.draft import PLACEHOLDER
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import cms_files, mail_bytes
from tests.integration.conftest import run_cli
from tests.unit.web.conftest import ask, process

pytestmark = pytest.mark.integration

RITA, GONE = "rita@desk.example", "gone@desk.example"
ANSWER = "Yes: bill 99214-25 with 20610.\n\nKeep the note that shows the separate work.\n"
PROPOSED = "the E/M is included in the procedure"  # in the system's proposed answer


@pytest.fixture
def desk(migrated: Settings) -> Settings:
    """Rita may act; Gone's login is switched off."""
    with session_scope(migrated) as session:
        add_reviewer(session, RITA, password="long-enough-password")
        gone = add_reviewer(session, GONE, password="long-enough-password").reviewer
        gone.active = False
    return migrated


def newest(settings: Settings, ref: str) -> tuple[str, str, int]:
    """The case's state, and its newest draft's text and version."""
    with session_scope(settings) as session:
        case = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        draft = session.scalars(
            select(Draft).where(Draft.case_id == case.id).order_by(Draft.version.desc())
        ).first()
        assert draft is not None
        return case.state, draft.body_text, draft.version


def actors(settings: Settings, ref: str) -> dict[str, str]:
    """Each audit action on the case, with who did it."""
    with session_scope(settings) as session:
        case_id = session.execute(select(Case.id).where(Case.ref == ref)).scalar_one()
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.case_id == case_id)
        )
        return {action: actor for action, actor in rows}


def test_the_file_replaces_the_placeholder_and_the_rest_of_the_mail_stays(
    desk: Settings, env: dict[str, str]
) -> None:
    ref = process(desk, mail_bytes("simple_question.eml"))
    _, before, _ = newest(desk, ref)
    assert PLACEHOLDER in before
    done = run_cli(env, "cases", "approve", ref, "--edit", "-", "--as", RITA, stdin=ANSWER)
    assert f"approved {ref}" in done.stdout
    state, after, version = newest(desk, ref)
    assert (state, version) == (CaseState.APPROVED, 2)
    assert after == before.replace(PLACEHOLDER, ANSWER.strip())
    assert actors(desk, ref)["answer.queued"] == RITA


def test_the_file_replaces_the_proposed_answer_and_keeps_what_it_cites(
    desk: Settings, env: dict[str, str]
) -> None:
    with session_scope(desk) as session:
        import_file(session, "pfs", cms_files()["pfs"])
    ref = ask(desk)
    _, before, _ = newest(desk, ref)
    assert PROPOSED in before and PLACEHOLDER not in before
    run_cli(env, "cases", "approve", ref, "--edit", "-", "--as", RITA, stdin=ANSWER)
    _, after, _ = newest(desk, ref)
    assert ANSWER.strip() in after and PROPOSED not in after
    opening, kept = before.split("\n\n", 2)[:2], before[before.index("The rules this rests on:") :]
    assert after.startswith("\n\n".join(opening) + "\n\n" + ANSWER.strip() + "\n\n")
    assert after.endswith(kept)  # rules, date of service, sources, disclaimer, signature, quote
    for part in ("Date of service:", "Sources:", "-- \n", "> Can I bill 99214 with 20610"):
        assert part in kept


def test_a_draft_without_an_answer_part_is_refused_unless_whole_is_given(
    desk: Settings, env: dict[str, str]
) -> None:
    ref = process(desk, mail_bytes("simple_question.eml"))
    rewritten = "Dana, our answer, rewritten whole in the console.\n"
    with session_scope(desk) as session:
        review.save_draft(session, desk, ref, RITA, rewritten)
    refused = run_cli(
        env, "cases", "approve", ref, "--edit", "-", "--as", RITA, stdin=ANSWER, check=False
    )
    assert refused.returncode == 1
    assert f"the draft of {ref} (version 2) has no recognisable answer part" in refused.stderr
    assert "nothing was approved" in refused.stderr and "--whole" in refused.stderr
    assert newest(desk, ref) == (CaseState.IN_REVIEW, rewritten, 2)

    whole = ["--edit", "-", "--whole", "--as", RITA]
    run_cli(env, "cases", "approve", ref, *whole, stdin="Hello Dana,\n\n" + ANSWER)
    assert newest(desk, ref) == (CaseState.APPROVED, "Hello Dana,\n\n" + ANSWER, 3)


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_the_command_acts_only_as_an_active_reviewer_named_by_address(
    desk: Settings, env: dict[str, str], command: str
) -> None:
    ref = process(desk, mail_bytes("simple_question.eml"))
    extra = ["--edit", "-"] if command == "approve" else ["--reason", "not a coding question"]
    argv = ["cases", command, ref, *extra]

    nobody = run_cli(env, *argv, stdin=ANSWER, check=False)
    assert nobody.returncode == 1
    assert "--as ADDRESS" in nobody.stderr and "CONSULTANT_REVIEWER=ADDRESS" in nobody.stderr
    for stranger in ("nobody@desk.example", GONE):
        refused = run_cli(env, *argv, "--as", stranger, stdin=ANSWER, check=False)
        assert refused.returncode == 1
        assert f"{stranger} is not an active reviewer" in refused.stderr
    assert newest(desk, ref)[0] == CaseState.DRAFTED  # nothing happened

    as_env = {**env, "CONSULTANT_REVIEWER": "Rita@Desk.Example"}
    run_cli(as_env, *argv, stdin=ANSWER)
    expected = CaseState.APPROVED if command == "approve" else CaseState.REJECTED
    assert newest(desk, ref)[0] == expected
    done = actors(desk, ref)
    assert done[f"case.{expected}"] == RITA  # the address, written as the reviewer's
    assert not [actor for actor in done.values() if actor.startswith("cli:")]
