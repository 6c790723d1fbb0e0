"""The case page and what a reviewer does there: claim, edit, preview, approve,
reject, ask the sender. Rules live in consultant/review/; these routes only
translate forms into its calls and its refusals into messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from consultant import memory, review
from consultant.errors import Refused
from consultant.handoff import hand_over
from consultant.mailer.render import answer_html
from consultant.web.casepage import case_page
from consultant.web.deps import DB, PageLogin, SettingsDep, console
from consultant.web.refusals import refusals, status_of
from consultant.web.routes.pages import back, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200_000)]
Line = Annotated[str, Form(max_length=998)]


def _page(request: Request, session: DB, ref: str, status: int = 200, **extra: object) -> Response:
    with refusals():
        page = case_page(session, ref)
    return render(request, "case.html.j2", status, page=page, **extra)


@router.get("/cases/{ref}")
def show_case(
    request: Request, login: PageLogin, session: DB, ref: str, notice: str = ""
) -> Response:
    return _page(request, session, ref, notice=notice)


def _refused(request: Request, session: DB, ref: str, error: Refused, **extra: object) -> Response:
    session.rollback()
    return _page(request, session, ref, status_of(error), error=str(error), **extra)


@router.post("/cases/{ref}/claim")
def claim_case(
    request: Request, login: PageLogin, session: DB, ref: str, take_over: Line = ""
) -> Response:
    try:
        review.claim(session, ref, login.reviewer, take_over=bool(take_over))
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    return back(f"/cases/{ref}", "Claimed: the case is yours.")


@router.post("/cases/{ref}/unclaim")
def unclaim_case(request: Request, login: PageLogin, session: DB, ref: str) -> Response:
    try:
        review.unclaim(session, ref, login.reviewer)
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    return back(f"/cases/{ref}", "Back in the queue.")


@router.post("/cases/{ref}/redraft")
def redraft_case(
    request: Request, login: PageLogin, session: DB, settings: SettingsDep, ref: str
) -> Response:
    try:
        review.redraft(session, settings, ref, login.reviewer.email)
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    return back(f"/cases/{ref}", "Redrafted with the code data loaded now.")


@router.post("/cases/{ref}/draft")
def draft_action(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    text: Text,
    subject: Line,
    base_version: Annotated[int, Form()],
    action: Line = "save",
) -> Response:
    """One form, three buttons: preview (nothing saved), save, approve and send."""
    edit = {"text": text, "subject": subject, "base_version": base_version}
    if action == "preview":
        html = answer_html(text, ref.upper(), settings.templates_dir)
        return _page(request, session, ref, edit=edit, preview=html)
    email = login.reviewer.email
    try:
        if action == "approve":
            outbound = review.approve(session, settings, ref, email, text, subject, base_version)
        else:
            review.save_draft(session, settings, ref, email, text, subject, base_version)
    except Refused as error:
        return _refused(request, session, ref, error, edit=edit)
    session.commit()
    if action != "approve":
        return back(f"/cases/{ref}", "Draft saved.")
    return back(f"/cases/{ref}", _queue(request, outbound.id, "Approved: the answer"))


def _queue(request: Request, outbound_id: int, what: str) -> str:
    """Hand a committed outbox row to the send task; if the broker is down, the sweep will."""
    if hand_over(console(request).enqueue_send, outbound_id, "outbound"):
        return f"{what} is on its way."
    return f"{what} is stored; the queue is unreachable, the sweep will send it."


@router.post("/cases/{ref}/insert/{offer_id}")
def insert_offer(
    request: Request,
    login: PageLogin,
    session: DB,
    ref: str,
    offer_id: int,
    text: Text,
    subject: Line,
    base_version: Annotated[int, Form()],
) -> Response:
    """A remembered paragraph put into the answer being edited, on the reviewer's
    click; like a preview, nothing is saved until they save or approve."""
    edit: dict[str, object] = {"text": text, "subject": subject, "base_version": base_version}
    try:
        case = review.get_case(session, ref)
        edit["text"] = memory.insert_offer(session, case.id, offer_id, text)
    except Refused as error:  # the reviewer's text comes back as they sent it
        return _refused(request, session, ref, error, edit=edit)
    notice = "Inserted into the answer below; nothing is saved until you save or approve."
    return _page(request, session, ref, edit=edit, notice=notice)


@router.post("/cases/{ref}/reject")
def reject_case(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    reason: Text,
    send_refusal: Line = "",
) -> Response:
    try:
        rejection = review.reject(
            session,
            ref,
            login.reviewer.email,
            reason,
            settings=settings,
            send_refusal=bool(send_refusal),
        )
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    row = rejection.refusal
    notice = _queue(request, row.id, "Rejected: the refusal") if row else "Rejected."
    return back(f"/cases/{ref}", notice)


@router.post("/cases/{ref}/ask")
def ask_sender(
    request: Request, login: PageLogin, session: DB, settings: SettingsDep, ref: str, question: Text
) -> Response:
    try:
        outbound = review.ask_sender(session, settings, ref, login.reviewer.email, question)
    except Refused as error:
        return _refused(request, session, ref, error, question=question)
    session.commit()
    return back(f"/cases/{ref}", _queue(request, outbound.id, "The question to the sender"))
