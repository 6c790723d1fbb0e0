"""Parse: raw bytes to a ParsedMessage. Pure: no database, no network.

Input: the raw mail as stored. Output: a ParsedMessage with decoded headers,
the readable text (the plain part, or text made from the HTML through
inscriptis, tables kept in columns), that text split into what the sender
wrote now, the quoted history and the signature, the attachments (listed,
never decoded beyond a limit) and what classify needs (robot reason, bounce).
Mail we cannot read at all raises Quarantine with the reason; anything else
is a bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime

import lxml.html
from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig
from lxml.etree import ParserError

from consultant import mime
from consultant.errors import Quarantine
from consultant.pipeline.bounces import Bounce, detect_bounce
from consultant.pipeline.quotes import Split, split_reply
from consultant.pipeline.rawmail import fingerprint, rfc_message_id_of
from consultant.pipeline.robots import robot_reason

MAX_TEXT = 2 * 1024 * 1024  # bytes of one text part decoded; the rest stays in the raw mail
MAX_PARTS = 1000
MAX_FORWARDED = 5
TOO_DEEP = "MIME parts nested too deeply to read (hundreds of levels)"
SYNTHETIC_ID_DOMAIN = "@consultant.invalid>"
# No control characters: thread ids are database query parameters (PostgreSQL refuses NUL).
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UUENCODED = re.compile(r"^begin [0-7]{3,4} ([^\n]+)\n(?:[^\n]*\n){0,100000}?end[ \t]*$", re.M)
_PGP_SIGNED = re.compile(r"^-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash: [^\n]*\n)*\n?", re.M)
_PGP_SIGNATURE = re.compile(
    r"^-----BEGIN PGP SIGNATURE-----\n.*?^-----END PGP SIGNATURE-----\n?", re.M | re.S
)
_PGP_MESSAGE = "-----BEGIN PGP MESSAGE-----"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=False)
ENCRYPTED = (
    "encrypted mail ({how}) cannot be read here; ask the sender to send the question "
    "unencrypted through a secure channel you agree on"
)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # decoded bytes, estimated from the encoded text
    tnef: bool = False  # Outlook's winmail.dat wrapper: its files are inside


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    rfc_message_id: str  # the mail's own, or a stable one made from its content
    subject: str
    sender: str  # lower-cased address of From
    sender_name: str
    reply_to: str  # where answers go: Reply-To, else From
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # all readable text, "\n" line ends
    split: Split  # text split into new text, quoted history, signature
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    html: bool = False  # the text was made from HTML
    attachments: tuple[Attachment, ...] = field(default=())
    robot: str | None = None  # why this is automatic mail, if it is
    bounce: Bounce | None = None
    notes: tuple[str, ...] = ()  # what a reviewer should know about the parse
    reply_to_header: str = ""  # the Reply-To address itself ("" when the mail has none)
    return_path: str = ""  # topmost Return-Path: its address, "<>" when null, "" when absent
    msg: EmailMessage | None = field(default=None, repr=False, compare=False)

    @property
    def message_id_synthesised(self) -> bool:
        return self.rfc_message_id.endswith(SYNTHETIC_ID_DOMAIN)

    @property
    def new_text(self) -> str:
        return self.split.new_text

    @property
    def quoted_from(self) -> int | None:
        """Offset where the first quoted span starts (None: nothing quoted)."""
        return self.split.quoted[0][0] if self.split.quoted else None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers: In-Reply-To first, then References newest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        return tuple(dict.fromkeys([*ids, *reversed(self.references)]))


def load(raw: bytes) -> EmailMessage:
    """The stdlib's message tree of `raw` (policy.default); never raises on bad MIME,
    except Quarantine for nesting deeper than the stdlib's parser can follow."""
    try:
        msg = message_from_bytes(raw, policy=policy.default)
    except RecursionError:
        raise Quarantine(TOO_DEEP) from None
    assert isinstance(msg, EmailMessage)
    return msg


def parse(raw: bytes) -> ParsedMessage:
    """Turn raw mail into a ParsedMessage, or raise Quarantine with the reason."""
    _refuse_unreadable(raw)
    msg = load(raw)
    if not msg.keys():
        raise Quarantine("no header block: this is not an Internet mail message")
    sender_name, sender = _sender(msg)
    robot, bounce = robot_reason(msg), detect_bounce(msg)
    if not sender:
        if not (robot or bounce):
            raise Quarantine("no sender address in From")
        # Automatic mail is never answered; "From: MAILER-DAEMON" is enough to record it.
        sender = " ".join(mime.header(msg, "From").split()).strip("<>").lower()[:320]
    text, html, notes, attachments = _content(msg)
    reply_to_header = _first(mime.addresses(msg, "Reply-To"))[1]
    reply_to = reply_to_header or sender
    return ParsedMessage(
        rfc_message_id=rfc_message_id_of(raw, fingerprint(raw)),
        subject=mime.header(msg, "Subject")[:2000],
        sender=sender,
        sender_name=sender_name[:200],
        reply_to=reply_to,
        date=_date(msg),
        in_reply_to=_first_id(" ".join(mime.raw_headers(msg, "In-Reply-To"))),
        references=tuple(_MESSAGE_ID.findall(" ".join(mime.raw_headers(msg, "References"))))[-100:],
        text=text,
        split=_split(text, mime.header(msg, "Subject")),
        to=tuple(a for _, a in mime.addresses(msg, "To")),
        cc=tuple(a for _, a in mime.addresses(msg, "Cc")),
        html=html,
        attachments=attachments,
        robot=robot,
        bounce=bounce,
        notes=notes,
        reply_to_header=reply_to_header,
        return_path=_return_path(msg),
        msg=msg,
    )


def _sender(msg: EmailMessage) -> tuple[str, str]:
    """(name, address) from From, else Sender, else Reply-To; ("", "") when none has one."""
    found = _first(mime.addresses(msg, "From"))
    if not found[1]:
        found = _first(mime.addresses(msg, "Sender") or mime.addresses(msg, "Reply-To"))
    return found


def _content(msg: EmailMessage) -> tuple[str, bool, tuple[str, ...], tuple[Attachment, ...]]:
    """The mail's text, whether it was all HTML, notes on reading it, and its attachments;
    Quarantine for encrypted mail, which cannot be read here."""
    walk = mime.Walk()
    walk_parts(msg, walk, 0)
    if walk.encrypted:
        raise Quarantine(ENCRYPTED.format(how=walk.encrypted))
    text, notes, extra = _assemble(walk)
    if text.lstrip().startswith(_PGP_MESSAGE):
        raise Quarantine(ENCRYPTED.format(how="inline PGP"))
    attachments = tuple(_attachment(part) for part in walk.attachments) + extra
    notes += tuple(
        f"{a.filename or 'winmail.dat'} is Outlook's TNEF wrapper; its files are inside it"
        for a in attachments
        if a.tnef
    )
    html = bool(walk.texts) and all(kind == "html" for kind, _ in walk.texts)
    return text, html, notes, attachments


_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|vs|doorst|enc|i)\s*:", re.IGNORECASE)


def _split(text: str, subject: str) -> Split:
    """Split the text; an Outlook forward ("FW:", no marker) is the question, not history."""
    split = split_reply(text)
    if split.forwarded or not split.quoted or not _FORWARD_SUBJECT.match(subject):
        return split
    return Split(text, (), split.signature, forwarded=True)


def _refuse_unreadable(raw: bytes) -> None:
    if not raw.strip():
        raise Quarantine("empty message")
    if raw.startswith(_CFB_MAGIC):
        raise Quarantine("an Outlook .msg file (binary), not an Internet mail message")


def _first(pairs: list[tuple[str, str]]) -> tuple[str, str]:
    return pairs[0] if pairs else ("", "")


def _return_path(msg: Message) -> str:
    """The topmost Return-Path (the delivering MTA writes it from the envelope)."""
    value = mime.strip_comments(mime.first_header(msg, "Return-Path"))
    address = "".join(value.split())
    if address == "<>":
        return address
    return address.strip("<>").lower()[:320]


def _first_id(value: str) -> str | None:
    match = _MESSAGE_ID.search(value)
    return match.group(0)[:998] if match else None


def _date(msg: Message) -> datetime | None:
    values = mime.raw_headers(msg, "Date")
    if not values:
        return None
    try:
        when = parsedate_to_datetime(values[0])
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def walk_parts(part: Message, walk: mime.Walk, depth: int) -> None:
    """Collect the readable text parts, the attachments and forwarded mail."""
    if depth > 30 or len(walk.texts) + len(walk.attachments) > MAX_PARTS:
        walk.cut = True
        return
    ctype = mime.content_type(part)
    payload = mime.payload(part)
    if part.is_multipart() and isinstance(payload, list):
        subs = [s for s in payload if isinstance(s, Message)]
        if ctype == "multipart/encrypted":
            walk.encrypted = "PGP/MIME"
        elif ctype == "multipart/alternative" and subs:
            walk_parts(_best_alternative(subs), walk, depth + 1)
        elif ctype in ("multipart/signed", "multipart/report") and subs:
            walk_parts(subs[0], walk, depth + 1)
        else:
            for sub in subs:
                walk_parts(sub, walk, depth + 1)
        return
    if ctype in ("message/rfc822", "message/global") and isinstance(payload, list):
        inner = [s for s in payload if isinstance(s, Message)]
        if inner and len(walk.forwarded) < MAX_FORWARDED:
            walk.forwarded.append(inner[0])
            return
    if ctype == "application/pkcs7-mime" and "enveloped" in mime.param(part, "smime-type"):
        walk.encrypted = "S/MIME"
        return
    kind = ctype.split("/", 1)[1] if ctype in ("text/plain", "text/html") else ""
    if kind and mime.disposition(part) != "attachment":
        text, guessed, cut = mime.part_text(part, MAX_TEXT)
        walk.texts.append((kind, text))
        walk.guessed_charset |= guessed
        walk.cut |= cut
    else:
        walk.attachments.append(part)


def _best_alternative(subs: list[Message]) -> Message:
    """The plain part when it says something, else the richest (last) alternative."""
    for sub in subs:
        if mime.content_type(sub) == "text/plain" and mime.encoded_size(sub) > 0:
            text, _, _ = mime.part_text(sub, 4096)
            if text.strip():
                return sub
    return subs[-1]


def _assemble(walk: mime.Walk) -> tuple[str, tuple[str, ...], tuple[Attachment, ...]]:
    """One text from the parts and forwarded mail; notes and uuencoded files found."""
    pieces = [html_to_text(text) if kind == "html" else text for kind, text in walk.texts]
    for inner in walk.forwarded:
        pieces.append(_forwarded_block(inner, walk))
    text = clean_text("\n\n".join(p for p in pieces if p.strip()))
    extra = []
    for match in UUENCODED.finditer(text):
        name = match.group(1).strip()
        extra.append(Attachment(name, "application/octet-stream", len(match.group(0)) * 3 // 4))
    if extra:
        text = UUENCODED.sub(lambda m: f"[uuencoded file: {m.group(1).strip()}]", text)
    text = _PGP_SIGNATURE.sub("", _PGP_SIGNED.sub("", text))
    notes = []
    if walk.guessed_charset:
        notes.append(
            "the mail's declared character set was wrong or missing; text was decoded by guess"
        )
    if walk.cut:
        notes.append(
            f"the mail is very large or deeply nested; "
            f"text beyond {MAX_TEXT} bytes per part was not read"
        )
    return text, tuple(notes), tuple(extra)


def _forwarded_block(inner: Message, walk: mime.Walk) -> str:
    """An attached message as a forward, so the forwarded question is read as the question."""
    lines = ["---------- Forwarded message ---------"]
    for name in ("From", "Date", "Subject", "To"):
        value = mime.header(inner, name)
        if value:
            lines.append(f"{name}: {value}")
    sub = mime.Walk()
    walk_parts(inner, sub, 1)
    walk.attachments.extend(sub.attachments)
    walk.guessed_charset |= sub.guessed_charset
    walk.encrypted = walk.encrypted or sub.encrypted
    body = [html_to_text(t) if kind == "html" else t for kind, t in sub.texts]
    return "\n".join(lines) + "\n\n" + "\n\n".join(body)


def clean_text(text: str) -> str:
    """ "\n" line ends, no control characters, no trailing spaces, no blank runs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _CONTROL.sub("", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{4,}", "\n\n\n", text).strip("\n") + "\n" if text.strip() else ""


def _attachment(part: Message) -> Attachment:
    ctype = mime.content_type(part)
    name = mime.filename(part)
    return Attachment(
        filename=name,
        content_type=ctype,
        size=mime.encoded_size(part),
        tnef=ctype in _TNEF_TYPES or name.lower() == "winmail.dat",
    )


def html_to_text(html: str) -> str:
    """Readable text from HTML: tables stay in columns, quoted blocks get "> "."""
    html = _CONTROL.sub("", _XML_DECLARATION.sub("", html))
    if not html.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return re.sub(r"<[^>]*>", " ", html)
    for quote in root.xpath(
        "//blockquote[not(ancestor::blockquote)]"
        " | //div[contains(@class, 'yahoo_quoted')][not(ancestor::blockquote)]"
    ):
        parent = quote.getparent()
        if parent is None:
            continue
        inner = Inscriptis(quote, _HTML_CONFIG).get_text().strip("\n")
        pre = root.makeelement("pre")
        pre.text = "\n" + "\n".join(f"> {line}".rstrip() for line in inner.split("\n")) + "\n"
        pre.tail = quote.tail
        parent.replace(quote, pre)
    text = Inscriptis(root, _HTML_CONFIG).get_text()
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"
