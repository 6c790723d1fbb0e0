"""The text of a bounce's parts, however it is encoded. Pure.

Input: one MIME part of a suspected bounce. Output: its decoded text (HTML
tags blanked), or for a message/delivery-status part its header blocks as
"Name: value" lines, 8-bit values read as UTF-8. Never raises on bad MIME.
"""

from __future__ import annotations

import quopri
import re
from email.message import Message

from consultant.mime import MAIL_ERRORS, first_header
from consultant.pipeline.robots import content_type

_TAGS = re.compile(r"<[^<>]*>")


def is_text(part: Message) -> bool:
    """A readable part: text, or a multipart whose boundary was lost (text as well)."""
    ctype = content_type(part)[0]
    if "attachment" in first_header(part, "content-disposition").lower():
        return False
    if ctype.startswith("multipart/"):
        return not part.is_multipart()
    return ctype in ("text/plain", "text/html")


def part_text(part: Message) -> str:
    """The decoded text of a leaf part, or the header blocks of a delivery-status part."""
    try:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n\n".join(_block_text(sub) for sub in payload if isinstance(sub, Message))
        data = _payload_bytes(part, payload)
    except MAIL_ERRORS:
        return ""
    if not isinstance(data, bytes):
        return ""
    text = _decode(data, _charset(part))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if content_type(part)[0] == "text/html":
        text = _TAGS.sub(" ", text)
    return text


def _payload_bytes(part: Message, payload: object) -> object:
    # quopri loses the rest of a line at "=\r" (a soft break in CR-only mail),
    # so quoted-printable is decoded here after the line ends are made "\n".
    cte = first_header(part, "content-transfer-encoding").strip().lower()
    if cte != "quoted-printable" or not isinstance(payload, str):
        return part.get_payload(decode=True)
    text = payload.replace("\r\n", "\n").replace("\r", "\n")
    try:
        data = text.encode("ascii", "surrogateescape")
    except UnicodeError:
        data = text.encode("utf-8", "replace")
    return quopri.decodestring(data)


def _block_text(block: Message) -> str:
    try:
        items = block.raw_items()
        return "\n".join(f"{name}: {' '.join(_text(str(value)).split())}" for name, value in items)
    except MAIL_ERRORS:
        return ""


def _text(value: str) -> str:
    """A raw header value with its 8-bit bytes (kept as surrogates) read as UTF-8."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _charset(part: Message) -> str:
    match = re.search(r"""charset\s*=\s*["']?([a-z0-9._:-]+)""", content_type(part)[1])
    return match.group(1) if match else "utf-8"


def _decode(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except MAIL_ERRORS:
        return data.decode("utf-8", errors="replace")
