"""Mail view: a stored raw mail made safe to show in the reviewer console. Pure: no database.

Input: the raw mail (bytes) as stored. Output: a MailView with the decoded headers,
the text split as parse splits it (new text, quoted history, signature), the mail's
HTML sanitised to an allow-list (see consultant.web.sanitize, which also says what
the HTML keeps), and its attachments listed in parse's order, so the index of an
attachment here is the index `attachment()` downloads, each with the way the
console can show it (consultant.web.attachview, read from its first bytes). No
state changes. Mail parse cannot read raises Quarantine, as parse does; the caller
shows the reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from itertools import islice

from consultant import mime
from consultant.pipeline.parse import (
    MAX_PARTS,
    UUENCODED,
    Attachment,
    clean_text,
    load,
    parse,
    walk_parts,
)
from consultant.web.attachview import SNIFF_BYTES, ViewKind, image_type, viewer_kind
from consultant.web.sanitize import MAX_HTML, MAX_TAGS, TRUNCATED, cap_html, clean_html
from consultant.web.sanitize import sanitize_html as sanitize_html  # re-exported for callers

MAX_INLINE_IMAGE = 2 * 1024 * 1024  # decoded bytes of one cid: image made into a data: URI
MAX_INLINE_TOTAL = 8 * 1024 * 1024  # decoded bytes of all of them together
MAX_DEPTH = 30  # as parse: deeper MIME nesting is not read
PART_SEPARATOR = "\n<hr>\n"
_ENCODED = frozenset({"base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"})

_BIDI_AND_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    index: int  # position among the mail's attachments, as parse lists them
    filename: str  # safe to show and to offer as a download name; never empty
    content_type: str
    size: int
    kind: ViewKind = ViewKind.DOWNLOAD  # how the console can show it, read from its bytes
    charset: str = ""  # of its bytes as attachment() gives them ("" if none declared)


@dataclass(frozen=True, slots=True)
class MailView:
    subject: str
    sender: str
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    new_text: str  # what the sender wrote now
    quoted: str  # quoted history ("" if none)
    signature: str
    html: str | None  # sanitised HTML body; None when the mail has no HTML part
    remote_images_blocked: int
    attachments: tuple[AttachmentInfo, ...]
    reply_to: str = ""  # the Reply-To address ("" when the mail has none)
    return_path: str = ""  # topmost Return-Path ("<>" when null, "" when absent)


def view_mail(raw: bytes) -> MailView:
    """Read raw mail into what the console shows; Quarantine propagates."""
    parsed = parse(raw)
    msg = parsed.msg if parsed.msg is not None else load(raw)
    html, blocked = _html_view(msg)
    return MailView(
        subject=parsed.subject,
        sender=parsed.sender,
        sender_name=parsed.sender_name,
        to=parsed.to,
        cc=parsed.cc,
        date=parsed.date,
        new_text=parsed.split.new_text,
        quoted=parsed.split.quoted_text,
        signature=parsed.split.signature_text,
        html=html,
        remote_images_blocked=blocked,
        attachments=_infos(parsed.attachments, _heads(msg)),
        reply_to=parsed.reply_to_header,
        return_path=parsed.return_path,
    )


def attachment(raw: bytes, index: int) -> tuple[AttachmentInfo, bytes]:
    """Return attachment `index` of the mail and its decoded bytes, or raise LookupError."""
    parsed = parse(raw)
    count = len(parsed.attachments)
    if not 0 <= index < count:
        raise LookupError(f"no attachment {index}: the mail has {count} attachment(s)")
    msg = parsed.msg if parsed.msg is not None else load(raw)
    data, charset = _bytes_of(msg, index, max(len(raw), 1))
    return _info(index, parsed.attachments[index], data, charset), data


def _bytes_of(msg: Message, index: int, limit: int) -> tuple[bytes, str]:
    """The decoded bytes of attachment `index` and their charset ("" if not known)."""
    parts, texts = _attachment_parts(msg)
    if index < len(parts):
        return _part_bytes(parts[index], limit), _charset_of(parts[index])
    files = _uuencoded_files(texts)
    if index - len(parts) >= len(files):
        raise LookupError(f"attachment {index} is inside the mail's text and cannot be extracted")
    return files[index - len(parts)], ""


def _infos(
    attachments: tuple[Attachment, ...], heads: list[tuple[bytes, str]]
) -> tuple[AttachmentInfo, ...]:
    """Parse's attachment list, numbered, with names safe to show and viewer kinds."""
    return tuple(
        _info(i, a, *(heads[i] if i < len(heads) else (b"", ""))) for i, a in enumerate(attachments)
    )


def _info(index: int, found: Attachment, head: bytes, charset: str) -> AttachmentInfo:
    name = display_name(found.filename, index)
    kind = viewer_kind(head[:SNIFF_BYTES], found.content_type, name)
    return AttachmentInfo(index, name, found.content_type, found.size, kind, charset)


def display_name(name: str, index: int) -> str:
    """A file name safe to show and download: no path, no control or bidi characters."""
    name = _BIDI_AND_CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split())[:255]
    return name if name.strip(".") else f"attachment-{index}"


# Attachments: parse's own walk, so the indexes agree with ParsedMessage.attachments.


def _attachment_parts(msg: Message) -> tuple[list[Message], list[tuple[str, str]]]:
    """The attachment parts in parse's order, and the text parts (for uuencoded files)."""
    walk = mime.Walk()
    walk_parts(msg, walk, 0)
    parts, texts = list(walk.attachments), list(walk.texts)
    for inner in walk.forwarded:  # parse lists a forwarded mail's attachments after the rest
        sub = mime.Walk()
        walk_parts(inner, sub, 1)
        parts.extend(sub.attachments)
        texts.extend(sub.texts)
    return parts, texts


def _heads(msg: Message) -> list[tuple[bytes, str]]:
    """The first bytes and the charset of each attachment, in parse's order."""
    parts, texts = _attachment_parts(msg)
    heads = [(_part_bytes(p, SNIFF_BYTES), _charset_of(p)) for p in parts]
    heads.extend((data[:SNIFF_BYTES], "") for data in _uuencoded_files(texts))
    return heads


def _charset_of(part: Message) -> str:
    """The charset of the bytes _part_bytes gives: the part's own for a body in base64,
    quoted-printable or uuencode; UTF-8 for one sent unencoded (7bit, 8bit), which the
    stdlib has already decoded with the part's charset and payload_bytes encodes as UTF-8."""
    if mime.transfer_encoding(part) in _ENCODED:
        return mime.param(part, "charset")
    return "utf-8"


def _part_bytes(part: Message, limit: int) -> bytes:
    """The decoded content of an attachment part; an attached mail as its bytes."""
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = next((p for p in payload if isinstance(p, Message)), None)
        try:
            return inner.as_bytes() if inner is not None else b""
        except mime.MAIL_ERRORS:
            return b""
    return mime.payload_bytes(part, limit)[0]


def _uuencoded_files(texts: list[tuple[str, str]]) -> list[bytes]:
    """Files uuencoded in the plain text parts, in the order parse lists them."""
    files: list[bytes] = []
    for kind, text in texts:
        if kind == "plain":
            blocks = UUENCODED.finditer(clean_text(text))
            files.extend(mime.uudecode(m.group(0).encode("latin-1", "replace")) for m in blocks)
    return files


# Finding the HTML: parse's walk, except that an alternative prefers its HTML.


@dataclass(slots=True)
class _Html:
    texts: list[str] = field(default_factory=list)
    budget: int = MAX_HTML
    parts: int = 0
    cut: bool = False


def _html_view(msg: Message) -> tuple[str | None, int]:
    """The sanitised HTML parts of the mail joined, and the remote images removed."""
    found = _Html()
    _find_html(msg, found, 0)
    if not found.texts:
        return None, 0
    wants_images = any("cid:" in text.lower() for text in found.texts)
    images = inline_images(msg) if wants_images else {}
    pieces, blocked, tags, cut = [], 0, MAX_TAGS, found.cut
    for text in found.texts:
        text, cut_here, used = cap_html(text, tags)
        safe, count = clean_html(text, images)
        pieces.append(safe)
        blocked, tags = blocked + count, tags - used
        if cut_here:
            cut = True
            break
    html = PART_SEPARATOR.join(p for p in pieces if p.strip())
    return (html + TRUNCATED if cut else html), blocked


def _find_html(part: Message, found: _Html, depth: int) -> None:
    """Collect the inline text/html parts, within the character budget."""
    found.parts += 1
    if depth > MAX_DEPTH or found.parts > MAX_PARTS:
        return
    ctype = mime.content_type(part)
    subs = _subparts(part)
    if subs is not None:
        if ctype == "multipart/alternative":
            subs = [s for s in reversed(subs) if _has_html(s)][:1]
        elif ctype in ("multipart/signed", "multipart/report"):
            subs = subs[:1]
        for sub in subs:
            _find_html(sub, found, depth + 1)
    elif ctype == "text/html" and mime.disposition(part) != "attachment":
        if found.budget <= 0:
            found.cut = True
            return
        data, cut = mime.payload_bytes(part, found.budget)
        text = mime.decode_bytes(data, mime.param(part, "charset"))[0]
        found.texts.append(text)
        found.budget -= len(text)
        found.cut |= cut


def _subparts(part: Message) -> list[Message] | None:
    """The sub-parts of a multipart (or attached message); None for a leaf."""
    payload = part.get_payload()
    if part.is_multipart() and isinstance(payload, list):
        return [s for s in payload if isinstance(s, Message)]
    return None


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """The leaf parts under `part`, in order, no deeper than MAX_DEPTH."""
    subs = _subparts(part)
    if subs is None:
        yield part
    elif depth < MAX_DEPTH:
        for sub in subs:
            yield from _leaves(sub, depth + 1)


def _has_html(part: Message) -> bool:
    """Tell whether an alternative holds an inline HTML part."""
    return any(
        mime.content_type(leaf) == "text/html" and mime.disposition(leaf) != "attachment"
        for leaf in islice(_leaves(part), MAX_PARTS)
    )


def inline_images(msg: Message) -> dict[str, str]:
    """Content-ID (without <>) to a data: URI, for every image part the mail carries."""
    images: dict[str, str] = {}
    total = 0
    for part in islice(_leaves(msg), MAX_PARTS):
        cid = mime.first_header(part, "Content-ID").strip().strip("<>").strip()
        if not cid or cid in images:
            continue
        data, cut = mime.payload_bytes(part, MAX_INLINE_IMAGE)
        kind = image_type(data)
        if cut or kind is None or total + len(data) > MAX_INLINE_TOTAL:
            continue
        total += len(data)
        images[cid] = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return images
