"""What the SMTP intake may answer, and what it will make of a DATA payload.

Input: a reply's lines, or the bytes sent after DATA. Output: `reply_kind`,
the documented kind of a reply (ours in consultant/pipeline/intake/smtp.py,
aiosmtpd 1.4's standard ones) or the finding it is (451, exception text,
undocumented); `model_data`, a model of aiosmtpd's DATA loop predicting the
reply kinds allowed and the mail as stored; `data_payload`, a DATA payload
made from a mutated mail (dot-stuffed or not, bare LF, NULs, long lines,
oversize, empty, an early terminator). The DATA model counts MIME parts with
the intake's own pre-scan (tests/unit/pipeline/test_limits.py holds that scan
to the stdlib's count). Pure, no state.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from consultant.pipeline.intake.smtp import (
    ERR_421_BUSY,
    ERR_421_COMMANDS,
    ERR_421_IDLE,
    ERR_451,
    ERR_452_RCPTS,
    ERR_550,
    ERR_552_PARTS,
    ERR_554_DEPTH,
    ERR_554_EMPTY,
    ERR_554_ODD,
    MAX_LINE,
    OK_RCPT,
)
from consultant.pipeline.limits import scan
from consultant.settings import Settings

LIMIT = 64 * 1024  # the intake's size limit in these runs: oversize mail stays cheap to send
LINE_LIMIT = MAX_LINE  # the intake's line limit (aiosmtpd's own is 1,001)
QUEUED = re.compile(r"250 2\.0\.0 OK: queued as (\d+)\Z")
# The intake's MIME limits in these runs: the defaults.
MAX_PARTS = int(Settings.model_fields["max_mime_parts"].default)
MAX_DEPTH = int(Settings.model_fields["max_mime_depth"].default)


def _with_limit(reply: str) -> str:
    return re.escape(reply).replace(r"\{limit\}", r"\d+") + r"\Z"


# Every reply the intake may give, by kind: ours first, then aiosmtpd 1.4's.
DOCUMENTED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("greeting", r"220 \S+ consultant intake\Z"),
        ("queued", QUEUED.pattern),
        ("recipient ok", re.escape(OK_RCPT) + r"\Z"),
        ("no such consult address", re.escape(ERR_550) + r"\Z"),
        ("empty message", re.escape(ERR_554_EMPTY) + r"\Z"),
        ("too many MIME parts", _with_limit(ERR_552_PARTS)),
        ("nested too deeply", _with_limit(ERR_554_DEPTH)),
        ("content-type too complex", re.escape(ERR_554_ODD) + r"\Z"),
        ("too many recipients", re.escape(ERR_452_RCPTS) + r"\Z"),
        ("too many connections", re.escape(ERR_421_BUSY) + r"\Z"),
        ("too many commands", re.escape(ERR_421_COMMANDS) + r"\Z"),
        ("idle too long", re.escape(ERR_421_IDLE) + r"\Z"),
        ("ok", r"250 OK\Z"),
        ("help", r"250 Syntax: .*|(?:250|501) Supported commands: [A-Z ]*\Z"),
        ("helo", r"250 \S+\Z"),
        ("cannot vrfy", r"252 Cannot VRFY user, but will accept message and attempt delivery\Z"),
        ("start data", r"354 End data with <CR><LF>\.<CR><LF>\Z"),
        ("bye", r"221 Bye\Z"),
        ("tls not available", r"454 TLS not available\Z"),
        ("line too long", r"500 Line too long \(see RFC5321 4\.5\.3\.1\.6\)\Z"),
        ("command line too long", r"500 Command line too long\Z"),
        ("bad syntax", r"500 Error: bad syntax\Z"),
        ("unknown command", r'(?s)500 Error: command ".*" not recognized\Z'),
        ("auth without ehlo", r"500 Error: command 'AUTH' not recognized\Z"),
        ("syntax", r"501 Syntax: [A-Z]+.*\Z"),
        (
            "bad parameter",
            r"501 (Error: BODY can only be one of 7BIT, 8BITMIME"
            r"|Error: SMTPUTF8 takes no arguments|Not enough value|Too many values)\Z",
        ),
        ("too many unknown commands", r"502 5\.5\.1 Too many unrecognized commands, goodbye\.\Z"),
        ("not implemented", r"502 EXPN not implemented\Z"),
        ("could not vrfy", r"502 Could not VRFY .*\Z"),
        (
            "bad sequence",
            r"503 (Error: send (?:HELO|EHLO) first|Error: need MAIL command"
            r"|Error: nested MAIL command|Error: need RCPT command|Already authenticated)\Z",
        ),
        (
            "auth needs tls",
            r"538 5\.7\.11 Encryption required for requested authentication"
            r" mechanism\Z",
        ),
        ("too big for SIZE", r"552 Error: message size exceeds fixed maximum message size\Z"),
        ("too much mail data", r"552 Error: Too much mail data\Z"),
        ("malformed address", r"553 5\.1\.3 Error: malformed address\Z"),
        (
            "unknown parameters",
            r"555 (?:MAIL FROM|RCPT TO) parameters not recognized or not"
            r" implemented\Z",
        ),
    )
)
_EHLO_LINE = re.compile(r"250[- ](?:\S+|SIZE \d+|8BITMIME|SMTPUTF8|HELP)\Z")


def reply_kind(lines: list[str]) -> str:
    """The documented kind of a reply, or why it is not one (a finding)."""
    if len(lines) > 1:
        ehlo = all(_EHLO_LINE.match(line) for line in lines) and lines[-1] == "250 HELP"
        return "ehlo" if ehlo else "undocumented multi-line reply"
    line = lines[0]
    if line == ERR_451:
        return "internal error (451)"
    if line.startswith("500 Error: (") or "Cannot describe error" in line:
        return "exception text"
    for kind, pattern in DOCUMENTED:
        if pattern.match(line):
            return kind
    return "undocumented reply"


FINDING_KINDS = frozenset(
    {
        "internal error (451)",
        "exception text",
        "undocumented reply",
        "undocumented multi-line reply",
    }
)


@dataclass(frozen=True, slots=True)
class DataModel:
    """What aiosmtpd will make of a DATA payload: the reply kinds allowed, the content."""

    kinds: frozenset[str]
    content: bytes | None  # the mail as stored, when accepted
    end: int  # offset just past the terminating ".\r\n"


def model_data(wire: bytes, limit: int = LIMIT) -> DataModel:
    """Read `wire` as aiosmtpd's DATA loop does (CRLF lines, transparency, limits)."""
    pos = total = 0
    problems: frozenset[str] = frozenset()
    kept = []
    while True:
        end = wire.find(b"\r\n", pos)
        if end < 0:
            raise ValueError("a DATA payload without its terminator")
        line, pos = wire[pos : end + 2], end + 2
        if line == b".\r\n":
            break
        total += len(line)
        if not problems:
            # On one line both may trip; aiosmtpd's order then depends on buffering.
            problems = frozenset(
                kind
                for kind, hit in (
                    ("too much mail data", total > limit),
                    ("line too long", len(line) > LINE_LIMIT),
                )
                if hit
            )
            kept.append(line[1:] if line.startswith(b".") else line)
    if problems:
        return DataModel(problems, None, pos)
    content = b"".join(kept)
    if not content.strip():
        return DataModel(frozenset({"empty message"}), content, pos)
    shape = scan(content, MAX_PARTS, MAX_DEPTH)
    if shape.unreadable:
        return DataModel(frozenset({"content-type too complex"}), None, pos)
    if shape.parts > MAX_PARTS:
        return DataModel(frozenset({"too many MIME parts"}), None, pos)
    if shape.depth > MAX_DEPTH:
        return DataModel(frozenset({"nested too deeply"}), None, pos)
    return DataModel(frozenset({"queued"}), content, pos)


def _crlf(raw: bytes) -> list[bytes]:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def _stuffed(lines: list[bytes]) -> bytes:
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


def data_payload(rng: random.Random, raw: bytes) -> tuple[str, bytes]:
    """A DATA payload made from `raw`, with its terminator: (variant, bytes on the wire)."""
    variant = rng.choice(
        (
            "stuffed",
            "stuffed",
            "stuffed",
            "bare lf",
            "unstuffed",
            "oversize",
            "long line",
            "empty",
            "dot lines",
            "nul",
        )
    )
    lines = _crlf(raw)
    if variant == "bare lf":
        body = raw if raw.endswith(b"\r\n") else raw + b"\r\n"
    elif variant == "unstuffed":
        body = b"".join(line + b"\r\n" for line in lines)
    elif variant == "oversize":
        pad = [b"x" * 70] * ((LIMIT + rng.randint(1, 3 * LIMIT)) // 72)
        body = _stuffed(lines + pad)
    elif variant == "long line":
        where = rng.randint(0, len(lines))
        long = b"y" * rng.choice((LINE_LIMIT - 2, LINE_LIMIT - 1, LINE_LIMIT, 5000, 70_000))
        body = _stuffed([*lines[:where], long, *lines[where:]])
    elif variant == "empty":
        body = rng.choice((b"", b"\r\n", b" \r\n\t\r\n", b"..\r\n"))
    elif variant == "dot lines":
        dots = (b"..", b". ", b".\n", b"\n.\n", b".\r", b"...", b". .")
        body = _stuffed(lines) + b"".join(rng.choice(dots) + b"\r\n" for _ in range(3))
    elif variant == "nul":
        stuffed = _stuffed(lines)
        body = stuffed[:-2].replace(b"\n", b"\n\x00", rng.randint(1, 20)) + stuffed[-2:]
    else:
        body = _stuffed(lines)
    return variant, body + b".\r\n"
