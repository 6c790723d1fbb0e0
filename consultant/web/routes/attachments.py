"""A mail's attachments on the case page: downloaded as files, or shown in a frame.

The view (…/view) is a small page meant for `<iframe sandbox>` on the case page:
images and the drawn pages of a PDF as data: images, text escaped in a <pre>,
anything else only named. Its own headers make it a sandboxed document that loads
nothing and runs nothing, framed by the console itself only.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from consultant import review
from consultant.db.models import InboundMessage
from consultant.errors import Quarantine
from consultant.mailer.headers import content_disposition
from consultant.web.attachview import attachment_page
from consultant.web.casepage import ERASED, VIEWS
from consultant.web.deps import DB, PageLogin, SettingsDep
from consultant.web.mailview import AttachmentInfo, attachment
from consultant.web.refusals import refusals
from consultant.web.routes.pages import render

router = APIRouter(include_in_schema=False)
ATTACHMENT = "/cases/{ref}/mail/{inbound_id}/attachments/{index}"
# No script, no network: the page is a sandbox (a unique origin, no scripts, forms or
# top navigation) whose only images are data: URIs, framed by the console only.
VIEW_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


@router.get(ATTACHMENT)
def download(login: PageLogin, session: DB, ref: str, inbound_id: int, index: int) -> Response:
    """An attachment, always as a download (never shown inline), by its index in the mail."""
    info, data = _attachment(session, ref, inbound_id, index)
    disposition = content_disposition(info.filename, f"attachment-{index}")
    return Response(
        data, media_type="application/octet-stream", headers={"Content-Disposition": disposition}
    )


@router.get(ATTACHMENT + "/view")
def view(
    request: Request,
    login: PageLogin,
    session: DB,
    settings: SettingsDep,
    ref: str,
    inbound_id: int,
    index: int,
) -> Response:
    """An attachment as a page for the case page's sandboxed frame."""
    info, data = _attachment(session, ref, inbound_id, index)
    shown = attachment_page(
        data, info.content_type, info.charset, info.filename, settings.pdf_view_pages
    )
    response = render(request, "attachment_view.html.j2", page=shown, size=info.size)
    response.headers.update(VIEW_HEADERS)
    return response


def _attachment(session: DB, ref: str, inbound_id: int, index: int) -> tuple[AttachmentInfo, bytes]:
    """Attachment `index` of mail `inbound_id` of case `ref`, or the HTTP error why not."""
    with refusals():
        case = review.get_case(session, ref)
    inbound = session.get(InboundMessage, inbound_id)  # only this mail's bytes are read
    if inbound is None or inbound.case_id != case.id:
        raise HTTPException(404, f"case {ref} has no mail {inbound_id}")
    if not inbound.raw:
        raise HTTPException(404, f"mail {inbound_id} cannot be opened: {ERASED}")
    refusal = VIEWS.refusal(inbound.raw)  # before anything parses it
    if refusal is not None:
        raise HTTPException(422, f"this mail cannot be opened: {refusal}")
    try:
        return attachment(inbound.raw, index)
    except LookupError as error:
        raise HTTPException(404, str(error)) from error
    except Quarantine as error:
        raise HTTPException(422, f"this mail cannot be opened: {error.reason}") from error
