"""Compose outgoing MIME: a text part and an HTML alternative, threaded.

The reply carries In-Reply-To and References to the asker's mail so it lands
in their thread, and a Message-ID minted once, before any delivery attempt.
Every header from data goes through consultant.mailer.headers, which writes
the header block as bytes itself; the email package only builds the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from consultant.db.base import utcnow
from consultant.mailer import headers

MAX_REFERENCES = 20


def mint_message_id(ref: str, domain: str) -> str:
    """A new, globally unique Message-ID that names the case."""
    return make_msgid(idstring=headers.file_stem(ref), domain=domain)


def build_reply(
    *,
    from_name: str,
    from_address: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    rfc_message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    auto_submitted: bool = False,
    to_name: str = "",
) -> bytes:
    """The raw bytes (CRLF line ends) of a threaded reply to the address `to`;
    HeaderError for an unusable address or Message-ID of ours."""
    fields = [
        ("From", headers.mailbox(from_name, from_address)),
        ("To", headers.mailbox(to_name, to)),
        ("Subject", headers.unstructured(subject)),
        ("Date", format_datetime(utcnow())),
        ("Message-ID", headers.message_id(rfc_message_id)),
    ]
    parent = headers.message_ids([in_reply_to] if in_reply_to else [])
    chain = headers.message_ids([*references, *parent])
    if parent:
        fields.append(("In-Reply-To", parent[0]))
    if chain:
        # Keep the thread root and the newest ids (RFC 5322 3.6.4 allows trimming).
        trimmed = dict.fromkeys(chain[:1] + chain[1:][-(MAX_REFERENCES - 1) :])
        fields.append(("References", " ".join(trimmed)))
    if auto_submitted:
        fields.append(("Auto-Submitted", "auto-replied"))
    return headers.header_block(fields) + _body(text, html)


def _body(text: str, html: str) -> bytes:
    """The MIME part: its own headers (MIME-Version, Content-Type) and the two alternatives.

    Nothing from data reaches these headers: the parts are quoted-printable
    UTF-8 with fixed types, and the boundary is the email package's random one.
    """
    body = EmailMessage(policy=policy.SMTP)
    body.set_content(text, cte="quoted-printable")
    body.add_alternative(html, subtype="html", cte="quoted-printable")
    return body.as_bytes()
