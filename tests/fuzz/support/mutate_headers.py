"""Header-level mutators: duplicated, dropped, huge, 8-bit and RFC 2047-garbled header fields.

Each is a `Mutator`, (rng, raw, seeds) -> bytes, that rewrites the top-level
header block: duplicate or drop fields, huge header lines, 8-bit and encoded-
word garbage, threading and authentication headers naming the harness's case
and mails, unreadable dates and addresses. Pure: all randomness comes from the
rng passed in.
"""

from __future__ import annotations

import random

from tests.fuzz.support.rawmail import (
    field_name,
    header_fields,
    join_mail,
    newline,
    pick,
    sized,
    split_mail,
    with_headers,
)
from tests.fuzz.support.seeds import (
    AUTHSERV_ID,
    CASE_REF,
    CASE_SENDER,
    INBOUND_ID,
    OUTBOUND_ID,
    Seeds,
)


def duplicate_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = newline(raw)
    head, body = split_mail(raw)
    fields = header_fields(head)
    if not fields:
        return raw
    field = fields[rng.randrange(len(fields))]
    copies = sized(rng, (1, 2, 5, 50), (2000,))
    fields[rng.randrange(len(fields) + 1) : 0] = [field] * copies
    return join_mail(fields, body, nl)


def drop_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = newline(raw)
    head, body = split_mail(raw)
    fields = header_fields(head)
    if not fields:
        return raw
    if rng.random() < 0.5:
        wanted = pick(rng, (b"from", b"content-type", b"mime-version", b"message-id", b"date"))
        fields = [f for f in fields if field_name(f) != wanted]
    else:
        del fields[rng.randrange(len(fields))]
    return join_mail(fields, body, nl)


def huge_header(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    size = sized(rng, (1000, 5000, 20_000), (200_000, 2_000_000))
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
    name = field_name(line)
    return with_headers(raw, [line], (name,) if rng.random() < 0.5 else ())


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
    junk = pick(rng, EIGHT_BIT)
    name = pick(rng, (b"Subject", b"From", b"To", b"Reply-To", b"Message-ID", b"Content-Type"))
    value = {
        b"From": b'"' + junk + b'" <' + junk + b"@example.org>",
        b"Reply-To": junk + b"@" + junk,
        b"Message-ID": b"<" + junk + b"@example.org>",
        b"Content-Type": b"text/plain; charset=" + junk + b"; name=" + junk,
    }.get(name, junk + b" 99213 " + junk)
    return with_headers(raw, [name + b": " + value], (name.lower(),))


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
    words = b" ".join(pick(rng, ENCODED_WORDS) for _ in range(sized(rng, (1, 3), (500,))))
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
    return with_headers(raw, [line], (field_name(line),))


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
    lines = [b"In-Reply-To: " + pick(rng, ids)]
    lines.append(
        b"References: " + b" ".join(pick(rng, ids) for _ in range(sized(rng, (1, 5), (300,))))
    )
    if rng.random() < 0.5:
        lines.append(b"Subject: Re: [" + CASE_REF.encode() + b"] follow-up on 99213")
    if rng.random() < 0.5:
        lines.append(b"From: Asker <" + CASE_SENDER.encode() + b">")
    if rng.random() < 0.5:
        lines.append(b"Authentication-Results: " + pick(rng, AUTH_RESULTS))
    robot = (
        b"Auto-Submitted: auto-replied",
        b"Precedence: bulk",
        b"Return-Path: <>",
        b"X-Auto-Response-Suppress: All",
        b"List-Id: <x.example.org>",
        b"X-Loop: yes",
    )
    if rng.random() < 0.3:
        lines.append(pick(rng, robot))
    drop = (b"in-reply-to", b"references", b"subject", b"from", b"authentication-results")
    return with_headers(raw, lines, drop)


def bad_dates(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    date = pick(
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
    return with_headers(raw, [b"Date: " + date], (b"date",))


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
    name = pick(rng, (b"From", b"Reply-To", b"To", b"Cc", b"Sender"))
    line = name + b": " + pick(rng, ADDRESSES)
    return with_headers(raw, [line], (name.lower(),) if rng.random() < 0.8 else ())
