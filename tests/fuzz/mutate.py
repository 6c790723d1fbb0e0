"""Mutated real mail, deterministic from (seed, index).

Input: the corpus mails beside the checkout (../shared/corpus, read in place,
never copied). Output: `mutated_mail(seeds, seed, index)`, a `Sample` whose
bytes are one seed mail run through one to four mutators: byte flips,
truncation, duplicated or dropped headers, broken MIME boundaries, bogus
charsets and transfer encodings, deep multipart and message/rfc822 nesting,
huge header lines, NULs, 8-bit headers, invalid base64/QP, RFC 2047 garbage,
giant code lists, hostile HTML, DSN and threading headers. Every input is
rebuilt from its (seed, index) alone, so a finding is reproduced without the
body ever being printed: the sample names its seed file and mutators only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_SEED_SIZE = 256 * 1024  # bigger corpus mails cost time and add nothing the mutators lack
MAX_SAMPLE_SIZE = 4 * 1024 * 1024
SKIP = frozenset({"README.md", ".gitattributes", "labels.jsonl"})

# What the pipeline harness seeds its database with, so threading mutators
# can name a real case, outbound and inbound mail.
CASE_REF = "CC-2026-0001"
CASE_SENDER = "asker@example.org"
OUTBOUND_ID = "<fuzz-answer@consultant.invalid>"
INBOUND_ID = "<fuzz-question@example.org>"
AUTHSERV_ID = "mx.example.org"


@dataclass(frozen=True, slots=True)
class Seeds:
    names: tuple[str, ...]  # paths below corpus/, for reports
    mails: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    index: int
    raw: bytes
    origin: str  # the seed file it was made from
    ops: tuple[str, ...]  # the mutators applied, in order


def load_seeds(shared: Path, max_size: int = MAX_SEED_SIZE) -> Seeds:
    """Every corpus mail up to `max_size` bytes, in a stable order."""
    corpus = shared / "corpus"
    paths = sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file() and p.name not in SKIP and p.stat().st_size <= max_size
    )
    return Seeds(
        tuple(str(p.relative_to(corpus)) for p in paths), tuple(p.read_bytes() for p in paths)
    )


def mutated_mail(seeds: Seeds, seed: int, index: int) -> Sample:
    """The index-th input of run `seed`: a seed mail, mutated one to four times."""
    rng = random.Random(f"mail:{seed}:{index}")
    origin = rng.randrange(len(seeds.mails))
    raw = seeds.mails[origin]
    if index % 50 == 0:  # the unmutated mail now and then: the baseline must hold too
        return Sample(index, raw, seeds.names[origin], ())
    ops = tuple(rng.choices(NAMES, k=rng.choice((1, 1, 1, 2, 2, 3, 4))))
    for op in ops:
        raw = MUTATORS[op](rng, raw, seeds)[:MAX_SAMPLE_SIZE]
    return Sample(index, raw, seeds.names[origin], ops)


# -- helpers ---------------------------------------------------------------------------

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))""", re.I)
_CHARSET = re.compile(rb"""charset\s*=\s*(?:"[^"\r\n]*"|[^\s;"]+)""", re.I)
_CTE = re.compile(rb"^content-transfer-encoding[ \t]*:[^\r\n]*", re.I | re.M)


def _newline(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[:4096] else b"\n"


def _split(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEAD_END.search(raw)
    return (raw, b"") if match is None else (raw[: match.start()], raw[match.end() :])


def _fields(head: bytes) -> list[bytes]:
    """The header block as fields, each with its continuation lines."""
    fields: list[bytes] = []
    for line in re.split(rb"(?<=\n)", head):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        elif line:
            fields.append(line)
    return fields


def _join(fields: list[bytes], body: bytes, nl: bytes) -> bytes:
    head = b"".join(f if f.endswith(b"\n") else f + nl for f in fields)
    return head + nl + body


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _with_headers(raw: bytes, lines: list[bytes], drop: tuple[bytes, ...] = ()) -> bytes:
    """`raw` with header lines added on top and the named top-level headers dropped."""
    nl = _newline(raw)
    head, body = _split(raw)
    kept = [f for f in _fields(head) if _name(f) not in drop]
    return _join([line + nl for line in lines] + kept, body, nl)


def _pick(rng: random.Random, options: tuple[bytes, ...]) -> bytes:
    return options[rng.randrange(len(options))]


def _size(rng: random.Random, common: tuple[int, ...], rare: tuple[int, ...]) -> int:
    """A size or count: one of `common`, or one of `rare` (the costly ones) in 1 of 25."""
    return rng.choice(rare if rng.random() < 0.04 else common)


def _random_bytes(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


# -- mutators: (rng, raw, seeds) -> bytes ------------------------------------------------


def flip_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    data = bytearray(raw or b"\n")
    for _ in range(rng.randint(1, 32)):
        where = rng.randrange(len(data))
        data[where] = (
            rng.getrandbits(8) if rng.random() < 0.5 else data[where] ^ (1 << rng.randrange(8))
        )
    return bytes(data)


def truncate(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    head, _ = _split(raw)
    # Half the cuts land in the header block, where they hurt most.
    end = len(head) if rng.random() < 0.5 else len(raw)
    return raw[: rng.randint(0, max(0, end))]


def duplicate_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = _newline(raw)
    head, body = _split(raw)
    fields = _fields(head)
    if not fields:
        return raw
    field = fields[rng.randrange(len(fields))]
    copies = _size(rng, (1, 2, 5, 50), (2000,))
    fields[rng.randrange(len(fields) + 1) : 0] = [field] * copies
    return _join(fields, body, nl)


def drop_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = _newline(raw)
    head, body = _split(raw)
    fields = _fields(head)
    if not fields:
        return raw
    if rng.random() < 0.5:
        wanted = _pick(rng, (b"from", b"content-type", b"mime-version", b"message-id", b"date"))
        fields = [f for f in fields if _name(f) != wanted]
    else:
        del fields[rng.randrange(len(fields))]
    return _join(fields, body, nl)


def break_boundary(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    match = _BOUNDARY.search(raw)
    if match is None:
        return _with_headers(
            raw, [b'Content-Type: multipart/mixed; boundary="nowhere"'], (b"content-type",)
        )
    boundary = match.group(1) if match.group(1) is not None else match.group(2)
    how = rng.randrange(6)
    if how == 0 and boundary:  # no closing delimiter
        return raw.replace(b"--" + boundary + b"--", b"")
    if how == 1:  # the declared boundary matches no delimiter
        return raw[: match.start()] + b'boundary="elsewhere"' + raw[match.end() :]
    if how == 2:  # no boundary parameter at all
        return raw[: match.start()] + b"x-nothing=1" + raw[match.end() :]
    if how == 3:
        return raw[: match.start()] + b'boundary=""' + raw[match.end() :]
    if how == 4 and boundary:  # every delimiter line gone
        return re.sub(
            rb"^--" + re.escape(boundary) + rb"(?:--)?[ \t]*\r?$\n?", b"", raw, flags=re.M
        )
    odd = _pick(rng, (b"a" * 500, b"(.*)+[", b"  ", b"\xff\xfe", b"=_\x00_="))
    return raw[: match.start()] + b'boundary="' + odd + b'"' + raw[match.end() :]


BOGUS_CHARSETS = (
    b"x-unknown",
    b"utf-7",
    b"\xff\xfe",
    b'""',
    b"utf-8*en",
    b"utf-16",
    b"utf-32-be",
    b"iso-2022-jp",
    b"unicode-1-1-utf-7",
    b"cp65001",
    b"../../etc",
    b"a" * 300,
    b"rot13",
    b"base64",
    b"zlib",
    b"idna",
    b"punycode",
    b"undefined",
    b"mbcs",
    b"\x00",
)


def bogus_charset(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    charset = _pick(rng, BOGUS_CHARSETS)
    if _CHARSET.search(raw) and rng.random() < 0.7:
        return _CHARSET.sub(lambda m: b"charset=" + charset, raw, count=rng.choice((1, 0)))
    return _with_headers(raw, [b"Content-Type: text/plain; charset=" + charset], (b"content-type",))


BOGUS_ENCODINGS = (
    b"base64",
    b"BASE64",
    b"quoted-printable",
    b"x-uuencode",
    b"uuencode",
    b"8bit",
    b"binary",
    b"7bit; x=y",
    b"base64x",
    b"",
    b'"base64"',
    b"\xff",
    b"q",
    b"x-gzip",
)


def bogus_cte(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    encoding = _pick(rng, BOGUS_ENCODINGS)
    line = b"Content-Transfer-Encoding: " + encoding
    if _CTE.search(raw) and rng.random() < 0.7:
        return _CTE.sub(lambda m: line, raw, count=rng.choice((1, 0)))
    return _with_headers(raw, [line], (b"content-transfer-encoding",))


def _body_part(raw: bytes) -> bytes:
    """The mail's content headers and body, as a MIME part of its own."""
    nl = _newline(raw)
    head, body = _split(raw)
    content = [f for f in _fields(head) if _name(f).startswith(b"content-")]
    return _join(content, body, nl)


def nest_multipart(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = _newline(raw)
    head, _ = _split(raw)
    outer = [f for f in _fields(head) if not _name(f).startswith(b"content-")]
    part = _body_part(raw)
    depth = _size(rng, (1, 3, 10, 40), (200, 1200))
    kind = _pick(rng, (b"mixed", b"alternative", b"related", b"signed", b"report"))
    for level in range(depth):
        mark = b"n%d" % level
        part = (
            b"Content-Type: multipart/"
            + kind
            + b'; boundary="'
            + mark
            + b'"'
            + nl
            + nl
            + b"--"
            + mark
            + nl
            + part
            + nl
            + b"--"
            + mark
            + b"--"
            + nl
        )
    return b"".join(f if f.endswith(b"\n") else f + nl for f in outer) + part


def nest_rfc822(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = _newline(raw)
    depth = _size(rng, (1, 2, 5, 30), (300,))
    for level in range(depth):
        raw = (
            b"From: fwd%d@example.org" % level
            + nl
            + b"Subject: Fwd: question"
            + nl
            + b"Content-Type: message/rfc822"
            + nl
            + nl
            + raw
        )
    return raw


def huge_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    size = _size(rng, (1000, 5000, 20_000), (200_000, 2_000_000))
    how = rng.randrange(5)
    if how == 0:
        line = b"Subject: " + b"A" * size
    elif how == 1:
        line = b"Subject: " + b"=?utf-8?b?w6k=?= " * (size // 17)
    elif how == 2:
        line = b"References: " + b" ".join(b"<r%d@example.org>" % i for i in range(size // 20))
    elif how == 3:
        line = b"X-Folded: x" + b"\n x" * (size // 3)
    else:
        line = b"To: " + b", ".join(b"p%d@example.org" % i for i in range(size // 18))
    name = _name(line)
    return _with_headers(raw, [line], (name,) if rng.random() < 0.5 else ())


def nul_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    data = bytearray(raw)
    head, _ = _split(raw)
    for _ in range(rng.randint(1, 20)):
        end = len(head) if rng.random() < 0.6 else len(data)
        data[rng.randint(0, max(0, end)) : 0] = b"\x00" * _size(rng, (1, 1, 4), (1000,))
    return bytes(data)


EIGHT_BIT = (
    b"\xff\xfe\xfd",
    b"\xc3\x28",
    b"\xe9t\xe9",
    b"Ren\xc3\xa9e",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x80" * 50,
    b"\xd0\x9f\xd1\x80\xd0\xb8",
)


def eight_bit_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    junk = _pick(rng, EIGHT_BIT)
    name = _pick(rng, (b"Subject", b"From", b"To", b"Reply-To", b"Message-ID", b"Content-Type"))
    value = {
        b"From": b'"' + junk + b'" <' + junk + b"@example.org>",
        b"Reply-To": junk + b"@" + junk,
        b"Message-ID": b"<" + junk + b"@example.org>",
        b"Content-Type": b"text/plain; charset=" + junk + b"; name=" + junk,
    }.get(name, junk + b" 99213 " + junk)
    return _with_headers(raw, [name + b": " + value], (name.lower(),))


def bad_base64(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    encoding, body = (
        (
            b"base64",
            _pick(rng, (b"!!!!", b"====", b"QQ", b"Q", b"w6k\xff", b"SGVsbG8" * 999 + b"=")),
        )
        if rng.random() < 0.5
        else (
            b"quoted-printable",
            _pick(rng, (b"=ZZ=", b"=\n=\n=", b"a=\xff", b"=0", b"=3D=" * 999)),
        )
    )
    return _with_headers(
        _split(raw)[0] + _newline(raw) * 2 + body,
        [b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: " + encoding],
        (b"content-type", b"content-transfer-encoding"),
    )


ENCODED_WORDS = (
    b"=?utf-8?b?????=",
    b"=?x-unknown?q?=FF=FE?=",
    b"=?utf-8?q?unterminated",
    b"=?=?=?=?",
    b"=??b??=",
    b"=?utf-8*en?b?w6k=?=",
    b"=?utf-7?b?K0FPUS0=?=",
    b"=?utf-8?b?AA==?=",
    b"=?utf-8?q?=00=01=1B?=",
    b"=?utf-8?q?a_<x@evil.example>_b?=",
    b"=?iso-2022-jp?b?GyRC?=",
    b"=?utf-8?b?" + b"w6k" * 3000 + b"?=",
    b"=?utf-16?b?2D3eAA==?=",
    b"=?utf-8?Q?=E2=80=AE?=",
)


def encoded_words(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    words = b" ".join(_pick(rng, ENCODED_WORDS) for _ in range(_size(rng, (1, 3), (500,))))
    how = rng.randrange(4)
    if how == 0:
        line = b"Subject: " + words
    elif how == 1:
        line = b"From: " + words + b" <" + words[:40] + b"@example.org>"
    elif how == 2:
        line = b"To: " + words + b", " + words
    else:
        line = (
            b'Content-Disposition: attachment; filename="'
            + words
            + b"\"; filename*0*=utf-8''%FF%FE;"
            b" filename*1=" + words + b"; filename*99*=x"
        )
    return _with_headers(raw, [line], (_name(line),))


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
    count = _size(rng, (20, 100, 500), (5000, 20_000))
    seps = (b", ", b" and ", b"-", b"\n", b"/", b" ", b"; ", b" or ")
    text = b"".join(_pick(rng, CODES) + _pick(rng, seps) for _ in range(count))
    subject = b"Subject: " + b", ".join(
        _pick(rng, CODES) for _ in range(_size(rng, (3, 10), (300,)))
    )
    head, _ = _split(raw)
    return _with_headers(
        head + _newline(raw) * 2 + b"Can I bill these together? " + text,
        [subject, b"Content-Type: text/plain; charset=utf-8"],
        (b"subject", b"content-type", b"content-transfer-encoding"),
    )


def line_endings(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    how = rng.randrange(4)
    if how < 3:
        return (b"\r", b"\n", b"\r\n")[how].join(lines)
    ends = (b"\r", b"\n", b"\r\n", b"\r\r\n", b"\n\r")
    return b"".join(line + _pick(rng, ends) for line in lines)


def splice(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    other = seeds.mails[rng.randrange(len(seeds.mails))]
    if rng.random() < 0.5:  # this header block, another mail's body
        return _split(raw)[0] + _newline(raw) * 2 + _split(other)[1]
    start = rng.randrange(len(other) + 1)
    piece = other[start : start + rng.randint(1, 4096)]
    where = rng.randint(0, len(raw))
    return raw[:where] + piece + raw[where:]


AUTH_RESULTS = (
    AUTHSERV_ID.encode() + b"; dmarc=fail (p=reject) header.from=example.org",
    AUTHSERV_ID.encode() + b"; dkim=pass; spf=fail; dmarc=pass",
    b'"' + AUTHSERV_ID.encode() + b'"; dmarc=fail',
    AUTHSERV_ID.encode() + b" (comment (nested; dmarc=pass)); dmarc = fail",
    AUTHSERV_ID.encode() + b'; dmarc="fail; x"; ;;;; =',
    b'"unterminated; dmarc=fail',
    b"(((( " + AUTHSERV_ID.encode(),
    b"other.example; dmarc=fail",
)


def thread_headers(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    ids = (OUTBOUND_ID.encode(), INBOUND_ID.encode(), b"<<>>", b"<a b@c>", b"<\x00@x>", b"<>")
    lines = [b"In-Reply-To: " + _pick(rng, ids)]
    lines.append(
        b"References: " + b" ".join(_pick(rng, ids) for _ in range(_size(rng, (1, 5), (300,))))
    )
    if rng.random() < 0.5:
        lines.append(b"Subject: Re: [" + CASE_REF.encode() + b"] follow-up on 99213")
    if rng.random() < 0.5:
        lines.append(b"From: Asker <" + CASE_SENDER.encode() + b">")
    if rng.random() < 0.5:
        lines.append(b"Authentication-Results: " + _pick(rng, AUTH_RESULTS))
    robot = (
        b"Auto-Submitted: auto-replied",
        b"Precedence: bulk",
        b"Return-Path: <>",
        b"X-Auto-Response-Suppress: All",
        b"List-Id: <x.example.org>",
        b"X-Loop: yes",
    )
    if rng.random() < 0.3:
        lines.append(_pick(rng, robot))
    drop = (b"in-reply-to", b"references", b"subject", b"from", b"authentication-results")
    return _with_headers(raw, lines, drop)


def random_bytes(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    where = rng.randint(0, len(raw))
    return raw[:where] + _random_bytes(rng, _size(rng, (1, 16, 512), (4096,))) + raw[where:]


# Hostile HTML, n times over: n is small for most inputs, thousands for a few.
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
    body = HTML_BODIES[rng.randrange(len(HTML_BODIES))](_size(rng, (1, 10, 100), (3000,)))
    head, _ = _split(raw)
    nl = _newline(raw)
    if rng.random() < 0.5:
        return _with_headers(
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
    return _with_headers(
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
    where = rng.randint(len(_split(raw)[0]), len(raw)) if raw else 0
    piece = ARMOUR[rng.randrange(len(ARMOUR))](_size(rng, (1, 10, 200), (5000, 100_000)))
    return raw[:where] + piece + raw[where:]


DSN_FIELDS = (
    b"Status: 5.1.1",
    b"Status: 9.9.99999999999",
    b"Status: 4.",
    b"Action: failed",
    b"Action: \xff",
    b"Final-Recipient: rfc822; " + CASE_SENDER.encode(),
    b"Final-Recipient: ;;;",
    b"Diagnostic-Code: smtp; 550 5.1.1 <x@y> user unknown" + b" x" * 2000,
    b"Original-Message-ID: " + OUTBOUND_ID.encode(),
    b"Arrival-Date: never",
    b"Remote-MTA: dns; " + b"a." * 500,
)


def dsn(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = _newline(raw)
    fields = nl.join(rng.sample(DSN_FIELDS, rng.randint(0, len(DSN_FIELDS))))
    kind = _pick(rng, (b"delivery-status", b"disposition-notification", b"feedback-report", b""))
    report = (
        b"--r"
        + nl
        + b"Content-Type: text/plain"
        + nl
        + nl
        + b"Delivery failed."
        + nl
        + b"--r"
        + nl
        + b"Content-Type: message/"
        + (kind or b"delivery-status")
        + nl
        + nl
        + fields
        + nl
        + nl
        + b"--r"
        + nl
        + b"Content-Type: message/rfc822"
        + nl
        + nl
        + raw
        + nl
        + b"--r--"
        + nl
    )
    return _with_headers(
        report,
        [
            b"From: " + _pick(rng, (b"MAILER-DAEMON", b"<>", b"postmaster@example.org", b"")),
            b"Subject: Undelivered Mail Returned to Sender",
            b'Content-Type: multipart/report; report-type="' + kind + b'"; boundary="r"',
        ],
    )


def bad_dates(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    date = _pick(
        rng,
        (
            b"Tue, 99 Foo 99999 99:99:99 +9999",
            b"",
            b"0",
            b"Mon, 1 Jan 10000 00:00:00 +0000",
            b"Mon, 1 Jan 0001 00:00:00 -2400",
            b"Thu, 31 Feb 2026 25:61:61 GMT",
            b"-1",
            b"9" * 400,
            b"Mon, 1 Jan 2026 00:00:00 +99999999999999999999",
        ),
    )
    return _with_headers(raw, [b"Date: " + date], (b"date",))


ADDRESSES = (
    b"<<>>",
    b"@",
    b"a@b@c",
    b'"unterminated <a@b.c>',
    b"(((((",
    b"undisclosed-recipients:;",
    b"x@" + b"a" * 400 + b".example",
    b"\xe2\x80\x8ba@example.org",
    b"=?utf-8?q?Doe,_John?= <john@example.org>",
    b"<a@b.c> <d@e.f>",
    b"a@b.c (comment (nested)",
    b", ".join(b"u%d@example.org" % i for i in range(2000)),
    b"<\x00@example.org>",
    b"mailer-daemon",
    b'"\\"" <a\\@b@c.d>',
)


def bad_addresses(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    name = _pick(rng, (b"From", b"Reply-To", b"To", b"Cc", b"Sender"))
    line = name + b": " + _pick(rng, ADDRESSES)
    return _with_headers(raw, [line], (name.lower(),) if rng.random() < 0.8 else ())


Mutator = Callable[[random.Random, bytes, Seeds], bytes]

MUTATORS: dict[str, Mutator] = {
    f.__name__: f
    for f in (
        flip_bytes,
        truncate,
        duplicate_header,
        drop_header,
        break_boundary,
        bogus_charset,
        bogus_cte,
        nest_multipart,
        nest_rfc822,
        huge_header,
        nul_bytes,
        eight_bit_header,
        bad_base64,
        encoded_words,
        giant_code_list,
        line_endings,
        splice,
        thread_headers,
        random_bytes,
        html_body,
        armour,
        dsn,
        bad_dates,
        bad_addresses,
    )
}
NAMES = tuple(MUTATORS)
