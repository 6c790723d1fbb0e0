"""The JSON API: the console's actions, with the same login, described by OpenAPI.

Input: JSON requests under /api/v1 with the session cookie (POST /session
opens one) and, on every change, the session's X-CSRF-Token header. Output:
JSON, or a Problem with the reason. The rules are consultant/review/'s, as on
the case page: a refusal is 404 (no such case), 409 (someone else changed it
first) or 422 (not possible now, or malformed). An approval, refusal or
question is committed first and only then handed to the send task; when the
queue is down, the sweep sends it later and the answer says so (`queued`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from consultant import memory, review
from consultant.cases import audit
from consultant.db.models import (
    Case,
    OutboundMessage,
    OutboundState,
    Reviewer,
)
from consultant.handoff import hand_over
from consultant.review.listings import audit_records, outbox_rows
from consultant.review.queue import review_queue
from consultant.reviewers import (
    change_own_password,
    forget_first_password,
)
from consultant.settings import Settings
from consultant.web.api_case_models import (
    ApproveIn,
    AskIn,
    CaseDetailOut,
    CaseOut,
    ClaimIn,
    DraftIn,
    DraftOut,
    QueuedOut,
    QueueItemOut,
    RejectedOut,
    RejectIn,
    SettingIn,
)
from consultant.web.api_models import (
    Action,
    Actor,
    Assignee,
    AuditOut,
    Before,
    CaseRef,
    CodeFilter,
    Day,
    Limit,
    LoginIn,
    OutboxItemOut,
    PasswordIn,
    RefFilter,
    SearchHitOut,
    SessionOut,
    States,
    Words,
    changes,
    problems,
)
from consultant.web.auth import (
    SESSION_COOKIE,
    Login,
    end_session,
    load_session,
    log_in,
    rotate_sessions,
)
from consultant.web.casepage import case_page
from consultant.web.deps import DB, AnyApiLogin, ApiLogin, ClientAddress, SettingsDep, console
from consultant.web.refusals import refusals
from consultant.web.routes.api_admin import admin
from consultant.web.routes.api_common import api_router
from consultant.web.routes.api_policies import policies
from consultant.web.routes.pages import set_session_cookie

public = APIRouter(tags=["session"])
logged_in, cases, logs = api_router("session"), api_router("cases"), api_router("log")


# --- session ------------------------------------------------------------------


@public.post(
    "/session",
    responses=problems(
        401, 422, 429, e401="Wrong address or password, or a one-time password used already."
    ),
)
def open_session(
    body: LoginIn, response: Response, session: DB, settings: SettingsDep, client: ClientAddress
) -> SessionOut:
    """Log in (throttled and audited as the login form); sets the session cookie."""
    outcome = log_in(session, settings, body.email, body.password, client, via="api")
    if outcome.wait:
        message = f"too many failed logins; try again in {outcome.wait} s"
        raise HTTPException(429, message, {"Retry-After": str(outcome.wait)})
    if outcome.token is None:
        raise HTTPException(401, outcome.refused or "wrong address or password")
    return _opened(session, settings, response, outcome.token)


def _opened(session: Session, settings: Settings, response: Response, token: str) -> SessionOut:
    """Set the cookie of the session just committed; describe it."""
    set_session_cookie(response, settings, token)
    login = load_session(session, token)
    assert login is not None  # just committed
    return _session_out(login)


def _session_out(login: Login) -> SessionOut:
    return SessionOut(
        email=login.email,
        name=login.reviewer.name,
        role=login.role,
        csrf_token=login.csrf_token,
        must_change_password=login.must_change,
    )


@logged_in.post("/session/password", **changes(422))
def change_password(
    login: AnyApiLogin, body: PasswordIn, response: Response, session: DB, settings: SettingsDep
) -> SessionOut:
    """Choose a new password: other sessions end; this one gets a new cookie and CSRF token."""
    reviewer = session.get_one(Reviewer, login.reviewer.id)
    with refusals():
        change_own_password(session, reviewer, body.current, body.new, body.new)
    token = rotate_sessions(session, settings, reviewer)
    session.commit()
    forget_first_password(settings, reviewer.email)
    return _opened(session, settings, response, token)


@logged_in.delete("/session", status_code=204, **changes())
def close_session(login: AnyApiLogin, session: DB) -> Response:
    """Log out: the session ends on the server and the cookie is cleared."""
    end_session(session, login)
    audit(session, login.email, "logout", None, via="api")
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@logged_in.get("/me")
def me(login: ApiLogin) -> SessionOut:
    """Who is logged in, with the session's CSRF token."""
    return _session_out(login)


@logged_in.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, login: ApiLogin) -> JSONResponse:
    """This API's OpenAPI document (for logged-in reviewers only)."""
    return JSONResponse(request.app.openapi())


# --- cases --------------------------------------------------------------------


@cases.get("/cases", responses=problems(422))
def list_cases(
    login: ApiLogin,
    session: DB,
    settings: SettingsDep,
    state: States = None,
    assignee: Assignee = None,
    code: CodeFilter = None,
    limit: Limit = 100,
) -> list[QueueItemOut]:
    """The review queue, the earliest due first."""
    states = tuple(s.value for s in state) if state else None
    items = review_queue(
        session, settings, states=states, assignee=assignee, code=code, limit=limit
    )
    return [QueueItemOut.of(item) for item in items]


@cases.get("/cases/{ref}", responses=problems(404, 422))
def get_case(login: ApiLogin, session: DB, ref: CaseRef) -> CaseDetailOut:
    """One case: codes, lookup report, newest draft, mail, outbox rows, remembered
    answers offered for its verdicts, similar cases."""
    with refusals():
        page = case_page(session, ref)
    return CaseDetailOut.of(page)


def _case_out(session: Session, case: Case) -> CaseOut:
    session.refresh(case)
    return CaseOut(
        ref=case.ref or "",
        state=case.state,
        state_reason=case.state_reason,
        assignee=review.assignee_email(session, case),
        open=case.state in review.REVIEWABLE,
    )


@cases.post("/cases/{ref}/claim", **changes(404, 409, 422))
def claim(login: ApiLogin, session: DB, ref: CaseRef, body: ClaimIn | None = None) -> CaseOut:
    """Take the case; another reviewer's claim holds unless `take_over`."""
    take_over = body.take_over if body else False
    with refusals():
        case = review.claim(session, ref, login.reviewer, take_over=take_over)
    session.commit()
    return _case_out(session, case)


@cases.post("/cases/{ref}/unclaim", **changes(404, 422))
def unclaim(login: ApiLogin, session: DB, ref: CaseRef) -> CaseOut:
    """Give the case back to the queue (one's own claim; an admin's any)."""
    with refusals():
        case = review.unclaim(session, ref, login.reviewer)
    session.commit()
    return _case_out(session, case)


@cases.put("/cases/{ref}/draft", **changes(404, 409, 422))
def save_draft(
    login: ApiLogin, session: DB, settings: SettingsDep, ref: CaseRef, body: DraftIn
) -> DraftOut:
    """Save a new draft version; refused with 409 when `base_version` is not the newest."""
    with refusals():
        draft = review.save_draft(
            session, settings, ref, login.email, body.text, body.subject, body.base_version
        )
    session.commit()
    return DraftOut.of(draft)


@cases.post("/cases/{ref}/redraft", **changes(404, 409, 422))
def redraft(login: ApiLogin, session: DB, settings: SettingsDep, ref: CaseRef) -> DraftOut:
    """Draft the case again from the code data loaded now; refused with 409 once a
    reviewer has written a version (a reviewer's words are never replaced)."""
    with refusals():
        draft = review.redraft(session, settings, ref, login.email)
    session.commit()
    return DraftOut.of(draft)


@cases.post("/cases/{ref}/setting", **changes(404, 409, 422))
def set_setting(
    login: ApiLogin, session: DB, settings: SettingsDep, ref: CaseRef, body: SettingIn
) -> DraftOut:
    """Set the claim's setting and draft the case again for it; refused with 409 once
    a reviewer has written a version, as a redraft is."""
    with refusals():
        draft = review.set_setting(session, settings, ref, body.setting, login.email)
    session.commit()
    return DraftOut.of(draft)


def _queued(request: Request, row: OutboundMessage) -> QueuedOut:
    """Hand a committed outbox row to the send task; if the broker is down, the sweep will."""
    queued = hand_over(console(request).enqueue_send, row.id, "outbound")
    return QueuedOut(outbound_id=row.id, rfc_message_id=row.rfc_message_id, queued=queued)


@cases.post("/cases/{ref}/approve", **changes(404, 409, 422))
def approve(
    request: Request,
    login: ApiLogin,
    session: DB,
    settings: SettingsDep,
    ref: CaseRef,
    body: ApproveIn,
) -> QueuedOut:
    """Approve the newest draft (after saving `text`, if given) and send it."""
    with refusals():
        row = review.approve(
            session, settings, ref, login.email, body.text, body.subject, body.base_version
        )
    session.commit()
    return _queued(request, row)


@cases.post("/cases/{ref}/reject", **changes(404, 422))
def reject(
    request: Request,
    login: ApiLogin,
    session: DB,
    settings: SettingsDep,
    ref: CaseRef,
    body: RejectIn,
) -> RejectedOut:
    """Close the case without an answer; with `send_refusal`, mail the polite refusal."""
    with refusals():
        rejection = review.reject(
            session,
            ref,
            login.email,
            body.reason,
            settings=settings,
            send_refusal=body.send_refusal,
            words=body.message,
        )
    session.commit()
    row = rejection.refusal
    refusal = _queued(request, row) if row is not None else None
    return RejectedOut(**_case_out(session, rejection.case).model_dump(), refusal=refusal)


@cases.post("/cases/{ref}/ask", **changes(404, 422))
def ask(
    request: Request, login: ApiLogin, session: DB, settings: SettingsDep, ref: CaseRef, body: AskIn
) -> QueuedOut:
    """Mail the asker a question; the case waits in awaiting_sender."""
    with refusals():
        row = review.ask_sender(session, settings, ref, login.email, body.question)
    session.commit()
    return _queued(request, row)


@cases.get("/search", responses=problems(422))
def search(
    login: ApiLogin,
    session: DB,
    q: Words = "",
    code: CodeFilter = None,
    since: Day = None,
    until: Day = None,
    limit: Limit = 20,
) -> list[SearchHitOut]:
    """Past approved answers and their questions, newest approval first: by words
    (full text), by a code of the case, by approval date."""
    hits = memory.search(session, q, code or "", since, until, limit=limit)
    return [SearchHitOut.of(hit) for hit in hits]


# --- audit log and outbox -----------------------------------------------------


@logs.get("/audit", responses=problems(404, 422))
def audit_log(
    login: ApiLogin,
    session: DB,
    case: RefFilter = None,
    actor: Actor = None,
    action: Action = None,
    before: Before = None,
    limit: Limit = 100,
) -> list[AuditOut]:
    """The audit log, newest first; page with `before` (the last id seen). `action`
    matches an action or the start of one ("draft.")."""
    with refusals():
        records = audit_records(
            session, case=case, actor=actor, action=action, before=before, limit=limit
        )
    return [AuditOut.of(record) for record in records]


@logs.get("/outbox", responses=problems(404, 422))
def outbox(
    login: ApiLogin,
    session: DB,
    state: OutboundState | None = None,
    case: RefFilter = None,
    before: Before = None,
    limit: Limit = 100,
) -> list[OutboxItemOut]:
    """Outgoing mail (answers, refusals, questions, notices), newest first."""
    with refusals():
        rows = outbox_rows(
            session, state=state.value if state else None, case=case, before=before, limit=limit
        )
    return [OutboxItemOut.row(row) for row in rows]


router = APIRouter()
for part in (public, logged_in, cases, logs, policies, admin):
    router.include_router(part)
