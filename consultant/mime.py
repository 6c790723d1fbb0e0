"""Tolerant MIME reading: headers, charsets, text parts (for parse, the robot and
bounce checks, the console's mail view and the header module).

Real mail lies about its charset, breaks its encoded-words, folds headers
badly and nests parts in ways no RFC allows. Everything here returns
something readable and never raises on bad input: the stdlib's structured
header parsing is used only where it cannot raise, and every decode has a
fallback. Pure: no database, no network.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from email.errors import MessageError
from email.message import Message
from email.utils import getaddresses

from charset_normalizer import from_bytes

# What reading a broken message may raise: MessageError covers HeaderParseError,
# the stdlib's header parser asserts on some malformed input, and nesting
# without end reaches the recursion limit.
MAIL_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    AssertionError,
    MessageError,
    UnicodeError,
    RecursionError,
)

# Labels that lie in practice, mapped to the superset real senders mean
# (as the WHATWG encoding standard does for browsers).
CHARSET_ALIASES = {
    "us-ascii": "utf-8",  # 8-bit bytes in "us-ascii" mail are almost always UTF-8 or cp1252
    "ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-2022-jp": "iso2022_jp_ext",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
UNKNOWN_CHARSETS = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "8bit"})
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_SPACE = re.compile(r"\s+")
_SNIFF_LIMIT = 64 * 1024


def normalise_charset(label: str | None) -> str:
    """A codec name Python knows for a MIME charset label ("" when unknown)."""
    name = (label or "").strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    name = CHARSET_ALIASES.get(name, name)
    if name in UNKNOWN_CHARSETS:
        return ""
    try:
        "".encode(name)
    except (LookupError, ValueError):
        return ""
    return name


def decode_bytes(data: bytes, label: str | None = None) -> tuple[str, bool]:
    """Decode text bytes: the declared charset, else UTF-8, else a sniffed one.

    Returns the text and whether it had to be guessed. Never raises; the last
    resort is cp1252 with replacement characters.
    """
    declared = normalise_charset(label)
    if declared:
        try:
            return data.decode(declared), False
        except (UnicodeError, LookupError):  # "idna" and the like raise UnicodeError
            pass
    try:
        return data.decode("utf-8"), bool(label and declared != "utf-8")
    except UnicodeDecodeError:
        pass
    if declared in ("", "utf-8") or data.isascii():
        guess = from_bytes(data[:_SNIFF_LIMIT]).best()
        if guess is not None and guess.encoding:
            return data.decode(guess.encoding, errors="replace"), True
    try:
        return data.decode(declared or "cp1252", errors="replace"), True
    except (UnicodeError, LookupError):  # codecs such as "idna" know no "replace"
        return data.decode("cp1252", errors="replace"), True


def _decode_word(charset: str, encoding: str, text: str) -> str:
    try:
        if encoding.lower() == "b":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), True)
    except (binascii.Error, ValueError):
        return text
    return decode_bytes(data, charset)[0]


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words tolerantly (unknown charsets, bad padding)."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub(r"\1\2", value)  # whitespace between words is not text
    decoded = _ENCODED_WORD.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3)), value)
    return decoded.replace("\x00", "")  # "=00" is no text, and PostgreSQL refuses NUL


def _raw_text(value: str) -> str:
    """Undo the stdlib's surrogateescape of 8-bit header bytes (RFC 6532 UTF-8 or legacy)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
        return decode_bytes(data)[0]


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of header `name`, unfolded, undecoded, in order (topmost first)."""
    lowered = name.lower()
    try:
        items = list(msg.raw_items())
    except MAIL_ERRORS:
        return []
    # NUL is never header text, and PostgreSQL refuses it in every text column.
    return [
        _SPACE.sub(" ", _raw_text(str(value)).replace("\x00", "")).strip()
        for key, value in items
        if str(key).strip().lower() == lowered
    ]


def first_header(msg: Message, name: str) -> str:
    """The topmost raw value of header `name` ("" when absent)."""
    values = raw_headers(msg, name)
    return values[0] if values else ""


def header(msg: Message, name: str) -> str:
    """The first value of header `name`, decoded to readable text ("" if absent)."""
    return " ".join(decode_words(first_header(msg, name)).split())


def strip_comments(value: str) -> str:
    """`value` without RFC 5322 (nested) comments; quoted strings are kept."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    return "".join(out)


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of an address header.

    Split on the raw value first, so an encoded display name holding a comma
    ("=?utf-8?q?Doe,_John?=") stays one name.
    """
    found = []
    values = [v.replace("\x00", "") for v in raw_headers(msg, name)]
    try:
        pairs = getaddresses(values)
    except (ValueError, TypeError, IndexError):
        pairs = []
    for display, address in pairs:
        address = address.strip().strip("<>").lower()
        if "@" in address and " " not in address and len(address) <= 320:
            found.append((" ".join(decode_words(display).split()).strip("\"' "), address))
    if not found:  # "foo@bar" buried in junk getaddresses could not split
        for value in values:
            match = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", value)
            if match:
                found.append(("", match.group(0).lower()))
    return found


def content_type(part: Message) -> str:
    """The part's media type, lower-case; "text/plain" when missing or invalid."""
    values = raw_headers(part, "Content-Type")
    if not values:
        parent_default = part.get_default_type()
        return parent_default if isinstance(parent_default, str) else "text/plain"
    media = _SPACE.sub("", strip_comments(values[0]).split(";", 1)[0]).strip("\"'").lower()
    return media if media.count("/") == 1 else "text/plain"


def param(part: Message, name: str, header_name: str = "Content-Type") -> str:
    """A header parameter, RFC 2231 continuations and charsets decoded."""
    try:
        value = part.get_param(name, header=header_name)
    except (ValueError, TypeError, IndexError, LookupError, AttributeError):
        return ""
    if isinstance(value, tuple):
        charset, _, text = value
        data = text.encode("latin-1", "replace") if isinstance(text, str) else b""
        return decode_bytes(data, charset or "utf-8")[0].replace("\x00", "")
    return decode_words(str(value or "")).replace("\x00", "")


def filename(part: Message) -> str:
    """The attachment's file name: Content-Disposition filename, else Content-Type name."""
    name = param(part, "filename", "Content-Disposition") or param(part, "name")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return " ".join(name.split())[:255]


def disposition(part: Message) -> str:
    values = raw_headers(part, "Content-Disposition")
    return values[0].split(";", 1)[0].strip().lower() if values else ""


def transfer_encoding(part: Message) -> str:
    values = raw_headers(part, "Content-Transfer-Encoding")
    return values[0].strip().strip("\"'").lower() if values else ""


def payload(part: Message) -> object:
    """The part's payload as the stdlib holds it; None when reading it raises (8-bit text
    whose charset names a codec such as "idna" makes get_payload() raise UnicodeError)."""
    try:
        return part.get_payload()
    except MAIL_ERRORS:
        return None


def payload_bytes(part: Message, limit: int) -> tuple[bytes, bool]:
    """The decoded body of a leaf part, at most `limit` bytes; and whether it was cut.

    The encoded text is cut before decoding, so a huge attachment never costs
    more memory than `limit` (base64 is cut on a 4-character boundary).
    """
    raw = payload(part)
    if not isinstance(raw, str):
        return b"", False
    cte = transfer_encoding(part)
    budget = limit * 4 // 3 + 4 if cte == "base64" else limit * 3
    cut = len(raw) > budget
    if cut:
        raw = raw[:budget]
    try:
        data = raw.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # "utf-7" text can decode to surrogates no escape made
        data = raw.encode("utf-8", "replace")
    try:
        if cte == "base64":
            decoded = base64.b64decode(_whole_base64(data, cut))
        elif cte == "quoted-printable":
            decoded = quopri.decodestring(data)
        elif cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
            decoded = uudecode(data)
        else:
            decoded = data
    except (binascii.Error, ValueError):
        decoded = data
    return decoded[:limit], cut or len(decoded) > limit


def _whole_base64(data: bytes, cut: bool) -> bytes:
    """Base64 text without line breaks or junk, ready to decode: a cut text ends on a
    4-character group; a whole one keeps its last 2 or 3 characters, padding restored."""
    squeezed = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    whole = len(squeezed) // 4 * 4
    tail = b"" if cut else squeezed[whole:]
    if len(tail) < 2:  # one stray character carries no whole byte
        return squeezed[:whole]
    return squeezed[:whole] + tail + b"=" * (4 - len(tail))


def uudecode(data: bytes) -> bytes:
    """The bytes of uuencoded text; the begin and end lines, blank lines and lines that
    do not decode are skipped."""
    out = bytearray()
    for line in data.splitlines():
        if not line or line.startswith((b"begin ", b"end")):
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            continue
    return bytes(out)


EXACT_SIZE_LIMIT = 4 * 1024 * 1024


def encoded_size(part: Message) -> int:
    """The decoded size of a leaf part: exact up to EXACT_SIZE_LIMIT, else estimated."""
    raw = payload(part)
    if not isinstance(raw, str):
        return 0
    if len(raw) <= EXACT_SIZE_LIMIT:
        return len(payload_bytes(part, EXACT_SIZE_LIMIT)[0])
    cte = transfer_encoding(part)
    if cte == "base64":
        return len(re.sub(r"[^A-Za-z0-9+/]", "", raw)) * 3 // 4
    if cte == "quoted-printable":
        return len(raw) - 2 * raw.count("=")
    return len(raw)


def part_text(part: Message, limit: int) -> tuple[str, bool, bool]:
    """A text part's content: (text, charset was guessed, cut at limit)."""
    data, cut = payload_bytes(part, limit)
    text, guessed = decode_bytes(data, param(part, "charset"))
    return text, guessed, cut


@dataclass(slots=True)
class Walk:
    """What a walk over the MIME tree found."""

    texts: list[tuple[str, str]] = field(default_factory=list)  # (subtype, text)
    attachments: list[Message] = field(default_factory=list)
    forwarded: list[Message] = field(default_factory=list)  # attached message/rfc822
    encrypted: str | None = None
    guessed_charset: bool = False
    cut: bool = False
