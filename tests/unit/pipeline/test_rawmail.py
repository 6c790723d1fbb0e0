"""The raw-mail helpers: a fingerprint blind to trace headers and line ends, and the
Message-ID read from the bytes (or made stable from the fingerprint)."""

from __future__ import annotations

from consultant.pipeline.rawmail import fingerprint, rfc_message_id_of
from tests.conftest import mail_bytes


def test_fingerprint_ignores_trace_headers_and_line_ends() -> None:
    raw = mail_bytes("simple_question.eml")
    relayed = b"Received: from mx1 by mx2; Tue, 24 Nov 2026\r\n\tcontinued\r\n" + raw.replace(
        b"\n", b"\r\n"
    )
    assert fingerprint(relayed) == fingerprint(raw)


def test_fingerprint_changes_with_the_body() -> None:
    raw = mail_bytes("simple_question.eml")
    assert fingerprint(raw) != fingerprint(raw.replace(b"27447", b"27446"))


def test_missing_message_id_is_made_stable_from_the_content() -> None:
    raw = mail_bytes("no_message_id.eml")
    made = rfc_message_id_of(raw, fingerprint(raw))
    assert made == rfc_message_id_of(raw, fingerprint(raw))
    assert made.startswith("<") and made.endswith("@consultant.invalid>")


def test_message_id_is_read_from_the_header() -> None:
    raw = mail_bytes("simple_question.eml")
    assert rfc_message_id_of(raw, "x") == "<q1-20261124.091500@example-clinic.org>"


def test_message_id_is_found_with_cr_only_line_ends_and_never_holds_control_characters() -> None:
    cr_only = b"From: a@example.org\rMessage-ID:\r <cr@example.org>\r\rbody Message-ID: <no@x>\r"
    assert rfc_message_id_of(cr_only, "f" * 64) == "<cr@example.org>"
    nul = b"Message-ID: <a\x00b@example.org>\r\n\r\n"
    assert rfc_message_id_of(nul, "f" * 64) == f"<{'f' * 40}@consultant.invalid>"
