"""The case page and what a reviewer does there: claim, edit, preview, approve,
reject, ask the sender, reuse an earlier answer. Rules live in consultant/review/;
these routes only translate forms into its calls and its refusals into messages.

After an action that closes the reviewer's work on a case (approve, reject, ask
the sender) the reviewer lands on the next case of their queue
(consultant.review.nextcase), with a notice saying what became of this one.
The preview is its own route, posted by the editor's form into the page's
sandboxed frame: the page is not reloaded and nothing is saved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from consultant import review
from consultant.codes.kinds import SETTING_NAMES
from consultant.errors import Refused
from consultant.handoff import hand_over
from consultant.mailer.render import answer_html
from consultant.review.nextcase import next_case
from consultant.review.reuse import reuse_answer, reuse_offer
from consultant.web.casepage import case_page
from consultant.web.deps import DB, PageLogin, SettingsDep, console
from consultant.web.refusals import refusals, status_of
from consultant.web.routes.pages import back, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200_000)]
Line = Annotated[str, Form(max_length=998)]


# The preview frame's own policy: the answer's HTML, no script, no network, framed
# by the console only.
PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def _page(request: Request, session: DB, ref: str, status: int = 200, **extra: object) -> Response:
    with refusals():
        page = case_page(session, ref)
    login = request.state.login if hasattr(request.state, "login") else None
    settings = console(request).settings
    following = next_case(session, settings, ref, login.email) if login else None
    return render(request, "case.html.j2", status, page=page, next_ref=following, **extra)


@router.get("/cases/{ref}")
def show_case(
    request: Request, login: PageLogin, session: DB, ref: str, notice: str = ""
) -> Response:
    return _page(request, session, ref, notice=notice)


@router.get("/cases/{ref}/next")
def go_next(login: PageLogin, session: DB, settings: SettingsDep, ref: str) -> Response:
    """The case after `ref` in the reviewer's queue; the queue when none is left."""
    return _land(next_case(session, settings, ref, login.reviewer.email), "")


def _land(following: str | None, notice: str) -> Response:
    """Where a reviewer goes after finishing a case: the next one, else the queue."""
    if following is None:
        return back("/", f"{notice} No other case is waiting." if notice else "")
    return back(f"/cases/{following}", notice)


@router.post("/cases/{ref}/preview")
def preview(
    login: PageLogin, settings: SettingsDep, ref: str, text: Text, subject: Line = ""
) -> Response:
    """The HTML part exactly as it would be sent, for the editor's preview frame."""
    html = answer_html(text, ref.upper(), settings.templates_dir)
    headers = {"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(html, headers=headers)


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


@router.post("/cases/{ref}/setting")
def set_case_setting(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    setting: Annotated[str, Form()] = "",
) -> Response:
    try:
        review.set_setting(session, settings, ref, setting, login.reviewer.email)
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    named = SETTING_NAMES.get(setting, "the setting the mail names")
    return back(f"/cases/{ref}", f"Redrafted for {named}.")


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
    """One form, two buttons here: save, approve and send (preview posts to its own route)."""
    edit = {"text": text, "subject": subject, "base_version": base_version}
    email = login.reviewer.email
    following = next_case(session, settings, ref, email)
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
    return _land(following, _queue(request, outbound.id, f"Approved {ref.upper()}: the answer"))


def _queue(request: Request, outbound_id: int, what: str) -> str:
    """Hand a committed outbox row to the send task; if the broker is down, the sweep will."""
    if hand_over(console(request).enqueue_send, outbound_id, "outbound"):
        return f"{what} is on its way."
    return f"{what} is stored; the queue is unreachable, the sweep will send it."


@router.post("/cases/{ref}/reuse/{offer_id}")
def reuse_paragraph(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    offer_id: int,
    text: Text,
    subject: Line,
    base_version: Annotated[int, Form()],
) -> Response:
    """A remembered paragraph put into the answer being edited, saved as the next
    draft version; the audit log names the case it came from."""
    edit = (text, subject, base_version)
    try:
        reuse_offer(session, settings, ref, login.reviewer.email, offer_id, edit)
    except Refused as error:  # the reviewer's text comes back as they sent it
        return _refused(request, session, ref, error, edit=_form(edit))
    session.commit()
    return back(f"/cases/{ref}", "Reused: the paragraph is in the answer and saved.")


@router.post("/cases/{ref}/reuse-case/{source_ref}")
def reuse_case(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    source_ref: str,
    text: Text,
    subject: Line,
    base_version: Annotated[int, Form()],
) -> Response:
    """The approved answer of a similar case put into the answer being edited."""
    edit = (text, subject, base_version)
    try:
        reuse_answer(session, settings, ref, login.reviewer.email, source_ref, edit)
    except Refused as error:
        return _refused(request, session, ref, error, edit=_form(edit))
    session.commit()
    return back(f"/cases/{ref}", f"Reused the answer of {source_ref.upper()}; saved as a draft.")


def _form(edit: tuple[str, str, int]) -> dict[str, object]:
    return {"text": edit[0], "subject": edit[1], "base_version": edit[2]}


@router.post("/cases/{ref}/reject")
def reject_case(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    reason: Text,
    send_refusal: Line = "",
    words: Text = "",
) -> Response:
    """Reject: `reason` stays internal (case and audit log); `words`, when the
    refusal is sent, are all the asker reads of why."""
    following = next_case(session, settings, ref, login.reviewer.email)
    try:
        rejection = review.reject(
            session,
            ref,
            login.reviewer.email,
            reason,
            settings=settings,
            send_refusal=bool(send_refusal),
            words=words,
        )
    except Refused as error:
        return _refused(request, session, ref, error)
    session.commit()
    row = rejection.refusal
    what = f"Rejected {ref.upper()}"
    return _land(following, _queue(request, row.id, f"{what}: the refusal") if row else f"{what}.")


@router.post("/cases/{ref}/ask")
def ask_sender(
    request: Request, login: PageLogin, session: DB, settings: SettingsDep, ref: str, question: Text
) -> Response:
    following = next_case(session, settings, ref, login.reviewer.email)
    try:
        outbound = review.ask_sender(session, settings, ref, login.reviewer.email, question)
    except Refused as error:
        return _refused(request, session, ref, error, question=question)
    session.commit()
    return _land(
        following, _queue(request, outbound.id, f"{ref.upper()}: the question to the sender")
    )
