"""Redraft after import: a draft records the code releases it was made with, and
open system drafts made with other data are drafted again when new data come."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant import review
from consultant.cli import main
from consultant.codes.importers import import_file
from consultant.db.models import AuditEntry, Draft, Reviewer
from consultant.db.session import session_scope
from consultant.review import stale
from consultant.settings import Settings
from tests.conftest import cms_files
from tests.unit.web.conftest import QUESTION, REVIEWER, ask, drafts


def _made_with(settings: Settings) -> list[object]:
    """The "data" of every draft that has a lookup, oldest first."""
    with session_scope(settings) as session:
        sheets = session.scalars(select(Draft.lookup).order_by(Draft.id))
        return [json.loads(sheet)["data"] for sheet in sheets if sheet is not None]


def test_a_draft_names_the_code_data_it_was_made_with(
    console_db: Settings, drafted_without_data: str
) -> None:
    ask(console_db, 2)  # drafted after the fee schedule was imported
    before, after = _made_with(console_db)
    print(before, after)
    assert before == []
    assert after == [
        {"kind": "pfs", "label": "July 2024", "effective": "2024-07-01", "release_id": 1}
    ]


@pytest.fixture(autouse=True)
def no_runs_remembered() -> Iterator[None]:
    stale.forget()
    yield
    stale.forget()


def _versions(settings: Settings, ref: str) -> list[tuple[int, str]]:
    with session_scope(settings) as session:
        case_id = review.get_case(session, ref).id
        query = select(Draft.version, Draft.author).where(Draft.case_id == case_id)
        return [(version, author) for version, author in session.execute(query.order_by(Draft.id))]


def _redrafted_by(settings: Settings) -> list[tuple[str, int | None]]:
    with session_scope(settings) as session:
        query = select(AuditEntry.actor, AuditEntry.case_id)
        return list(session.execute(query.where(AuditEntry.action == "case.redrafted")))


def test_a_case_drafted_before_the_import_is_redrafted_once(
    console_db: Settings, drafted_without_data: str
) -> None:
    run = stale.redraft_stale(console_db)
    print(run)
    assert run.redrafted == (drafted_without_data,) and run.complete
    assert _versions(console_db, drafted_without_data) == [(1, "system"), (2, "system")]
    assert "modifier 25 on 99214" in drafts(console_db)[-1][2]
    assert [actor for actor, _ in _redrafted_by(console_db)] == ["system"]
    assert _made_with(console_db)[-1][0]["kind"] == "pfs"

    assert stale.redraft_stale(console_db) == stale.StaleRun()  # the stamp is unchanged
    stale.forget()  # and read afresh, the new draft is made with the data loaded now
    assert stale.redraft_stale(console_db) == stale.StaleRun()
    assert len(drafts(console_db)) == 2


def test_a_case_a_reviewer_edited_or_claimed_is_left_alone(console_db: Settings) -> None:
    plain, edited, claimed = (ask(console_db, number) for number in (1, 2, 3))
    assert len({plain, edited, claimed}) == 3
    with session_scope(console_db) as session:
        review.save_draft(session, console_db, edited, REVIEWER[0], "Mine.\n")
        rita = session.scalars(select(Reviewer).where(Reviewer.email == REVIEWER[0])).one()
        review.claim(session, claimed, rita)
        import_file(session, "pfs", cms_files()["pfs"])

    run = stale.redraft_stale(console_db)
    print(run)
    assert run.redrafted == (plain,)
    assert _versions(console_db, edited) == [(1, "system"), (2, REVIEWER[0])]
    assert _versions(console_db, claimed) == [(1, "system")]


def test_a_batch_leaves_the_rest_to_the_next_run(console_db: Settings) -> None:
    first, second = ask(console_db, 1), ask(console_db, 2)
    with session_scope(console_db) as session:
        import_file(session, "pfs", cms_files()["pfs"])
    assert stale.redraft_stale(console_db, batch=1) == stale.StaleRun((first,), complete=False)
    assert stale.redraft_stale(console_db, batch=1) == stale.StaleRun((second,))


def test_the_sweep_and_the_task_redraft_after_an_import(
    console_db: Settings, drafted_without_data: str
) -> None:
    from workers.sweep import sweep
    from workers.tasks import redraft_stale_task

    assert sweep(console_db, _never, _never)["redrafted"] == 1
    assert redraft_stale_task.run() == 0
    assert len(drafts(console_db)) == 2


# consultant.cli exports the `codes` command group under the module's name.
codes_cli = importlib.import_module("consultant.cli.codes")


def _never(row_id: int) -> None:
    raise AssertionError(f"nothing to enqueue, got {row_id}")


def test_the_import_command_queues_the_redraft(
    console_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[None] = []
    monkeypatch.setattr(codes_cli, "enqueue_redraft_stale", lambda: queued.append(None))
    pfs = str(cms_files()["pfs"])
    result = CliRunner().invoke(main, ["codes", "import", "pfs", pfs])
    assert result.exit_code == 0, result.output
    assert queued == [None] and "queued for redrafting" in result.stderr
    again = CliRunner().invoke(main, ["codes", "import", "pfs", pfs])
    assert "already loaded" in again.stdout and queued == [None] and again.stderr == ""


def test_an_import_with_the_queue_down_leaves_the_redraft_to_the_sweep(
    console_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down() -> None:
        raise ConnectionRefusedError("redis://:secret@broker:6379/0")

    monkeypatch.setattr(codes_cli, "enqueue_redraft_stale", broker_down)
    result = CliRunner().invoke(main, ["codes", "import", "pfs", str(cms_files()["pfs"])])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        "the queue is unreachable (ConnectionRefusedError): open drafts will be "
        "redrafted with this release on the next sweep"
    )


def test_a_case_that_fails_does_not_stop_the_rest(
    console_db: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = ask(console_db, 1), ask(console_db, 2)
    with session_scope(console_db) as session:
        import_file(session, "pfs", cms_files()["pfs"])
    real = stale.redraft

    def fails_once(session: Session, settings: Settings, ref: str, actor: str) -> Draft:
        if ref == broken:
            raise ValueError(QUESTION)
        return real(session, settings, ref, actor)

    monkeypatch.setattr(stale, "redraft", fails_once)
    run = stale.redraft_stale(console_db)
    assert run == stale.StaleRun((fine,), failed=1, complete=False)
    assert f"{broken} could not be redrafted (ValueError)" in caplog.text
    assert "99214" not in caplog.text  # the mail's words stay out of the log
    monkeypatch.setattr(stale, "redraft", real)
    assert stale.redraft_stale(console_db) == stale.StaleRun((broken,))
