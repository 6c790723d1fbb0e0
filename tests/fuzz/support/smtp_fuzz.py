"""Fuzz the SMTP intake: generate raw sessions from (seed, index) and drive them over a socket.

Input: the intake's port, seed mails, a run seed and a session index range.
Each session is rebuilt from (seed, index) alone: greetings, garbage and
overlong commands, out-of-order commands, bad and unknown recipients,
pipelined commands, DATA with mutated mail (tests/fuzz/support/smtp_replies.py makes
the payload) and premature disconnects. Output: an `SmtpTally` of reply kinds,
the mails acknowledged with 250, and the findings.

Invariants checked here: every reply is a documented one and never 451 nor
exception text (smtp_replies.reply_kind); RCPT to an unknown address is 550;
DATA is answered as smtp_replies.model_data predicts; the server keeps
accepting connections. smtp_store.check_store then holds the database to the
250s. Findings never quote a mail or a reply's echo of one.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from consultant.pipeline.rawmail import fingerprint, rfc_message_id_of
from tests.fuzz.support.mutate import mutated_mail
from tests.fuzz.support.seeds import Seeds
from tests.fuzz.support.smtp_client import Client, Closed, Stalled
from tests.fuzz.support.smtp_replies import (
    FINDING_KINDS,
    LIMIT,
    QUEUED,
    data_payload,
    model_data,
    reply_kind,
)

CONSULT = "consult@localhost"
# Commands never smuggled after an early terminator: they would change what the
# next bytes mean (DATA, AUTH, STARTTLS) so no reply could be predicted.
_MODAL = frozenset({"DATA", "AUTH", "STARTTLS", "BDAT", "QUIT"})


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
        self.client = Client(port)

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
            number = QUEUED.match(self.last)
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
