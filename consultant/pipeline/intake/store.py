"""store_raw: the one door in. Every accepted mail is committed here, raw,
before anyone acknowledges it (SMTP 250, IMAP flag or move).

Input: the raw bytes and where they came from. Output: the inbound row id and
whether it is new. A mail whose Message-ID and content fingerprint are already
stored is recognised, not stored again, so a redelivery yields one case.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from consultant.db.models import InboundMessage, InboundState

# Headers each hop adds or rewrites. They differ between two deliveries of the
# same mail, so they are left out of the content fingerprint.
TRACE_HEADERS = frozenset(
    {
        b"received",
        b"return-path",
        b"delivered-to",
        b"x-original-to",
        b"x-envelope-from",
        b"x-envelope-to",
        b"x-received",
    }
)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Control characters are excluded: PostgreSQL text refuses NUL, and no real
# Message-ID carries them.
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]+>")


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int
    created: bool
    rfc_message_id: str


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """Split raw mail into header block and body (either may be empty)."""
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def fingerprint(raw: bytes) -> str:
    """sha256 of the mail without trace headers and with line ends normalised."""
    head, body = split_raw(raw.replace(b"\r\n", b"\n"))
    digest = hashlib.sha256()
    keep = True
    for line in head.split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            keep = line.split(b":", 1)[0].strip().lower() not in TRACE_HEADERS
        if keep:
            digest.update(line + b"\n")
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def rfc_message_id_of(raw: bytes, sha256: str) -> str:
    """The mail's Message-ID, or a stable one made from its fingerprint."""
    head, _ = split_raw(raw)
    value = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n").get("Message-ID")
    match = _MESSAGE_ID.search(str(value or ""))
    return match.group(0)[:998] if match else f"<{sha256[:40]}@consultant.invalid>"


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: str,
    envelope_from: str = "",
    envelope_to: list[str] | None = None,
    quarantine: str | None = None,
    size: int | None = None,
) -> Stored:
    """Insert the mail unless already stored; the caller commits before acknowledging.

    With `quarantine`, the row is recorded as quarantined with that reason
    (an oversize mail whose headers alone were kept, say); `size` then gives
    the size of the whole mail when `raw` is only part of it.
    """
    sha256 = fingerprint(raw)
    rfc_message_id = rfc_message_id_of(raw, sha256)
    values = {
        "rfc_message_id": rfc_message_id,
        "sha256": sha256,
        "raw": raw,
        "size": len(raw) if size is None else size,
        "source": source[:80],
        "envelope_from": envelope_from[:320],
        "envelope_to": list(envelope_to or []),
        "state": (InboundState.QUARANTINED if quarantine else InboundState.STORED).value,
        "error": quarantine,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(InboundMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rfc_message_id", "sha256"])
        .returning(InboundMessage.id)
    )
    inserted = session.execute(statement).scalar_one_or_none()
    if inserted is not None:
        return Stored(inserted, True, rfc_message_id)
    existing = session.execute(
        select(InboundMessage.id).where(
            InboundMessage.rfc_message_id == rfc_message_id, InboundMessage.sha256 == sha256
        )
    ).scalar_one()
    return Stored(existing, False, rfc_message_id)
