"""MIME-level mutators: break the structure a parser walks (boundaries, charsets, nesting).

Each is a `Mutator`, (rng, raw, seeds) -> bytes: broken multipart boundaries,
bogus charsets and transfer encodings, deep multipart and message/rfc822
nesting, invalid base64 and quoted-printable bodies, and delivery-status
reports wrapping the mail. Pure: all randomness comes from the rng passed in.
"""

from __future__ import annotations

import random
import re

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
from tests.fuzz.support.seeds import CASE_SENDER, OUTBOUND_ID, Seeds

_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))""", re.I)
_CHARSET = re.compile(rb"""charset\s*=\s*(?:"[^"\r\n]*"|[^\s;"]+)""", re.I)
_CTE = re.compile(rb"^content-transfer-encoding[ \t]*:[^\r\n]*", re.I | re.M)


def break_boundary(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    match = _BOUNDARY.search(raw)
    if match is None:
        return with_headers(
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
    odd = pick(rng, (b"a" * 500, b"(.*)+[", b"  ", b"\xff\xfe", b"=_\x00_="))
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
    charset = pick(rng, BOGUS_CHARSETS)
    if _CHARSET.search(raw) and rng.random() < 0.7:
        return _CHARSET.sub(lambda m: b"charset=" + charset, raw, count=rng.choice((1, 0)))
    return with_headers(raw, [b"Content-Type: text/plain; charset=" + charset], (b"content-type",))


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
    encoding = pick(rng, BOGUS_ENCODINGS)
    line = b"Content-Transfer-Encoding: " + encoding
    if _CTE.search(raw) and rng.random() < 0.7:
        return _CTE.sub(lambda m: line, raw, count=rng.choice((1, 0)))
    return with_headers(raw, [line], (b"content-transfer-encoding",))


def _body_part(raw: bytes) -> bytes:
    """The mail's content headers and body, as a MIME part of its own."""
    nl = newline(raw)
    head, body = split_mail(raw)
    content = [f for f in header_fields(head) if field_name(f).startswith(b"content-")]
    return join_mail(content, body, nl)


def nest_multipart(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    nl = newline(raw)
    head, _ = split_mail(raw)
    outer = [f for f in header_fields(head) if not field_name(f).startswith(b"content-")]
    part = _body_part(raw)
    depth = sized(rng, (1, 3, 10, 40), (200, 1200))
    kind = pick(rng, (b"mixed", b"alternative", b"related", b"signed", b"report"))
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
    nl = newline(raw)
    depth = sized(rng, (1, 2, 5, 30), (300,))
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


def bad_base64(rng: random.Random, raw: bytes, seeds: Seeds) -> bytes:
    encoding, body = (
        (
            b"base64",
            pick(rng, (b"!!!!", b"====", b"QQ", b"Q", b"w6k\xff", b"SGVsbG8" * 999 + b"=")),
        )
        if rng.random() < 0.5
        else (
            b"quoted-printable",
            pick(rng, (b"=ZZ=", b"=\n=\n=", b"a=\xff", b"=0", b"=3D=" * 999)),
        )
    )
    return with_headers(
        split_mail(raw)[0] + newline(raw) * 2 + body,
        [b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: " + encoding],
        (b"content-type", b"content-transfer-encoding"),
    )


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
    nl = newline(raw)
    fields = nl.join(rng.sample(DSN_FIELDS, rng.randint(0, len(DSN_FIELDS))))
    kind = pick(rng, (b"delivery-status", b"disposition-notification", b"feedback-report", b""))
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
    return with_headers(
        report,
        [
            b"From: " + pick(rng, (b"MAILER-DAEMON", b"<>", b"postmaster@example.org", b"")),
            b"Subject: Undelivered Mail Returned to Sender",
            b'Content-Type: multipart/report; report-type="' + kind + b'"; boundary="r"',
        ],
    )
