"""store_raw: the one door in. Every accepted mail is committed here, raw,
before anyone acknowledges it (SMTP 250, IMAP flag or move).

Input: the raw bytes and where they came from. Output: the inbound row id and
whether it is new. A mail whose Message-ID and content fingerprint are already
stored is recognised, not stored again, so a redelivery yields one case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from consultant.db.base import utcnow
from consultant.db.models import InboundMessage, InboundState
from consultant.pipeline.rawmail import fingerprint, rfc_message_id_of


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int
    created: bool
    rfc_message_id: str


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
