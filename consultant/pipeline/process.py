"""Process one stored mail: parse, account, extract, draft — in one transaction.

Input: an inbound message id. Output: a case in state ``drafted`` with its
codes and first draft, or the inbound row quarantined with the reason. The
inbound row is claimed by a conditional update (stored -> processed), so a
task that runs twice, or two workers racing, create one case and one draft.
A crash before commit leaves nothing half-done; the redelivered task redoes it.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from consultant.cases import advance, audit, make_ref
from consultant.db.base import utcnow
from consultant.db.models import Case, CaseCode, CaseState, Draft, InboundMessage, InboundState
from consultant.errors import Quarantine
from consultant.logs import case_context
from consultant.pipeline.account import find_account
from consultant.pipeline.draft import render_answer
from consultant.pipeline.extract import CodeRef, find_codes
from consultant.pipeline.parse import ParsedMessage, parse
from consultant.settings import Settings

log = logging.getLogger(__name__)


def _claim(session: Session, inbound_id: int, to: InboundState, error: str | None = None) -> bool:
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.STORED)
        .values(state=to.value, processed_at=utcnow(), error=error)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def process_message(session: Session, settings: Settings, inbound_id: int) -> int | None:
    """Turn stored mail into a drafted case; return the case id (None if quarantined)."""
    inbound = session.get(InboundMessage, inbound_id)
    if inbound is None:
        log.warning("inbound %s does not exist", inbound_id)
        return None
    if inbound.state != InboundState.STORED:
        return inbound.case_id
    try:
        parsed = parse(inbound.raw)
    except Quarantine as refusal:
        if _claim(session, inbound_id, InboundState.QUARANTINED, refusal.reason):
            audit(
                session,
                "system",
                "inbound.quarantined",
                None,
                inbound_id=inbound_id,
                reason=refusal.reason,
            )
            log.info("inbound %s quarantined: %s", inbound_id, refusal.reason)
        return None
    if not _claim(session, inbound_id, InboundState.PROCESSED):
        return None  # Another worker got there first.
    case = _open_case(session, settings, inbound, parsed)
    with case_context(case.ref or "-"):
        codes = find_codes(parsed.text, parsed.quoted_from)
        _save_codes(session, case.id, codes)
        _save_first_draft(session, settings, case, parsed, codes)
        advance(session, case.id, CaseState.DRAFTED, actor="system")
        log.info("case drafted from inbound %s with %d codes", inbound_id, len(codes))
    return case.id


def _open_case(
    session: Session, settings: Settings, inbound: InboundMessage, parsed: ParsedMessage
) -> Case:
    case = Case(
        sender=parsed.reply_to,
        sender_name=parsed.sender_name[:200],
        account_id=find_account(session, parsed.sender),
        subject=parsed.subject,
        state=CaseState.RECEIVED.value,
    )
    session.add(case)
    session.flush()
    case.ref = make_ref(settings.case_ref_prefix, case)
    inbound.case_id = case.id
    audit(session, "system", "case.opened", case.id, ref=case.ref, inbound_id=inbound.id)
    return case


def _save_codes(session: Session, case_id: int, codes: list[CodeRef]) -> None:
    session.add_all(
        CaseCode(
            case_id=case_id,
            code=c.code,
            system=c.system,
            as_written=c.as_written[:64],
            start=c.start,
            end=c.end,
            quoted=c.quoted,
            position=position,
        )
        for position, c in enumerate(codes)
    )


def _save_first_draft(
    session: Session, settings: Settings, case: Case, parsed: ParsedMessage, codes: list[CodeRef]
) -> None:
    rendered = render_answer(settings, case.ref or "", parsed, codes)
    session.add(
        Draft(
            case_id=case.id,
            version=1,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            author="system",
        )
    )
