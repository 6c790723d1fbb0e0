"""Helpers for the answer memory's tests (tests/unit/memory/test_memory.py, run on
PostgreSQL too by tests/integration/test_memory_pg.py, and the console's): real
mails processed by the pipeline against small NCCI PTP releases written here
(codes and indicators are facts), approved through consultant.review.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant import memory
from consultant.codes.importers import import_file
from consultant.db.models import (
    AnswerCode,
    ApprovedAnswer,
    Case,
    Draft,
    RememberedParagraph,
)
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.policies.store import in_use
from consultant.review import approve, latest_draft
from consultant.settings import Settings

PTP_HEADER = "column1,column2,deletion_date,modifier_indicator,ptp_edit_rationale\n"
RITA = "rita@desk.example"
# What the reviewer adds to the proposed answer: their own words on the pair.
EXPERT = (
    "For 27447 with 20610 on the same knee the arthrocentesis is bundled into the "
    "arthroplasty; report 20610 only for another joint, with XS on 20610."
)
FTS_SYNTAX = [
    'AND OR NOT "unbalanced',
    "NEAR(arthroplasty bundled",
    "*",
    "arthroplasty*",
    "subject:knee",
    "^arthroplasty",
    "(",
    "'; DROP TABLE approved_answers; --",
    '"',
    "-arthroplasty +bundled",
    "\x00",
    "a:b:c {x} [y] |z| &&",
]


def load_ptp(settings: Settings, folder: Path, quarter: str, indicator: str) -> None:
    """An NCCI PTP release with 27447/20610 at `indicator` and 29881/20610 at 1."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ptp_practitioner_{quarter}.csv"
    rows = f"27447,20610,,{indicator},Misuse\n29881,20610,,1,Misuse\n"
    path.write_text(PTP_HEADER + rows)
    effective = {"2024q3": date(2024, 7, 1), "2024q4": date(2024, 10, 1)}[quarter]
    label = f"{quarter[:4]} {quarter[4:].upper()}"
    with session_scope(settings) as session:
        import_file(session, "ncci-ptp", path, label=label, effective=effective)


def ask(settings: Settings, text: str, subject: str = "Knee question") -> str:
    """Process a question from a sender of its own; return its case reference."""
    mail = EmailMessage()
    mail["From"] = f"Dana <dana-{uuid.uuid4().hex[:8]}@clinic.example>"
    mail["To"], mail["Subject"] = "consult@localhost", subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@clinic.example>"
    mail.set_content(text)
    with session_scope(settings) as session:
        inbound_id = store_raw(session, mail.as_bytes(), source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def pair_question(settings: Settings, dos: str = "9/3/2024", other: str = "27447") -> str:
    return ask(settings, f"Can {other} and 20610 be billed together? DOS {dos}. Patient J.")


def approve_with_expert_words(settings: Settings, ref: str, rules: bool = False) -> int:
    """Approve the case with EXPERT added to its answer; `rules`: its fact sheet cites the
    first rule in use for its first verdict first (the contract the answer engine
    fills in). Return the rule's version cited, or 0."""
    cited = 0
    with session_scope(settings) as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        draft = latest_draft(session, case.id)
        assert draft is not None and draft.lookup
        if rules:
            cited = _cite_rule(session, draft)
        text = memory.insert_paragraph(draft.body_text, EXPERT)
        approve(session, settings, ref, RITA, text, None, draft.version)
    return cited


def answered_pair(settings: Settings, folder: Path) -> str:
    """PTP 2024 Q3 loaded, a question on 27447 with 20610 approved with EXPERT; its ref."""
    load_ptp(settings, folder, "2024q3", "1")
    ref = pair_question(settings)
    approve_with_expert_words(settings, ref)
    return ref


def _cite_rule(session: Session, draft: Draft) -> int:
    rule = in_use(session)[0]
    sheet = json.loads(draft.lookup or "{}")
    sheet["rules"] = [
        {
            "id": rule.id,
            "version": rule.version,
            "title": rule.title,
            "text": rule.text,
            "citations": list(rule.citations),
            "verdicts": [0],
        }
    ]
    draft.lookup = json.dumps(sheet)
    return rule.version


def offers(settings: Settings, ref: str) -> list[memory.Offer]:
    with session_scope(settings) as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == ref)).one()
        return memory.offers_for(session, case_id, memory.fact_sheet(session, case_id))


def search(settings: Settings, words: str = "", **filters: object) -> list[str]:
    """The case references a search finds, newest first."""
    with session_scope(settings) as session:
        return [hit.ref for hit in memory.search(session, words, **filters)]  # type: ignore[arg-type]


def memory_rows(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (ApprovedAnswer, RememberedParagraph, AnswerCode)
        )
