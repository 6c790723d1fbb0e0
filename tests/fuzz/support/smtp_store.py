"""Hold the intake's database to the 250s a fuzz run received.

Input: the stopped `Intake` and the run's `SmtpTally`. Output: findings: one
row per distinct mail acknowledged, each the bytes that were sent, each
enqueued once, nothing stored that was not acknowledged, no NUL in an
envelope, and every exception the intake logged. Reads the database only.
"""

from __future__ import annotations

from sqlalchemy import select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from tests.fuzz.support.smtp_fuzz import SmtpTally
from tests.fuzz.support.smtp_intake import Intake


def check_store(intake: Intake, tally: SmtpTally) -> list[str]:
    """The database against the 250s: call after the controller stopped (enqueues done)."""
    findings = [f"the intake logged {what}" for what in intake.errors.seen]
    with session_scope(intake.settings) as session:
        rows = {
            row.id: (row.sha256, row.rfc_message_id, row.envelope_from, list(row.envelope_to))
            for row in session.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.sha256,
                    InboundMessage.rfc_message_id,
                    InboundMessage.envelope_from,
                    InboundMessage.envelope_to,
                )
            )
        }
    keys = set()
    for inbound_id, key in tally.queued:
        keys.add(key)
        if inbound_id not in rows:
            findings.append(f"250 queued as {inbound_id}, but no such row")
        elif rows[inbound_id][:2] != key:
            findings.append(f"row {inbound_id} does not hold the mail its 250 acknowledged")
    acknowledged = {inbound_id for inbound_id, _ in tally.queued}
    if set(rows) != acknowledged:
        findings.append(f"{len(set(rows) - acknowledged)} rows stored without a 250")
    if len(rows) != len(keys):
        findings.append(f"{len(rows)} rows for {len(keys)} distinct mails acknowledged")
    if sorted(intake.enqueued) != sorted(rows):
        findings.append(f"{len(intake.enqueued)} enqueues for {len(rows)} rows")
    for inbound_id, (_, _, sender, recipients) in rows.items():
        if any("\x00" in value for value in (sender, *recipients)):
            findings.append(f"row {inbound_id} holds a NUL in its envelope (PostgreSQL refuses it)")
    return findings
