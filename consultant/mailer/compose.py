"""Compose outgoing MIME: a text part and an HTML alternative, threaded.

The reply carries In-Reply-To and References to the asker's mail so it lands
in their thread, and a Message-ID minted once, before any delivery attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from consultant.db.base import utcnow

MAX_REFERENCES = 20


def mint_message_id(ref: str, domain: str) -> str:
    """A new, globally unique Message-ID that names the case."""
    return make_msgid(idstring=ref, domain=domain)


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
) -> bytes:
    """The raw bytes (CRLF line ends) of a threaded reply."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=from_name, addr_spec=from_address)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = rfc_message_id
    chain = [*references, in_reply_to] if in_reply_to else list(references)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if chain:
        # Keep the thread root and the newest ids (RFC 5322 3.6.4 allows trimming).
        trimmed = dict.fromkeys(chain[:1] + chain[1:][-(MAX_REFERENCES - 1) :])
        msg["References"] = " ".join(trimmed)
    if auto_submitted:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()
