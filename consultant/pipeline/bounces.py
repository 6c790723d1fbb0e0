"""Bounces: recognise a delivery failure notice and read what failed. Pure.

Input is a parsed ``EmailMessage``; output is a ``Bounce`` (which of our mails
bounced, for whom, how badly) or None. RFC 3464 reports are read from their
message/delivery-status part; the many older and vendor formats (qmail, Exim,
Sendmail, Exchange, Gmail...) are recognised by a machine sender together with
bounce wording, so a person's mail that only talks about a failed delivery, an
out-of-office reply, a feedback report or a read receipt is not a bounce.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

from consultant.mime import (
    MAIL_ERRORS,
    first_header,
    header,
    raw_headers,
    strip_comments,
)
from consultant.pipeline.bounce_text import is_text, part_text
from consultant.pipeline.robots import (
    address_in,
    content_type,
    report_type,
    sender_address,
    walk,
)


@dataclass(frozen=True, slots=True)
class Bounce:
    original_message_ids: tuple[str, ...]  # "<...>" ids of the mail that bounced, best first
    recipient: str | None  # the failed recipient address, lower-cased
    status: str | None  # RFC 3463 status such as "5.1.1"
    action: str | None  # DSN Action, lower-case
    diagnostic: str | None  # one line, at most 500 characters
    permanent: bool  # a hard failure: action failed or status 5.x.x


_ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
_STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")
_NOT_BOUNCES = ("feedback-report", "disposition-notification")
# No control characters: the ids are database query parameters (PostgreSQL refuses NUL).
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]+>")
_ID_LINE = re.compile(
    r"^[ \t>]*message-id[ \t]*:\s*(<[^<>\s\x00-\x1f\x7f]+>)", re.IGNORECASE | re.MULTILINE
)
# The lookbehind starts a match only at a word's start: without it a long
# word with no "@" costs quadratic time. NUL ends an address (PostgreSQL refuses it).
_ADDRESS = r"(?<![^\s<>()\[\]\"',;:@\x00])[^\s<>()\[\]\"',;:@\x00]++@[a-z0-9][a-z0-9.-]*+"
# An enhanced status code, not part of a longer dotted number such as an IP.
_STATUS = re.compile(r"(?<![\d.])([245])\.([0-7])\.(\d{1,3})(?!\.?\d)")
_REPLY_STATUS = re.compile(r"\b([245])\d\d[ -]#?([245]\.[0-7]\.\d{1,3})(?!\.?\d)")
_REPLY_CODE = re.compile(r"(?<![\d.#:-])([45])[0-5]\d(?=[ :-]\D)")
_FIELD = re.compile(r"^([a-z][a-z0-9-]*)[ \t]*:[ \t]*(.*)$", re.IGNORECASE)
_RECIPIENT_PATTERNS = (
    # qmail, Postfix and Sendmail: "<addr>: ..." or "<addr>... User unknown".
    re.compile(rf"^[ \t]*<({_ADDRESS})>[ \t]*(?::|\.\.\.|$)", re.IGNORECASE | re.MULTILINE),
    # Exim, Gmail and most others: "...failed:" then the address alone on a line.
    re.compile(rf":[ \t]*\n(?:[ \t]*\n)*[ \t]*<?({_ADDRESS})>?[ \t]*(?:\n|$)", re.IGNORECASE),
    re.compile(rf"rcpt to:\s*<?({_ADDRESS})", re.IGNORECASE),
    re.compile(rf"(?:recipient|address|to)(?: address)?\s*[:=]\s*<?({_ADDRESS})", re.IGNORECASE),
)
_ANY_ADDRESS = re.compile(_ADDRESS, re.IGNORECASE)
_DAEMON = re.compile(r"mailer-?daemon|post_?master|mail ?delivery|mail administrator", re.I)
_NO_REPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply")
_BOUNCE_WORDS = re.compile(
    r"qmail-send program|mail delivery (?:software|subsystem|system|failed)|mail failure"
    r"|(?:could ?n[o']t|can ?n[o']t|unable to) (?:be )?deliver"
    r"|error occurred while (?:\w+ )*deliver"
    r"|(?:was|were|has|have|is|could) not (?:been |be )?(?:delivered|rejected|returned)"
    r"|(?:wasn't|weren't|hasn't|couldn't be) (?:been )?delivered|did not reach|mail failed"
    r"|(?:was|were|has been|have been) (?:rejected|returned|bounced)"
    r"|undeliverable|undelivered|non-?delivery|delivery (?:has )?fail|delivery status notification"
    r"|delivery (?:to the following|problem|failure|incomplete)|failure notice|returned mail"
    r"|permanent(?:ly)? (?:\w+ )?(?:error|fail)|fatal error|address(?:es)? (?:failed|follow)"
    r"|user unknown|unknown user|no such (?:user|mailbox|address)|mailbox (?:is )?(?:full|unavail)"
    r"|recipient address rejected|message (?:was )?(?:rejected|blocked|bounced)"
    r"|has not yet been delivered|delayed|will (?:be )?retr|could not send|giving up|given up",
    re.IGNORECASE,
)
_FAILURE_WORDS = re.compile(
    r"qmail-send program|mail delivery (?:software|subsystem|system|failed)|undeliverable"
    r"|(?:could ?n[o']t|unable to) (?:be )?deliver|delivery status notification|non-?delivery"
    r"|returned mail|delivery (?:has )?failed|failure notice|did not reach|undelivered mail",
    re.IGNORECASE,
)
# The possessive prefix eats "----- " decorations without backtracking.
_COPY_MARKER = re.compile(
    r"^[ \t>-]*+(?:this is a copy of|below this line is a copy|original message"
    r"|the original message|a copy of the original|the headers of your message"
    r"|(?:original|returned) message headers|the text of your message|the body of)",
    re.IGNORECASE | re.MULTILINE,
)
_FINAL = re.compile(r"permanent|given up|giving up|fatal|failed permanently", re.IGNORECASE)
_DELAY = re.compile(
    r"delayed|not yet been delivered|will (?:be )?retr|will continue|still trying"
    r"|temporar|delay\)",
    re.IGNORECASE,
)
_SES = re.compile(r'\\?"notificationType\\?"\s*:\s*\\?"Bounce')


def detect_bounce(msg: EmailMessage) -> Bounce | None:
    """Read a bounce (delivery status notification) or return None."""
    if report_type(msg) in _NOT_BOUNCES:
        return None
    parts = list(walk(msg, enter_messages=False))
    reports = [part_text(part) for part in parts if content_type(part)[0] in _STATUS_PARTS]
    texts = [part_text(part) for part in parts if is_text(part)]
    text = "\n".join(texts)
    notice = _notice(text)
    fields = _ses_fields(notice) if _from_robot(msg) else None
    if fields is None:
        if not reports and not _looks_like_bounce(msg, notice):
            return None
        fields = _recipient_fields("\n\n".join(reports) if reports else notice)
    return _bounce(msg, parts, fields, notice, text)


def _ses_fields(text: str) -> dict[str, str] | None:
    """DSN-like fields of an Amazon SES bounce notification (JSON, maybe inside SNS JSON)."""
    if not _SES.search(text):
        return None
    try:
        data = json.loads(text[text.index("{") : text.rindex("}") + 1], strict=False)
        if isinstance(data, dict) and isinstance(data.get("Message"), str):
            data = json.loads(data["Message"], strict=False)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("notificationType") != "Bounce":
        return None
    recipients = _json_dict(data, "bounce").get("bouncedRecipients")
    first = recipients[0] if isinstance(recipients, list) and recipients else {}
    first = first if isinstance(first, dict) else {}
    mail = _json_dict(data, "mail")
    headers = mail.get("headers")
    items = headers if isinstance(headers, list) else []
    ids = [
        str(h.get("value")) for h in items if isinstance(h, dict) and h.get("name") == "Message-ID"
    ]
    ids.append(str(_json_dict(mail, "commonHeaders").get("messageId", "")))
    return {
        "final-recipient": str(first.get("emailAddress", "")),
        "status": str(first.get("status", "")),
        "action": str(first.get("action", "")),
        "diagnostic-code": str(first.get("diagnosticCode", "")),
        "message-id": " ".join(ids),
    }


def _json_dict(data: dict[str, object], key: str) -> dict[str, object]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _looks_like_bounce(msg: Message, notice: str) -> bool:
    """A machine's mail with bounce wording; a person's mail never is one."""
    if first_header(msg, "x-failed-recipients"):
        return True
    words = " ".join(notice.split()) + "\n" + header(msg, "subject")
    if _from_mail_system(msg):
        return bool(_BOUNCE_WORDS.search(words))
    # No-reply senders and Auto-Submitted mail are also shop notices ("your
    # order was delayed") and vacation replies: only plain failure wording counts.
    return _from_robot(msg) and bool(_FAILURE_WORDS.search(words))


def _from_mail_system(msg: Message) -> bool:
    return_path = raw_headers(msg, "return-path")
    return bool(_DAEMON.search(first_header(msg, "from"))) or bool(
        return_path and re.sub(r"\s", "", strip_comments(return_path[0])) == "<>"
    )


def _from_robot(msg: Message) -> bool:
    auto = strip_comments(first_header(msg, "auto-submitted")).split(";")[0].strip().lower()
    return bool(_NO_REPLY.match(sender_address(msg))) or auto not in ("", "no")


def _bounce(
    msg: Message, parts: list[Message], fields: dict[str, str], notice: str, text: str
) -> Bounce:
    diagnostic = _one_line(fields.get("diagnostic-code", "")) or _diagnostic_line(notice)
    action = _action(fields.get("action", ""))
    status = (
        _status(fields.get("status", ""))
        or _status(diagnostic, "45")
        or _status(notice, "45")
        or _derived_status(diagnostic)
    )
    return Bounce(
        original_message_ids=_original_ids(msg, parts, fields.get("message-id", ""), text),
        recipient=_recipient(msg, fields, notice),
        status=status,
        action=action,
        diagnostic=diagnostic or None,
        permanent=_permanent(action, status, notice),
    )


def _permanent(action: str | None, status: str | None, notice: str) -> bool:
    if action in ("delayed", "delivered", "relayed", "expanded"):
        return False
    if action == "failed" or _FINAL.search(notice):
        return True
    if status:
        return status.startswith("5")
    return not _DELAY.search(notice)


def _recipient_fields(report: str) -> dict[str, str]:
    """The per-recipient DSN fields of the worst recipient (failed before delayed)."""
    blocks = [_fields(block) for block in re.split(r"\n[ \t]*\n", report)]
    recipients = [
        block
        for block in blocks
        if {"final-recipient", "original-recipient", "action", "status"} & block.keys()
    ]

    def rank(block: dict[str, str]) -> int:
        action = _action(block.get("action", ""))
        status = _status(block.get("status", "")) or ""
        return 0 if action == "failed" or status.startswith("5") else 1 if action else 2

    return min(recipients, key=rank) if recipients else {}


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        name = match.group(1).lower() if match else ""
        if match and name not in fields:
            fields[name] = match.group(2).strip()
        elif match:
            name = ""  # keep the first value of a repeated field
    return fields


def _recipient(msg: Message, fields: dict[str, str], notice: str) -> str | None:
    for name in ("final-recipient", "original-recipient"):
        value = fields.get(name, "").split(";", 1)[-1]
        found = _ANY_ADDRESS.search(value)
        if found:
            return found.group(0).lower().rstrip(".-")
    failed = address_in(first_header(msg, "x-failed-recipients").split(",")[0])
    if "@" in failed:
        return failed
    for pattern in _RECIPIENT_PATTERNS:
        match = pattern.search(notice)
        if match:
            return match.group(1).lower().rstrip(".-")
    return _other_address(msg, notice)


def _other_address(msg: Message, notice: str) -> str | None:
    """The first address in the notice that is not the bounce's own sender."""
    own = {sender_address(msg), address_in(first_header(msg, "to"))}
    for match in _ANY_ADDRESS.finditer(notice):
        address = match.group(0).lower().rstrip(".-")
        if address not in own and not _DAEMON.search(address):
            return address
    return None


def _action(value: str) -> str | None:
    word = strip_comments(value).strip().lower()
    return next((action for action in _ACTIONS if word.startswith(action[:5])), None)


def _status(text: str, classes: str = "245") -> str | None:
    """The first enhanced status code of one of `classes` in `text`."""
    for reply in _REPLY_STATUS.finditer(text):
        if reply.group(2)[0] in classes:
            return reply.group(2)
    for match in _STATUS.finditer(text):
        if match.group(1) in classes:
            return ".".join(match.groups())
    return None


def _derived_status(text: str) -> str | None:
    match = _REPLY_CODE.search(text)
    return f"{match.group(1)}.0.0" if match else None


def _diagnostic_line(notice: str) -> str:
    for pattern in (_REPLY_STATUS, _STATUS, _REPLY_CODE):
        for line in notice.split("\n"):
            if pattern.search(line):
                return _one_line(line)
    return ""


def _one_line(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())[:500]


def _original_ids(msg: Message, parts: list[Message], known: str, text: str) -> tuple[str, ...]:
    own = set(_MESSAGE_ID.findall(first_header(msg, "message-id")))
    found: list[str] = _MESSAGE_ID.findall(known)
    for part in parts:
        ctype = content_type(part)[0]
        if ctype in ("message/rfc822", "message/global"):
            found += _returned_ids(part)
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            found += _ID_LINE.findall(part_text(part))
    found += _ID_LINE.findall(text)
    found += _MESSAGE_ID.findall(first_header(msg, "in-reply-to"))
    found += reversed(_MESSAGE_ID.findall(first_header(msg, "references")))
    return tuple(dict.fromkeys(item for item in found if item not in own))


def _returned_ids(part: Message) -> list[str]:
    try:
        payload = part.get_payload()
    except MAIL_ERRORS:
        return []
    if isinstance(payload, list):
        inner = [sub for sub in payload if isinstance(sub, Message)]
        return _MESSAGE_ID.findall(first_header(inner[0], "message-id"))[:1] if inner else []
    return _ID_LINE.findall(part_text(part))


def _notice(text: str) -> str:
    """The notice itself: the text before the copy of the returned mail."""
    marker = _COPY_MARKER.search(text)
    return text[: marker.start()] if marker and marker.start() > 0 else text
