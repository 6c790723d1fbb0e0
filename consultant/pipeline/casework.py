"""What processing writes on a case: the case row, its codes and its system drafts.

Input: a parsed mail and the codes extracted from it. Output: rows in the
caller's transaction: a new case (state ``received``, audited), its code rows,
numbered in the order first seen, and a new system draft version rendered
from the newest mail, the codes and their lookup report (which records the
code releases it was made with, so a redraft can tell when newer data came). process.py decides
what to write and moves the case's state; this module only writes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consultant.accounts import GUEST_PLAN, load_plans
from consultant.answer.engine import Answer, answer_question, rules_only
from consultant.answer.question import read_question
from consultant.answer.summary import signals
from consultant.cases import audit, make_ref
from consultant.codes.in_effect import made_with, releases_in_effect
from consultant.codes.kinds import PRACTITIONER
from consultant.codes.systems import CodeSystem
from consultant.codes.vocabulary import current_vocabulary
from consultant.db.base import utcnow
from consultant.db.models import Account, Case, CaseCode, CaseState, Draft, InboundMessage
from consultant.pipeline.account import Decision
from consultant.pipeline.draft import render_answer
from consultant.pipeline.extract import CodeRef, extract_message
from consultant.pipeline.lookup import Report, date_of_service, look_up
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings


def open_case(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    decision: Decision,
) -> Case:
    """Open a case for the mail (state received, with its ref), audited."""
    opened = utcnow()
    case = Case(
        sender=parsed.reply_to,
        sender_name=parsed.sender_name[:200],
        account_id=decision.account_id,
        subject=parsed.subject,
        state=CaseState.RECEIVED.value,
        created_at=opened,
        due_at=due(settings, decision.plan, opened),
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


def due(settings: Settings, plan: str, since: datetime) -> datetime:
    """When an answer is due: the plan's SLA (the default plan's for a plan gone) after `since`."""
    plans = load_plans(settings)
    chosen = plans.get(plan) or plans[settings.default_plan]
    return since + timedelta(hours=chosen.sla_hours)


def reopen(session: Session, settings: Settings, case: Case) -> None:
    """The asker replied to an answered case, or answered our question: mark it for the
    queue and give the new question its own due time."""
    now = utcnow()
    case.reopened_at = now
    plan = session.scalar(select(Account.plan).where(Account.id == case.account_id))
    case.due_at = due(settings, plan or GUEST_PLAN, now)


def extract_codes(session: Session, parsed: ParsedMessage) -> list[CodeRef]:
    """Codes in the mail's Subject and text, judged against the loaded code sets."""
    return extract_message(parsed, current_vocabulary(session))


def save_codes(session: Session, case_id: int, codes: list[CodeRef], first: int = 0) -> None:
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


def merge_codes(session: Session, case_id: int, codes: list[CodeRef]) -> list[CodeRef]:
    """Add the follow-up's codes the case does not hold yet; return all its codes as stored.

    Only this module writes case codes, numbered 0, 1, ...: held + new is their
    order by position, without reading back the rows just inserted.
    """
    held = case_codes(session, case_id)
    keys = {(c.system, c.code) for c in held}
    new = [c for c in codes if (c.system, c.code) not in keys]
    save_codes(session, case_id, new, first=len(held))
    return held + [replace(c, as_written=c.as_written[:64]) for c in new]


def case_codes(session: Session, case_id: int) -> list[CodeRef]:
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


def add_draft(
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
    chosen, used = _settings(session, case, parsed, codes)
    report = _look_up(session, parsed, codes, used) if codes else None
    proposed = _proposed(session, parsed, codes, report, chosen)
    rendered = render_answer(settings, case.ref or "", parsed, codes, report, proposed)
    sheet = _fact_sheet(session, report, proposed)
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
            lookup=sheet,
        )
    )
    mark = signals(json.loads(sheet) if sheet else None)
    case.verdicts, case.severity, case.stale_data = mark.verdicts, mark.severity, mark.stale_data


def _settings(
    session: Session, case: Case, parsed: ParsedMessage, codes: list[CodeRef]
) -> tuple[str | None, str]:
    """(chosen, used): the claim setting a reviewer chose, else the account's when the
    mail names none (None: the answer reads it from the mail), and the one the lookup
    uses. The question is read once here, and only for a mail with codes."""
    if case.setting is not None:
        return case.setting, case.setting
    if not codes:
        return None, PRACTITIONER  # no lookup: nothing is checked against a setting
    question = read_question(parsed.subject, parsed.new_text, codes)
    account = session.get(Account, case.account_id) if case.account_id is not None else None
    if question.setting is None and account is not None and account.claim_setting is not None:
        return account.claim_setting, account.claim_setting
    return None, question.claim_setting


def _proposed(
    session: Session,
    parsed: ParsedMessage,
    codes: list[CodeRef],
    report: Report | None,
    setting: str | None,
) -> Answer:
    """The proposed answer: the verdicts on the codes looked up, else the policy rules
    the words alone call for."""
    if report is not None:
        subject, text = parsed.subject, parsed.new_text
        return answer_question(session, subject, text, codes, report.dos, setting=setting)
    dos, basis = _dos(parsed)
    return rules_only(session, parsed.subject, parsed.new_text, dos, basis)


def _fact_sheet(session: Session, report: Report | None, proposed: Answer) -> str | None:
    """What the reviewer sees beside the draft: every code's facts, the verdicts and
    the policy rules they rest on; and the releases it was made with ("data"), which
    tell a redraft when it is due. A mail without codes keeps only the rules its words
    call for (no code data was used), and nothing when none does."""
    rules = [{**found.rule.cited(), "verdicts": list(found.verdicts)} for found in proposed.rules]
    if report is None:
        dated = {"dos": proposed.dos.isoformat(), "dos_basis": proposed.basis}
        return json.dumps({**dated, "rules": rules}) if rules else None
    sheet: dict[str, object] = report.to_dict()
    sheet["verdicts"] = [verdict.as_json() for verdict in proposed.verdicts]
    sheet["stale"] = list(proposed.stale)
    sheet["rules"] = rules
    # The lookup read these for this transaction already: no query here.
    sheet["data"] = made_with(releases_in_effect(session, report.dos, report.setting))
    return json.dumps(sheet)


def _look_up(session: Session, parsed: ParsedMessage, codes: list[CodeRef], setting: str) -> Report:
    """Look the codes up for the claim's setting on the date of service the mail
    states, else the mail's date."""
    dos, basis = _dos(parsed)
    return look_up(session, codes, dos=dos, dos_basis=basis, setting=setting)


def _dos(parsed: ParsedMessage) -> tuple[date, str]:
    sent = (parsed.date or utcnow()).date()
    return date_of_service(f"{parsed.subject}\n{parsed.new_text}", sent)
