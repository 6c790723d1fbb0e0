"""Process one stored mail: parse, classify, account, extract, draft — in one transaction.

Input: an inbound message id. Output: what became of it — a new case in
state ``drafted``, a follow-up added to its case (re-drafted), a bounce
recorded on the outbound mail it answers, a robot's mail set aside, or the
row quarantined with the reason — plus the automatic mails to deliver after
commit. The inbound row is claimed by a conditional update (stored ->
processed/ignored), so a task that runs twice, or two workers racing, act
once. A crash before commit leaves nothing half-done; the redelivered task
redoes it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from consultant.cases import advance, audit, flag, make_ref
from consultant.codes.systems import CodeSystem
from consultant.codes.vocabulary import current_vocabulary
from consultant.db.base import utcnow
from consultant.db.models import (
    Case,
    CaseCode,
    CaseState,
    Draft,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.errors import Quarantine
from consultant.logs import case_context
from consultant.pipeline.account import Decision, decide
from consultant.pipeline.classify import Kind, Verdict, classify
from consultant.pipeline.draft import render_answer
from consultant.pipeline.extract import CodeRef, extract_message
from consultant.pipeline.limits import check_mime_limits
from consultant.pipeline.lookup import Report, date_of_service, look_up
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
        codes = _codes(session, parsed)
        merged = _merge_codes(session, case.id, codes)
        audit(session, "system", "case.follow_up", case.id, inbound_id=inbound.id)
        if CaseState(case.state) in REOPENABLE:
            _add_draft(session, settings, case, parsed, merged)
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
    # Over 40 lines: the two outcomes of the policy (no case; a drafted case)
    # are one claim-then-write sequence each, and read best in one place.
    decision = decide(session, settings, parsed)
    if not decision.open_case:
        if not _claim(
            session,
            inbound.id,
            InboundState.IGNORED,
            kind=Kind.QUESTION.value,
            note=decision.note,
        ):
            return Processed()
        audit(
            session, "system", "inbound.declined", None, inbound_id=inbound.id, reason=decision.note
        )
        log.info("inbound %s opens no case: %s", inbound.id, decision.note)
        return Processed(
            None,
            Kind.QUESTION.value,
            _auto_mails(session, settings, inbound, parsed, verdict, decision, None),
        )
    if not _claim(
        session, inbound.id, InboundState.PROCESSED, kind=Kind.QUESTION.value, note=verdict.reason
    ):
        return Processed()
    case = _open_case(session, settings, inbound, parsed, decision)
    # No autoflush: the pending rows (audit entries above all) go in one flush at commit.
    with case_context(case.ref or "-"), session.no_autoflush:
        codes = _codes(session, parsed)
        _save_codes(session, case.id, codes)
        _add_draft(session, settings, case, parsed, codes, first=True)
        advance(session, case.id, CaseState.DRAFTED, actor="system")
        for reason in (decision.attention, verdict.flag, verdict.reason):
            if reason:
                _flag(session, case.id, reason)
        log.info("case drafted from inbound %s with %d codes", inbound.id, len(codes))
        mails = _auto_mails(session, settings, inbound, parsed, verdict, decision, case)
    return Processed(case.id, Kind.QUESTION.value, mails)


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


def _open_case(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    decision: Decision,
) -> Case:
    case = Case(
        sender=parsed.reply_to,
        sender_name=parsed.sender_name[:200],
        account_id=decision.account_id,
        subject=parsed.subject,
        state=CaseState.RECEIVED.value,
    )
    session.add(case)
    session.flush()
    case.ref = make_ref(settings.case_ref_prefix, case)
    inbound.case_id = case.id
    audit(
        session,
        "system",
        "case.opened",
        case.id,
        ref=case.ref,
        inbound_id=inbound.id,
        plan=decision.plan,
    )
    return case


def _codes(session: Session, parsed: ParsedMessage) -> list[CodeRef]:
    """Codes in the mail's Subject and text, judged against the loaded code sets."""
    return extract_message(parsed, current_vocabulary(session))


def _save_codes(session: Session, case_id: int, codes: list[CodeRef], first: int = 0) -> None:
    """Insert the case's code rows now, in one statement (no ORM objects: nothing reads them)."""
    if not codes:
        return
    rows = [
        {
            "case_id": case_id,
            "code": c.code,
            "system": c.system,
            "as_written": c.as_written[:64],
            "start": c.start,
            "end": c.end,
            "quoted": c.quoted,
            "position": first + position,
            "part": c.part,
            "range": c.range,
            "units": c.units,
        }
        for position, c in enumerate(codes)
    ]
    # render_nulls: one statement for all rows, not one per set of non-null keys.
    session.execute(insert(CaseCode).execution_options(render_nulls=True), rows)


def _merge_codes(session: Session, case_id: int, codes: list[CodeRef]) -> list[CodeRef]:
    """Add the follow-up's codes the case does not hold yet; return all its codes as stored.

    Only this module writes case codes, numbered 0, 1, ...: held + new is their
    order by position, without reading back the rows just inserted.
    """
    held = _case_codes(session, case_id)
    keys = {(c.system, c.code) for c in held}
    new = [c for c in codes if (c.system, c.code) not in keys]
    _save_codes(session, case_id, new, first=len(held))
    return held + [replace(c, as_written=c.as_written[:64]) for c in new]


def _case_codes(session: Session, case_id: int) -> list[CodeRef]:
    rows = session.scalars(
        select(CaseCode).where(CaseCode.case_id == case_id).order_by(CaseCode.position)
    )
    return [
        CodeRef(
            r.code,
            CodeSystem(r.system),
            r.as_written,
            r.start,
            r.end,
            r.quoted,
            r.part,
            r.range,
            r.units,
        )
        for r in rows
    ]


def _add_draft(
    session: Session,
    settings: Settings,
    case: Case,
    parsed: ParsedMessage,
    codes: list[CodeRef],
    *,
    first: bool = False,
) -> None:
    """A new system draft version from the newest mail, the case's codes and their lookup.

    `first`: the case was opened in this transaction, so it has no draft yet.
    """
    report = _look_up(session, parsed, codes) if codes else None
    rendered = render_answer(settings, case.ref or "", parsed, codes, report)
    version = None
    if not first:
        version = session.scalar(
            select(Draft.version).where(Draft.case_id == case.id).order_by(Draft.version.desc())
        )
    session.add(
        Draft(
            case_id=case.id,
            version=(version or 0) + 1,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            author="system",
            lookup=json.dumps(report.to_dict()) if report is not None else None,
        )
    )


def _look_up(session: Session, parsed: ParsedMessage, codes: list[CodeRef]) -> Report:
    """Look the codes up on the date of service the mail states, else the mail's date."""
    sent = (parsed.date or utcnow()).date()
    dos, basis = date_of_service(f"{parsed.subject}\n{parsed.new_text}", sent)
    return look_up(session, codes, dos=dos, dos_basis=basis)
