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

Newest first: by approval time, through its index; on SQLite with words, by
id in FTS5's own order (ids grow with approval time), the id range bounded
to the date window so an old window does not read every newer match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, column, exists, func, select, table, text
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer

from consultant.db.models import AnswerCode, ApprovedAnswer, Case
from consultant.memory.paragraphs import names

SNIPPET = 180  # characters around the first match
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WORD = re.compile(r"\w")
_fts = table("answer_search", column("rowid", Integer), column("answer_search"))


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
    code = code.strip().upper()
    window = Window.of(since, until)
    query, fts_key = _keyed(session, terms)
    if code:
        query = query.where(
            exists().where(AnswerCode.answer_id == ApprovedAnswer.id, AnswerCode.code == code)
        )
    query = query.where(*window.conditions())
    order: tuple[Any, ...] = (ApprovedAnswer.approved_at.desc(), ApprovedAnswer.id.desc())
    if fts_key is not None:
        # FTS5 walks its index by id, newest first, and stops at the limit.
        bounds = _id_bounds(session, window)
        if bounds is None:
            return []  # nothing was approved in the window
        query, order = query.where(*_within(fts_key, bounds)), (fts_key.desc(),)
    ids = list(session.scalars(query.order_by(*order).limit(limit)))
    return _hits(session, ids, terms, code)


@dataclass(frozen=True, slots=True)
class Window:
    """Approval times from `start` (inclusive) to `end` (exclusive), either open."""

    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, since: date | None, until: date | None) -> Window:
        end = until + timedelta(days=1) if until is not None else None
        return cls(*(datetime.combine(d, time(), tzinfo=UTC) if d else None for d in (since, end)))

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.start is not None:
            found.append(ApprovedAnswer.approved_at >= self.start)
        if self.end is not None:
            found.append(ApprovedAnswer.approved_at < self.end)
        return found


def _id_bounds(session: Session, window: Window) -> tuple[int | None, int | None] | None:
    """The smallest id approved at the window's start or later and the largest before
    its end: every answer of the window lies between, whatever order ids were given
    in; None when the window holds none. Bounded by them, the full-text and code
    indexes (ordered by id) skip the answers outside the window instead of reading
    every newer one."""
    low = high = None
    if window.start is not None:
        low = _edge(session, func.min, ApprovedAnswer.approved_at >= window.start)
        if low is None:
            return None
    if window.end is not None:
        high = _edge(session, func.max, ApprovedAnswer.approved_at < window.end)
        if high is None:
            return None
    return low, high


def _edge(session: Session, pick: Any, condition: ColumnElement[bool]) -> int | None:
    # Of `id + 0`, not of the bare id: for min(id) SQLite would walk the ids testing
    # each one's time; this way it reads the time index's range (it holds the ids).
    value = session.scalar(select(pick(ApprovedAnswer.id + 0)).where(condition))
    return None if value is None else int(value)


def _within(key: Any, bounds: tuple[int | None, int | None]) -> list[ColumnElement[bool]]:
    low, high = bounds
    found = []
    if low is not None:
        found.append(key >= low)
    if high is not None:
        found.append(key <= high)
    return found


def _keyed(session: Session, terms: Sequence[str]) -> tuple[Select[Any], Any]:
    """The query of answer ids holding every term (all when there is none) and, on
    SQLite with terms, the FTS5 rowid it is to be ordered and bounded by."""
    query = select(ApprovedAnswer.id)
    if not terms:
        return query, None
    if session.get_bind().dialect.name == "postgresql":
        condition = text("approved_answers.search @@ plainto_tsquery('english', :words)")
        return query.where(condition.bindparams(words=" ".join(terms))), None
    matching = query.join(_fts, _fts.c.rowid == ApprovedAnswer.id).where(
        _fts.c.answer_search.op("MATCH")(fts5_query(terms))
    )
    return matching, _fts.c.rowid


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
