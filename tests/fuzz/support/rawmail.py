"""Raw mail as bytes, for the mutators: split off the header block, edit fields, rebuild.

Input: a mail's bytes, never parsed (the mutators must take any bytes, even
ones no parser accepts). Output: the header block and body, the header fields
with their continuation lines, the mail rebuilt with headers added or dropped,
and the random picks and sizes the mutators share. Pure functions, no state.
"""

from __future__ import annotations

import random
import re

_HEAD_END = re.compile(rb"\r?\n\r?\n")


def newline(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[:4096] else b"\n"


def split_mail(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEAD_END.search(raw)
    return (raw, b"") if match is None else (raw[: match.start()], raw[match.end() :])


def header_fields(head: bytes) -> list[bytes]:
    """The header block as fields, each with its continuation lines."""
    fields: list[bytes] = []
    for line in re.split(rb"(?<=\n)", head):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        elif line:
            fields.append(line)
    return fields


def join_mail(fields: list[bytes], body: bytes, nl: bytes) -> bytes:
    head = b"".join(f if f.endswith(b"\n") else f + nl for f in fields)
    return head + nl + body


def field_name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def with_headers(raw: bytes, lines: list[bytes], drop: tuple[bytes, ...] = ()) -> bytes:
    """`raw` with header lines added on top and the named top-level headers dropped."""
    nl = newline(raw)
    head, body = split_mail(raw)
    kept = [f for f in header_fields(head) if field_name(f) not in drop]
    return join_mail([line + nl for line in lines] + kept, body, nl)


def pick(rng: random.Random, options: tuple[bytes, ...]) -> bytes:
    return options[rng.randrange(len(options))]


def sized(rng: random.Random, common: tuple[int, ...], rare: tuple[int, ...]) -> int:
    """A size or count: one of `common`, or one of `rare` (the costly ones) in 1 of 25."""
    return rng.choice(rare if rng.random() < 0.04 else common)


def noise(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))
