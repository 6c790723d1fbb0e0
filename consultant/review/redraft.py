"""Redraft: look a case up again and propose its answer again, with the code data
loaded now.

A case drafted before a code set was imported (or before a newer quarter) keeps
what it was drafted with until someone asks for a redraft. Only the system's
own draft is replaced: once a reviewer has saved a version, their words win and
redraft refuses (Conflict), so nothing a person wrote is overwritten; a case
another reviewer has claimed is theirs to redraft. The new
version is the system's, from the newest mail of the case and the codes the
case holds, in the caller's transaction, with an audit entry.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.codes.kinds import SETTING_NAMES
from consultant.db.models import Draft, InboundMessage
from consultant.errors import Conflict, Refused
from consultant.pipeline.casework import add_draft, case_codes
from consultant.pipeline.parse import parse
from consultant.review.cases import REVIEWABLE, get_case, latest_draft
from consultant.review.claims import check_claim
from consultant.settings import Settings

SYSTEM = "system"


def redraft(session: Session, settings: Settings, ref: str, actor: str) -> Draft:
    """A new system draft of an open case no reviewer has edited."""
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; only open cases can be redrafted")
    check_claim(session, case, actor, take_over=False)
    current = latest_draft(session, case.id)
    if current is not None and current.author != SYSTEM:
        raise Conflict(
            f"case {case.ref}: version {current.version} was written by {current.author}; "
            "redraft replaces only the system's draft, so nothing was changed"
        )
    newest = session.scalar(
        select(func.max(InboundMessage.id)).where(InboundMessage.case_id == case.id)
    )
    if newest is None:
        raise Refused(f"case {case.ref} has no stored mail to draft from")
    parsed = parse(session.get_one(InboundMessage, newest).raw)
    add_draft(session, settings, case, parsed, case_codes(session, case.id))
    session.flush()
    draft = latest_draft(session, case.id)
    assert draft is not None
    before = current.version if current else None
    audit(session, actor, "case.redrafted", case.id, version=draft.version, replaced=before)
    return draft


def set_setting(session: Session, settings: Settings, ref: str, setting: str, actor: str) -> Draft:
    """Set the claim's setting of an open case and redraft it for that setting's NCCI
    edits and MUEs; "" goes back to the setting the mail names. Refused, like a
    redraft, once a reviewer has written a version."""
    if setting and setting not in SETTING_NAMES:
        raise Refused(f"{setting!r} is not a claim setting: {', '.join(SETTING_NAMES)}")
    case = get_case(session, ref)
    before = case.setting
    case.setting = setting or None
    draft = redraft(session, settings, ref, actor)
    audit(session, actor, "case.setting", case.id, before=before, after=case.setting)
    return draft
