"""Authres: read our own MTA's sender-authentication verdict (RFC 8601). Pure.

Input is a parsed ``EmailMessage`` and the authserv-id of the MTA we trust;
output is an ``AuthVerdict`` (dmarc, spf, dkim results) or None. Only the
topmost Authentication-Results header carrying the trusted authserv-id is
read: our MTA prepends its own on top, and anything below, or with another
authserv-id, may have been written by the sender. ARC-Authentication-Results
are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from consultant.mime import raw_headers, strip_comments


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    authserv_id: str
    dmarc: str | None  # "pass", "fail", "none", "temperror"... lower-case; None when absent
    spf: str | None
    dkim: str | None  # "pass" if any dkim=pass, else the first dkim result
    header: str  # the Authentication-Results value that was read, on one line


_ID = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))')
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)(?:\s*/\s*\d+)?\s*=\s*([a-z0-9_-]+)", re.IGNORECASE)


def read_authentication_results(msg: EmailMessage, authserv_id: str) -> AuthVerdict | None:
    """The verdict of the topmost Authentication-Results from `authserv_id`, or None."""
    wanted = authserv_id.strip().lower()
    for value in raw_headers(msg, "authentication-results"):
        found, resinfos = split_header(value)
        if found.lower() == wanted and wanted:
            return _verdict(found, resinfos, value)
    return None


def split_header(value: str) -> tuple[str, list[str]]:
    """(authserv-id, ["method=result ptype.prop=value", ...]) of one header value."""
    text = strip_comments(value)
    match = _ID.match(text)
    if not match:
        return "", []
    authserv_id = match.group(1) if match.group(1) is not None else match.group(2)
    rest = _split_semicolons(text[match.end() :])
    # Whatever precedes the first ";" is the optional version number.
    return authserv_id.replace("\\", "").strip(), [part.strip() for part in rest[1:]]


def _verdict(authserv_id: str, resinfos: list[str], header: str) -> AuthVerdict:
    results: dict[str, list[str]] = {}
    for resinfo in resinfos:
        match = _RESULT.match(resinfo)
        if match:
            results.setdefault(match.group(1).lower(), []).append(match.group(2).lower())
    dkim = results.get("dkim", [])
    return AuthVerdict(
        authserv_id=authserv_id,
        dmarc=_first(results.get("dmarc")),
        spf=_first(results.get("spf")),
        dkim="pass" if "pass" in dkim else _first(dkim),
        header=header,
    )


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _split_semicolons(text: str) -> list[str]:
    """Split on ";" outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts
