"""Split a plain-text mail body into the sender's new text, quoted history and signature.

Input: a decoded text body (str). Output: a `Split` of spans into that same text; no I/O,
no state. The scan is line by line with bounded work per line (plain string tests, a few
anchored regexes on short strings), so it stays linear on hostile input.

Quoted history starts at a reply header ("On ... wrote:" and its translations, Outlook
"From:/Sent:/To:/Subject:" blocks, "-----Original Message-----") or is a run of ">" lines.
A header followed by a ">" block quotes only that block, so inline answers stay new text;
a header followed by unquoted text quotes everything to the end.

Forwarded mail: the forward marker and its header block ("From:/Date:/Subject:/To:") are
marked quoted; the forwarded body is left as new text, because the forwarded question is
the question. A Thunderbird "-------- Original Message --------" whose header block opens
with "Subject:" is its inline forward; Outlook's "-----Original Message-----" is a reply.
"""

# The vocabulary below is deliberately multilingual (Cyrillic, Greek, CJK, dotless i).

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate

from consultant.pipeline.quote_words import (
    COLONS,
    DATE,
    DECOR,
    FORWARD,
    FROM,
    MAX_SIG_LINES,
    ORIGINAL,
    SENT_FROM,
    SUBJECT,
    WROTE,
)
from consultant.pipeline.reply_lines import (
    header_key,
    is_rule,
    is_sent_from,
    is_wrote_header,
    marker_words,
    sig_like,
    signature_start,
    starts_like_header,
)

__all__ = ["Split", "split_reply"]


@dataclass(frozen=True, slots=True)
class Split:
    """A mail body and the spans of it that are quoted history and signature."""

    text: str
    quoted: tuple[tuple[int, int], ...]
    signature: tuple[int, int] | None
    forwarded: bool

    @property
    def new_text(self) -> str:
        """The text minus quoted spans and signature, trailing blank lines trimmed."""
        cut = sorted([*self.quoted, *([self.signature] if self.signature else [])])
        kept, pos = [], 0
        for start, end in cut:
            kept.append(self.text[pos:start])
            pos = max(pos, end)
        kept.append(self.text[pos:])
        return "".join(kept).rstrip()

    @property
    def quoted_text(self) -> str:
        """The quoted spans joined by newlines."""
        return "\n".join(self.text[s:e].rstrip("\r\n") for s, e in self.quoted)

    @property
    def signature_text(self) -> str:
        """The signature, or "" when there is none."""
        return self.text[self.signature[0] : self.signature[1]] if self.signature else ""

    def is_quoted(self, offset: int) -> bool:
        """Tell whether `offset` falls in a quoted span."""
        i = bisect.bisect_right(self.quoted, (offset, len(self.text) + 1)) - 1
        return i >= 0 and self.quoted[i][0] <= offset < self.quoted[i][1]


@dataclass(slots=True)
class _Lines:
    """The text cut into lines: offsets, stripped bodies without quote markers, depths."""

    text: str
    starts: list[int]
    ends: list[int]
    bodies: list[str]
    depths: list[int]
    enders: list[bool]  # the line could end a reply header

    def stop(self, i: int) -> int:
        """Return the offset where line i's content ends, before its line break."""
        return self.starts[i] + len(self.text[self.starts[i] : self.ends[i]].rstrip(_BREAKS))


_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# ">65 years" and ">=2 units" are clinical text, and ">:" ends a wrapped address.
_NOT_QUOTE = frozenset("0123456789=:")


def _scan(text: str) -> _Lines:
    # Comprehensions rather than one loop: this runs over every line of 200 KB bodies.
    pieces = text.splitlines(keepends=True)
    ends = list(accumulate(map(len, pieces)))
    bodies = [p.strip() for p in pieces]
    depths = [0] * len(bodies)
    for i in [i for i, b in enumerate(bodies) if b[:1] == ">"]:
        body = bodies[i]
        if body[1:2] not in _NOT_QUOTE:
            rest = body.lstrip("> \t")
            depths[i] = body.count(">", 0, len(body) - len(rest))
            bodies[i] = rest
    enders = [(b[-1:] in _ENDERS and b != "") or b.endswith(WROTE) for b in bodies]
    return _Lines(text, [0, *ends[:-1]], ends, bodies, depths, enders)


_ENDERS = frozenset(COLONS + "-")
_SENT_HEADS = frozenset(p[:3] for p in SENT_FROM)


def _candidates(lines: _Lines) -> list[int]:
    """List the unquoted lines that any rule of `_step` could fire on, cheaply."""
    bodies, enders = lines.bodies, lines.enders
    near_end = {k for e, flag in enumerate(enders) if flag for k in (e - 2, e - 1, e)}
    return [
        i
        for i, b in enumerate(bodies)
        if b
        and not lines.depths[i]
        and (
            i in near_end
            or b[0] in DECOR
            or b[-1] in DECOR
            or ":" in b[:30]
            or COLONS[1] in b[:30]
            or b[:3].casefold() in _SENT_HEADS
        )
    ]


def _header_block(lines: _Lines, i: int) -> tuple[int, set[int]]:
    """Return the end (exclusive) and roles of the header-key block starting at line i."""
    roles: set[int] = set()
    end, loose = i, 0
    for j in range(i, min(i + 14, len(lines.bodies))):
        body = lines.bodies[j]
        if not body or lines.depths[j] != lines.depths[i]:
            break
        found = header_key(body)
        if found is None:
            loose += 1
            if loose > 2:
                break
            continue
        role, value = found
        if role == FROM and value and not any(c.isalpha() for c in value):
            break  # "From: 01/01/2026" is a date-of-service range, not a sender.
        roles.add(role)
        end, loose = j + 1, 0
    return end, roles


def _is_from_block(roles: set[int]) -> bool:
    return FROM in roles and (DATE in roles or SUBJECT in roles or len(roles) >= 3)


def _wrote_header(lines: _Lines, i: int) -> int:
    """Return how many lines (1-3) an "On ... wrote:" header at line i spans, or 0."""
    bodies = lines.bodies
    if not any(lines.enders[i : i + 3]):
        return 0
    # A header opens with "On", a date or a weekday; or else with the sender's address.
    prefixed = starts_like_header(bodies[i].lstrip("-> "))
    if not prefixed and "@" not in bodies[i]:
        return 0
    for k in range(1, 4):
        j = i + k - 1
        if j >= len(bodies) or not bodies[j] or lines.depths[j] != lines.depths[i]:
            return 0
        joined = " ".join(bodies[i : j + 1])
        if len(joined) > 400:
            return 0
        if is_wrote_header(joined, prefixed):
            return k
    return 0


def _rule_above(lines: _Lines, i: int) -> int:
    """Extend a header upward over a separator rule right above it (one blank allowed)."""
    for j in (i - 1, i - 2):
        if j < 0 or lines.depths[j]:
            return i
        body = lines.bodies[j]
        if body:
            is_sep = is_rule(body, 3) or (body[0] == "-" and marker_words(body) in ORIGINAL)
            return j if is_sep else i
    return i


def _next_nonblank(lines: _Lines, i: int) -> int:
    while i < len(lines.bodies) and not lines.bodies[i] and not lines.depths[i]:
        i += 1
    return i


@dataclass(slots=True)
class _Walk:
    """Line flags built while walking the text once from the top."""

    quoted: list[bool]
    forward_at: int = -1
    blocks_from: int = 0  # header blocks starting before this line were already rejected


def _quote(walk: _Walk, start: int, end: int) -> None:
    walk.quoted[start:end] = [True] * (end - start)


def _forward(lines: _Lines, walk: _Walk, i: int) -> int:
    """Quote a forward marker and its header block; return the line to go on from."""
    j = _next_nonblank(lines, i + 1)
    end = _header_block(lines, j)[0] if j < len(lines.bodies) else j
    end = max(end, i + 1)
    _quote(walk, i, end)
    if walk.forward_at < 0:
        walk.forward_at = i
    return end


def _reply(lines: _Lines, walk: _Walk, start: int, end: int) -> int:
    """Quote a reply header; quote to the end unless a ">" block follows it."""
    j = _next_nonblank(lines, end)
    if j < len(lines.bodies) and lines.depths[j]:
        _quote(walk, start, j)
        return j
    _quote(walk, start, len(lines.bodies))
    return len(lines.bodies)


def _step(lines: _Lines, walk: _Walk, i: int) -> int:
    """Handle the unquoted line i; return the next line to look at."""
    body = lines.bodies[i]
    marker = marker_words(body)
    if marker in FORWARD:
        return _forward(lines, walk, i)
    if body[:1] == "-" and marker in ORIGINAL:
        j = _next_nonblank(lines, i + 1)
        found = header_key(lines.bodies[j]) if j < len(lines.bodies) else None
        if found is not None and found[0] == SUBJECT:
            return _forward(lines, walk, i)
        return _reply(lines, walk, i, i + 1)
    if i >= walk.blocks_from and header_key(body) is not None:
        end, roles = _header_block(lines, i)
        if _is_from_block(roles):
            return _reply(lines, walk, _rule_above(lines, i), end)
        walk.blocks_from = end  # its tail lines would only give a smaller block
    span = _wrote_header(lines, i)
    if span:
        return _reply(lines, walk, i, i + span)
    if is_sent_from(body):
        return _after_sent_from(lines, walk, i)
    return i + 1


def _after_sent_from(lines: _Lines, walk: _Walk, i: int) -> int:
    """Quote unmarked history that a phone client put below its "Sent from" line."""
    n = len(lines.bodies)
    j = _next_nonblank(lines, i + 1)
    above = any(lines.bodies[k] for k in range(i))  # stops at the first text line
    if j >= n or lines.depths[j] or not above or _header_starts(lines, j):
        return i + 1
    # A few short lines right below are more signature ("Sent from my iPhone / Jane");
    # anything else below the sender's own sign-off is history the client left unmarked.
    tail = [b for b in lines.bodies[j : j + 5] if b]
    if j > i + 1 or len(tail) > 3 or j + 5 < n or not all(map(sig_like, tail)):
        _quote(walk, j, n)
        return n
    return i + 1


def _header_starts(lines: _Lines, j: int) -> bool:
    body = lines.bodies[j]
    return (
        marker_words(body) in FORWARD
        or (body[:1] == "-" and marker_words(body) in ORIGINAL)
        or is_rule(body)
        or _is_from_block(_header_block(lines, j)[1])
        or _wrote_header(lines, j) > 0
    )


def _walk(lines: _Lines) -> _Walk:
    walk = _Walk([d > 0 for d in lines.depths])
    after = 0
    for i in _candidates(lines):
        if i >= after and not walk.quoted[i]:
            after = _step(lines, walk, i)
    _join_quote_gaps(lines, walk)
    return walk


def _join_quote_gaps(lines: _Lines, walk: _Walk) -> None:
    """Quote blank lines and lazily wrapped lines that sit between two quoted lines."""
    q, bodies, n = walk.quoted, lines.bodies, len(lines.bodies)
    for i in [i for i in range(1, n) if q[i - 1] and not q[i]]:
        j = i
        while j < n and not q[j] and not bodies[j]:
            j += 1
        if j > i and j < n and q[j]:
            _quote(walk, i, j)
        elif j == i and _lazy_wrap(lines, i):
            q[i] = True


def _lazy_wrap(lines: _Lines, i: int) -> bool:
    """Tell whether line i is the tail of a quoted line that a client wrapped without ">"."""
    if i == 0 or i + 1 >= len(lines.bodies) or not lines.bodies[i][:1].islower():
        return False
    return lines.depths[i - 1] > 0 < lines.depths[i + 1] and len(lines.bodies[i - 1]) >= 60


def _signature(lines: _Lines, walk: _Walk) -> tuple[int, int] | None:
    """Find the sender's signature in the last stretch of new text."""
    limit = walk.forward_at if walk.forward_at >= 0 else len(lines.bodies)
    tail: list[int] = []
    for row in range(limit - 1, -1, -1):
        if walk.quoted[row]:
            if tail:
                break
        elif lines.bodies[row]:
            tail.append(row)
            if len(tail) > MAX_SIG_LINES + 8:
                break
    tail.reverse()
    start = signature_start(lines.bodies, tail) if tail else None
    first = next((i for i in range(limit) if lines.bodies[i] and not walk.quoted[i]), None)
    if start is None or start == first:
        return None
    return lines.starts[start], lines.stop(tail[-1])


def _spans(lines: _Lines, flags: list[bool]) -> tuple[tuple[int, int], ...]:
    """Turn runs of flagged lines into [start, end) offsets."""
    n = len(flags)
    edges = [i for i in range(n + 1) if (i < n and flags[i]) != (i > 0 and flags[i - 1])]
    pairs = zip(edges[::2], edges[1::2], strict=True)
    return tuple((lines.starts[a], lines.ends[b - 1]) for a, b in pairs)


def split_reply(text: str) -> Split:
    """Split a plain-text body into new text, quoted spans and the sender's signature."""
    lines = _scan(text)
    walk = _walk(lines)
    signature = _signature(lines, walk)
    return Split(text, _spans(lines, walk.quoted), signature, walk.forward_at >= 0)
