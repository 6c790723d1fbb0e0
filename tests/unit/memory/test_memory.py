"""The answer memory on the embedded profile (SQLite, FTS5); the same tests run on
PostgreSQL (tsvector, GIN) in tests/integration/test_memory_pg.py, which gives
them its own `migrated`. An approved paragraph is offered for the same verdict
key only; it is stale when newer data or an edited rule changed what it rested
on; search finds answers by words, code and date, never breaks on FTS syntax,
and a purged case leaves memory and search.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from consultant import memory
from consultant.db.base import utcnow
from consultant.db.models import ApprovedAnswer, Case, OutboundMessage
from consultant.db.session import session_scope
from consultant.policies.rules import parse_rule
from consultant.policies.store import in_use, retire, save
from consultant.retention import purge
from consultant.review import approve, latest_draft
from consultant.settings import Settings
from tests.memory_support import (
    EXPERT,
    FTS_SYNTAX,
    RITA,
    answered_pair,
    approve_with_expert_words,
    ask,
    load_ptp,
    memory_rows,
    offers,
    pair_question,
    search,
)
from tests.retention_support import age_everything


def test_an_approved_paragraph_is_offered_for_the_same_pair_only(
    migrated: Settings, tmp_path: Path
) -> None:
    first = answered_pair(migrated, tmp_path)
    same, other = pair_question(migrated, "9/10/2024"), pair_question(migrated, other="29881")

    (offer,) = offers(migrated, same)
    assert offer.key == "pair:20610+27447" and offer.ref == first
    assert offer.approved_by == RITA and utcnow() - offer.approved_at < timedelta(minutes=5)
    assert EXPERT in offer.text and "20610 is column 2 to 27447" in offer.text
    for frame in ("Hello", "Date of service", "Sources:", "wrote:", "Patient J", "-- "):
        assert frame not in offer.text, frame
    assert offer.verdict["edit"] is True and offer.verdict["modifier_indicator"] == "1"
    assert any("2024 Q3" in source for source in offer.verdict["sources"])
    assert offer.stale == () and offer.differs == ()
    assert offers(migrated, other) == []  # pair:20610+29881 was never answered
    assert offers(migrated, first) == []  # a case is not offered its own answer


def test_a_paragraph_is_stale_once_newer_data_changed_the_verdict(
    migrated: Settings, tmp_path: Path
) -> None:
    first = answered_pair(migrated, tmp_path)
    load_ptp(migrated, tmp_path, "2024q4", "0")  # the edit allows no modifier any more
    before, after = pair_question(migrated, "9/20/2024"), pair_question(migrated, "10/15/2024")

    assert [offer.stale for offer in offers(migrated, before)] == [()]
    (offer,) = offers(migrated, after)
    (reason,) = offer.stale
    assert offer.ref == first and offer.verdict["modifier_indicator"] == "1"
    assert "newer data changed the verdict" in reason and "modifier_indicator 1 → 0" in reason
    assert "2024 Q3" in reason and "2024 Q4" in reason


def test_a_paragraph_is_stale_once_a_rule_it_cited_was_edited(
    migrated: Settings, tmp_path: Path
) -> None:
    load_ptp(migrated, tmp_path, "2024q3", "1")
    first = pair_question(migrated)
    cited = approve_with_expert_words(migrated, first, rules=True)
    later = pair_question(migrated, "9/12/2024")
    (offer,) = offers(migrated, later)
    assert offer.stale == () and [rule["version"] for rule in offer.rules] == [cited]

    with session_scope(migrated) as session:
        rule = in_use(session)[0]
        edited = {**rule.entry(), "text": rule.text + " Check the payer's policy too."}
        save(session, parse_rule(edited), "admin@desk.example")
    (offer,) = offers(migrated, later)
    assert offer.stale == (
        f'policy rule "{rule.title}" ({rule.id}) was cited at version {cited}; '
        f"it is at version {cited + 1} now",
    )
    with session_scope(migrated) as session:
        retire(session, rule.id, "admin@desk.example")
    (offer,) = offers(migrated, later)
    assert offer.stale == (
        f'policy rule "{rule.title}" ({rule.id}) was retired (version {cited + 2})',
    )


def test_search_finds_by_word_and_code_and_filters_by_date(
    migrated: Settings, tmp_path: Path
) -> None:
    knee = answered_pair(migrated, tmp_path)
    shoulder = ask(migrated, "Which modifier for 23472 in a revision? DOS 9/3/2024", "Shoulder")
    with session_scope(migrated) as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == shoulder)).one()
        draft = latest_draft(session, case_id)
        assert draft is not None
        text = memory.insert_paragraph(draft.body_text, "Report 23472 once, with no modifier.")
        approve(session, migrated, shoulder, RITA, text, None, draft.version)
    _approved_on(migrated, knee, datetime(2025, 1, 10, 15, 0))
    _approved_on(migrated, shoulder, datetime(2025, 6, 1, 9, 0))

    assert search(migrated, "arthroplasty") == [knee]  # the reviewer's words
    assert search(migrated, "billed together") == [knee]  # the asker's words
    assert search(migrated, "Arthroplasties bundling") == [knee]  # stems, any case
    assert search(migrated, "arthroplasty shoulder") == []  # every word must occur
    assert search(migrated, code="20610") == [knee]
    assert search(migrated, code="23472") == [shoulder]
    assert search(migrated) == [shoulder, knee]  # newest approval first
    assert search(migrated, "modifier", code="27447") == [knee]
    assert search(migrated, since=date(2025, 3, 1)) == [shoulder]
    assert search(migrated, until=date(2025, 1, 10)) == [knee]  # inclusive
    assert search(migrated, "arthroplasty", since=date(2025, 1, 11)) == []
    with session_scope(migrated) as session:
        (hit,) = memory.search(session, "arthroplasty")
    assert "arthroplasty" in hit.snippet and hit.codes == ("27447", "20610")
    assert hit.approved_by == RITA and hit.subject == "Knee question"


def _approved_on(settings: Settings, ref: str, when: datetime) -> None:
    with session_scope(settings) as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == ref)).one()
        session.execute(
            update(ApprovedAnswer)
            .where(ApprovedAnswer.case_id == case_id)
            .values(approved_at=when.replace(tzinfo=utcnow().tzinfo))
        )


def test_fts_syntax_in_the_words_never_errors(migrated: Settings, tmp_path: Path) -> None:
    knee = answered_pair(migrated, tmp_path)
    for words in FTS_SYNTAX:
        found = search(migrated, words)
        assert found in ([], [knee]), (words, found)
    assert search(migrated, '"arthroplasty"') == [knee]
    assert search(migrated, "arthroplasty*") == [knee]
    assert search(migrated, "*") == []  # no word in it: nothing to look for


def test_a_purged_case_leaves_memory_and_search(migrated: Settings, tmp_path: Path) -> None:
    knee = answered_pair(migrated, tmp_path)
    with session_scope(migrated) as session:  # purge takes final cases: this one was sent
        session.execute(update(Case).where(Case.ref == knee).values(state="sent"))
        session.execute(update(OutboundMessage).values(state="sent"))
    assert search(migrated, "arthroplasty") == [knee] and memory_rows(migrated)[0] == 1
    age_everything(migrated, days=400)

    erased = purge(migrated, 365, actor="test")

    assert erased.cases == 1 and erased.remembered == 1
    assert memory_rows(migrated) == (0, 0, 0)
    assert search(migrated, "arthroplasty") == [] and search(migrated, code="27447") == []
    assert offers(migrated, pair_question(migrated)) == []
