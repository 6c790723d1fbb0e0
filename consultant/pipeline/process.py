"""Process one stored mail: parse, classify, account, extract, draft — in one transaction.

Input: an inbound message id. Output: what became of it — a new case in
state ``drafted``, a follow-up added to its case (re-drafted), a bounce
recorded on the outbound mail it answers, a robot's mail set aside, or the
row quarantined with the reason — plus the automatic mails to deliver after
commit. The inbound row is claimed by a conditional update (stored ->
processed/ignored), so a task that runs twice, or two workers racing, act
once. A crash before commit leaves nothing half-done; the redelivered task
redoes it. This module decides and moves the case's state; the case's rows
(the case, its codes, its drafts) are written by casework.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from consultant.cases import advance, audit, flag
from consultant.db.base import utcnow
from consultant.db.models import (
    Case,
    CaseState,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.errors import Quarantine
from consultant.logs import case_context
from consultant.pipeline.account import Decision, decide
from consultant.pipeline.casework import (
    add_draft,
    extract_codes,
    merge_codes,
    open_case,
    reopen,
    save_codes,
)
from consultant.pipeline.classify import Kind, Verdict, classify
from consultant.pipeline.limits import check_mime_limits
from consultant.pipeline.notify import queue_auto_mail
from consultant.pipeline.parse import ParsedMessage, parse
from consultant.settings import Settings

log = logging.getLogger(__name__)

# A follow-up re-drafts the case from these states; closed cases get a new case.
REOPENABLE = (CaseState.AWAITING_SENDER, CaseState.SENT)
OPEN = (CaseState.RECEIVED, CaseState.DRAFTED, CaseState.IN_REVIEW, CaseState.APPROVED)


@dataclass(slots=True)
class Processed:
    """What processing one mail did; the caller enqueues `outbound_ids` after commit."""

    case_id: int | None = None
    kind: str | None = None
    outbound_ids: list[int] = field(default_factory=list)


def _claim(
    session: Session,
    inbound_id: int,
    to: InboundState,
    *,
    error: str | None = None,
    kind: str | None = None,
    note: str | None = None,
) -> bool:
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.STORED)
        .values(state=to.value, processed_at=utcnow(), error=error, kind=kind, note=note)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def process_message(session: Session, settings: Settings, inbound_id: int) -> Processed:
    """Turn stored mail into a case, a follow-up, a recorded bounce or a set-aside robot."""
    inbound = session.get(InboundMessage, inbound_id)
    if inbound is None:
        log.warning("inbound %s does not exist", inbound_id)
        return Processed()
    if inbound.state != InboundState.STORED:
        return Processed(inbound.case_id, inbound.kind)
    try:
        check_mime_limits(inbound.raw, settings)  # before parse builds every part
        parsed = parse(inbound.raw)
        verdict = classify(session, settings, parsed)
    except Quarantine as refusal:
        if _claim(session, inbound_id, InboundState.QUARANTINED, error=refusal.reason):
            audit(
                session,
                "system",
                "inbound.quarantined",
                None,
                inbound_id=inbound_id,
                reason=refusal.reason,
            )
            log.info("inbound %s quarantined: %s", inbound_id, refusal.reason)
        return Processed(kind="quarantined")
    if verdict.kind is Kind.BOUNCE:
        return _bounce(session, inbound, parsed, verdict)
    if verdict.kind is Kind.ROBOT:
        return _robot(session, inbound, verdict)
    if verdict.kind is Kind.FOLLOW_UP and verdict.case_id is not None:
        case = session.get_one(Case, verdict.case_id)
        if CaseState(case.state) in (*REOPENABLE, *OPEN):
            return _follow_up(session, settings, inbound, parsed, verdict, case)
        verdict = Verdict(
            Kind.QUESTION,
            f"follows up closed case {case.ref}",
            auth=verdict.auth,
            flag=verdict.flag,
        )
    return _question(session, settings, inbound, parsed, verdict)


def _bounce(
    session: Session, inbound: InboundMessage, parsed: ParsedMessage, verdict: Verdict
) -> Processed:
    state = InboundState.PROCESSED if verdict.case_id else InboundState.IGNORED
    if not _claim(session, inbound.id, state, kind=Kind.BOUNCE.value, note=verdict.reason):
        return Processed()
    inbound.case_id = verdict.case_id
    outbound = session.get_one(OutboundMessage, verdict.outbound_id)
    bounce = parsed.bounce
    assert bounce is not None
    if bounce.permanent:
        outbound.state = OutboundState.BOUNCED.value
        outbound.bounced_at = utcnow()
        outbound.bounce_status = (bounce.status or "")[:16] or None
        outbound.bounce_diagnostic = bounce.diagnostic
        if verdict.case_id is not None:
            _flag(session, verdict.case_id, f"our {outbound.kind} bounced: {verdict.reason}")
    audit(
        session,
        "system",
        "outbound.bounced" if bounce.permanent else "outbound.delayed",
        verdict.case_id,
        outbound_id=outbound.id,
        inbound_id=inbound.id,
        status=bounce.status,
        diagnostic=bounce.diagnostic,
        recipient=bounce.recipient,
    )
    log.info("inbound %s is a %s of outbound %s", inbound.id, verdict.reason, outbound.id)
    return Processed(verdict.case_id, Kind.BOUNCE.value)


def _robot(session: Session, inbound: InboundMessage, verdict: Verdict) -> Processed:
    state = InboundState.PROCESSED if verdict.case_id else InboundState.IGNORED
    if not _claim(session, inbound.id, state, kind=Kind.ROBOT.value, note=verdict.reason):
        return Processed()
    inbound.case_id = verdict.case_id
    audit(
        session,
        "system",
        "inbound.robot",
        verdict.case_id,
        inbound_id=inbound.id,
        reason=verdict.reason,
    )
    log.info("inbound %s is automatic mail, not answered: %s", inbound.id, verdict.reason)
    return Processed(verdict.case_id, Kind.ROBOT.value)


def _follow_up(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    verdict: Verdict,
    case: Case,
) -> Processed:
    if not _claim(session, inbound.id, InboundState.PROCESSED, kind=Kind.FOLLOW_UP.value):
        return Processed()
    inbound.case_id = case.id
    with case_context(case.ref or "-"):
        codes = extract_codes(session, parsed)
        merged = merge_codes(session, case.id, codes)
        audit(session, "system", "case.follow_up", case.id, inbound_id=inbound.id)
        if CaseState(case.state) in REOPENABLE:
            reopen(session, settings, case)
            add_draft(session, settings, case, parsed, merged)
            advance(session, case.id, CaseState.DRAFTED, actor="system", reason="asker replied")
        else:  # A reviewer may be editing: keep their draft, tell them instead.
            _flag(session, case.id, f"the asker wrote again (inbound {inbound.id}) during review")
        if verdict.flag:
            _flag(session, case.id, verdict.flag)
        log.info("inbound %s follows up its case with %d codes", inbound.id, len(codes))
    return Processed(case.id, Kind.FOLLOW_UP.value)


def _question(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    verdict: Verdict,
) -> Processed:
    decision = decide(session, settings, parsed)
    if not decision.open_case:
        return _decline(session, settings, inbound, parsed, verdict, decision)
    if not _claim(
        session, inbound.id, InboundState.PROCESSED, kind=Kind.QUESTION.value, note=verdict.reason
    ):
        return Processed()
    case = open_case(session, settings, inbound, parsed, decision)
    # No autoflush: the pending rows (audit entries above all) go in one flush at commit.
    with case_context(case.ref or "-"), session.no_autoflush:
        codes = extract_codes(session, parsed)
        save_codes(session, case.id, codes)
        add_draft(session, settings, case, parsed, codes, first=True)
        advance(session, case.id, CaseState.DRAFTED, actor="system")
        for reason in (decision.attention, verdict.flag, verdict.reason):
            if reason:
                _flag(session, case.id, reason)
        log.info("case drafted from inbound %s with %d codes", inbound.id, len(codes))
        mails = _auto_mails(session, settings, inbound, parsed, verdict, decision, case)
    return Processed(case.id, Kind.QUESTION.value, mails)


def _decline(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    verdict: Verdict,
    decision: Decision,
) -> Processed:
    """A question the policy opens no case for: set it aside, send the policy's mail."""
    if not _claim(
        session,
        inbound.id,
        InboundState.IGNORED,
        kind=Kind.QUESTION.value,
        note=decision.note,
    ):
        return Processed()
    audit(session, "system", "inbound.declined", None, inbound_id=inbound.id, reason=decision.note)
    log.info("inbound %s opens no case: %s", inbound.id, decision.note)
    return Processed(
        None,
        Kind.QUESTION.value,
        _auto_mails(session, settings, inbound, parsed, verdict, decision, None),
    )


def _auto_mails(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    verdict: Verdict,
    decision: Decision,
    case: Case | None,
) -> list[int]:
    """Queue the policy's automatic mail, or the acknowledgement; never for flagged mail."""
    if not verdict.automatic_mail_allowed:
        return []
    kind = decision.auto_mail or ("acknowledgement" if settings.acknowledge and case else None)
    if kind is None:
        return []
    ref = case.ref if case else None
    outbound = queue_auto_mail(
        session,
        settings,
        kind,
        parsed,
        case_id=case.id if case else None,
        inbound_id=inbound.id,
        ref=ref,
        **decision.context,
    )
    return [outbound.id] if outbound else []


def _flag(session: Session, case_id: int, reason: str) -> None:
    """Add `reason` to what a reviewer must look at first on this case, audited."""
    if flag(session, case_id, reason):
        audit(session, "system", "case.flagged", case_id, reason=reason)
