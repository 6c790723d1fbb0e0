"""The header function: full decoding, control characters judged after it, addresses
validated, our own encoding and folding, file names; and build_reply's bytes."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy
from email.headerregistry import Address
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner

from consultant import cli
from consultant.mailer import headers
from consultant.mailer.compose import build_reply
from consultant.mailer.relay import write_outbox_file
from tests.injection import INJECTION, LEVELS, check_outgoing, encoded, texts


@pytest.mark.parametrize("level", LEVELS)
def test_decode_fully_undoes_every_level_of_encoding(level: int) -> None:
    value = encoded("Hi" + INJECTION, level)
    assert headers.decode_fully(value) == "Hi" + INJECTION
    assert headers.clean(value) == "Hi X-Injected: yes Bcc: evil@evil.example <p>attacker body</p>"
    assert headers.has_control(value)


@pytest.mark.parametrize("level", LEVELS)
def test_one_line_refuses_an_encoded_break(level: int) -> None:
    with pytest.raises(headers.HeaderError, match="must be one line"):
        headers.one_line(encoded("Hi" + INJECTION, level))
    assert headers.one_line(encoded("Grüße 27447", level)) == "Grüße 27447"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ('"=?utf-8?q?x=0d=0abcc:_evil@evil.example?="@example.org', "line break"),
        (encoded("x\r\nBcc: evil@evil.example", 2, word="q") + "@example.org", "line break"),
        ("=?utf-8?q?dana?=@example.org", "encoded-word"),
        ("dana biller@example.org", "space"),
        ("dana@evil@example.org", "exactly one @"),
        ("@example.org", "local part"),
        ("dana@", "domain"),
        ("dana..biller@example.org", "local part"),
        ("dana@exa_mple.org", "domain"),
        ("dana\x00@example.org", "line break or control"),
    ],
)
def test_addresses_we_cannot_write_are_refused_with_the_reason(address: str, why: str) -> None:
    with pytest.raises(headers.HeaderError, match=f"cannot send to .*{why}"):
        headers.addr_spec(address)


def test_plain_and_international_addresses_are_written() -> None:
    assert (
        headers.addr_spec(" dana.biller+x@example-clinic.org ")
        == "dana.biller+x@example-clinic.org"
    )
    assert headers.addr_spec("consult@localhost") == "consult@localhost"
    assert headers.addr_spec("dana@bücher.example") == "dana@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "name",
    ['Dana "DB" Biller, CPC', "Dana Biller", "Grüße Dana", "Dana =? Biller"],
)
def test_display_names_round_trip_through_our_encoding(name: str) -> None:
    value = headers.mailbox(name, "dana@example.org")
    msg = message_from_bytes(headers.header_block([("To", value)]) + b"\r\n", policy=policy.default)
    [address] = msg["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "dana@example.org")


def test_long_subjects_are_folded_by_us_and_read_back_whole() -> None:
    for subject in ("Modifier 59 with 27447 " * 20, "Grüße, Modifier 59 " * 20):
        block = headers.header_block([("Subject", headers.unstructured(subject))])
        assert all(len(line) <= 78 for line in block.split(b"\r\n"))
        msg = message_from_bytes(block + b"\r\n", policy=policy.default)
        assert msg["Subject"] == " ".join(subject.split())


def test_the_header_block_refuses_a_value_that_was_not_made_safe() -> None:
    with pytest.raises(headers.HeaderError, match="line break or non-ASCII"):
        headers.header_block([("Subject", "Hi\r\nX-Injected: yes")])


@pytest.mark.parametrize("level", LEVELS)
def test_build_reply_writes_only_our_headers_for_every_payload(level: int) -> None:
    payload = encoded("Hi" + INJECTION, level)
    raw = build_reply(
        from_name=payload,
        from_address="consult@desk.example",
        to="dana@example.org",
        to_name=payload,
        subject=f"Re: {payload}",
        text="The answer.\n",
        html="<p>The answer.</p>\n",
        rfc_message_id="<CC-1.1@desk.example>",
        in_reply_to="<q1@example.org>",
        references=["<root@example.org>", "<bad id>", encoded("<x@y>", level)],
    )
    msg = check_outgoing(raw, to="dana@example.org")
    assert msg["Subject"] == "Re: Hi X-Injected: yes Bcc: evil@evil.example <p>attacker body</p>"
    assert msg["References"] == "<root@example.org> <q1@example.org>"
    assert texts(msg) == ("The answer.\n", "<p>The answer.</p>\n")
    sender = msg["From"].addresses[0]
    assert sender == Address(
        "Hi X-Injected: yes Bcc: evil@evil.example <p>attacker body</p>",
        addr_spec="consult@desk.example",
    )


@pytest.mark.parametrize("level", LEVELS)
def test_attachment_names_are_decoded_fully_and_offered_safely(level: int) -> None:
    name = encoded("../../etc/Hi\r\nX-Injected: yes\r\nBcc: evil@evil.example.txt", level)
    assert headers.file_name(name) == "Hi X-Injected: yes Bcc: evil@evil.example.txt"
    assert headers.content_disposition(name) == (
        "attachment; filename*=UTF-8''Hi%20X-Injected%3A%20yes%20Bcc%3A%20evil%40evil.example.txt"
    )
    assert headers.file_name("\r\n..", "attachment-3") == "attachment-3"


def test_outbox_file_names_are_plain(tmp_path: Path) -> None:
    written = write_outbox_file(tmp_path, "../000001-evil\r\nname", b"mail")
    assert written.parent == tmp_path and written.name == "_000001-evil_name.eml"


def test_the_ask_command_refuses_a_sender_it_cannot_write(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    def no_smtp(*_: object, **__: object) -> NoReturn:
        raise AssertionError("ask connected although the sender is not an address")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    sender = encoded("dana\r\nBcc: evil@evil.example", 2) + "@example.org"
    result = CliRunner().invoke(cli.main, ["ask", "Is 99213 right?", "--sender", sender])
    assert result.exit_code == 1 and not isinstance(result.exception, AssertionError)
    assert "cannot send to" in result.output and "line break" in result.output
