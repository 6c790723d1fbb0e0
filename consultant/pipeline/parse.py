"""Parse: raw bytes to a ParsedMessage. Pure: no database, no network.

Headers are decoded by the stdlib (``policy.default``); the body text is the
``text/plain`` part, or text made from the HTML part for HTML-only mail. A
mail we cannot answer at all (no sender address) raises Quarantine. Later
issues deepen this stage (charset sniffing, quote and signature separation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from consultant.errors import Quarantine
from consultant.pipeline.intake.store import fingerprint, rfc_message_id_of

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Lines that start the quoted history in the common clients.
_QUOTE_START = re.compile(
    r"^(>|On .{3,200} wrote:\s*$|-{2,} ?Original Message ?-{2,}|From: .+$)", re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    rfc_message_id: str
    subject: str
    sender: str  # lower-cased address of From
    sender_name: str
    reply_to: str  # where answers go: Reply-To, else From
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    quoted_from: int | None  # offset in `text` where quoted history starts
    attachments: tuple[Attachment, ...] = field(default=())


def parse(raw: bytes) -> ParsedMessage:
    """Turn raw mail into a ParsedMessage, or raise Quarantine with the reason."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    sender_name, sender = _address(msg, "From")
    if not sender:
        raise Quarantine("no sender address in From")
    reply_to = _address(msg, "Reply-To")[1] or sender
    text = body_text(msg)
    quote = _QUOTE_START.search(text)
    return ParsedMessage(
        rfc_message_id=rfc_message_id_of(raw, fingerprint(raw)),
        subject=" ".join(_header(msg, "Subject").split()),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        date=_date(msg),
        in_reply_to=_first_id(_header(msg, "In-Reply-To")),
        references=tuple(_MESSAGE_ID.findall(_header(msg, "References"))),
        text=text,
        quoted_from=quote.start() if quote else None,
        attachments=tuple(_attachments(msg)),
    )


def _header(msg: Message, name: str) -> str:
    # A malformed header must not sink the whole mail: fall back to raw text.
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):
        value = msg.get_all(name, failobj=[""])[0] if hasattr(msg, "get_all") else ""
    return str(value or "")


def _address(msg: Message, name: str) -> tuple[str, str]:
    pairs = getaddresses([_header(msg, name)])
    for display, address in pairs:
        if "@" in address:
            return display.strip(), address.strip().lower()
    display, address = parseaddr(_header(msg, name))
    return display, address.lower() if "@" in address else ""


def _date(msg: Message) -> datetime | None:
    try:
        value = msg.get("Date")
        return getattr(value, "datetime", None)
    except (ValueError, TypeError, IndexError):
        return None


def _first_id(value: str) -> str | None:
    match = _MESSAGE_ID.search(value)
    return match.group(0) if match else None


def body_text(msg: EmailMessage) -> str:
    """The readable text of the mail: plain part first, else the HTML made text."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _content(part)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").replace("\r", "\n")


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, ValueError, AssertionError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _attachments(msg: EmailMessage) -> list[Attachment]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=part.get_filename() or "",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found


class _TextExtractor(HTMLParser):
    """Minimal HTML to text: blocks become lines, table cells are tab-separated."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text from HTML; codes in tables stay on separate cells."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (
        re.sub(r"[^\S\t]+", " ", line).strip(" ").strip("\t")
        for line in "".join(extractor.parts).split("\n")
    )
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
