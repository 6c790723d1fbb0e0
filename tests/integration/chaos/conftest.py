"""Chaos tests: a batch of real mail through the production profile, one fault
mid-batch, and a count of what became of every mail.

The feeder sends as a mail server would: a 250 means the intake took the
mail, a 4xx or a dropped connection means "try again later", a 5xx is a
refusal (none is expected here). After the fault and the recovery, the
tally is read from the database and the relay, never assumed:

- accepted: mails the intake answered 250 (or the IMAP folder held);
- cases / drafts: accepted mails with exactly one case, with exactly one draft;
- sent: answers at the relay (exactly once each);
- duplicates: a second row, case, draft or delivery for anything;
- lost: an accepted mail without its case and draft, or an approved answer
  never delivered.

Each test adds its tally to the table printed at the end of the run.
"""

from __future__ import annotations

import queue
import random
import smtplib
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from consultant.accounts import create_account
from consultant.db.models import Case, Draft, InboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.conftest import Child, wait_for, wait_for_port, worker_ready

BATCH = 500
# Every chaos test: real servers, and time to recover.
CHAOS = [
    pytest.mark.chaos,
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(600),
]
SENDERS = [f"coder{n}@chaos-clinic.example.org" for n in range(12)]
CPT = ["99213", "99214", "27447", "20700", "20610", "29881", "11042", "97110", "36415", "93000"]
HCPCS = ["J1100", "J3301", "G0438", "A4550", "E0114"]
MODIFIERS = ["25", "59", "XU", "LT", "RT", "76"]
ICD = ["M86.161", "E11.9", "Z79.4", "I10", "M17.11", "S72.001A", "J44.1", "N18.30"]
QUESTIONS = [
    "Can I bill {a} with {b}? Do I need modifier {m}? Dx {d}.",
    "Our surgeon did {a} and {b} on the same day, dx {d} and {e}. Is {a}-{m} right?",
    "Payer denied {a} billed with {b} (dx {d}). Should we have appended -{m}?",
    "Is {h} separately payable with {a}? Diagnosis {d}, also {e}.",
]


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str
    raw: bytes


def consult_mails(count: int, seed: int = 11) -> list[Mail]:
    """Coding questions from the chaos clinic's coders: 1-10 codes, 2-8 KB."""
    rng = random.Random(seed)
    mails = []
    for number in range(count):
        sender = SENDERS[number % len(SENDERS)]
        msg = EmailMessage()
        msg["From"] = f"Coder {number % len(SENDERS)} <{sender}>"
        msg["To"] = "consult@localhost"
        msg["Subject"] = f"Coding question {number}"
        msg["Message-ID"] = make_msgid(f"chaos{number}", domain="chaos-clinic.example.org")
        msg["Date"] = "Sun, 29 Nov 2026 09:00:00 +0000"
        question = rng.choice(QUESTIONS).format(
            a=rng.choice(CPT),
            b=rng.choice(CPT),
            h=rng.choice(HCPCS),
            m=rng.choice(MODIFIERS),
            d=rng.choice(ICD),
            e=rng.choice(ICD),
        )
        note = "The operative note documents a separate incision and a distinct site.\n"
        msg.set_content(f"Hello,\n\n{question}\n\n{note * rng.randint(20, 100)}\nThanks,\nCoder\n")
        mails.append(Mail(str(msg["Message-ID"]), sender, msg.as_bytes(policy=policy.SMTP)))
    return mails


# --- the feeder -----------------------------------------------------------------


@dataclass
class Feeder:
    """Send mails to the SMTP intake over several connections, as an MTA would."""

    port: int
    mails: list[Mail]
    clients: int = 4
    rate: float | None = None  # mails a second over all connections; None: flat out
    accepted: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    deferrals: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._pending: queue.Queue[Mail] = queue.Queue()
        for mail in self.mails:
            self._pending.put(mail)
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client, name=f"feeder-{n}", daemon=True)
            for n in range(self.clients)
        ]

    def start(self) -> Feeder:
        for thread in self._threads:
            thread.start()
        return self

    def done(self) -> int:
        with self._lock:
            return len(self.accepted) + len(self.refused)

    def progress(self) -> int:
        """Mails accepted so far; a refusal fails the test at once."""
        with self._lock:
            if self.refused:
                pytest.fail(f"the intake refused mail: {sorted(self.refused.values())[:3]}")
            return len(self.accepted)

    def join(self, deadline: float = 300.0) -> None:
        end = time.monotonic() + deadline
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            pytest.fail(
                f"the intake took {len(self.accepted)} of {len(self.mails)} mails "
                f"in {deadline:.0f}s; deferrals: {dict(self.deferrals)}"
            )

    def _client(self) -> None:
        smtp: smtplib.SMTP | None = None
        while self.done() < len(self.mails):
            try:
                mail = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            if self.rate:
                time.sleep(self.clients / self.rate)
            try:
                if smtp is None:
                    smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=60)
                smtp.sendmail(mail.sender, ["consult@localhost"], mail.raw)
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
                code, text = _answer(error)
                if 400 <= code < 500:
                    self._defer(mail, f"{code}")
                else:
                    with self._lock:
                        self.refused[mail.message_id] = f"{code} {text}"
                smtp = _drop(smtp)
                continue
            except (OSError, smtplib.SMTPException) as error:
                # Connection refused or dropped before the answer: not taken.
                self._defer(mail, type(error).__name__)
                smtp = _drop(smtp)
                continue
            with self._lock:
                self.accepted.add(mail.message_id)
        _drop(smtp)

    def _defer(self, mail: Mail, why: str) -> None:
        with self._lock:
            self.deferrals[why] += 1
        time.sleep(0.2)
        self._pending.put(mail)


def _answer(error: smtplib.SMTPException) -> tuple[int, str]:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return int(code), text.decode(errors="replace")
    assert isinstance(error, smtplib.SMTPResponseException)
    return int(error.smtp_code), str(error.smtp_error)


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


# --- counting -------------------------------------------------------------------


@dataclass
class Tally:
    test: str
    fault: str
    accepted: int = 0
    cases: int = 0
    drafts: int = 0
    sent: int = 0
    duplicates: int = 0
    lost: int = 0
    notes: str = ""


RESULTS: list[Tally] = []


def count_mail(settings: Settings, accepted: set[str]) -> tuple[int, int, int, int]:
    """(cases, drafts, duplicates, lost) for the accepted Message-IDs, from the database."""
    with session_scope(settings) as session:
        rows = session.execute(select(InboundMessage.rfc_message_id, InboundMessage.case_id)).all()
        # Drafts the pipeline made (a reviewer's edit is a new version by its author).
        drafts_per_case = Counter(
            session.scalars(select(Draft.case_id).where(Draft.author == "system"))
        )
        case_ids = set(session.scalars(select(Case.id)))
    rows_per_mail = Counter(message_id for message_id, _ in rows)
    case_of = {message_id: case_id for message_id, case_id in rows if case_id is not None}
    cases = sum(1 for m in accepted if m in case_of and case_of[m] in case_ids)
    drafts = sum(1 for m in accepted if drafts_per_case.get(case_of.get(m, -1), 0) == 1)
    duplicates = sum(n - 1 for n in rows_per_mail.values() if n > 1)
    duplicates += sum(n - 1 for n in drafts_per_case.values() if n > 1)
    duplicates += len(case_ids) - len(set(case_of.values()))  # cases no mail points at
    lost = sum(1 for m in accepted if drafts_per_case.get(case_of.get(m, -1), 0) == 0)
    return cases, drafts, duplicates, lost


def lost_mail(settings: Settings, accepted: set[str], limit: int = 5) -> str:
    """What the database holds of the first lost mails (state, error, enqueued and
    processed times, case and its drafts), so a failure says where each one stopped."""
    with session_scope(settings) as session:
        drafted = set(session.scalars(select(Draft.case_id).where(Draft.author == "system")))
        rows = {
            row.rfc_message_id: row
            for row in session.scalars(
                select(InboundMessage).where(InboundMessage.rfc_message_id.in_(accepted))
            )
        }
        lines = []
        for message_id in sorted(accepted):
            row = rows.get(message_id)
            if row is not None and row.case_id in drafted:
                continue
            if row is None:
                lines.append(f"{message_id}: no inbound row")
            else:
                lines.append(
                    f"{message_id}: {row.state}, error {row.error!r}, received "
                    f"{row.received_at:%H:%M:%S.%f}, enqueued {row.enqueued_at}, processed "
                    f"{row.processed_at}, case {row.case_id}"
                )
            if len(lines) == limit:
                break
    return "; ".join(lines)


def settle(settings: Settings, accepted: set[str], deadline: float = 240.0) -> None:
    """Wait until every accepted mail has its draft (or the deadline passes)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if count_mail(settings, accepted)[3] == 0:
            return
        time.sleep(0.5)


def record(tally: Tally) -> Tally:
    RESULTS.append(tally)
    print(f"\nchaos {tally.test}: {asdict(tally)}")
    return tally


def assert_alive(*children: Child) -> None:
    """The processes rode out the fault: none exited (a fault to recover from,
    not one to die of), or the test fails with the end of its log.
    """
    for child in children:
        if child.process.poll() is not None:
            pytest.fail(
                f"{child.name} exited ({child.process.returncode}):\n{child.output()[-4000:]}"
            )


def assert_whole(tally: Tally, expected: int) -> None:
    assert tally.accepted == expected, tally
    assert tally.lost == 0, tally
    assert tally.duplicates == 0, tally
    assert tally.cases == tally.drafts == expected, tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("chaos tallies")
    header = f"{'test':<28} {'accepted':>8} {'cases':>6} {'drafts':>6} {'sent':>5} "
    write(header + f"{'dupl.':>5} {'lost':>4}  fault")
    for t in RESULTS:
        write(
            f"{t.test:<28} {t.accepted:>8} {t.cases:>6} {t.drafts:>6} {t.sent:>5} "
            f"{t.duplicates:>5} {t.lost:>4}  {t.fault}{'; ' + t.notes if t.notes else ''}"
        )


# --- processes ------------------------------------------------------------------


def start_workers(spawn: Callable[..., Child]) -> Child:
    """A worker (2 processes) and beat (the sweep); returns the worker, ready."""
    worker = spawn("worker", "--concurrency", "2")
    spawn("beat")
    wait_for(worker_ready(worker), "the Celery worker to be ready", 120)
    return worker


def start_pipeline(spawn: Callable[..., Child], settings: Settings) -> tuple[Child, Child]:
    """Workers, beat and the SMTP intake; returns (worker, intake), both ready."""
    worker = start_workers(spawn)
    intake = spawn("intake")
    wait_for_port(settings.smtp_port, intake)
    return worker, intake


# --- fixtures -------------------------------------------------------------------


def with_clinic(settings: Settings) -> None:
    """The senders hold one paid account: every question opens a case."""
    with session_scope(settings) as session:
        create_account(session, settings, "Chaos Clinic", SENDERS, plan="paid")


def chaos_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **values: str) -> Settings:
    """Production settings tuned to recover within a test: a quick sweep, short backoff."""
    defaults = {
        "sweep_interval": "2",
        "sweep_grace": "15",
        "retry_backoff": "1",
        "log_level": "INFO",
    }
    return set_env(monkeypatch, env, **{**defaults, **values})


@pytest.fixture
def mails() -> list[Mail]:
    return consult_mails(BATCH)


@pytest.fixture
def feeder_for() -> Iterator[Callable[..., Feeder]]:
    feeders: list[Feeder] = []

    def make(port: int, batch: list[Mail], rate: float | None = None) -> Feeder:
        feeders.append(Feeder(port, batch, rate=rate).start())
        return feeders[-1]

    yield make
    for feeder in feeders:  # stop stragglers of a failed test
        feeder.accepted.update(m.message_id for m in feeder.mails)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def new_id() -> str:
    return uuid.uuid4().hex[:8]
