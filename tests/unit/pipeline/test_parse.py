from __future__ import annotations

import base64

import pytest

from consultant.errors import Quarantine
from consultant.pipeline.parse import html_to_text, parse
from tests.conftest import mail_bytes


def test_plain_question_gives_sender_subject_and_text() -> None:
    parsed = parse(mail_bytes("simple_question.eml"))
    assert parsed.sender == "dana.biller@example-clinic.org"
    assert parsed.sender_name == "Dana Biller"
    assert parsed.subject == "Bill 20700 with 27447?"
    assert parsed.rfc_message_id == "<q1-20261124.091500@example-clinic.org>"
    assert "modifier 59" in parsed.text
    assert parsed.date is not None and parsed.date.year == 2026


def test_html_only_mail_becomes_text_without_scripts_or_styles() -> None:
    parsed = parse(mail_bytes("html_only.eml"))
    assert parsed.subject == "Question \u2013 injection J1100"
    assert "J1100 with 99213-25" in parsed.text
    assert "E11.9" in parsed.text
    assert "alert" not in parsed.text and "color:red" not in parsed.text
    assert parsed.references == ("<thread-root@example-billing.com>",)


def test_table_cells_stay_apart() -> None:
    text = html_to_text(
        "<table><tr><td>Dx</td><td>E11.9</td></tr><tr><td>CPT</td><td>20700</td></tr></table>"
    )
    assert text.splitlines() == ["Dx   E11.9", "CPT  20700"]


def test_mail_without_sender_is_quarantined_with_reason() -> None:
    with pytest.raises(Quarantine, match="no sender"):
        parse(mail_bytes("no_sender.eml"))


def test_reply_to_wins_over_from_for_answers() -> None:
    raw = b"Reply-To: Billing <billing@example.org>\n" + mail_bytes("simple_question.eml")
    parsed = parse(raw)
    assert parsed.reply_to == "billing@example.org"
    assert parsed.sender == "dana.biller@example-clinic.org"


def test_quoted_history_start_is_found() -> None:
    raw = mail_bytes("simple_question.eml").replace(
        b"Thanks,", b"On Mon, 23 Nov 2026 Sam wrote:\n> old 99999\n\nThanks,"
    )
    parsed = parse(raw)
    assert parsed.quoted_from is not None
    assert parsed.text[parsed.quoted_from :].startswith("On Mon")


def test_unknown_charset_does_not_crash() -> None:
    raw = mail_bytes("simple_question.eml").replace(b'charset="utf-8"', b'charset="x-unknown"')
    assert "27447" in parse(raw).text


def test_outlook_forward_without_marker_is_the_question_not_history() -> None:
    body = (
        b"Please see below.\n\n________________________________\n"
        b"From: Dr. Lee <lee@example.org>\nSent: Monday, November 23, 2026 9:00 AM\n"
        b"To: Billing <billing@example.org>\nSubject: coding\n\nCan we bill 20700 with 27447?\n"
    )
    head = b"From: Dana <dana@example-clinic.org>\nMessage-ID: <fw1@x>\n"
    forward = parse(head + b"Subject: FW: coding\n\n" + body)
    assert forward.split.forwarded and forward.quoted_from is None
    assert "27447" in forward.new_text
    reply = parse(head + b"Subject: RE: coding\n\n" + body)
    assert reply.quoted_from is not None and "27447" not in reply.new_text


def test_base64_body_keeps_its_last_bytes_when_the_padding_is_stripped() -> None:
    # 'END' is the last group of three bytes; "Question END." ends in a padded group.
    for text in ("Question END", "Question END.", "Question END.."):
        body = base64.b64encode(text.encode()).decode()
        raw = (
            "From: a@example.org\nTo: consult@localhost\nSubject: b64\n"
            "Message-ID: <b64@example.org>\nContent-Type: text/plain; charset=utf-8\n"
            f"Content-Transfer-Encoding: base64\n\n{body}\n"
        ).encode()
        assert parse(raw).text.strip() == text


# Found by the fuzz run (tests/fuzz): each of these raised instead of parsing or refusing.


def test_mime_nested_beyond_the_stdlib_parser_is_quarantined() -> None:
    part = b"Content-Type: text/plain\n\nCan I bill 99213?\n"
    for level in range(1200):
        mark = b"n%d" % level
        part = (
            b'Content-Type: multipart/mixed; boundary="' + mark + b'"\n\n--' + mark + b"\n"
            + part + b"\n--" + mark + b"--\n"
        )  # fmt: skip
    with pytest.raises(Quarantine, match="nested too deeply"):
        parse(b"From: a@example.org\nSubject: deep\n" + part)


@pytest.mark.parametrize("charset", ["idna", "undefined", "punycode"])
def test_a_codec_that_is_no_mail_charset_does_not_crash(charset: str) -> None:
    raw = (
        b"From: a@example.org\nSubject: =?" + charset.encode() + b"?q?=FF?=\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\n\nBill 99213 \xff\xfe?\n"
    )
    parsed = parse(raw)
    assert parsed.sender == "a@example.org"


def test_nul_never_reaches_the_fields_that_are_stored_or_queried() -> None:
    raw = (
        b"From: =?utf-8?q?Dana=00_Biller?= <dana@example.org>\n"
        b"Subject: =?utf-8?q?Bill=00_99213?= and\x00 more\n"
        b"In-Reply-To: <a\x00b@example.org>\nReferences: <c\x00@x.org> <ok@example.org>\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nHi\n'
        b"--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''a%00b.pdf\n\nx\n--b--\n"
    )
    parsed = parse(raw)
    stored = (parsed.subject, parsed.sender_name, parsed.attachments[0].filename)
    assert not any("\x00" in value for value in stored)
    assert parsed.subject == "Bill 99213 and more"
    assert parsed.thread_ids == ("<ab@example.org>", "<ok@example.org>", "<c@x.org>")


def test_utf7_text_that_decodes_to_lone_surrogates_does_not_crash() -> None:
    # Found by the fuzz run: 8-bit bytes in a part labelled utf-7 came back from the
    # stdlib as surrogates that "surrogateescape" cannot encode.
    raw = (
        b"From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=utf-7\n\n"
        b"Bill 99213 +2D0- \xff\n"
    )
    parsed = parse(raw)
    assert "99213" in parsed.text
