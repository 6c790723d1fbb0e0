"""MIME limits: count a mail's parts and their nesting from its bytes, before any full parse.

Input: the raw mail and the limits (parts, depth). Output: None when the mail
is within both, else the reason to refuse or quarantine it (`check_mime_limits`
raises Quarantine with it). Pure, no state.

The standard library's parser builds an object per part and its recursive
walk follows every level: a 2.7 MB mail of 50,000 parts cost a worker about
17 seconds. This scan follows only what makes parts: the boundary delimiter
lines of the boundaries declared so far (as the stdlib's feedparser matches
them, a line of an outer boundary closing the inner parts) and the header
block at the start of each part (its Content-Type: a nested multipart, or a
message/* part whose body is a mail of its own). It reads each byte about
once, with regular expressions, and stops as soon as a limit is passed.

`parts` counts what `EmailMessage.walk()` yields: the mail itself, every
part a delimiter opens, and every mail inside a message/* part. `depth` is
the number of containers (multiparts and message/* parts) around the
deepest part: a plain mail is 0, a multipart's parts are at 1.

A Content-Type field is read with a regular expression when it is ordinary
(no comments, backslashes, encoded words, 8-bit bytes or unbalanced quotes,
and no "boundary" inside a quoted string); any other is read by the stdlib's
own header parser, as the full parse will read it, so an odd field cannot
hide a boundary from the scan. That parser's time grows with the square of
a field's comments (16 KiB of them cost over a second, and the full parse
reads every part's field), so odd fields have a byte budget: MAX_ODD_FIELD a
field, MAX_ODD_TOTAL a mail. Past it the scan stops and says the mail is
unreadable; it is refused or quarantined like one over a limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from consultant.errors import Quarantine
from consultant.settings import Settings

# A line that may be a boundary delimiter: "--" and the rest of the line.
_DELIMITER = re.compile(rb"^--([^\n]*)", re.M)
# Where a header block may end: a blank line, or a line that may be a delimiter.
_BLOCK_END = re.compile(rb"^(?:\n|--([^\n]*)\n?)", re.M)
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.M)
_TYPE = re.compile(rb"\s*([!#$%&'*+.^_`|~0-9a-z-]+)\s*/\s*([!#$%&'*+.^_`|~0-9a-z-]+)", re.I)
# A boundary parameter, maybe in RFC 2231 form: a segment number, "*" for %XX-encoded.
_BOUNDARY = re.compile(
    rb""";\s*boundary\s*(?:\*(\d+))?(\*)?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))""", re.I
)
_RFC2231_PREFIX = re.compile(rb"^[^']*'[^']*'")
_PERCENT = re.compile(rb"%([0-9a-f]{2})", re.I)
# What the stdlib must read: comments, escapes, encoded words, 8-bit bytes.
_ODD = re.compile(rb"[(\\\x80-\xff]|=\?")
_QUOTED = re.compile(rb'"[^"]*"')
MAX_ODD_FIELD = 1024
MAX_ODD_TOTAL = 32 * 1024
_PLAIN = (b"text", b"plain", b"")
_DIGEST_PART = (b"message", b"rfc822", b"")

Open = tuple[bytes, int, bool]  # an open multipart: boundary, depth of its parts, digest


@dataclass(frozen=True, slots=True)
class MimeShape:
    """How many parts a scan found, and how deep they went (up to where it stopped)."""

    parts: int
    depth: int
    unreadable: bool = False  # odd Content-Type fields past their byte budget


def too_many_parts(limit: int) -> str:
    return f"too many MIME parts (limit {limit})"


def nested_too_deeply(limit: int) -> str:
    return f"MIME parts nested too deeply (limit {limit} levels)"


def too_odd_to_read() -> str:
    return (
        "Content-Type fields too complex to read safely (comments, escapes or encoded"
        f" words: limit {MAX_ODD_FIELD} bytes a field, {MAX_ODD_TOTAL} a mail)"
    )


def mime_limit_reason(raw: bytes, max_parts: int, max_depth: int) -> str | None:
    """Why `raw` is over a MIME limit, or None when it is within both."""
    shape = scan(raw, max_parts, max_depth)
    if shape.unreadable:
        return too_odd_to_read()
    if shape.parts > max_parts:
        return too_many_parts(max_parts)
    if shape.depth > max_depth:
        return nested_too_deeply(max_depth)
    return None


def check_mime_limits(raw: bytes, settings: Settings) -> None:
    """Raise Quarantine, with the limit, for a mail over the configured MIME limits."""
    reason = mime_limit_reason(raw, settings.max_mime_parts, settings.max_mime_depth)
    if reason is not None:
        raise Quarantine(reason)


class _TooOdd(Exception):
    """An odd Content-Type field past the byte budget: the scan will not read it."""


@dataclass(slots=True)
class _Budget:
    """Bytes of odd Content-Type fields the stdlib's parser may still read."""

    left: int = MAX_ODD_TOTAL

    def spend(self, size: int) -> None:
        if size > MAX_ODD_FIELD or size > self.left:
            raise _TooOdd
        self.left -= size


def scan(raw: bytes, max_parts: int | None = None, max_depth: int | None = None) -> MimeShape:
    """Count the parts and the nesting of `raw`; stop early once past a limit given."""
    try:
        return _scan(raw, max_parts, max_depth)
    except _TooOdd:
        return MimeShape(1, 0, unreadable=True)


def _scan(raw: bytes, max_parts: int | None, max_depth: int | None) -> MimeShape:
    if b"\r" in raw:  # the stdlib takes CR, LF and CRLF as line ends alike
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    stack: list[Open] = []
    budget = _Budget()
    pos, parts, deepest = _entity(raw, 0, 0, False, stack, budget)
    parts += 1
    while stack and not _over(parts, deepest, max_parts, max_depth):
        line = _DELIMITER.search(raw, pos)
        if line is None:
            break
        pos = line.end() + 1
        opened = _match(stack, line.group(1))
        if opened is None or opened[1]:  # not a delimiter, or a closing one
            continue
        depth, digest = opened[0], opened[2]
        pos, inner, deeper = _entity(raw, pos, depth, digest, stack, budget)
        parts, deepest = parts + 1 + inner, max(deepest, depth, deeper)
    return MimeShape(parts, deepest)


def _over(parts: int, depth: int, max_parts: int | None, max_depth: int | None) -> bool:
    return (max_parts is not None and parts > max_parts) or (
        max_depth is not None and depth > max_depth
    )


def _match(stack: list[Open], rest: bytes) -> tuple[int, bool, bool] | None:
    """The depth of the part a delimiter line opens, whether the line closes its
    multipart instead, and whether that is a digest; None if it delimits nothing open.

    A line of an outer boundary closes every multipart inside it, as in the
    stdlib's feedparser (its delimiter may end in spaces or tabs).
    """
    rest = rest.rstrip(b" \t")
    for index in range(len(stack) - 1, -1, -1):
        boundary, depth, digest = stack[index]
        if rest == boundary or rest == boundary + b"--":
            closing = rest != boundary
            del stack[index + (0 if closing else 1) :]
            return depth, closing, digest
    return None


def _entity(
    raw: bytes, pos: int, depth: int, digest: bool, stack: list[Open], budget: _Budget
) -> tuple[int, int, int]:
    """Read the header block at `pos`, and those of mails nested in message/* parts.

    Returns where the body starts, how many nested mails were found (walk()
    yields each) and the deepest level seen. A multipart with a boundary is
    pushed on `stack`; its parts are one level deeper.
    """
    inner, deepest = 0, depth
    default = _DIGEST_PART if digest else _PLAIN
    while True:
        header, pos = _header_block(raw, pos, stack)
        maintype, subtype, boundary = _content_type(header, budget) or default
        if maintype == b"multipart" and boundary:
            stack.append((boundary, depth + 1, subtype == b"digest"))
            return pos, inner, deepest
        if (maintype, subtype) == (b"message", b"delivery-status"):
            return pos, inner + _status_blocks(raw, pos, stack), deepest + 1
        if maintype != b"message":
            return pos, inner, deepest
        depth, inner, default = depth + 1, inner + 1, _PLAIN  # a mail of its own, one level down
        deepest = max(deepest, depth)


def _status_blocks(raw: bytes, pos: int, stack: list[Open]) -> int:
    """The header blocks of a delivery-status body: the stdlib makes each a message."""
    end = len(raw)
    for line in _DELIMITER.finditer(raw, pos):
        rest = line.group(1).rstrip(b" \t")
        if any(rest in (boundary, boundary + b"--") for boundary, _, _ in stack):
            end = line.start()
            break
    return raw.count(b"\n\n", pos, max(pos, end - 1)) + 1


def _header_block(raw: bytes, pos: int, stack: list[Open]) -> tuple[bytes, int]:
    """The header block at `pos` and where its body starts.

    It ends at a blank line, or before a delimiter line of an open multipart
    (the stdlib's parser ends the part there); other lines are read through.
    """
    start = pos
    while True:
        end = _BLOCK_END.search(raw, pos)
        if end is None:
            return raw[start:], len(raw)
        if end.group(1) is None:  # a blank line: the body follows it
            return raw[start : end.start()], end.end()
        rest = end.group(1).rstrip(b" \t")
        if any(rest in (boundary, boundary + b"--") for boundary, _, _ in stack):
            return raw[start : end.start()], end.start()
        pos = end.end()


def _content_type(header: bytes, budget: _Budget) -> tuple[bytes, bytes, bytes] | None:
    """Main type, subtype and boundary of a header block's first Content-Type."""
    field = _CONTENT_TYPE.search(header)
    if field is None:
        return None
    value = re.sub(rb"\n[ \t]", b" ", field.group(1))
    if _odd(value):
        budget.spend(len(value))
        return _stdlib_content_type(value)
    kind = _TYPE.match(value)
    if kind is None:
        return _PLAIN
    boundary = _boundary(list(_BOUNDARY.finditer(value, kind.end())))
    return kind.group(1).lower(), kind.group(2).lower(), boundary


def _odd(value: bytes) -> bool:
    """Whether a Content-Type value needs the stdlib's parser to be read right."""
    if _ODD.search(value) or value.count(b'"') % 2:
        return True
    return any(b"boundary" in quoted.lower() for quoted in _QUOTED.findall(value))


def _stdlib_content_type(value: bytes) -> tuple[bytes, bytes, bytes]:
    """Main type, subtype and boundary of an odd value, read by the stdlib's parser."""
    try:
        header = BytesHeaderParser(policy=policy.default).parsebytes(
            b"Content-Type:" + value + b"\n\n"
        )
        kind = header.get_content_type()
        boundary = header.get_boundary() or ""
    except (RecursionError, ValueError, TypeError, IndexError) as error:
        raise _TooOdd from error
    maintype, _, subtype = kind.partition("/")
    try:
        # The parser reads bytes as ASCII with surrogateescape: this gives them back.
        delimiter = boundary.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # decoded to text no line of bytes can match
        delimiter = b""
    return maintype.encode(), subtype.encode(), delimiter


def _boundary(found: list[re.Match[bytes]]) -> bytes:
    """The boundary as the stdlib reads it: RFC 2231 segments joined in order."""
    segments = sorted((int(m.group(1)), m) for m in found if m.group(1) is not None)
    if not segments:
        return _value(found[0], first=True).rstrip() if found else b""
    return b"".join(_value(m, first=n == 0) for n, m in segments).rstrip()


def _value(match: re.Match[bytes], first: bool) -> bytes:
    if match.group(3) is not None:
        value = re.sub(rb"\\(.)", rb"\1", match.group(3))
    else:
        value = match.group(4)
    if match.group(2):  # extended: charset'language' first, then %XX
        value = _RFC2231_PREFIX.sub(b"", value) if first else value
        value = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), value)
    return value
