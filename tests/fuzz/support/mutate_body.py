"""Body-content mutators: text the extractor and the quote splitter must survive.

Each is a `Mutator`, (rng, raw, seeds) -> bytes, that replaces or extends the
body: giant lists of billing codes in every spelling, hostile HTML, uuencode
and PGP armour, quote and signature markers. Pure: all randomness comes from
the rng passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.fuzz.support.rawmail import (
    newline,
    pick,
    sized,
    split_mail,
    with_headers,
)
from tests.fuzz.support.seeds import Seeds

CODES = (
    b"99213",
    b"99214-25",
    b"27447-LT",
    b"20700",
    b"J1100 x 4",
    b"M86.161",
    b"m86161",
    b"E11.9",
    b"Z79.4",
    b"modifier 59",
    b"G0438",
    b"0042T",
    b"I10",
    b"S72.001A",
    b"XU",
    b"99202-99205",
    b"99202 through 99205",
    b"3 units of 97110",
    b"0SRC0J9",
    b"64483 LT and RT",
    b"RT/LT",
    b"-59",
    b"CPT #99213",
    b"claim #12345",
    b"$25000",
    b"99213x2",
    b"J3301 units",
    b"F32.A",
)


def giant_code_list(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    count = sized(rng, (20, 100, 500), (5000, 20_000))
    seps = (b", ", b" and ", b"-", b"\n", b"/", b" ", b"; ", b" or ")
    text = b"".join(pick(rng, CODES) + pick(rng, seps) for _ in range(count))
    subject = b"Subject: " + b", ".join(
        pick(rng, CODES) for _ in range(sized(rng, (3, 10), (300,)))
    )
    head, _ = split_mail(raw)
    return with_headers(
        head + newline(raw) * 2 + b"Can I bill these together? " + text,
        [subject, b"Content-Type: text/plain; charset=utf-8"],
        (b"subject", b"content-type", b"content-transfer-encoding"),
    )


HTML_BODIES: tuple[Callable[[int], bytes], ...] = (
    lambda n: b"<blockquote>" * n + b"99213" + b"</blockquote>" * 10,
    lambda n: b"<div>" * n + b"J1100",
    lambda n: b"<?xml version='1.0' encoding='bogus'?><html><body>99214</body></html>",
    lambda n: b"<!-- unclosed comment 99213 <p>x" * n,
    lambda n: b"<table>" + b"<tr><td>99213</td><td>" * n + b"</table>",
    lambda n: b"<![CDATA[ 99213 ]]> &#xFFFFFFFF; &#0; &#xD800; &bogus; &" * n,
    lambda n: b"<html><body>\x00\x01<p>99213</p>\xff\xfe</body></html>",
    lambda n: b"<div class='yahoo_quoted'><blockquote>x</blockquote></div>" * n,
    lambda n: b"<pre>" + b"> " * n + b"</pre>",
    lambda n: b"<" * n,
    lambda n: b"<html>",
    lambda n: b"<html><head><style>" + b"a{" * n + b"</style></head><body>27447</body></html>",
)


def html_body(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    body = HTML_BODIES[rng.randrange(len(HTML_BODIES))](sized(rng, (1, 10, 100), (3000,)))
    head, _ = split_mail(raw)
    nl = newline(raw)
    if rng.random() < 0.5:
        return with_headers(
            head + nl * 2 + body,
            [b"Content-Type: text/html; charset=utf-8"],
            (b"content-type", b"content-transfer-encoding"),
        )
    alternative = (
        b"--alt"
        + nl
        + b"Content-Type: text/plain"
        + nl
        + nl
        + b" "
        + nl
        + b"--alt"
        + nl
        + b"Content-Type: text/html"
        + nl
        + nl
        + body
        + nl
        + b"--alt--"
        + nl
    )
    return with_headers(
        head + nl * 2 + alternative,
        [b'Content-Type: multipart/alternative; boundary="alt"'],
        (b"content-type", b"content-transfer-encoding"),
    )


ARMOUR: tuple[Callable[[int], bytes], ...] = (
    lambda n: b"begin 644 a.txt\n#86)C\n`\nend\n",
    lambda n: b"begin 644 " + b"x" * n + b"\n" + b"M" * 61 + b"\n" * 3,
    lambda n: b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n",
    lambda n: b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n99213\n",
    lambda n: b"-----BEGIN PGP SIGNATURE-----\n" + b"x\n" * n,
    lambda n: b"\n-- \n" * n,
    lambda n: b"On Mon, Jan 1, 2026 at 10:00 AM A <a@b.c> wrote:\n" + b"> " * n + b"\n",
    lambda n: b"-----Original Message-----\nFrom:\nSent:\nTo:\nSubject:\n" * n,
    lambda n: b"> " * n,
    lambda n: b"\n" * n,
)


def armour(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    where = rng.randint(len(split_mail(raw)[0]), len(raw)) if raw else 0
    piece = ARMOUR[rng.randrange(len(ARMOUR))](sized(rng, (1, 10, 200), (5000, 100_000)))
    return raw[:where] + piece + raw[where:]
