"""Reuse: an earlier approved answer put into the answer being edited, on the
reviewer's click. The text with it inserted is saved as the case's next draft
version (so a reload neither loses nor repeats it), and the audit log names the
case and the paragraph it came from.

Two sources: a remembered paragraph offered for one of the case's verdict keys
(consultant.memory.offers), and the newest approved answer of a similar
answered case (the paragraphs of it naming the codes both cases share, else
its whole answer part).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.models import ApprovedAnswer, Draft
from consultant.errors import NotFound
from consultant.memory import fact_sheet, insert_paragraph, offers_for
from consultant.memory.paragraphs import answer_paragraphs, names
from consultant.review.actions import save_draft
from consultant.review.cases import get_case
from consultant.review.queue import similar_cases
from consultant.settings import Settings


def reuse_offer(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    offer_id: int,
    edit: tuple[str, str, int],
) -> Draft:
    """Insert remembered paragraph `offer_id` into `edit` (text, subject, base
    version) and save it; NotFound when it is not, or no longer, offered here."""
    case = get_case(session, ref)
    offers = offers_for(session, case.id, fact_sheet(session, case.id))
    offer = next((o for o in offers if o.id == offer_id), None)
    if offer is None:
        raise NotFound(f"remembered paragraph {offer_id} is not offered for this case")
    detail = {"source": offer.ref, "paragraph": offer.id, "key": offer.key}
    return _saved(session, settings, (ref, reviewer), edit, offer.text, detail)


def reuse_answer(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    source_ref: str,
    edit: tuple[str, str, int],
) -> Draft:
    """Insert the approved answer of similar case `source_ref` into `edit` and save it."""
    case = get_case(session, ref)
    similar = {s.case.ref: s for s in similar_cases(session, case)}
    found = similar.get(source_ref.upper())
    if found is None:
        raise NotFound(f"case {source_ref} is not an answered case similar to {case.ref}")
    approved = session.scalar(
        select(ApprovedAnswer)
        .where(ApprovedAnswer.case_id == found.case.id)
        .order_by(ApprovedAnswer.id.desc())
        .limit(1)
    )
    paragraphs = answer_paragraphs(approved.answer) if approved is not None else []
    if approved is None or not paragraphs:
        raise NotFound(f"case {found.case.ref} has no approved answer to reuse")
    chosen = [p for p in paragraphs if any(names(p, code) for code in found.shared)] or paragraphs
    detail = {"source": found.case.ref, "answer": approved.id, "paragraphs": len(chosen)}
    return _saved(session, settings, (ref, reviewer), edit, "\n\n".join(chosen), detail)


def _saved(
    session: Session,
    settings: Settings,
    where: tuple[str, str],
    edit: tuple[str, str, int],
    paragraph: str,
    detail: Mapping[str, object],
) -> Draft:
    """`edit` with `paragraph` inserted, saved as the next draft version by the
    reviewer, and the audit entry naming where the paragraph came from."""
    ref, reviewer = where
    text, subject, base_version = edit
    inserted = insert_paragraph(text, paragraph)
    draft = save_draft(session, settings, ref, reviewer, inserted, subject, base_version)
    audit(session, reviewer, "answer.reused", draft.case_id, **detail)
    return draft
