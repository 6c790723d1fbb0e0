"""Header-injection payloads (CVE-2024-6923) and the check of the mail we write.

A payload is a line break, an injected `X-Injected:` and `Bcc:` header and an
attacker's HTML body after a blank line, RFC 2047-encoded once, twice or three
times. `check_outgoing` parses raw bytes we produced back and asserts they
hold exactly the headers we meant, with no line break in any value.
"""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from email.message import EmailMessage

ASKER = "dana.biller@example-clinic.org"
LEVELS = (1, 2, 3)
INJECTION = "\r\nX-Injected: yes\r\nBcc: evil@evil.example\r\n\r\n<p>attacker body</p>"
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
MIME = ["MIME-Version", "Content-Type"]


def b_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode('ascii')}?="


def q_word(text: str) -> str:
    """A Q encoded-word that survives lower-casing (addresses are stored lower-case)."""
    data = text.encode()
    return (
        "=?utf-8?q?"
        + "".join(chr(c) if chr(c).isascii() and chr(c).isalnum() else f"={c:02X}" for c in data)
        + "?="
    )


def encoded(text: str, times: int, word: str = "b") -> str:
    """`text` encoded `times` times: a Q word first, then B (or Q) words around it."""
    value = q_word(text)
    for _ in range(times - 1):
        value = b_word(value) if word == "b" else q_word(value)
    return value


def question(
    *,
    subject: str = "Bill 20700 with 27447?",
    from_name: str = "Dana Biller",
    reply_to: str | None = None,
    extra: str = "",
    message_id: str = "<q-injection@example-clinic.org>",
) -> bytes:
    """A coding question whose headers carry what the test puts in them."""
    lines = [
        f"From: {from_name} <{ASKER}>",
        "To: Consult Desk <consult@localhost>",
        f"Subject: {subject}",
        "Date: Tue, 24 Nov 2026 09:15:00 -0500",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if reply_to is not None:
        lines.insert(1, f"Reply-To: {reply_to}")
    body = "Hello,\r\n\r\nCan I bill 20700 with 27447? Dx M86.161.\r\n\r\nThanks,\r\nDana\r\n"
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n" + body).encode()


def check_outgoing(raw: bytes, *, to: str, auto: bool = False) -> EmailMessage:
    """Parse `raw` back; assert exactly our headers, none with a line break; return it."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    expected = HEADERS + (["Auto-Submitted"] if auto else []) + MIME
    print("headers written:", msg.keys())
    assert msg.keys() == expected
    for name in msg:
        value = str(msg[name])
        assert not any(c in value for c in "\r\n\x00"), f"{name}: {value!r}"
        assert "=?" not in value, f"{name} still holds an encoded-word once decoded: {value!r}"
    assert msg["To"].addresses[0].addr_spec == to
    assert b"\nX-Injected" not in raw and b"\nBcc" not in raw
    return msg


def texts(msg: EmailMessage) -> tuple[str, str]:
    """The plain and HTML bodies of a mail we wrote."""
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and html is not None
    # CRLF in transit (policy.SMTP); the text itself must be what we passed.
    return (
        plain.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )
