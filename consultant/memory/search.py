"""Search over past approved answers and their questions: by words, by code, by date.

Input: a session and the filters (`words` free text, `code`, approval dates
`since` and `until`, both inclusive, and `limit`). Output: `Hit`s, newest
approval first: the case's reference and subject, when and by whom it was
approved, a short snippet and the case's codes.

Words are matched by the database's full-text index (migration 0012):
PostgreSQL's tsvector column with plainto_tsquery (English stemming, every
word must occur), SQLite's FTS5 table with every word quoted as a string of
its own, so no input is read as FTS5 syntax (AND, NEAR, *, ^, quotes,
column filters) and none can break the query. Input that holds no word
finds nothing. The code filter uses `answer_codes` (code, answer) index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, column, exists, select, table, text
from sqlalchemy.orm import Session

from consultant.db.models import AnswerCode, ApprovedAnswer, Case
from consultant.memory.paragraphs import names

SNIPPET = 180  # characters around the first match
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WORD = re.compile(r"\w")
_fts = table("answer_search", column("rowid"), column("answer_search"))


@dataclass(frozen=True, slots=True)
class Hit:
    ref: str
    subject: str
    approved_at: datetime
    approved_by: str
    snippet: str
    codes: tuple[str, ...]


def words_of(words: str) -> list[str]:
    """The words of a query: split on white space, controls dropped, those with a
    letter or digit kept."""
    return [term for term in _CONTROL.sub(" ", words).split() if _WORD.search(term)]


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 query matching rows that hold every term: each a quoted string
    (quotes inside doubled), so nothing in it is FTS5 syntax."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def search(
    session: Session,
    words: str = "",
    code: str = "",
    since: date | None = None,
    until: date | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Approved answers matching every filter given, newest approval first."""
    terms = words_of(words)
    if words.strip() and not terms:
        return []  # only punctuation: no word to look for
    query = _filtered(select(ApprovedAnswer.id), code.strip().upper(), since, until)
    if terms:
        query = _matching(session, query, terms)
    ids = list(session.scalars(query.order_by(ApprovedAnswer.id.desc()).limit(limit)))
    return _hits(session, ids, terms, code.strip().upper())


def _filtered(query: Select[Any], code: str, since: date | None, until: date | None) -> Select[Any]:
    if code:
        query = query.where(
            exists().where(AnswerCode.answer_id == ApprovedAnswer.id, AnswerCode.code == code)
        )
    if since is not None:
        query = query.where(ApprovedAnswer.approved_at >= _midnight(since))
    if until is not None:
        query = query.where(ApprovedAnswer.approved_at < _midnight(until + timedelta(days=1)))
    return query


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _matching(session: Session, query: Select[Any], terms: Sequence[str]) -> Select[Any]:
    """Only the rows whose subject, question or answer holds every term."""
    if session.get_bind().dialect.name == "postgresql":
        condition = text("approved_answers.search @@ plainto_tsquery('english', :words)")
        return query.where(condition.bindparams(words=" ".join(terms)))
    return query.join(_fts, _fts.c.rowid == ApprovedAnswer.id).where(
        _fts.c.answer_search.op("MATCH")(fts5_query(terms))
    )


def _hits(session: Session, ids: list[int], terms: Sequence[str], code: str) -> list[Hit]:
    if not ids:
        return []
    rows = session.execute(
        select(ApprovedAnswer, Case.ref)
        .join(Case, Case.id == ApprovedAnswer.case_id)
        .where(ApprovedAnswer.id.in_(ids))
    )
    found = {answer.id: (answer, ref) for answer, ref in rows}
    codes: dict[int, list[str]] = {}
    for answer_id, value in session.execute(
        select(AnswerCode.answer_id, AnswerCode.code)
        .where(AnswerCode.answer_id.in_(ids))
        .order_by(AnswerCode.answer_id, AnswerCode.position)
    ):
        codes.setdefault(answer_id, []).append(value)
    return [
        Hit(
            ref=ref or "",
            subject=answer.subject,
            approved_at=answer.approved_at,
            approved_by=answer.approved_by,
            snippet=snippet((answer.answer, answer.question, answer.subject), terms, code),
            codes=tuple(codes.get(answer.id, ())),
        )
        for answer, ref in (found[answer_id] for answer_id in ids if answer_id in found)
    ]


def snippet(
    texts: Sequence[str], terms: Sequence[str], code: str = "", width: int = SNIPPET
) -> str:
    """A short passage of the first text that holds a term (or the code), around it;
    else the start of the first text that has any."""
    for body in texts:
        at = _first_match(body, terms, code)
        if at is not None:
            return _window(body, at, width)
    return _window(next((body for body in texts if body.strip()), ""), 0, width)


def _first_match(body: str, terms: Sequence[str], code: str) -> int | None:
    """Where a term's stem (its first letters) or the code first occurs in `body`."""
    starts = [
        found.start()
        for term in terms
        if (found := re.search(re.escape(term[: max(4, len(term) - 3)]), body, re.I))
    ]
    if code and names(body, code):
        starts.append(body.upper().find(code))
    return min(starts, default=None)


def _window(body: str, at: int, width: int) -> str:
    start = max(0, at - width // 3)
    passage = " ".join(body[start : start + width].split())
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(body) else ""
    return f"{prefix}{passage}{suffix}"
