"""Startup guard: refuse to write mail with header encoding we cannot trust.

Input: the running Python's version, and our own encoder (compose.build_reply
over consultant.mailer.headers). Output: nothing on a fixed Python; one INFO
line on a Python whose email package is affected by CVE-2024-6923 (it
re-decodes encoded-words while refolding and writes their line breaks) when
our encoder passes its self-test; UnsafeMailEncoding when the build is
affected AND the self-test fails, so the process (worker, web, intake, up)
does not start. The self-test builds a reply from the injection payloads and
parses the bytes back: exactly the headers we meant, no line break in any.
"""

from __future__ import annotations

import base64
import logging
import platform
import sys
from email import message_from_bytes, policy

from consultant.mailer import compose

log = logging.getLogger(__name__)

# CVE-2024-6923 is fixed from these patch releases on (3.13.0 shipped with the fix).
FIXED_IN = {
    (3, 8): (3, 8, 20),
    (3, 9): (3, 9, 20),
    (3, 10): (3, 10, 15),
    (3, 11): (3, 11, 10),
    (3, 12): (3, 12, 5),
}
EXPECTED = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
]


def _b(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode('ascii')}?="


def payloads() -> list[str]:
    """Line breaks with an injected header, literal and encoded once, twice and three times."""
    found = []
    for injected in ("X-Injected: yes", "Bcc: victim@evil.example"):
        literal = f"Hi\r\n{injected}\r\n\r\n<p>attacker body</p>"
        once = "=?utf-8?q?Hi=0D=0A" + injected.replace(" ", "_") + "=0D=0A=0D=0A?="
        found += [literal, once, _b(once), _b(_b(once))]
    return found


def affected(version: tuple[int, int, int] | None = None) -> bool:
    """Whether this Python's email package has CVE-2024-6923 (before its fixed patch level)."""
    major, minor, micro = version or (sys.version_info[:3])
    if (major, minor) >= (3, 13):
        return False
    fixed = FIXED_IN.get((major, minor))
    return fixed is None or (major, minor, micro) < fixed


def self_test() -> list[str]:
    """What went wrong when our encoder wrote the payloads (empty: nothing)."""
    problems = []
    for number, payload in enumerate(payloads()):
        try:
            raw = compose.build_reply(
                from_name=payload,
                from_address="desk@guard.invalid",
                to="asker@guard.invalid",
                to_name=payload,
                subject=f"Re: {payload}",
                text="self-test\n",
                html="<p>self-test</p>\n",
                rfc_message_id="<self-test@guard.invalid>",
                in_reply_to="<asker@guard.invalid>",
                references=(),
            )
        except Exception as error:  # any failure of the encoder is a failed self-test
            problems.append(f"payload {number}: {type(error).__name__}: {error}")
            continue
        problem = _check(raw)
        if problem:
            problems.append(f"payload {number}: {problem}")
    return problems


def _check(raw: bytes) -> str | None:
    """Why `raw` is not the mail we meant (None: it is)."""
    msg = message_from_bytes(raw, policy=policy.default)
    names = list(msg.keys())
    if names != EXPECTED:
        return f"headers {names}, expected {EXPECTED}"
    for name in names:
        value = str(msg[name])
        if any(char in value for char in "\r\n\x00"):
            return f"{name} holds a line break once decoded"
        if "=?" in value:
            return f"{name} still holds an encoded-word once decoded"
    return None


class UnsafeMailEncoding(RuntimeError):
    """This Python can inject headers and our own encoding is not in force."""


def check_mail_encoding() -> None:
    """Refuse to go on if this Python is affected and our encoder fails its self-test."""
    if not affected():
        return
    problems = self_test()
    version = platform.python_version()
    if problems:
        raise UnsafeMailEncoding(
            f"Python {version}'s email package is affected by CVE-2024-6923 (header "
            f"injection through encoded line breaks), and consultant's own header encoding "
            f"failed its self-test: {'; '.join(problems[:3])}. Refusing to write mail: "
            "upgrade Python to 3.8.20, 3.9.20, 3.10.15, 3.11.10, 3.12.5, 3.13.0 or later"
        )
    log.info(
        "Python %s's email package is affected by CVE-2024-6923; consultant's own header "
        "encoding is in force (self-test passed)",
        version,
    )
