"""Offers: the remembered paragraphs a case's reviewer may reuse, each checked first.

Input: a session, the case and the fact sheet of its newest system draft
(`drafts.lookup`). Output: for each verdict key of that draft, the most
recently approved paragraph of another case for the same key, with the case
it came from, who approved it and when, and why it is stale or answered
another verdict (consultant.memory.stale), said before anyone reuses it.
Read only: an offer goes into an answer only when a reviewer inserts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.db.models import Case, RememberedParagraph
from consultant.errors import NotFound
from consultant.memory.keys import verdict_key
from consultant.memory.paragraphs import insert_paragraph
from consultant.memory.record import fact_sheet
from consultant.memory.stale import data_reasons, rule_reasons
from consultant.policies.store import library


@dataclass(frozen=True, slots=True)
class Offer:
    id: int  # the remembered paragraph's
    key: str
    text: str
    ref: str  # the case it came from
    approved_by: str
    approved_at: datetime
    verdict: dict[str, Any]  # as drafted for that case
    rules: list[dict[str, Any]]  # the rule versions it cited
    stale: tuple[str, ...]  # why it no longer stands; () when it does
    differs: tuple[str, ...]  # why it answered another verdict than this case's


def current_verdicts(sheet: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The draft's verdicts by key (the first of a key, in the draft's order)."""
    found: dict[str, dict[str, Any]] = {}
    for verdict in (sheet or {}).get("verdicts") or []:
        key = verdict_key(verdict)
        if key is not None:
            found.setdefault(key, verdict)
    return found


def offers_for(session: Session, case_id: int, sheet: Mapping[str, Any] | None) -> list[Offer]:
    """The newest remembered paragraph of another case per verdict key of `sheet`."""
    verdicts = current_verdicts(sheet)
    if not verdicts:
        return []
    rows = _newest(session, case_id, list(verdicts))
    newest = _library(session) if any(row.rules for row, _ in rows) else {}
    return [_offer(row, ref, verdicts[row.key], newest) for row, ref in rows]


def _newest(
    session: Session, case_id: int, keys: Sequence[str]
) -> list[tuple[RememberedParagraph, str]]:
    rank = (
        func.row_number()
        .over(partition_by=RememberedParagraph.key, order_by=RememberedParagraph.id.desc())
        .label("rank")
    )
    ranked = (
        select(RememberedParagraph.id, rank)
        .where(RememberedParagraph.key.in_(keys), RememberedParagraph.case_id != case_id)
        .subquery()
    )
    query = (
        select(RememberedParagraph, Case.ref)
        .join(ranked, ranked.c.id == RememberedParagraph.id)
        .join(Case, Case.id == RememberedParagraph.case_id)
        .where(ranked.c.rank == 1)
    )
    order = {key: index for index, key in enumerate(keys)}
    found = [(row, ref or "") for row, ref in session.execute(query)]
    return sorted(found, key=lambda pair: order[pair[0].key])


def _library(session: Session) -> dict[str, tuple[int, bool]]:
    return {rule.id: (rule.version, rule.retired) for rule in library(session)}


def _offer(
    row: RememberedParagraph,
    ref: str,
    now: Mapping[str, Any],
    newest: Mapping[str, tuple[int, bool]],
) -> Offer:
    stale, differs = data_reasons(row.verdict, now)
    return Offer(
        id=row.id,
        key=row.key,
        text=row.text,
        ref=ref,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        verdict=dict(row.verdict),
        rules=list(row.rules or []),
        stale=tuple(stale + rule_reasons(row.rules or [], newest)),
        differs=tuple(differs),
    )


def insert_offer(session: Session, case_id: int, offer_id: int, text: str) -> str:
    """`text` (the reviewer's answer as being edited) with offer `offer_id` inserted
    (consultant.memory.paragraphs.insert_paragraph); NotFound when that paragraph
    is not, or no longer, offered for this case. Nothing is saved."""
    for offer in offers_for(session, case_id, fact_sheet(session, case_id)):
        if offer.id == offer_id:
            return insert_paragraph(text, offer.text)
    raise NotFound(f"remembered paragraph {offer_id} is not offered for this case")
