"""A processed mail's draft carries the lookup: findings first, every one with its source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from consultant.codes.icd10cm import load_icd10cm
from consultant.codes.importers import import_file
from consultant.db.models import Draft
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.settings import Settings
from tests.conftest import module_database, need, shared_dir

DATA = shared_dir() / "data"
FILES = {
    "pfs": DATA / "pfs" / "pfs_rvu_indicators_2024_jul.csv",
    "ncci-ptp": DATA / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz",
    "addon": DATA / "ncci" / "aoc_medicare_2026q2.csv",
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    need(all(path.is_file() for path in FILES.values()), f"shared data not found in {DATA}")
    with module_database(Path(tmp_path_factory.mktemp("draft"))) as settings:
        with session_scope(settings) as session:
            for kind, path in FILES.items():
                import_file(session, kind, path)
            load_icd10cm(session)
        yield settings


def _draft_of(settings: Settings, body: str) -> Draft:
    raw = (
        "From: Asker <asker@example.org>\nTo: consult@localhost\nSubject: Knee question\n"
        "Date: Tue, 24 Nov 2026 09:15:00 -0500\nMessage-ID: <knee-1@example.org>\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
    with session_scope(settings) as session:
        draft = session.scalars(select(Draft).where(Draft.case_id == case_id)).one()
        session.expunge(draft)
    return draft


def test_a_draft_opens_with_the_proposed_answer_and_keeps_the_fact_sheet(
    loaded: Settings,
) -> None:
    # Issue 17: the question is answered from the data, so the draft states the
    # verdict first and holds no placeholder; every fact stays in drafts.lookup.
    draft = _draft_of(
        loaded, "Can I bill 20610-59 with 27447? Dx E11.9 and E10.9. DOS 9/3/2024. Thanks"
    )
    report = json.loads(draft.lookup or "{}")
    assert report["dos"] == "2024-09-03"
    assert report["dos_basis"] == "stated in the mail"
    kinds = {(f["kind"], tuple(sorted(f["codes"]))) for f in report["findings"]}
    assert ("ptp", ("20610", "27447")) in kinds
    assert ("excludes1", ("E10.9", "E11.9")) in kinds
    assert all(f["source"]["cite"] for f in report["findings"])
    assert all(fact["source"]["cite"] for c in report["codes"] for fact in c["facts"])
    (pair,) = [v for v in report["verdicts"] if v["kind"] == "pair"]
    assert (pair["column1"], pair["modifier"], pair["modifier_on"]) == ("27447", "59", "20610")
    text = draft.body_text
    first = text.split("\n\n")[2]  # after the greeting and the reference
    assert first.startswith("20610 is column 2 to 27447") and "use 59 on 20610" in first
    assert "[NCCI PTP edits (practitioner), 2024 Q3]" in first
    assert "ptp_practitioner_2024q3_col1_10000-29999.csv.gz" in text  # the Sources list
    assert "[[EXPERT ANSWER" not in text and "consultant codes" not in text
    assert "Codes found in your question" not in text  # the fact sheet is the reviewer's
    assert "20610 is column 2 to 27447" in draft.body_html


def test_a_question_no_verdict_answers_keeps_the_facts_and_the_placeholder(
    loaded: Settings,
) -> None:
    draft = _draft_of(loaded, "Dx E11.9 and E10.9 together? DOS 9/3/2024.")
    report = json.loads(draft.lookup or "{}")
    assert report["verdicts"] == []
    assert "[[EXPERT ANSWER" in draft.body_text and "E11.9" in draft.body_text


def test_a_mail_without_codes_gets_no_lookup(loaded: Settings) -> None:
    draft = _draft_of(loaded, "Who may sign the chart in a clinic? Call 555-0100.")
    assert draft.lookup is None
    assert "What the code sets" not in draft.body_text


def test_a_mail_without_codes_keeps_the_rules_its_words_call_for(loaded: Settings) -> None:
    draft = _draft_of(loaded, "Was that the decision for surgery visit? DOS 9/3/2024.")
    sheet = json.loads(draft.lookup or "{}")
    assert (sheet["dos"], sheet["dos_basis"]) == ("2024-09-03", "stated in the mail")
    (rule,) = [r for r in sheet["rules"] if r["id"] == "em-decision-for-surgery-57"]
    assert rule["verdicts"] == [] and rule["citations"] and rule["version"] >= 1
    assert "codes" not in sheet and "What the code sets" not in draft.body_text
    listed = f"- {rule['title']} ({'; '.join(rule['citations'])}) [rule {rule['id']} v"
    assert f"The rules this rests on:\n{listed}" in draft.body_text
    assert "[[EXPERT ANSWER" in draft.body_text  # a rule is no answer: the expert writes it
    assert rule["title"] in draft.body_html


def test_a_proposed_answer_lists_the_rules_it_rests_on(loaded: Settings) -> None:
    draft = _draft_of(loaded, "Office visit 99213 and 20610 the same day? DOS 9/3/2024.")
    sheet = json.loads(draft.lookup or "{}")
    (rule,) = [r for r in sheet["rules"] if r["id"] == "em-with-minor-procedure-25"]
    (em,) = [n for n, v in enumerate(sheet["verdicts"]) if v["kind"] == "em_procedure"]
    assert rule["verdicts"] == [em]
    assert f"[rule em-with-minor-procedure-25 v{rule['version']}]" in draft.body_text
    assert "<li" in draft.body_html and rule["title"] in draft.body_html
