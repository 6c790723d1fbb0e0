"""Byte-level mutators: damage a mail without regard to its structure.

Each is a `Mutator`, (rng, raw, seeds) -> bytes: byte flips, truncation, NULs,
mixed line endings, a splice from another seed mail, random bytes. Pure: all
randomness comes from the rng passed in, so the driver's (seed, index)
rebuilds every output.
"""

from __future__ import annotations

import random

from tests.fuzz.support.rawmail import (
    newline,
    noise,
    pick,
    sized,
    split_mail,
)
from tests.fuzz.support.seeds import Seeds


def flip_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    data = bytearray(raw or b"\n")
    for _ in range(rng.randint(1, 32)):
        where = rng.randrange(len(data))
        data[where] = (
            rng.getrandbits(8) if rng.random() < 0.5 else data[where] ^ (1 << rng.randrange(8))
        )
    return bytes(data)


def truncate(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    head, _ = split_mail(raw)
    # Half the cuts land in the header block, where they hurt most.
    end = len(head) if rng.random() < 0.5 else len(raw)
    return raw[: rng.randint(0, max(0, end))]


def nul_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    data = bytearray(raw)
    head, _ = split_mail(raw)
    for _ in range(rng.randint(1, 20)):
        end = len(head) if rng.random() < 0.6 else len(data)
        data[rng.randint(0, max(0, end)) : 0] = b"\x00" * sized(rng, (1, 1, 4), (1000,))
    return bytes(data)


def line_endings(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    how = rng.randrange(4)
    if how < 3:
        return (b"\r", b"\n", b"\r\n")[how].join(lines)
    ends = (b"\r", b"\n", b"\r\n", b"\r\r\n", b"\n\r")
    return b"".join(line + pick(rng, ends) for line in lines)


def splice(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    other = seeds.mails[rng.randrange(len(seeds.mails))]
    if rng.random() < 0.5:  # this header block, another mail's body
        return split_mail(raw)[0] + newline(raw) * 2 + split_mail(other)[1]
    start = rng.randrange(len(other) + 1)
    piece = other[start : start + rng.randint(1, 4096)]
    where = rng.randint(0, len(raw))
    return raw[:where] + piece + raw[where:]


def random_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    where = rng.randint(0, len(raw))
    return raw[:where] + noise(rng, sized(rng, (1, 16, 512), (4096,))) + raw[where:]


# Hostile HTML, n times over: n is small for most inputs, thousands for a few.
