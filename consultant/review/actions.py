"""Review actions: what a coding expert does with a drafted case.

Approving writes the outbox row (consultant.outbound: Message-ID minted,
MIME built) and the answer memory's rows (consultant.memory) in the same
transaction as the state change and the audit entry; the caller commits
and only then enqueues delivery. Nothing leaves without an approval. The
same holds for a refusal and for a question to the sender.

Optimistic locking: a reviewer's save or approval names the draft version
they saw (`base_version`); when another version has been saved since, the
request is refused with Conflict and nothing is overwritten. Two saves that
race past that check collide on the (case, version) unique key instead.

Claims: a case another reviewer has claimed cannot be edited, approved,
rejected or used to ask the sender (Conflict, naming the holder) unless the
caller takes it over (`take_over=True`, which moves the claim to them and is
audited; consultant.review.claims). An unclaimed case is open to every reviewer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultant.cases import advance, audit
from consultant.db.models import Case, CaseState, Draft, InboundMessage, OutboundMessage, Reviewer
from consultant.errors import Conflict, Refused
from consultant.mailer import headers
from consultant.mailer.render import Rendered, answer_html, render_mail
from consultant.memory import remember
from consultant.outbound import Thread, write_outbound
from consultant.pipeline.draft import PLACEHOLDER
from consultant.pipeline.parse import parse
from consultant.review.cases import REVIEWABLE, get_case, latest_draft
from consultant.review.claims import check_claim
from consultant.settings import Settings


@dataclass(frozen=True, slots=True)
class Rejection:
    case: Case
    refusal: OutboundMessage | None  # the polite refusal's outbox row, when one was asked for


def _reviewer_id(session: Session, reviewer: str) -> int | None:
    return session.execute(
        select(Reviewer.id).where(Reviewer.email == reviewer.lower())
    ).scalar_one_or_none()


def _check_base(case: Case, current: Draft, base_version: int | None) -> None:
    if base_version is not None and base_version != current.version:
        raise Conflict(
            f"case {case.ref}: draft version {current.version} was saved by {current.author} "
            f"after you opened version {base_version}; nothing was changed. Reload the case, "
            "compare, and apply your edit again."
        )


def edit_draft(
    session: Session,
    settings: Settings,
    case: Case,
    reviewer: str,
    text: str,
    subject: str | None,
    base_version: int | None = None,
) -> Draft:
    """Save a new draft version written by `reviewer`, with its diff in the audit log."""
    current = latest_draft(session, case.id)
    if current is None:
        raise Refused(f"case {case.ref} has no draft yet")
    _check_base(case, current, base_version)
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise Refused("the answer is empty")
    if subject is not None:
        # Decoded fully first: an encoded line break is a line break (CVE-2024-6923).
        subject = headers.one_line(subject)
    draft = Draft(
        case_id=case.id,
        version=current.version + 1,
        subject=subject or current.subject,
        body_text=text,
        body_html=answer_html(text, case.ref or "", settings.templates_dir),
        author=reviewer,
        reviewer_id=_reviewer_id(session, reviewer),
    )
    _insert(session, case, draft)
    diff = difflib.unified_diff(
        current.body_text.splitlines(),
        text.splitlines(),
        f"v{current.version}",
        f"v{draft.version}",
        lineterm="",
    )
    audit(session, reviewer, "draft.edited", case.id, version=draft.version, diff="\n".join(diff))
    return draft


def _insert(session: Session, case: Case, draft: Draft) -> None:
    """Add the new version; two saves that raced past the base check collide here."""
    try:
        with session.begin_nested():
            session.add(draft)
            session.flush()
    except IntegrityError as error:
        raise Conflict(
            f"case {case.ref}: another reviewer saved version {draft.version} at the same "
            "moment; nothing was changed. Reload the case."
        ) from error


def save_draft(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    text: str,
    subject: str | None = None,
    base_version: int | None = None,
    *,
    take_over: bool = False,
) -> Draft:
    """Save a reviewer's edit of an open case; a drafted case moves to in_review."""
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; its draft can no longer be edited")
    check_claim(session, case, reviewer, take_over=take_over)
    draft = edit_draft(session, settings, case, reviewer, text, subject, base_version)
    advance(session, case.id, CaseState.IN_REVIEW, actor=reviewer, sources=[CaseState.DRAFTED])
    return draft


def approve(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    text: str | None = None,
    subject: str | None = None,
    base_version: int | None = None,
    *,
    take_over: bool = False,
) -> OutboundMessage:
    """Approve the case's newest draft (after an optional edit) and put it in the outbox."""
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; only drafted cases can be approved")
    check_claim(session, case, reviewer, take_over=take_over)
    draft = _final_draft(session, settings, case, reviewer, text, subject, base_version)
    if PLACEHOLDER in draft.body_text:
        raise Refused(
            f"the draft of {case.ref} still holds the placeholder for the expert's answer; "
            "write the answer in its place first"
        )
    if not advance(session, case.id, CaseState.APPROVED, actor=reviewer, sources=REVIEWABLE):
        raise Refused(f"case {case.ref} was changed by someone else; reload it")
    answer = Rendered(draft.subject, draft.body_text, draft.body_html)
    outbound = _reply_row(session, settings, case, "answer", answer, draft_id=draft.id)
    remember(session, case, draft, reviewer)  # offered to later cases, found by search
    audit(
        session,
        reviewer,
        "answer.queued",
        case.id,
        draft_version=draft.version,
        outbound_rfc_message_id=outbound.rfc_message_id,
    )
    return outbound


def _final_draft(
    session: Session,
    settings: Settings,
    case: Case,
    reviewer: str,
    text: str | None,
    subject: str | None,
    base_version: int | None,
) -> Draft:
    """The draft an approval sends: the newest, or a new version when the approval
    carries a changed text or subject."""
    current = latest_draft(session, case.id)
    if current is None:
        raise Refused(f"case {case.ref} has no draft")
    _check_base(case, current, base_version)
    new_subject = bool(subject) and subject != current.subject
    edited = text is not None and (text.replace("\r\n", "\n") != current.body_text or new_subject)
    if not edited:
        return current
    return edit_draft(session, settings, case, reviewer, text or "", subject, current.version)


def reject(
    session: Session,
    ref: str,
    reviewer: str,
    reason: str,
    *,
    settings: Settings | None = None,
    send_refusal: bool = False,
    words: str = "",
    take_over: bool = False,
) -> Rejection:
    """Close the case without an answer; the reason goes into the case and the audit
    log only, never to the asker.

    With `send_refusal`, the asker gets the polite refusal template (its
    outbox row is written in this transaction, like an answer's), with `words`
    (what the reviewer chose to tell them) when given.
    """
    if not reason.strip():
        raise Refused("a rejection needs a reason")
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; only drafted cases can be rejected")
    check_claim(session, case, reviewer, take_over=take_over)
    if not advance(
        session,
        case.id,
        CaseState.REJECTED,
        actor=reviewer,
        reason=reason.strip(),
        sources=REVIEWABLE,
    ):
        raise Refused(f"case {case.ref} was changed by someone else; reload it")
    if not send_refusal:
        return Rejection(case, None)
    if settings is None:
        raise Refused("sending a refusal needs the settings")
    row = _template_row(session, settings, case, "refusal", reviewer, reason=words.strip())
    audit(session, reviewer, "refusal.queued", case.id, outbound_id=row.id)
    return Rejection(case, row)


def ask_sender(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    question: str,
    *,
    take_over: bool = False,
) -> OutboundMessage:
    """Mail the asker a question; the case waits in awaiting_sender until they reply."""
    question = question.replace("\r\n", "\n").strip()
    if not question:
        raise Refused("write the question for the sender first")
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; only open cases can ask the sender")
    check_claim(session, case, reviewer, take_over=take_over)
    if not advance(
        session,
        case.id,
        CaseState.AWAITING_SENDER,
        actor=reviewer,
        reason="asked the sender for information",
        sources=REVIEWABLE,
    ):
        raise Refused(f"case {case.ref} was changed by someone else; reload it")
    row = _template_row(session, settings, case, "information_request", reviewer, question=question)
    audit(session, reviewer, "information_request.queued", case.id, outbound_id=row.id)
    return row


def _template_row(
    session: Session, settings: Settings, case: Case, kind: str, reviewer: str, **context: str
) -> OutboundMessage:
    """An outbox row for mail template `kind`, written by a reviewer (not automatic)."""
    person = session.execute(
        select(Reviewer).where(Reviewer.email == reviewer.lower())
    ).scalar_one_or_none()
    rendered = render_mail(
        kind,
        {
            "greeting_name": case.sender_name.split()[0] if case.sender_name else "there",
            "ref": case.ref or "",
            "subject": case.subject,
            "from_name": settings.from_name,
            "reviewer_name": person.name if person else "",
            "question": "",
            "reason": "",
            **context,
        },
        settings.templates_dir,
    )
    return _reply_row(session, settings, case, kind, rendered)


def _reply_row(
    session: Session,
    settings: Settings,
    case: Case,
    kind: str,
    mail: Rendered,
    draft_id: int | None = None,
) -> OutboundMessage:
    """Write the outbox row of a reviewer's mail, threaded onto the asker's newest mail.

    The case's address (the mail's Reply-To, else From) is checked by the header
    module; one it cannot write is a HeaderError, which the caller's rollback undoes.
    """
    to = headers.addr_spec(case.sender)
    asker = parse(_latest_inbound(session, case.id).raw)
    return write_outbound(
        session,
        settings,
        kind=kind,
        to=to,
        mail=mail,
        thread=Thread(asker.rfc_message_id, asker.references),
        case_id=case.id,
        ref=case.ref or "case",
        draft_id=draft_id,
    )


def _latest_inbound(session: Session, case_id: int) -> InboundMessage:
    newest = session.execute(
        select(func.max(InboundMessage.id)).where(InboundMessage.case_id == case_id)
    ).scalar_one()
    return session.get_one(InboundMessage, newest)
