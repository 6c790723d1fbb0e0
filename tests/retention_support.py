"""Helpers for the retention tests: a mail carrying a marker everywhere, and a
scan for that marker (plain, base64, quoted-printable, hex) in every table and
every file under var/.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, MetaData, String, column, insert, select, table, text, update

from consultant.db.base import UTCDateTime, utcnow
from consultant.db.models import Case, InboundMessage, OutboundMessage
from consultant.db.session import get_engine, session_factory, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.pipeline.send import Outcome, send_outbound
from consultant.review import approve, save_draft
from consultant.settings import Settings


def new_marker() -> str:
    """A string no code path invents: upper-case letters and digits, 28 long."""
    return "ZQX" + uuid.uuid4().hex.upper()[:25]


def marked_mail(marker: str) -> bytes:
    """A coding question with `marker` in the subject, sender name, body and an attachment.

    The body has a non-ASCII letter so it travels encoded (base64 or
    quoted-printable), and the attachment is base64: the scan must find both.
    """
    msg = EmailMessage()
    # A sender of its own per mail: a guest's quota would hold a second question.
    msg["From"] = f"{marker} Biller <asker-{uuid.uuid4().hex[:8]}@example-clinic.org>"
    msg["To"] = "consult@localhost"
    msg["Subject"] = f"Bill 20700 with 27447 for {marker}?"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example-clinic.org>"
    msg["Date"] = "Tue, 24 Nov 2026 09:15:00 -0500"
    msg.set_content(f"Hello,\n\nPatient {marker} (née X): can I bill 20700 with 27447? M86.161.\n")
    msg.add_attachment(
        # Over a page long: the raw mail spills into SQLite overflow pages, which a
        # purge frees (and only secure_delete zeroes).
        f"chart notes of {marker}\n".encode() + os.urandom(6000).hex().encode(),
        maintype="application",
        subtype="octet-stream",
        filename="chart.txt",
    )
    return msg.as_bytes()


def answered_case(settings: Settings, marker: str) -> str:
    """Run a marked mail through processing, a reviewer's marked edit, approval and
    delivery to the outbox folder; return the case reference (state sent)."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, marked_mail(marker), source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        ref = session.get_one(Case, case_id).ref or ""
    with session_scope(settings) as session:
        save_draft(session, settings, ref, "r@example.org", f"Dear {marker},\nUse 59.\n")
    with session_scope(settings) as session:
        outbound_id = approve(session, settings, ref, "r@example.org").id
    assert send_outbound(session_factory(settings), settings, outbound_id) is Outcome.SENT
    return ref


def open_case(settings: Settings, marker: str) -> str:
    """A marked mail processed into a drafted (open) case; return its reference."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, marked_mail(marker), source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def quarantined_mail(settings: Settings, marker: str) -> int:
    """A marked mail without a sender address: quarantined, no case; return its id."""
    raw = marked_mail(marker).replace(b"From:", b"X-Was-From:", 1)
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        assert process_message(session, settings, inbound_id).case_id is None
        assert session.get_one(InboundMessage, inbound_id).state == "quarantined"
    return inbound_id


def age_everything(settings: Settings, days: int) -> None:
    """Pretend every case, mail and outbox row was last changed `days` ago."""
    then = utcnow() - timedelta(days=days)
    with session_scope(settings) as session:
        session.execute(update(Case).values(updated_at=then, created_at=then))
        session.execute(update(InboundMessage).values(received_at=then))
        session.execute(update(OutboundMessage).values(created_at=then))


def marker_forms(marker: str) -> list[bytes]:
    """The marker as it may sit in bytes: plain, lower-case, base64 at each
    alignment, and as hex (PostgreSQL's text form of bytea)."""
    plain = marker.encode()
    forms = [plain, plain.lower()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + plain)
        forms.append(encoded[4 if pad else 0 : -4])
    forms += [form.hex().encode() for form in (plain, plain.lower())]
    return forms


def found_in(data: bytes, marker: str) -> bool:
    """True if any form of the marker is in `data`, also across soft and hard line breaks."""
    joined = (
        data.replace(b"=\r\n", b"").replace(b"=\n", b"").replace(b"\r", b"").replace(b"\n", b"")
    )
    return any(form in haystack for form in marker_forms(marker) for haystack in (data, joined))


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, default=str, ensure_ascii=False).encode()


def database_hits(settings: Settings, marker: str) -> list[str]:
    """Every table.column (any table in the database, not only ours) whose value holds
    the marker; on PostgreSQL also every row cast to text."""
    engine = get_engine(settings)
    metadata = MetaData()
    metadata.reflect(engine)
    hits = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                hits += [
                    f"{table.name}.{column}"
                    for column, value in row._mapping.items()
                    if value is not None and found_in(_as_bytes(value), marker)
                ]
            if engine.dialect.name == "postgresql":
                query = text(f'SELECT CAST(t AS text) FROM "{table.name}" t')
                rows = connection.execute(query).scalars()
                hits += [
                    f"{table.name} (row as text)" for row in rows if found_in(row.encode(), marker)
                ]
    return sorted(set(hits))


def file_hits(folder: Path, marker: str) -> list[str]:
    """Every file under `folder` (SQLite files, -wal, -shm, outbox .eml, …) holding the marker."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and found_in(path.read_bytes(), marker)
    )


def old_audit_entries(
    settings: Settings, marker: str, revision: str = "0006"
) -> dict[str, dict[str, Any]]:
    """Bring the database to `revision` (0006: before retention), write audit entries
    the way the code of then did (mail text in the detail), return them by action."""
    from alembic import command

    from consultant.db.migrate import alembic_config

    details = {
        "draft.edited": {"version": 2, "diff": f"--- v1\n+++ v2\n+Dear {marker}"},
        "case.rejected": {"reason": f"{marker} is not a coding question"},
        "outbound.bounced": {"outbound_id": 7, "diagnostic": f"550 {marker} unknown"},
        "login": {"client": "127.0.0.1"},
        "answer.failed": {
            "outbound_id": 8,
            "error": f"SMTPRecipientsRefused: 550 <{marker}@example.org> no such user",
            "attention": f"answer not delivered: 550 <{marker}@example.org> no such user",
        },
        "auto_mail.retried": {
            "outbound_id": 9,
            "cleared_attention": f"acknowledgement not delivered: 554 {marker}",
        },
    }
    config = alembic_config()
    with get_engine(settings).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    audit_log = table(
        "audit_log",
        column("at", UTCDateTime()),
        column("actor", String),
        column("action", String),
        column("detail", JSON),
    )
    with get_engine(settings).begin() as connection:
        connection.execute(
            insert(audit_log),
            [
                {"at": utcnow(), "actor": "system", "action": action, "detail": detail}
                for action, detail in details.items()
            ],
        )
    return details
