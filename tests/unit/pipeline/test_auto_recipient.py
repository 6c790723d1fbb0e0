"""Who automatic mail goes to: the From address when it is the envelope sender, else
the envelope sender (SMTP MAIL FROM, or the Return-Path of mail fetched by IMAP);
From when no envelope is known; nobody for a null reverse-path; never Reply-To."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from consultant.cases import fingerprint
from consultant.db.models import AuditEntry, Case, CaseState, OutboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.settings import Settings
from tests.injection import ASKER, question

REPLY_TO = "Helper <helper@elsewhere.example>"


def _acknowledged(
    settings: Settings, raw: bytes, *, envelope_from: str = "", source: str = "smtp"
) -> list[str]:
    """Process `raw` with acknowledgements on; return the recipients of the mail queued."""
    settings = settings.model_copy(update={"acknowledge": True})
    with session_scope(settings) as session:
        stored = store_raw(session, raw, source=source, envelope_from=envelope_from)
    with session_scope(settings) as session:
        done = process_message(session, settings, stored.inbound_id)
        return [
            address
            for outbound_id in done.outbound_ids
            for address in session.get_one(OutboundMessage, outbound_id).recipients
        ]


@pytest.mark.parametrize(
    ("envelope_from", "expected"),
    [
        (ASKER, [ASKER]),  # From is the envelope sender
        (f"<{ASKER.upper()}>", [ASKER]),  # the same, as aiosmtpd may hand it over
        ("bounces+dana@lists.example", ["bounces+dana@lists.example"]),  # a list or forwarder
        ("", [ASKER]),  # no envelope recorded: From
    ],
)
def test_acknowledgement_goes_to_the_envelope_sender_or_from_never_reply_to(
    migrated: Settings, envelope_from: str, expected: list[str]
) -> None:
    raw = question(reply_to=REPLY_TO)
    assert _acknowledged(migrated, raw, envelope_from=envelope_from) == expected


def test_null_envelope_sender_gets_no_automatic_mail(migrated: Settings) -> None:
    assert _acknowledged(migrated, question(reply_to=REPLY_TO), envelope_from="<>") == []
    with session_scope(migrated) as session:
        reasons = [
            entry.detail.get("reason")
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "auto_mail.suppressed")
            )
        ]
    # The audit log keeps a reason's size and hash, never its text (it may quote mail).
    assert reasons == [fingerprint("null envelope sender (<>): automatic mail goes to nobody")]


def test_mail_fetched_by_imap_answers_its_return_path(migrated: Settings) -> None:
    raw = question(reply_to=REPLY_TO)
    with_path = b"Return-Path: <owner-list@lists.example>\r\n" + raw
    assert _acknowledged(migrated, with_path, source="imap:inbox") == ["owner-list@lists.example"]


def test_an_envelope_sender_we_cannot_write_to_gets_nothing(migrated: Settings) -> None:
    assert _acknowledged(migrated, question(), envelope_from="a b@x@example.org") == []


def test_automatic_mail_repeats_no_name_and_caps_the_subject(migrated: Settings) -> None:
    raw = question(subject="Modifier 59 " + "with 27447 " * 30, from_name="Dana Biller")
    _acknowledged(migrated, raw)
    with session_scope(migrated) as session:
        row = session.scalars(select(OutboundMessage)).one()
        msg = message_from_bytes(row.raw, policy=policy.default)
    subject = msg["Subject"]
    repeated = subject.removeprefix("Re: ").rsplit(" [", 1)[0]
    assert repeated.startswith("Modifier 59 with 27447 with 27447")
    assert repeated.endswith("…") and len(repeated) <= 80
    for part in msg.walk():
        if not part.is_multipart():
            assert "Dana" not in part.get_content() and "Biller" not in part.get_content()


def test_an_override_that_does_not_render_costs_the_acknowledgement_not_the_case(
    migrated: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An override written for an older release, which still greets by name.
    (tmp_path / "acknowledgement").mkdir()
    (tmp_path / "acknowledgement" / "body.txt.j2").write_text("Hello {{ greeting_name }},\n")
    settings = migrated.model_copy(update={"templates_dir": tmp_path})
    assert _acknowledged(settings, question()) == []
    with session_scope(settings) as session:
        assert session.scalars(select(Case.state)).one() == CaseState.DRAFTED
        suppressed = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "auto_mail.suppressed")
        ).one()
    assert suppressed["kind"] == "acknowledgement"
    assert "'greeting_name' is undefined" in caplog.text
    assert "CONSULTANT_TEMPLATES_DIR" in caplog.text
