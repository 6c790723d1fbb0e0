"""Realistic consult mails for the benchmarks, made from templates.

Each mail asks about 1-10 codes (CPT, HCPCS, ICD-10-CM, modifiers, written
the ways coders write them), is 2-50 KB on the wire (new text, a quoted
earlier exchange, a signature, note excerpts as padding), and comes from one
of a few dozen senders at a dozen clinics. About one in six is HTML-only
(a table of the claim lines), and about one in five carries an attachment
(a small PDF-like or PNG-like binary). Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

CLINICS = [f"clinic{number}.example.org" for number in range(14)]
# Clinics whose coders hold accounts (the rest write as guests).
ACCOUNT_CLINICS = {clinic: ("paid" if n % 3 else "free") for n, clinic in enumerate(CLINICS[:10])}
FIRST = ["Ana", "Ben", "Carla", "Dev", "Erin", "Femi", "Gus", "Hana", "Ivan", "June", "Kai"]
LAST = ["Lopez", "Nguyen", "Okafor", "Price", "Quinn", "Reyes", "Shah", "Tran", "Ueda"]

# How coders write codes: plain, with a modifier, with units, with a label.
PROCEDURES = [
    "27447", "27447-LT", "20610", "20611", "20700", "29881", "29880", "27130", "11042",
    "97110", "36415", "93000", "71046", "64483", "17000", "99213", "99214-25", "99203",
    "G0438", "J1100 x 4", "J3301", "A4550", "L3908", "0042T", "64493",
]  # fmt: skip
DIAGNOSES = [
    "M17.11", "M17.12", "E11.9", "E11.65", "I10", "Z79.4", "M54.50", "S72.001A",
    "M25.561", "J45.909", "M86.161", "E10.9", "S82.821A", "R07.9", "N18.30",
]  # fmt: skip
MODIFIERS = ["modifier 59", "mod 25", "XU", "RT", "76", "modifier 51"]
ASKS = [
    "Can I bill {codes} together on the same day?",
    "Is {codes} payable together, or does NCCI bundle them?",
    "Our surgeon wants {codes} on one claim. Do we need a modifier?",
    "Quick question about {codes}: does the MUE allow this many units?",
    "Denied again: {codes}. What did we get wrong?",
]
NOTE_LINES = [
    "Patient seen for follow-up of chronic knee pain, worse on stairs.",
    "Procedure performed under local anesthesia without complication.",
    "Assessment and plan reviewed with the patient, who agrees with it.",
    "Imaging reviewed: moderate joint space narrowing, no acute fracture.",
    "Medication list reconciled; no changes made at this visit.",
    "Payer policy attached to the previous ticket, see thread below.",
]
SIGNATURE = "\n-- \n{name}\nCoding and billing, {clinic}\nPhone 555-0{n:03d}\n"


def _codes(rng: random.Random) -> list[str]:
    count = rng.randint(1, 10)
    pool = [*rng.sample(PROCEDURES, 6), *rng.sample(DIAGNOSES, 4), *rng.sample(MODIFIERS, 2)]
    return rng.sample(pool, count)


def _padding(rng: random.Random, size: int) -> str:
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        lines.append(rng.choice(NOTE_LINES))
    return "\n".join(lines)


def _text(rng: random.Random, ask: str, name: str, clinic: str, size: int) -> str:
    dos = ""
    if rng.random() < 0.5:
        dos = f"DOS {rng.randint(7, 12)}/{rng.randint(1, 28)}/2024. "
    quoted = "\n".join(f"> {line}" for line in _padding(rng, size // 2).splitlines())
    notes = _padding(rng, size // 2)
    sign = SIGNATURE.format(name=name, clinic=clinic, n=rng.randint(0, 999))
    return (
        f"Hello,\n\n{dos}{ask}\n\nFrom the note:\n{notes}\n{sign}\n"
        f"On Mon, 2 Sep 2024, the desk wrote:\n{quoted}\n"
    )


def _html(rng: random.Random, ask: str, codes: list[str], name: str, size: int) -> str:
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{code}</td><td>1</td></tr>" for i, code in enumerate(codes)
    )
    notes = "".join(f"<p>{line}</p>" for line in _padding(rng, size).splitlines())
    return (
        f"<html><body><p>Hi,</p><p>{ask}</p><table><tr><th>Line</th><th>Code</th>"
        f"<th>Units</th></tr>{rows}</table>{notes}<p>Thanks,<br>{name}</p></body></html>"
    )


def make_mail(rng: random.Random, number: int, to: str = "consult@localhost") -> bytes:
    """One consult mail (CRLF, as on the wire) with a unique Message-ID."""
    clinic = rng.choice(CLINICS)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}"
    codes = _codes(rng)
    ask = rng.choice(ASKS).format(codes=", ".join(codes))
    target = int(2048 * (25 ** rng.random()))  # 2-50 KB, more small mails than large
    attach = target // 4 if rng.random() < 0.2 else 0  # base64 makes it a third
    size = max(int((target - 700 - attach * 4 // 3) * 0.88), 400)  # left after headers, MIME
    msg = EmailMessage()
    msg["From"] = f"{name} <{first.lower()}.{last.lower()}@{clinic}>"
    msg["To"] = to
    msg["Subject"] = f"Coding question {number}: {codes[0]}"
    msg["Date"] = format_datetime(datetime(2024, 9, 2, tzinfo=UTC) + timedelta(minutes=number))
    msg["Message-ID"] = f"<bench-{number}-{uuid.UUID(int=rng.getrandbits(128)).hex}@{clinic}>"
    if rng.random() < 1 / 6:
        msg.set_content(_html(rng, ask, codes, name, size), subtype="html")
    else:
        msg.set_content(_text(rng, ask, name, clinic, size))
    if attach:
        kind = rng.choice(["pdf", "png"])
        blob = (b"%PDF-1.4\n" if kind == "pdf" else b"\x89PNG\r\n\x1a\n") + rng.randbytes(attach)
        maintype, subtype = ("application", "pdf") if kind == "pdf" else ("image", "png")
        msg.add_attachment(
            blob, maintype=maintype, subtype=subtype, filename=f"eob-{number}.{kind}"
        )
    return msg.as_bytes(policy=policy.SMTP)


def make_mails(count: int, seed: int = 7, first: int = 0) -> list[bytes]:
    """`count` realistic questions numbered from `first`."""
    rng = random.Random(seed)
    return [make_mail(rng, number) for number in range(first, first + count)]


def senders_with_accounts() -> dict[str, list[str]]:
    """Per account clinic, every address the generator may send from (for account setup)."""
    return {
        clinic: [f"{a.lower()}.{b.lower()}@{clinic}" for a in FIRST for b in LAST]
        for clinic in ACCOUNT_CLINICS
    }
