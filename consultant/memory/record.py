"""Remember an approved answer; forget a case's answers when its mail is purged.

Input: at approval (consultant.review.actions.approve, in its transaction) the
case, the approved draft and the reviewer. Output: one `approved_answers` row
(subject, the asker's text, the answer part of the approved text, the rules
cited), one `remembered_paragraphs` row per verdict key the approved
paragraphs answer (consultant.memory.paragraphs decides which), and the
case's codes in `answer_codes`. The verdict is kept as drafted (its facts,
sources and `stale`), with the releases the draft was made with ("data") and
the rule versions cited for it, read from the fact sheet of the case's newest
system draft (`drafts.lookup`).

`build` and `rows` are pure, so the benchmark inserts 100,000 answers in
bulk through the same row-building code. `forget_case` deletes every row of a
case (retention), `optimize_index` rewrites the SQLite full-text index so
deleted words leave its pages too. Nothing here logs text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from consultant.db.base import utcnow
from consultant.db.models import (
    AnswerCode,
    ApprovedAnswer,
    Case,
    CaseCode,
    Draft,
    InboundMessage,
    RememberedParagraph,
)
from consultant.errors import Quarantine
from consultant.memory.keys import codes_of, verdict_key
from consultant.memory.paragraphs import answer_paragraphs, naming
from consultant.pipeline.parse import parse

QUESTION_LIMIT = 20_000  # characters of the asker's text kept for search


@dataclass(frozen=True, slots=True)
class Remembered:
    """What one approval leaves in memory, as column values (no ids yet)."""

    answer: dict[str, Any]
    paragraphs: list[dict[str, Any]]
    codes: list[str]


def build(
    *,
    case_id: int,
    text: str,
    sheet: Mapping[str, Any] | None,
    codes: Sequence[str],
    approved_by: str,
    approved_at: datetime,
    subject: str = "",
    question: str = "",
    draft_id: int | None = None,
) -> Remembered:
    """The rows an approval of `text` leaves, the verdicts and rules read from `sheet`."""
    sheet = sheet or {}
    said = answer_paragraphs(text)
    rules = list(sheet.get("rules") or [])
    stamp = {"case_id": case_id, "approved_by": approved_by, "approved_at": approved_at}
    paragraphs: dict[str, dict[str, Any]] = {}
    for index, verdict in enumerate(sheet.get("verdicts") or []):
        key = verdict_key(verdict)
        answering = naming(said, codes_of(key)) if key else []
        if key is None or not answering or key in paragraphs:
            continue
        paragraphs[key] = {
            **stamp,
            "key": key,
            "text": "\n\n".join(answering),
            "verdict": dict(verdict),
            "data": list(sheet.get("data") or []),
            "rules": [_citation(rule) for rule in rules if index in (rule.get("verdicts") or ())],
        }
    answer = {
        **stamp,
        "draft_id": draft_id,
        "subject": subject,
        "question": question[:QUESTION_LIMIT],
        "answer": "\n\n".join(said),
        "rules": [_citation(rule) for rule in rules],
    }
    return Remembered(answer, list(paragraphs.values()), list(dict.fromkeys(codes)))


def _citation(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": rule.get("id"), "version": rule.get("version"), "title": rule.get("title")}


def rows(
    remembered: Remembered, answer_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The approved_answers, remembered_paragraphs and answer_codes rows, under `answer_id`."""
    paragraphs = [{**row, "answer_id": answer_id} for row in remembered.paragraphs]
    codes = [
        {"answer_id": answer_id, "code": code, "position": position}
        for position, code in enumerate(remembered.codes)
    ]
    return {**remembered.answer, "id": answer_id}, paragraphs, codes


def write(session: Session, remembered: Remembered) -> int:
    """Insert the rows of one approval; return the answer's id."""
    answer_id = session.execute(
        insert(ApprovedAnswer).values(**remembered.answer).returning(ApprovedAnswer.id)
    ).scalar_one()
    _, paragraphs, codes = rows(remembered, answer_id)
    for model, values in ((RememberedParagraph, paragraphs), (AnswerCode, codes)):
        if values:
            session.execute(insert(model), values)
    return int(answer_id)


def remember(session: Session, case: Case, draft: Draft, reviewer: str) -> int:
    """Keep the approved `draft` of `case` in memory (the caller's transaction)."""
    codes = session.scalars(
        select(CaseCode.code).where(CaseCode.case_id == case.id).order_by(CaseCode.position)
    )
    remembered = build(
        case_id=case.id,
        draft_id=draft.id,
        text=draft.body_text,
        sheet=fact_sheet(session, case.id),
        codes=list(codes),
        approved_by=reviewer,
        approved_at=utcnow(),
        subject=case.subject,
        question=question_text(session, case.id),
    )
    return write(session, remembered)


def fact_sheet(session: Session, case_id: int) -> dict[str, Any] | None:
    """The fact sheet of the case's newest system draft (`drafts.lookup`), or None."""
    stored = session.scalar(
        select(Draft.lookup)
        .where(Draft.case_id == case_id, Draft.lookup.is_not(None))
        .order_by(Draft.version.desc())
        .limit(1)
    )
    if not stored:
        return None
    sheet: dict[str, Any] = json.loads(stored)
    return sheet


def question_text(session: Session, case_id: int) -> str:
    """The new text of every mail of the case, oldest first (quotes and signatures left out)."""
    raws = session.scalars(
        select(InboundMessage.raw)
        .where(InboundMessage.case_id == case_id)
        .order_by(InboundMessage.id)
    )
    return "\n\n".join(_new_text(raw) for raw in raws if raw).strip()


def _new_text(raw: bytes) -> str:
    try:
        return parse(raw).new_text.strip()
    except Quarantine:  # a mail the pipeline kept with the case but cannot read
        return ""


def count_case(session: Session, case_id: int) -> int:
    """How many approved answers of the case memory holds."""
    found = (
        select(func.count()).select_from(ApprovedAnswer).where(ApprovedAnswer.case_id == case_id)
    )
    return int(session.scalar(found) or 0)


def forget_case(session: Session, case_id: int) -> int:
    """Delete every remembered row of the case (its text leaves the search index too)."""
    answer_ids = list(
        session.scalars(select(ApprovedAnswer.id).where(ApprovedAnswer.case_id == case_id))
    )
    _delete(session, answer_ids)
    return len(answer_ids)


def _delete(session: Session, answer_ids: Iterable[int]) -> None:
    ids = list(answer_ids)
    if not ids:
        return
    session.execute(delete(RememberedParagraph).where(RememberedParagraph.answer_id.in_(ids)))
    session.execute(delete(AnswerCode).where(AnswerCode.answer_id.in_(ids)))
    session.execute(delete(ApprovedAnswer).where(ApprovedAnswer.id.in_(ids)))


def optimize_index(session: Session) -> None:
    """SQLite: merge the full-text index into one segment, dropping deleted entries,
    whose words would otherwise stay in old segments until a later merge."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            "INSERT INTO answer_search(answer_search) VALUES ('optimize')"
        )
