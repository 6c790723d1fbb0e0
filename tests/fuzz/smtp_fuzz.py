"""Fuzz the SMTP intake: raw sessions over a socket against the real controller.

Input: seed mails, a run seed and a session index range. Each session is
rebuilt from (seed, index) alone: greetings, garbage and overlong commands,
out-of-order commands, bad and unknown recipients, pipelined commands, DATA
with mutated mail (dot-stuffed or not, bare LF, NULs, long lines, oversize,
empty, an early terminator smuggling commands) and premature disconnects.

Invariants: every reply is one of the documented replies (ours in
consultant/pipeline/intake/smtp.py, aiosmtpd's standard ones), never 451
(our handler's answer to an exception) nor exception text; RCPT to an
unknown address is 550; DATA is answered as a model of aiosmtpd's reading
predicts (250 queued, 554 empty, 552 too much data, 500 line too long); the
server keeps accepting connections. At the end, `check_store` holds the
database to the 250s: one row per distinct mail acknowledged, each the bytes
that were sent, each enqueued once, and nothing stored that was not
acknowledged. Findings never quote a mail or a reply's echo of one.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from consultant.db.migrate import upgrade
from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.smtp import (
    ERR_451,
    ERR_550,
    ERR_554_EMPTY,
    MAX_LINE,
    OK_RCPT,
    IntakeController,
    make_controller,
)
from consultant.pipeline.intake.store import fingerprint, rfc_message_id_of
from consultant.settings import Settings
from tests.fuzz.mutate import Seeds, mutated_mail
from tests.fuzz.pipeline_fuzz import where

LIMIT = 64 * 1024  # the intake's size limit in these runs: oversize mail stays cheap to send
CONSULT = "consult@localhost"
TIMEOUT = 20.0  # seconds a reply may take before the server counts as stalled
LINE_LIMIT = MAX_LINE  # the intake's line limit (aiosmtpd's own is 1,001)
_QUEUED = re.compile(r"250 2\.0\.0 OK: queued as (\d+)\Z")
# Commands never smuggled after an early terminator: they would change what the
# next bytes mean (DATA, AUTH, STARTTLS) so no reply could be predicted.
_MODAL = frozenset({"DATA", "AUTH", "STARTTLS", "BDAT", "QUIT"})

# Every reply the intake may give, by kind: ours first, then aiosmtpd 1.4's.
DOCUMENTED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("greeting", r"220 \S+ consultant intake\Z"),
        ("queued", _QUEUED.pattern),
        ("recipient ok", re.escape(OK_RCPT) + r"\Z"),
        ("no such consult address", re.escape(ERR_550) + r"\Z"),
        ("empty message", re.escape(ERR_554_EMPTY) + r"\Z"),
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


@dataclass(slots=True)
class SmtpTally:
    sessions: int = 0
    seconds: float = 0.0
    replies: Counter[str] = field(default_factory=Counter)
    # (inbound id, (sha256, rfc_message_id)) of every mail acknowledged with 250
    queued: list[tuple[int, tuple[str, str]]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def add(self, other: SmtpTally) -> None:
        self.sessions += other.sessions
        self.replies.update(other.replies)
        self.queued.extend(other.queued)
        self.findings.extend(other.findings)


class _Errors(logging.Handler):
    """Exceptions the intake logged (class and place only; the text may quote mail)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.seen.append(where(error) if error else f"{record.name}: error logged")


@dataclass(slots=True)
class Intake:
    settings: Settings
    controller: IntakeController
    enqueued: list[int]
    errors: _Errors


def intake_settings(var_dir: Path, port: int) -> Settings:
    return Settings(var_dir=var_dir, smtp_port=port, max_message_size=LIMIT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_intake(var_dir: Path) -> Iterator[Intake]:
    """The real SMTP intake over a migrated SQLite database; enqueue only records."""
    settings = intake_settings(var_dir, free_port())
    upgrade(settings)
    enqueued: list[int] = []
    errors = _Errors()
    loggers = [logging.getLogger(name) for name in ("consultant", "mail.log", "asyncio")]
    for logger in loggers:
        logger.addHandler(errors)
    controller = make_controller(settings, enqueued.append)
    controller.start()
    try:
        yield Intake(settings, controller, enqueued, errors)
    finally:
        controller.stop()
        for logger in loggers:
            logger.removeHandler(errors)


class Closed(Exception):
    """The server closed the connection."""


class Stalled(Exception):
    """The server sent no reply within TIMEOUT."""


class _Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> list[str]:
        """One reply's lines; Closed at end of stream, Stalled on timeout."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                try:
                    chunk = self.sock.recv(65536)
                except TimeoutError:
                    raise Stalled from None
                except ConnectionResetError:
                    raise Closed from None
                if not chunk:
                    raise Closed
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return lines

    def close(self, reset: bool = False) -> None:
        if reset:  # RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


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
    return DataModel(frozenset({"queued" if content.strip() else "empty message"}), content, pos)


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


def _garbage_line(rng: random.Random) -> bytes:
    """A command line the server must refuse or ignore without changing the envelope."""
    choices = (
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))).replace(b"\n", b""),
        lambda: b"XYZZY " + b"a" * rng.randint(0, 3000),
        lambda: b"MAIL " + b"F" * rng.choice((600, 1000, 1200)),
        lambda: b"",
        lambda: b"\x00\x00\x00",
        lambda: b"EXPN staff",
        lambda: b"VRFY " + rng.choice((b"consult@localhost", b"\xff\xfe", b"<<x", b"")),
        lambda: b"HELP " + rng.choice((b"", b"MAIL", b"DATA", b"NOPE")),
        lambda: b"NOOP " + rng.choice((b"", b"x", b"\x00")),
        lambda: b"TURN",
        lambda: b"\xc3\xa9HLO x",
        lambda: b"HELO",
        lambda: b"EHLO",
        lambda: b"RSET x",
        lambda: b"QUIT x",
        lambda: b"DATA x",
        lambda: b"AUTH",
        lambda: b" MAIL FROM:<a@example.org>",
    )
    return choices[rng.randrange(len(choices))]()


SENDERS = (
    b"<sender@example.org>",
    b"<>",
    b"sender@example.org",
    b"<sender@example.org> BODY=8BITMIME",
    b"<sender@example.org> BODY=BINARYMIME",
    b"<sender@example.org> SMTPUTF8",
    b"<sender@example.org> SIZE=%d" % (LIMIT + 1),
    b"<sender@example.org> SIZE=x",
    b"<sender@example.org> FOO=BAR",
    b"<\xc3\xa9l\xc3\xa8ve@example.org> SMTPUTF8",
    b"<\xff\xfe@example.org>",
    b"<a\x00b@example.org>",
    b"<<>>",
    b"<a b@example.org>",
    b"<" + b"l" * 300 + b"@example.org>",
    b"<@relay.example:sender@example.org>",
)
# Well-formed addresses that are not ours: always 550.
UNKNOWN = (
    b"<someone@example.org>",
    b"<consult@localhost.example>",
    b"<consult+x@localhost>",
    b"<postmaster>",
    b"<\xff@localhost>",
    b"<consult\x00@localhost>",
    b"<@relay.example:someone@example.org>",
)
# Addresses aiosmtpd may find malformed (553) before our handler sees them (550).
ODD = (b"<consult@LOCALHOST.>", b"<<consult@localhost>>", b"<consult@[localhost]>", b'<""@x>')
CONSULTS = (b"<consult@localhost>", b"<CONSULT@LocalHost>", b"consult@localhost")


class _Session:
    """One fuzzed session; the envelope state follows the replies actually received."""

    def __init__(self, port: int, seeds: Seeds, seed: int, index: int, tally: SmtpTally) -> None:
        self.rng = random.Random(f"smtp:{seed}:{index}")
        self.seeds, self.seed, self.index, self.tally = seeds, seed, index, tally
        self.port = port
        self.greeted = self.mail = False
        self.rcpts = 0
        self.sentinels = 0
        self.last = ""
        self.client = _Client(port)

    def finding(self, what: str) -> None:
        self.tally.findings.append(f"smtp seed={self.seed} session={self.index}: {what}")

    def reply(self, what: str, *allowed: str) -> str:
        lines = self.client.reply()
        self.last = lines[-1]
        kind = reply_kind(lines)
        self.tally.replies[kind] += 1
        if kind in FINDING_KINDS:
            self.finding(f"{kind} after {what} (code {lines[-1][:3]!r})")
        elif allowed and kind not in allowed:
            self.finding(f"after {what}: {kind!r}, expected one of {sorted(allowed)}")
        return kind

    def command(self, line: bytes, what: str, *allowed: str) -> str:
        self.client.send(line + b"\r\n")
        return self.reply(what, *allowed)

    def drain(self, what: str) -> None:
        """Read every reply up to a sentinel's: after bytes whose replies are not predicted."""
        self.sentinels += 1
        token = f"<<fuzz-sentinel-{self.sentinels}"
        self.client.send(f"VRFY {token}\r\n".encode())
        while True:
            lines = self.client.reply()
            if lines == [f"502 Could not VRFY {token}"]:
                return
            kind = reply_kind(lines)
            self.tally.replies[kind] += 1
            if kind in FINDING_KINDS:
                self.finding(f"{kind} after {what} (code {lines[-1][:3]!r})")
            if kind in ("too many unknown commands", "bye"):
                raise Closed

    def run(self) -> None:
        self.reply("connect", "greeting")
        for _ in range(self.rng.randint(1, 10)):
            action = self.rng.choice(
                (
                    "transaction",
                    "transaction",
                    "transaction",
                    "greet",
                    "garbage",
                    "unknown rcpt",
                    "out of order",
                    "pipelined",
                    "rset",
                    "quit",
                    "disconnect",
                )
            )
            if getattr(self, "_" + action.replace(" ", "_"))() is False:
                return
        self.command(b"QUIT", "QUIT", "bye")

    def _greet(self) -> None:
        verb = self.rng.choice((b"EHLO", b"HELO", b"ehlo", b"helo"))
        name = self.rng.choice((b"client.example", b"[127.0.0.1]", b"\xff\xfe", b"x" * 400))
        kind = self.command(
            verb + b" " + name, "EHLO/HELO", "ehlo", "helo", "command line too long"
        )
        if kind in ("ehlo", "helo"):
            self.greeted, self.mail, self.rcpts = True, False, 0

    def _garbage(self) -> None:
        lines = [_garbage_line(self.rng) for _ in range(self.rng.randint(1, 4))]
        for line in lines:
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb in (b"DATA", b"AUTH", b"QUIT", b"RSET", b"HELO", b"EHLO"):
                kind = self.command(line, "a garbage command")
                if verb == b"QUIT" and kind == "bye":
                    return
                continue
            self.client.send(line + b"\r\n")
        self.drain("garbage commands")

    def _mail_from(self, sender: bytes | None = None) -> str:
        sender = sender or self.rng.choice(SENDERS)
        kind = self.command(b"MAIL FROM:" + sender, "MAIL")
        if kind == "ok":
            self.mail = True
        return kind

    def _unknown_rcpt(self) -> None:
        if not self.greeted:
            self._greet()
        if not self.mail:
            self._mail_from(b"<sender@example.org>")
        ready = self.mail and self.greeted
        if self.rng.random() < 0.8:
            allowed: tuple[str, ...] = ("no such consult address",) if ready else ()
            address = self.rng.choice(UNKNOWN)
        else:
            allowed = ("no such consult address", "malformed address") if ready else ()
            address = self.rng.choice(ODD)
        self.command(b"RCPT TO:" + address, "RCPT to an unknown address", *allowed)

    def _out_of_order(self) -> None:
        line = self.rng.choice(
            (b"DATA", b"RCPT TO:<consult@localhost>", b"MAIL FROM:<a@b.example>")
        )
        kind = self.command(line, "an out-of-order command")
        if line.startswith(b"MAIL") and kind == "ok":
            self.mail = True
        elif line.startswith(b"RCPT") and kind == "recipient ok":
            self.rcpts += 1
        elif line == b"DATA" and kind == "start data":
            self._data()

    def _rset(self) -> None:
        self.command(b"RSET", "RSET", "ok")
        self.mail, self.rcpts = False, 0

    def _quit(self) -> bool:
        self.command(b"QUIT", "QUIT", "bye")
        return False

    def _disconnect(self) -> bool:
        where = self.rng.randrange(3)
        if where == 0:  # in the middle of a command line
            self.client.send(b"MAIL FROM:<half@exam")
        elif (  # in the middle of DATA
            where == 1
            and self._ready_for_data()
            and self.command(b"DATA", "DATA", "start data") == "start data"
        ):
            _, wire = data_payload(self.rng, self._mail())
            model = model_data(wire)
            # Never the terminator: a mail cut short is never stored.
            self.client.send(wire[: self.rng.randint(0, max(0, model.end - 4))])
        self.client.close(reset=self.rng.random() < 0.5)
        return False

    def _pipelined(self) -> None:
        if not self.greeted:
            self._greet()
        if not self.greeted:
            return
        self._rset()
        self.client.send(b"MAIL FROM:<p@example.org>\r\nRCPT TO:<consult@localhost>\r\nDATA\r\n")
        self.mail = self.reply("pipelined MAIL", "ok") == "ok"
        self.rcpts += self.reply("pipelined RCPT", "recipient ok") == "recipient ok"
        if self.reply("pipelined DATA", "start data") == "start data":
            self._data()

    def _ready_for_data(self) -> bool:
        if not self.greeted:
            self._greet()
        if self.greeted and not self.mail:
            self._mail_from()
        if self.mail and not self.rcpts:
            for _ in range(self.rng.randint(1, 3)):
                if self.rng.random() < 0.3:
                    self.command(
                        b"RCPT TO:" + self.rng.choice(UNKNOWN[:3]),
                        "RCPT",
                        "no such consult address",
                    )
                kind = self.command(b"RCPT TO:" + self.rng.choice(CONSULTS), "RCPT", "recipient ok")
                self.rcpts += kind == "recipient ok"
        return self.greeted and self.mail and self.rcpts > 0

    def _transaction(self) -> None:
        if self._ready_for_data() and self.command(b"DATA", "DATA", "start data") == "start data":
            self._data()

    def _mail(self) -> bytes:
        return mutated_mail(self.seeds, self.seed, self.rng.randrange(1 << 30)).raw

    def _data(self) -> None:
        variant, wire = data_payload(self.rng, self._mail())
        model = model_data(wire)
        rest = wire[model.end :]
        if rest:  # an early terminator: what follows is read as commands
            kept = [
                line
                for line in rest.split(b"\n")
                if line.strip().split(b" ", 1)[0].upper() not in {m.encode() for m in _MODAL}
            ][:8]
            wire = wire[: model.end] + b"\n".join(kept) + b"\r\n"
        self.client.send(wire)
        kind = self.reply(f"DATA ({variant})", *model.kinds)
        self.mail, self.rcpts = False, 0
        if kind == "queued" and model.content is not None:
            number = _QUEUED.match(self.last)
            sha256 = fingerprint(model.content)
            key = (sha256, rfc_message_id_of(model.content, sha256))
            self.tally.queued.append((int(number.group(1)) if number else -1, key))
        if rest:
            self.drain("commands after an early terminator")
            self._rset()


def run_session(port: int, seeds: Seeds, seed: int, index: int, tally: SmtpTally) -> None:
    """Run one session; a stall, a refused connection or a lost greeting is a finding."""
    try:
        session = _Session(port, seeds, seed, index, tally)
    except OSError as error:
        tally.findings.append(
            f"smtp seed={seed} session={index}: connect failed ({type(error).__name__})"
        )
        return
    try:
        session.run()
    except Closed:
        pass
    except Stalled:
        session.finding("no reply within the timeout")
    except OSError:
        pass  # our own disconnects, and the server closing after 502/421
    finally:
        session.client.close()


def fuzz_smtp(
    port: int, seeds: Seeds, seed: int, start: int, count: int, clients: int = 1
) -> SmtpTally:
    """Run sessions start..start+count-1 of run `seed` from `clients` threads."""
    tallies = [SmtpTally() for _ in range(clients)]
    began = time.perf_counter()

    def worker(number: int) -> None:
        for index in range(start + number, start + count, clients):
            run_session(port, seeds, seed, index, tallies[number])
            tallies[number].sessions += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    total = SmtpTally()
    for tally in tallies:
        total.add(tally)
    total.seconds = time.perf_counter() - began
    return total


def check_store(intake: Intake, tally: SmtpTally) -> list[str]:
    """The database against the 250s: call after the controller stopped (enqueues done)."""
    findings = [f"the intake logged {what}" for what in intake.errors.seen]
    with session_scope(intake.settings) as session:
        rows = {
            row.id: (row.sha256, row.rfc_message_id, row.envelope_from, list(row.envelope_to))
            for row in session.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.sha256,
                    InboundMessage.rfc_message_id,
                    InboundMessage.envelope_from,
                    InboundMessage.envelope_to,
                )
            )
        }
    keys = set()
    for inbound_id, key in tally.queued:
        keys.add(key)
        if inbound_id not in rows:
            findings.append(f"250 queued as {inbound_id}, but no such row")
        elif rows[inbound_id][:2] != key:
            findings.append(f"row {inbound_id} does not hold the mail its 250 acknowledged")
    acknowledged = {inbound_id for inbound_id, _ in tally.queued}
    if set(rows) != acknowledged:
        findings.append(f"{len(set(rows) - acknowledged)} rows stored without a 250")
    if len(rows) != len(keys):
        findings.append(f"{len(rows)} rows for {len(keys)} distinct mails acknowledged")
    if sorted(intake.enqueued) != sorted(rows):
        findings.append(f"{len(intake.enqueued)} enqueues for {len(rows)} rows")
    for inbound_id, (_, _, sender, recipients) in rows.items():
        if any("\x00" in value for value in (sender, *recipients)):
            findings.append(f"row {inbound_id} holds a NUL in its envelope (PostgreSQL refuses it)")
    return findings
