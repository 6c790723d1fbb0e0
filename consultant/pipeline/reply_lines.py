"""What one line of a reply is: an Outlook header key, a decorated marker, a rule,
the start or the whole of an "On ... wrote:" header, a "Sent from my phone" line,
and where a signature starts in the last lines of new text. Pure predicates on
strings; quotes.py walks the lines and asks them.
"""

from __future__ import annotations

import re

from consultant.pipeline.quote_words import (
    ADDRESS_COLON,
    CLOSING,
    COLONS,
    CONTACT,
    DATEISH,
    DECOR,
    HEADER_START,
    KEYS,
    MAX_SIG_LINES,
    NAME_PARTICLES,
    QUESTION_START,
    SENT_FIRST,
    SENT_FROM,
    WROTE,
)


def header_key(body: str) -> tuple[int, str] | None:
    """Return (role, value) of an Outlook header line such as "*From:* Jane"."""
    head = body.lstrip("* \t")
    colon = head.find(":", 1, 30)
    if colon < 0:
        colon = head.find(COLONS[1], 1, 30)
        if colon < 0:
            return None
    role = KEYS.get(head[:colon].strip(" *\t\u00a0").casefold())
    return None if role is None else (role, head[colon + 1 :].strip(" *\t"))


def marker_words(body: str) -> str:
    """Return a short decorated line's words ("--- Forwarded message ---"), else ""."""
    if len(body) > 80 or (body[:1] not in DECOR and body[-1:] not in DECOR):
        return ""
    return body.strip(DECOR).casefold()


def is_rule(body: str, least: int = 5) -> bool:
    """Tell whether a line is a separator rule of dashes, underscores or equals signs."""
    return len(body) >= least and not body.strip("-_=* ")


def starts_like_header(body: str) -> bool:
    first = body.split(None, 1)[0].strip(",.:;(").casefold() if body else ""
    return first in HEADER_START or any(c.isdigit() for c in first[:12])


def is_wrote_header(joined: str, prefixed: bool) -> bool:
    low = joined.casefold()
    if not any(c.isdigit() or c == "@" for c in low):
        return False
    if not prefixed:  # "John <j@x.tr>, 3 Mar 2026 10:00 tarihinde ... yazd\u0131:"
        return low.endswith(tuple(COLONS)) and low.rstrip(" " + COLONS).endswith(WROTE)
    if low.startswith("-") and low.endswith("-"):  # Zoho: "---- On ... wrote ----"
        low = low.strip("- ")
    tail = low[-160:]
    if low.endswith(tuple(COLONS)):
        return any(v in tail for v in WROTE) or (
            ADDRESS_COLON.search(tail) is not None and DATEISH.search(low) is not None
        )
    return "@" in low and low.endswith(WROTE)


def is_sent_from(body: str) -> bool:
    if len(body) > 90 or body[:1] not in SENT_FIRST or ", " in body or body[-1:] in "?!":
        return False
    low = body.casefold()
    if low.startswith("sent from ") and len(low.split()) <= 6 and not low.endswith("."):
        return True  # "Sent from TypeApp<http://...>", "Sent from Mail for Windows 10"
    return low.startswith(SENT_FROM) and (not low.endswith(".") or len(low.split()) <= 7)


def sig_like(body: str) -> bool:
    """Tell whether a line could belong to a signature: short, not a sentence or question."""
    if len(body) > 80 or body.endswith("?"):
        return False
    words = body.split()
    if words and words[0].casefold() in QUESTION_START and len(words) >= 3:
        return False
    return len(words) < 10 and not (len(words) >= 6 and body.endswith((".", "!", ":")))


def _name_like(body: str) -> bool:
    words = body.replace(",", " ").split()
    if not 1 <= len(words) <= 6 or not body[:1].isupper() or not sig_like(body):
        return False
    lower = [w for w in words if w[:1].islower() and w.casefold() not in NAME_PARTICLES]
    return len(lower) <= 1 and "?" not in body


def _is_closing(body: str) -> bool:
    low = body.casefold()
    m = CLOSING.match(low)
    if m is None:
        return False
    rest = low[m.end() :].strip()
    return len(rest.split()) <= 2 and not rest.endswith("?") and len(body) <= 40


def signature_start(bodies: list[str], rows: list[int]) -> int | None:
    """Find where the signature starts among the last non-blank lines `rows`; None if none."""
    for pos, row in enumerate(rows):
        body, after = bodies[row], [bodies[r] for r in rows[pos + 1 :]]
        if body in ("--", "__") and len(after) <= MAX_SIG_LINES:
            if not any(a.endswith("?") for a in after):
                return row
        elif is_rule(body, 2):
            if 1 <= len(after) <= MAX_SIG_LINES and all(map(sig_like, after)):
                return row
        elif is_sent_from(body):
            if len(after) <= 3 and all(map(sig_like, after)):
                return row
        elif _is_closing(body) and pos + 1 < len(rows) and len(after) <= 8:
            if _name_like(after[0]) and all(map(sig_like, after)):
                return rows[pos + 1]
        elif _DASH_NAME.fullmatch(body) and len(after) <= 8 and all(map(sig_like, after)):
            return row
    return _contact_block(bodies, rows)


_DASH_NAME = re.compile(r"-[A-Z][\w.'-]{0,30}(?: [A-Z][\w.'-]{0,30}){0,3}")


def _contact_block(bodies: list[str], rows: list[int]) -> int | None:
    """Find a trailing "Name / email / phone / url" paragraph with no sign-off above it."""
    para = [r for r in rows if r > (rows[-1] if rows else 0) - 8]
    while len(para) > 1 and para[-1] - para[0] != len(para) - 1:
        para = para[1:]
    if not 3 <= len(para) <= 6 or para[0] == rows[0] or bodies[para[0] - 1]:
        return None
    rest = [bodies[r] for r in para[1:]]
    contacts = sum(1 for b in rest if CONTACT.search(b))
    if _name_like(bodies[para[0]]) and contacts >= 2 and all(map(sig_like, rest)):
        return para[0]
    return None
