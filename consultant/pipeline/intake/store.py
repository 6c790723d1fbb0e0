"""store_raw: the one door in. Every accepted mail is committed here, raw,
before anyone acknowledges it (SMTP 250, IMAP flag or move).

Input: the raw bytes and where they came from. Output: the inbound row id and
whether it is new. A mail whose Message-ID and content fingerprint are already
stored is recognised, not stored again, so a redelivery yields one case.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from consultant.db.base import utcnow
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
# One trace field with its continuation lines (the header block has LF ends).
_TRACE_FIELD = re.compile(
    rb"^(?:" + b"|".join(map(re.escape, TRACE_HEADERS)) + rb")[ \t]*:.*\n(?:[ \t].*\n)*",
    re.IGNORECASE | re.MULTILINE,
)
# The first Message-ID field, unfolded by the caller's regex below.
_MESSAGE_ID_FIELD = re.compile(
    rb"^message-id[ \t]*:(.*(?:\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE
)
# Control characters are excluded: PostgreSQL text refuses NUL, and no real
# Message-ID carries them. So are bytes that are not UTF-8 (surrogates once
# decoded): no database driver can encode them.
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f\ud800-\udfff]+>")


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
    """sha256 of the mail without trace headers and carriage returns.

    Dropping every CR makes CRLF, LF and CR-only copies of a mail alike, and
    is several times cheaper than replacing CRLF.
    """
    head, body = split_raw(raw.replace(b"\r", b""))
    digest = hashlib.sha256(_TRACE_FIELD.sub(b"", head + b"\n"))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def rfc_message_id_of(raw: bytes, sha256: str) -> str:
    """The mail's Message-ID, or a stable one made from its fingerprint."""
    head, _ = split_raw(raw)
    if b"\r" in head:  # CRLF, and the CR-only line ends of old Mac mailers
        head, _ = split_raw(head.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    field = _MESSAGE_ID_FIELD.search(head)
    value = field.group(1).decode("utf-8", "surrogateescape") if field else ""  # RFC 6532
    match = _MESSAGE_ID.search(value)
    return match.group(0)[:998] if match else f"<{sha256[:40]}@consultant.invalid>"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One mail on its way in, with where it came from."""

    raw: bytes
    source: str
    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()
    quarantine: str | None = None  # record it quarantined, with this reason
    size: int | None = None  # of the whole mail, when `raw` is only part of it


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
    incoming = Incoming(raw, source, envelope_from, tuple(envelope_to or ()), quarantine, size)
    return store_many(session, [incoming])[0]


def store_many(session: Session, mails: Sequence[Incoming]) -> list[Stored]:
    """Insert a batch in one statement; mail already stored is recognised, not repeated.

    Returns one Stored per mail, in order. A mail that appears twice in the
    batch is created once (the second is reported as already stored).
    """
    if not mails:
        return []
    rows = [_row(mail) for mail in mails]
    keys = [(row["rfc_message_id"], row["sha256"]) for row in rows]
    table = cast(Table, InboundMessage.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["rfc_message_id", "sha256"])
        .returning(table.c.id, table.c.rfc_message_id, table.c.sha256)
    )
    created = {(mid, sha): id_ for id_, mid, sha in session.connection().execute(statement, rows)}
    missing = list({key for key in keys if key not in created})
    existing = _existing_ids(session, missing) if missing else {}
    results, seen = [], set()
    for key in keys:
        fresh = key in created and key not in seen
        seen.add(key)
        results.append(Stored(created.get(key) or existing[key], fresh, key[0]))
    return results


def _row(mail: Incoming) -> dict[str, Any]:
    sha256 = fingerprint(mail.raw)
    state = InboundState.QUARANTINED if mail.quarantine else InboundState.STORED
    return {
        "rfc_message_id": rfc_message_id_of(mail.raw, sha256),
        "sha256": sha256,
        "raw": mail.raw,
        "size": len(mail.raw) if mail.size is None else mail.size,
        "source": mail.source[:80],
        "envelope_from": mail.envelope_from[:320],
        "envelope_to": list(mail.envelope_to),
        "received_at": utcnow(),
        "state": state.value,
        "error": mail.quarantine,
    }


def _existing_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    pairs = tuple_(InboundMessage.rfc_message_id, InboundMessage.sha256)
    found = session.execute(
        select(InboundMessage.id, InboundMessage.rfc_message_id, InboundMessage.sha256).where(
            pairs.in_(keys)
        )
    )
    return {(mid, sha): id_ for id_, mid, sha in found}
