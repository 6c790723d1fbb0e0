"""Headers: the one door for every header value we write from data.

Input: text that may come from a mail (a subject, a display name, an address,
a Message-ID, a file name). Output: an ASCII header value with no control
character in it, or HeaderError with the reason. RFC 2047 encoded-words are
decoded until the text no longer changes (a subject encoded twice or three
times is decoded fully), control characters are judged AFTER decoding, and
the value is encoded and folded here, by us: `header_block` writes the bytes
itself. The email package's policy never sees these values, because some
Python builds (CVE-2024-6923: before 3.8.20, 3.9.20, 3.10.15, 3.11.10,
3.12.5) decode an encoded-word while refolding and write the line break in it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from consultant.errors import Refused
from consultant.mime import decode_words

MAX_ROUNDS = 10  # encoded-words inside encoded-words: more than this is an attack
LINE = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
SUBJECT_LIMIT = 500  # characters of a subject we write
NAME_LIMIT = 200
FILENAME_LIMIT = 255
# Line breaks (CR, LF, NEL, LINE/PARAGRAPH SEPARATOR), C0/C1 controls, bidi overrides, BOM.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_WORD_BYTES = 42  # UTF-8 bytes per encoded-word: "=?utf-8?b?" + 56 + "?=" = 68 characters


class HeaderError(Refused):
    """A value that cannot be written into a header; the reason says why.

    A Refused, so the console, the API and the CLI refuse the reviewer's
    request with this message instead of failing.
    """


def decode_fully(value: str) -> str:
    """Decode RFC 2047 encoded-words again and again until the text is stable."""
    for _ in range(MAX_ROUNDS):
        decoded = decode_words(value)
        if decoded == value:
            return value
        value = decoded
    return value


def has_control(value: str) -> bool:
    """Whether `value`, once decoded fully, holds a line break or control character."""
    return bool(_CONTROL.search(decode_fully(value)))


def clean(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """Readable one-line text: decoded fully, controls made spaces, capped at `limit`."""
    text = " ".join(_CONTROL.sub(" ", decode_fully(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(value: str, what: str = "the subject") -> str:
    """`value` decoded fully, or HeaderError when it holds a line break or control."""
    decoded = decode_fully(value)
    if _CONTROL.search(decoded):
        raise HeaderError(
            f"{what} must be one line: once its encoded-words are decoded it holds a line "
            "break or control character"
        )
    return clean(decoded)


def addr_spec(value: str) -> str:
    """A plain address safe to write and to hand to the relay, or HeaderError."""
    text = value.strip()
    decoded = decode_fully(text)
    why = _address_problem(text, decoded)
    if why:
        raise HeaderError(
            f"cannot send to {_shown(text)}: the address {why}. Nothing was sent; the case "
            "can still be rejected without a refusal mail"
        )
    local, _, domain = text.rpartition("@")
    return f"{local}@{_ascii_domain(domain)}"


def _address_problem(text: str, decoded: str) -> str | None:
    """Why `text` is no address we write (None: it is fine)."""
    if _CONTROL.search(decoded):
        return "holds a line break or control character once decoded"
    if any(char.isspace() for char in decoded):
        return "holds a space"
    if decoded.count("@") != 1:
        return "must hold exactly one @"
    if decoded != text:
        return "holds an RFC 2047 encoded-word, which no address may (RFC 2047 section 5)"
    local, _, domain = text.rpartition("@")
    if len(text) > 254:
        return "is longer than 254 characters"
    if not _ATEXT.fullmatch(local.replace(".", "a")) or ".." in local or local.strip(".") != local:
        return "has a local part we cannot write (quoted, non-ASCII or misplaced dots)"
    try:
        labels = _ascii_domain(domain).split(".")
    except UnicodeError:
        return "has a domain that is not a host name"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return "has a domain that is not a host name"
    return None


def _ascii_domain(domain: str) -> str:
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")


def _shown(text: str) -> str:
    """`text` for an error message: controls spelled out, at most 120 characters."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return repr(shown if len(shown) <= 120 else shown[:119] + "…")


def unstructured(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """An unstructured header value (Subject): cleaned, then plain ASCII or encoded-words."""
    text = clean(value, limit)
    return text if _plain(text) else _encoded_words(text)


def mailbox(display_name: str, address: str) -> str:
    """`Name <addr>` (the name quoted or encoded as needed), or the bare address."""
    addr = addr_spec(address)
    name = clean(display_name, NAME_LIMIT)
    if not name:
        return addr
    if not _plain(name):
        return f"{_encoded_words(name)} <{addr}>"
    if _PHRASE.fullmatch(name):
        return f"{name} <{addr}>"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" <{addr}>'


def _plain(text: str) -> bool:
    """Text that can stand as it is: printable ASCII, no encoded-word look, short words."""
    return (
        bool(_PRINTABLE.fullmatch(text))
        and "=?" not in text
        and all(len(word) <= LINE - 2 for word in text.split(" "))
    )


def _encoded_words(text: str) -> str:
    """`text` as base64 UTF-8 encoded-words of at most 68 characters, split between
    characters; the spaces between them are not text (RFC 2047 section 6.2)."""
    words, chunk = [], b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words if w)


def message_id(value: str) -> str:
    """One Message-ID (`<left@right>`, printable ASCII, no encoded-word), or HeaderError."""
    text = value.strip()
    if not _MSG_ID.fullmatch(text) or "=?" in text or len(text) > 250:
        raise HeaderError(f"{_shown(text)} is not a Message-ID we can write")
    return text


def message_ids(values: Iterable[str]) -> list[str]:
    """The valid Message-IDs of `values`, in order; others are left out (threading only)."""
    kept = []
    for value in values:
        try:
            kept.append(message_id(value))
        except HeaderError:
            continue
    return kept


def file_name(value: str, fallback: str = "attachment") -> str:
    """A file name safe to offer: decoded fully, no controls, no path, at most 255 characters."""
    name = clean(value, FILENAME_LIMIT).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name.strip(".") else fallback


def content_disposition(filename: str, fallback: str = "attachment") -> str:
    """`attachment` with the cleaned file name, percent-encoded UTF-8 (RFC 6266, RFC 8187)."""
    return f"attachment; filename*=UTF-8''{quote(file_name(filename, fallback), safe='')}"


def file_stem(value: str) -> str:
    """A name for a file we write (the outbox's .eml): letters, digits, '.', '_', '-'."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", clean(value, 200)).lstrip(".")
    return stem or "mail"


def header_block(fields: Sequence[tuple[str, str]]) -> bytes:
    """The header lines for `fields`, folded by us, CRLF ends; each value already made
    safe by a function above. A value that is not printable ASCII is refused."""
    lines = []
    for name, value in fields:
        if not _NAME.fullmatch(name):
            raise HeaderError(f"{_shown(name)} is not a header name")
        if not _PRINTABLE.fullmatch(value):
            raise HeaderError(f"the {name} header would hold a line break or non-ASCII text")
        lines.append(_fold(f"{name}: {value}"))
    return "".join(lines).encode("ascii")


def _fold(line: str) -> str:
    """Fold at spaces so lines stay near 78 characters; a long word keeps its own line."""
    name, _, rest = line.partition(" ")
    out, current = [], name
    for word in rest.split(" "):
        # The first word stays beside the name: a fold there would start the value with a space.
        if current != name and len(current) + 1 + len(word) > LINE:
            out.append(current)
            current = " " + word
        else:
            current = f"{current} {word}"
    out.append(current)
    return "\r\n".join(out) + "\r\n"
