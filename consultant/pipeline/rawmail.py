"""Raw mail as bytes, before any parse: the header/body split, the content
fingerprint that recognises a redelivery, and the Message-ID a mail is known by.

Pure: no database, no parse. The intake's store (the one door in) keys mail by
these; parse reads the same Message-ID, so both always agree.
"""

from __future__ import annotations

import hashlib
import re

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
