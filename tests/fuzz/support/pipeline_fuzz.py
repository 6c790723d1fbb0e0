"""Fuzz parse -> classify -> extract on mutated real mail, as process.py calls them.

Input: seed mails, a run seed and an index range. Output: a `Tally` of
outcomes (parsed, by verdict kind; refused, by documented refusal kind) and
the findings: any exception other than a documented Quarantine, a Quarantine
whose reason is not one of the documented ones, or a broken invariant on the
ParsedMessage, the Verdict or the extracted codes. Findings name the seed,
index, seed file and mutators, the exception class and where it was raised;
never the mail or the exception text, which can quote the mail.

classify() reads the database: it runs against a migrated SQLite database
holding one case, one of its inbound mails and one answer, so threading,
follow-up and bounce paths are reachable.
"""

from __future__ import annotations

import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from consultant.codes.systems import SYSTEMS, Vocabulary
from consultant.db.migrate import upgrade
from consultant.db.models import Case, CaseState, InboundMessage, OutboundMessage
from consultant.db.session import session_scope
from consultant.errors import Quarantine
from consultant.pipeline.classify import Kind, Verdict, classify
from consultant.pipeline.extract import CodeRef, extract_message
from consultant.pipeline.parse import ENCRYPTED, TOO_DEEP, ParsedMessage, parse
from consultant.settings import Settings
from tests.fuzz.support.mutate import mutated_mail
from tests.fuzz.support.seeds import (
    AUTHSERV_ID,
    CASE_REF,
    CASE_SENDER,
    INBOUND_ID,
    OUTBOUND_ID,
    Seeds,
)

# Every reason parse() and classify() may quarantine a mail for (their
# docstrings and §5 of the style guide: the mail is the problem).
REFUSALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("empty message", re.compile(r"empty message\Z")),
    ("Outlook .msg file", re.compile(r"an Outlook \.msg file \(binary\), not an Internet mail")),
    ("no header block", re.compile(r"no header block: this is not an Internet mail message\Z")),
    ("no sender address", re.compile(r"no sender address in From\Z")),
    ("nested too deeply", re.compile(re.escape(TOO_DEEP) + r"\Z")),
    (
        "encrypted",
        re.compile(
            re.escape(ENCRYPTED).replace(r"\{how\}", "(?:PGP/MIME|S/MIME|inline PGP)") + r"\Z"
        ),
    ),
    ("DMARC fail", re.compile(r"DMARC fail for [^\n]* \(Authentication-Results from ", re.S)),
)
# Codes only (no descriptors): the extractor's "known code" path needs some.
VOCABULARY = Vocabulary(
    cpt=frozenset({"99213", "99214", "99215", "99202", "99205", "20700", "27447", "97110"}),
    hcpcs=frozenset({"J1100", "G0438", "J3301", "A4253"}),
    icd10cm=frozenset({"M86.161", "E11.9", "I10", "Z79.4", "S72.001A", "F32.A"}),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\r]")


class Broken(AssertionError):
    """An invariant that does not hold; the message never quotes the mail."""


@dataclass(frozen=True, slots=True)
class Finding:
    seed: int
    index: int
    origin: str
    ops: tuple[str, ...]
    what: str  # exception class and where, or the broken invariant

    def __str__(self) -> str:
        return (
            f"seed={self.seed} index={self.index} origin={self.origin} ops={self.ops}: {self.what}"
        )


@dataclass(slots=True)
class Tally:
    inputs: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    slowest: tuple[float, int] = (0.0, -1)  # seconds, index

    def add(self, other: Tally) -> None:
        self.inputs += other.inputs
        self.seconds += other.seconds
        self.outcomes.update(other.outcomes)
        self.findings.extend(other.findings)
        self.slowest = max(self.slowest, other.slowest)


def fuzz_settings(var_dir: Path) -> Settings:
    """Embedded settings that read our MTA's DMARC verdict (and quarantine a fail)."""
    return Settings(var_dir=var_dir, trusted_authserv_id=AUTHSERV_ID, dmarc_fail="quarantine")


def prepare_database(settings: Settings) -> None:
    """Migrate, then add the case the threading mutators name, with an inbound and an answer."""
    upgrade(settings)
    with session_scope(settings) as session:
        case = Case(ref=CASE_REF, sender=CASE_SENDER, subject="q", state=CaseState.SENT.value)
        session.add(case)
        session.flush()
        session.add_all(
            [
                InboundMessage(
                    rfc_message_id=INBOUND_ID,
                    sha256="0" * 64,
                    raw=b"",
                    size=0,
                    source="fuzz",
                    case_id=case.id,
                    state="processed",
                ),
                OutboundMessage(
                    rfc_message_id=OUTBOUND_ID,
                    case_id=case.id,
                    mail_from="consult@localhost",
                    recipients=[CASE_SENDER],
                    raw=b"",
                    state="sent",
                ),
            ]
        )


def fuzz_pipeline(
    session: Session, settings: Settings, seeds: Seeds, seed: int, start: int, count: int
) -> Tally:
    """Run inputs start..start+count-1 of run `seed`; count outcomes, keep findings."""
    tally = Tally()
    began = time.perf_counter()
    for index in range(start, start + count):
        sample = mutated_mail(seeds, seed, index)
        clock = time.perf_counter()
        try:
            outcome = check_one(session, settings, sample.raw, odd=index % 2 == 1)
        except Exception as error:
            outcome = "finding"
            what = str(error) if isinstance(error, Broken) else where(error)
            tally.findings.append(Finding(seed, index, sample.origin, sample.ops, what))
        took = time.perf_counter() - clock
        tally.slowest = max(tally.slowest, (took, index))
        tally.outcomes[outcome] += 1
        tally.inputs += 1
    tally.seconds = time.perf_counter() - began
    return tally


def check_one(session: Session, settings: Settings, raw: bytes, *, odd: bool = False) -> str:
    """Parse, classify and extract one mail; its outcome, or raise on a crash."""
    try:
        parsed = parse(raw)
    except Quarantine as refusal:
        return f"refused: {refusal_kind(refusal)}"
    check_parsed(parsed)
    try:
        verdict = classify(session, settings, parsed)
    except Quarantine as refusal:
        return f"refused: {refusal_kind(refusal)}"
    check_verdict(verdict)
    # Half the inputs with no code sets loaded, half with a small vocabulary.
    codes = extract_message(parsed, VOCABULARY if odd else Vocabulary())
    check_codes(parsed, codes)
    return f"{verdict.kind.value}"


def refusal_kind(refusal: Quarantine) -> str:
    """The documented kind of a refusal; Broken for one nobody documented."""
    reason = refusal.reason
    if not isinstance(reason, str) or not reason.strip():
        raise Broken("Quarantine without a reason")
    for kind, pattern in REFUSALS:
        if pattern.match(reason):
            return kind
    # A Quarantine reason is logged by design (process.py), so its head may be shown.
    raise Broken(f"undocumented Quarantine reason: {reason.split(';')[0][:60]!r}")


def where(error: BaseException) -> str:
    """The exception class and the innermost frame in our code (else the innermost)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/consultant/" in f.filename] or frames
    if not ours:
        return type(error).__name__
    frame = ours[-1]
    path = frame.filename.split("/consultant/", 1)[-1]
    return f"{type(error).__name__} at {path}:{frame.lineno} in {frame.name}"


def _clean(name: str, value: object) -> None:
    """Strings that reach database text columns are storable: no NUL (PostgreSQL refuses
    it), no lone surrogates (no driver encodes them)."""
    if not isinstance(value, str):
        raise Broken(f"{name} is {type(value).__name__}, not str")
    if "\x00" in value:
        raise Broken(f"{name} holds a NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Broken(f"{name} holds lone surrogates (bytes that were not UTF-8)") from None


def check_parsed(parsed: ParsedMessage) -> None:
    # One flat list of every ParsedMessage invariant, in the dataclass's field order, so
    # it reads against parse.py side by side; each check is two lines and shares nothing.
    if not isinstance(parsed, ParsedMessage):
        raise Broken(f"parse returned {type(parsed).__name__}")
    for name in ("rfc_message_id", "subject", "sender", "sender_name", "reply_to", "text"):
        _clean(name, getattr(parsed, name))
    if not re.fullmatch(r"<[^<>\s]+>", parsed.rfc_message_id):
        raise Broken("rfc_message_id is not <...>")
    if not (parsed.sender or parsed.robot or parsed.bounce):
        raise Broken("no sender, yet neither robot nor bounce")
    if len(parsed.subject) > 2000 or len(parsed.sender_name) > 200:
        raise Broken("subject or sender name longer than its limit")
    if parsed.date is not None and (
        not isinstance(parsed.date, datetime) or parsed.date.tzinfo is None
    ):
        raise Broken("date is not an aware datetime")
    if _CONTROL.search(parsed.text):
        raise Broken("text holds control characters or CR")
    if parsed.text and not parsed.text.endswith("\n"):
        raise Broken("text does not end with a newline")
    if parsed.split.text != parsed.text:
        raise Broken("split.text differs from text")
    for low, high in (
        *parsed.split.quoted,
        *([parsed.split.signature] if parsed.split.signature else []),
    ):
        if not 0 <= low <= high <= len(parsed.text):
            raise Broken("a quoted or signature span lies outside the text")
    _clean("new_text", parsed.new_text)
    for item in (parsed.in_reply_to, *parsed.references):
        if item is not None:
            _clean("thread id", item)
    for attachment in parsed.attachments:
        _clean("attachment filename", attachment.filename)
        _clean("attachment content type", attachment.content_type)
        if attachment.size < 0:
            raise Broken("negative attachment size")
    if parsed.bounce is not None:
        for name in ("status", "diagnostic", "recipient"):
            value = getattr(parsed.bounce, name)
            if value is not None:
                _clean(f"bounce {name}", value)


def check_verdict(verdict: Verdict) -> None:
    if not isinstance(verdict, Verdict) or not isinstance(verdict.kind, Kind):
        raise Broken("classify returned no Verdict")
    if verdict.kind is Kind.BOUNCE and verdict.outbound_id is None:
        raise Broken("a bounce verdict names no outbound mail")
    if verdict.kind is Kind.FOLLOW_UP and verdict.case_id is None:
        raise Broken("a follow-up verdict names no case")
    for name in ("reason", "flag"):
        value = getattr(verdict, name)
        if value is not None:
            _clean(f"verdict {name}", value)


def check_codes(parsed: ParsedMessage, codes: list[CodeRef]) -> None:
    seen = set()
    for ref in codes:
        if ref.system not in SYSTEMS:
            raise Broken(f"unknown system {ref.system!r}")
        source = parsed.subject if ref.part == "subject" else parsed.text
        if ref.part not in ("subject", "body"):
            raise Broken("code part is neither subject nor body")
        if (
            not 0 <= ref.start < ref.end <= len(source)
            or source[ref.start : ref.end] != ref.as_written
        ):
            raise Broken(f"{ref.system} code is not at its offsets in the {ref.part}")
        if ref.code.replace(".", "") != ref.as_written.upper().replace(".", ""):
            raise Broken(f"{ref.system} code is not the normalised spelling as written")
        if (ref.system, ref.code) in seen:
            raise Broken(f"{ref.system} code reported twice")
        seen.add((ref.system, ref.code))
        if ref.units is not None and (not isinstance(ref.units, int) or ref.units <= 0):
            raise Broken("units not a positive integer")
        if ref.range is not None and ref.range.count("-") != 1:
            raise Broken("range is not low-high")
        if not isinstance(ref.quoted, bool):
            raise Broken("quoted is not a bool")
