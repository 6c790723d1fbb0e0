"""Classify: what a parsed mail is to us, before anyone answers it.

Input: a ParsedMessage and the database (read only). Output: a Verdict —
a bounce of one of our mails, a robot (never answered automatically), a
follow-up on an existing case, or a new question — with the reason. A DMARC
failure, read from the trusted MTA's Authentication-Results only, either
quarantines the mail or flags it (``dmarc_fail``).

A mail joins a case when its In-Reply-To/References name one of our
outbound Message-IDs or one of the case's inbound mails, or its subject
carries the case reference — and only when the sender belongs to that case
(the case's account, or the very address that opened a guest case). Anyone
else quoting a case reference starts a new case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.db.models import AccountAddress, Case, InboundMessage, OutboundMessage
from consultant.errors import Quarantine
from consultant.pipeline.authres import AuthVerdict, read_authentication_results
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings

MAX_THREAD_IDS = 50


class Kind(StrEnum):
    QUESTION = "question"
    FOLLOW_UP = "follow_up"
    ROBOT = "robot"
    BOUNCE = "bounce"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    reason: str | None = None
    case_id: int | None = None  # the case this mail belongs to
    outbound_id: int | None = None  # for a bounce: our mail that bounced
    auth: AuthVerdict | None = None
    flag: str | None = None  # why a reviewer must look (DMARC fail set to "flag")

    @property
    def automatic_mail_allowed(self) -> bool:
        """Whether we may send automatic mail (acknowledgement, notices) in answer."""
        return self.kind in (Kind.QUESTION, Kind.FOLLOW_UP) and self.flag is None


def classify(session: Session, settings: Settings, parsed: ParsedMessage) -> Verdict:
    """Classify one parsed mail; raises Quarantine for a DMARC fail under that policy."""
    if parsed.bounce is not None:
        return _bounce(session, parsed)
    auth, flag = _authenticate(settings, parsed)
    robot = parsed.robot or _own_address(settings, parsed)
    ids = list(parsed.thread_ids[:MAX_THREAD_IDS])
    ours = _cases_named(session, OutboundMessage, ids)
    case_id, why_not = _thread(
        session, settings, parsed, ours + _cases_named(session, InboundMessage, ids)
    )
    if robot:
        # Automatic mail is only filed, never acted on: naming one of our own
        # Message-IDs (random, never guessed) is enough to file it on that case.
        case_id = case_id or (ours[0] if ours else None)
        return Verdict(Kind.ROBOT, robot, case_id, auth=auth, flag=flag)
    if case_id is not None:
        return Verdict(Kind.FOLLOW_UP, None, case_id, auth=auth, flag=flag)
    return Verdict(Kind.QUESTION, why_not, auth=auth, flag=flag)


def _own_address(settings: Settings, parsed: ParsedMessage) -> str | None:
    ours = {*settings.consult_addresses, settings.from_address.lower()}
    if parsed.sender in ours or parsed.reply_to in ours:
        return f"mail from our own address {parsed.sender} (a loop)"
    return None


def _bounce(session: Session, parsed: ParsedMessage) -> Verdict:
    bounce = parsed.bounce
    assert bounce is not None
    ids = list(dict.fromkeys([*bounce.original_message_ids, *parsed.thread_ids]))
    row = None
    if ids:
        row = session.execute(
            select(OutboundMessage)
            .where(OutboundMessage.rfc_message_id.in_(ids[:MAX_THREAD_IDS]))
            .order_by(OutboundMessage.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    what = "delivery failure" if bounce.permanent else "delivery delay"
    detail = " ".join(x for x in (bounce.status, bounce.diagnostic) if x)
    if row is None:
        return Verdict(Kind.ROBOT, f"{what} report for a mail we did not send; {detail}".strip())
    return Verdict(Kind.BOUNCE, f"{what}: {detail}".strip(": "), row.case_id, outbound_id=row.id)


def _authenticate(
    settings: Settings, parsed: ParsedMessage
) -> tuple[AuthVerdict | None, str | None]:
    if not settings.trusted_authserv_id or parsed.msg is None:
        return None, None
    auth = read_authentication_results(parsed.msg, settings.trusted_authserv_id)
    if auth is None or auth.dmarc != "fail":
        return auth, None
    reason = (
        f"DMARC fail for {parsed.sender.rsplit('@', 1)[-1]} "
        f"(Authentication-Results from {auth.authserv_id}: {auth.header[:300]})"
    )
    if settings.dmarc_fail == "quarantine":
        raise Quarantine(reason)
    return auth, reason


def _cases_named(
    session: Session, model: type[InboundMessage] | type[OutboundMessage], ids: list[str]
) -> list[int]:
    """Cases of our outbound (or inbound) mails with these Message-IDs, newest first."""
    if not ids:
        return []
    return [
        case_id
        for case_id in session.scalars(
            select(model.case_id)
            .where(model.rfc_message_id.in_(ids), model.case_id.is_not(None))
            .order_by(model.id.desc())
        )
        if case_id is not None
    ]


_REF_TEMPLATE = r"\[?({prefix}-\d{{4}}-\d{{4,}})\]?"


def _thread(
    session: Session, settings: Settings, parsed: ParsedMessage, named: list[int]
) -> tuple[int | None, str | None]:
    """The case this mail follows up, if its sender belongs to it; else why not.

    `named` are the cases whose mails its In-Reply-To/References name.
    """
    candidates = list(named)
    pattern = _REF_TEMPLATE.format(prefix=re.escape(settings.case_ref_prefix))
    refs = [m.upper() for m in re.findall(pattern, parsed.subject, re.IGNORECASE)]
    if refs:
        candidates += session.scalars(select(Case.id).where(Case.ref.in_(refs))).all()
    refused = None
    for case_id in dict.fromkeys(candidates):
        case = session.get(Case, case_id)
        if case is None:
            continue
        if _belongs(session, case, parsed):
            return case.id, None
        refused = refused or (
            f"refers to case {case.ref}, but {parsed.sender} does not belong to it; "
            "opened as a new case"
        )
    return None, refused


def _belongs(session: Session, case: Case, parsed: ParsedMessage) -> bool:
    """The sender is the case's asker, or an address of the case's account."""
    addresses = {parsed.sender, parsed.reply_to}
    if case.sender.lower() in addresses:
        return True
    if case.account_id is None:
        return False
    owner = session.scalars(
        select(AccountAddress.account_id).where(AccountAddress.address.in_(addresses))
    ).first()
    return owner == case.account_id
