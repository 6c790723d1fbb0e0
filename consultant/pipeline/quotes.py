"""Split a plain-text mail body into the sender's new text, quoted history and signature.

Input: a decoded text body (str). Output: a `Split` of spans into that same text; no I/O,
no state. The scan is line by line with bounded work per line (plain string tests, a few
anchored regexes on short strings), so it stays linear on hostile input.

Quoted history starts at a reply header ("On ... wrote:" and its translations, Outlook
"From:/Sent:/To:/Subject:" blocks, "-----Original Message-----") or is a run of ">" lines.
A header followed by a ">" block quotes only that block, so inline answers stay new text;
a header followed by unquoted text quotes everything to the end.

Forwarded mail: the forward marker and its header block ("From:/Date:/Subject:/To:") are
marked quoted; the forwarded body is left as new text, because the forwarded question is
the question. A Thunderbird "-------- Original Message --------" whose header block opens
with "Subject:" is its inline forward; Outlook's "-----Original Message-----" is a reply.
"""

# The vocabulary below is deliberately multilingual (Cyrillic, Greek, CJK, dotless i).
# ruff: noqa: RUF001

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import accumulate

__all__ = ["Split", "split_reply"]


@dataclass(frozen=True, slots=True)
class Split:
    """A mail body and the spans of it that are quoted history and signature."""

    text: str
    quoted: tuple[tuple[int, int], ...]
    signature: tuple[int, int] | None
    forwarded: bool

    @property
    def new_text(self) -> str:
        """The text minus quoted spans and signature, trailing blank lines trimmed."""
        cut = sorted([*self.quoted, *([self.signature] if self.signature else [])])
        kept, pos = [], 0
        for start, end in cut:
            kept.append(self.text[pos:start])
            pos = max(pos, end)
        kept.append(self.text[pos:])
        return "".join(kept).rstrip()

    @property
    def quoted_text(self) -> str:
        """The quoted spans joined by newlines."""
        return "\n".join(self.text[s:e].rstrip("\r\n") for s, e in self.quoted)

    @property
    def signature_text(self) -> str:
        """The signature, or "" when there is none."""
        return self.text[self.signature[0] : self.signature[1]] if self.signature else ""

    def is_quoted(self, offset: int) -> bool:
        """Tell whether `offset` falls in a quoted span."""
        i = bisect.bisect_right(self.quoted, (offset, len(self.text) + 1)) - 1
        return i >= 0 and self.quoted[i][0] <= offset < self.quoted[i][1]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split("|"))


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# Outlook-style header keys, by role; lower-cased, as they appear before the colon.
_FROM, _DATE, _TO, _SUBJECT, _CC = range(5)
_KEYS: dict[str, int] = {
    key: role
    for role, keys in enumerate(
        (
            "from|von|de|van|da|från|fra|od|от|lähettäjä|feladó|kimden|expéditeur|remitente"
            "|afzender|avsändare|nadawca|mittente|remetente|absender|差出人|发件人|寄件者"
            "|보낸 사람|보낸사람|sender",
            "sent|date|gesendet|datum|envoyé|envoyé le|message du|enviado|enviado el|enviada"
            "|enviada em|enviado em|fecha|data|verzonden|inviato|skickat|sendt|wysłano|wysłane"
            "|отправлено|дата|odesláno|lähetetty|päivämäärä|elküldve|dátum|gönderildi|tarih"
            "|送信日時|日付|发送时间|發送時間|日期|时间|보낸 날짜|날짜",
            "to|an|à|a|para|aan|till|til|do|кому|komu|vastaanottaja|címzett|kime|宛先|收件人"
            "|收件者|받는 사람|받는사람",
            "subject|betreff|objet|sujet|asunto|assunto|onderwerp|oggetto|ämne|emne|temat"
            "|тема|předmět|aihe|tárgy|konu|件名|主题|主旨|제목",
            "cc|bcc|kopie|copie|copie à|kopia|копия|抄送|副本|참조",
        )
    )
    for key in keys.split("|")
}

# Marker lines, compared after stripping decoration ("-", "=", "_", "*", ":", spaces).
_FORWARD = _words(
    "forwarded message|forwarded e-mail|forwarded email|begin forwarded message"
    "|weitergeleitete nachricht|anfang der weitergeleiteten nachricht|message transféré"
    "|début du message réexpédié|message réexpédié|mensaje reenviado"
    "|inicio del mensaje reenviado|comienzo del mensaje reenviado|doorgestuurd bericht"
    "|begin doorgestuurd bericht|messaggio inoltrato|inizio messaggio inoltrato"
    "|mensagem encaminhada|início da mensagem encaminhada|início da mensagem reencaminhada"
    "|mensagem reencaminhada|vidarebefordrat meddelande|vidarebefordrat brev"
    "|videresendt meddelelse|videresendt besked|videresendt melding|przekazana wiadomość"
    "|wiadomość przekazana|początek przekazywanej wiadomości|пересылаемое сообщение"
    "|пересланное сообщение|начало переадресованного сообщения|välitetty viesti"
    "|edelleenlähetetty viesti|přeposlaná zpráva|továbbított üzenet|iletilen mesaj"
    "|転送されたメッセージ|転送メッセージ|转发的邮件|轉寄的郵件|转发邮件|전달된 메시지"
)
_ORIGINAL = _words(
    "original message|original|ursprüngliche nachricht|originalnachricht|message d'origine"
    "|message original|mensaje original|oorspronkelijk bericht|origineel bericht"
    "|messaggio originale|mensagem original|ursprungligt meddelande|oprindelig meddelelse"
    "|oprindelig besked|opprinnelig melding|oryginalna wiadomość|wiadomość oryginalna"
    "|исходное сообщение|исходное письмо|alkuperäinen viesti|původní zpráva|eredeti üzenet"
    "|orijinal mesaj|原始邮件|原始郵件|元のメッセージ|원본 메시지|reply message"
)
_COLONS = ":\uff1a"  # ASCII and full-width (CJK) colons
_DECOR = " \t-=_*<>[]" + _COLONS

# First words of "On <date>, <name> wrote:" style headers in the languages we know.
_HEADER_START = _words(
    "on|am|le|el|op|il|in|em|às|as|w|dnia|dne|den|quoting|zitat|citando"
    "|mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    "|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april"
    "|june|july|august|september|october|november|december"
    "|mo|di|mi|do|fr|sa|so|man|tir|ons|tor|fre|lør|søn|mån|tis|tors|lör|sön"
    "|ma|ti|ke|to|pe|la|su|пн|вт|ср|чт|пт|сб|вс|pon|wt|śr|czw|pt|sob|niedz"
    "|seg|ter|qua|qui|sex|sáb|dom|lun|mer|jeu|ven|sam|gio|po|út|st|čt|pá|ne|в|在|於|于"
)
# Verbs that end such a header, looked for in the header's last 160 characters.
_WROTE = _phrases(
    "wrote|writes|schrieb|a écrit|a ecrit|escribió|escribio|schreef|geschreven|ha scritto"
    "|escreveu|pisze|napisał|napisal|napsal|написал|написав|пишет|skrev|kirjoitti|yazdı"
    "|írta|a scris|έγραψε|写道|寫道|のメール|書きました|작성"
)
_ADDRESS_COLON = re.compile(r"@[^\s@<>]{1,253}[>)\]]{0,3}\s{0,3}[:\uff1a]$")
_DATEISH = re.compile(r"\d{1,2}[:.h]\d\d|\d{4}|\d{1,2}[./-]\d{1,2}")

_SENT_FROM = _phrases(
    "sent from my |sent from yahoo mail|sent from mail for windows|sent from outlook"
    "|sent from samsung|sent from the all new aol|sent with |sent via |get outlook for "
    "|envoyé de mon|envoyé depuis|envoyé à partir de|gesendet von|von meinem|enviado desde"
    "|enviado do meu|enviado de meu|inviato da|verzonden vanaf|verstuurd vanaf|skickat från"
    "|sendt fra|wysłane z|wysłano z|отправлено с|lähetetty|iphoneから送信|从我的|发自我的"
    "|發自我的"
)
_SENT_FIRST = frozenset("sSgGeEvViIwWlL\u043e\u041e从发發")  # with Cyrillic o, O
_CLOSING = re.compile(
    r"(?:thanks|thank you|thx|many thanks|regards|best regards|kind regards|warm regards"
    r"|warmest regards|best|best wishes|all the best|cheers|sincerely|yours truly|respectfully"
    r"|cordially|take care|mit freundlichen grüßen|viele grüße|grüße|gruß|liebe grüße"
    r"|cordialement|bien à vous|merci|saludos|atentamente|un saludo|gracias"
    r"|met vriendelijke groet|groeten|cordiali saluti|saluti|grazie|atenciosamente|obrigad[oa]"
    r"|abraços|med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh|med venlig hilsen"
    r"|venlig hilsen|hilsen|pozdrawiam|z poważaniem|с уважением|спасибо)\b"
)
_CONTACT = re.compile(
    r"[\w.+-]@[\w-]+\.\w|https?://|www\.|\+?\d[\d ().-]{6,}\d"
    r"|^(?:phone|tel|fax|mobile|cell|direct|office|ph|email|e-mail|web)\b",
    re.IGNORECASE,
)
_QUESTION_START = _words("what|how|can|could|should|would|is|are|does|do|which|why|when|where")
_NAME_PARTICLES = _words("de|van|von|da|di|la|le|du|of|and|at|&|der|den|y|e")
_MAX_SIG_LINES = 12


@dataclass(slots=True)
class _Lines:
    """The text cut into lines: offsets, stripped bodies without quote markers, depths."""

    text: str
    starts: list[int]
    ends: list[int]
    bodies: list[str]
    depths: list[int]
    enders: list[bool]  # the line could end a reply header

    def stop(self, i: int) -> int:
        """Return the offset where line i's content ends, before its line break."""
        return self.starts[i] + len(self.text[self.starts[i] : self.ends[i]].rstrip(_BREAKS))


_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# ">65 years" and ">=2 units" are clinical text, and ">:" ends a wrapped address.
_NOT_QUOTE = frozenset("0123456789=:")


def _scan(text: str) -> _Lines:
    # Comprehensions rather than one loop: this runs over every line of 200 KB bodies.
    pieces = text.splitlines(keepends=True)
    ends = list(accumulate(map(len, pieces)))
    bodies = [p.strip() for p in pieces]
    depths = [0] * len(bodies)
    for i in [i for i, b in enumerate(bodies) if b[:1] == ">"]:
        body = bodies[i]
        if body[1:2] not in _NOT_QUOTE:
            rest = body.lstrip("> \t")
            depths[i] = body.count(">", 0, len(body) - len(rest))
            bodies[i] = rest
    enders = [(b[-1:] in _ENDERS and b != "") or b.endswith(_WROTE) for b in bodies]
    return _Lines(text, [0, *ends[:-1]], ends, bodies, depths, enders)


_ENDERS = frozenset(_COLONS + "-")
_SENT_HEADS = frozenset(p[:3] for p in _SENT_FROM)


def _candidates(lines: _Lines) -> list[int]:
    """List the unquoted lines that any rule of `_step` could fire on, cheaply."""
    bodies, enders = lines.bodies, lines.enders
    near_end = {k for e, flag in enumerate(enders) if flag for k in (e - 2, e - 1, e)}
    return [
        i
        for i, b in enumerate(bodies)
        if b
        and not lines.depths[i]
        and (
            i in near_end
            or b[0] in _DECOR
            or b[-1] in _DECOR
            or ":" in b[:30]
            or _COLONS[1] in b[:30]
            or b[:3].casefold() in _SENT_HEADS
        )
    ]


def _key(body: str) -> tuple[int, str] | None:
    """Return (role, value) of an Outlook header line such as "*From:* Jane"."""
    head = body.lstrip("* \t")
    colon = head.find(":", 1, 30)
    if colon < 0:
        colon = head.find(_COLONS[1], 1, 30)
        if colon < 0:
            return None
    role = _KEYS.get(head[:colon].strip(" *\t\u00a0").casefold())
    return None if role is None else (role, head[colon + 1 :].strip(" *\t"))


def _header_block(lines: _Lines, i: int) -> tuple[int, set[int]]:
    """Return the end (exclusive) and roles of the header-key block starting at line i."""
    roles: set[int] = set()
    end, loose = i, 0
    for j in range(i, min(i + 14, len(lines.bodies))):
        body = lines.bodies[j]
        if not body or lines.depths[j] != lines.depths[i]:
            break
        found = _key(body)
        if found is None:
            loose += 1
            if loose > 2:
                break
            continue
        role, value = found
        if role == _FROM and value and not any(c.isalpha() for c in value):
            break  # "From: 01/01/2026" is a date-of-service range, not a sender.
        roles.add(role)
        end, loose = j + 1, 0
    return end, roles


def _is_from_block(roles: set[int]) -> bool:
    return _FROM in roles and (_DATE in roles or _SUBJECT in roles or len(roles) >= 3)


def _marker(body: str) -> str:
    """Return a short decorated line's words ("--- Forwarded message ---"), else ""."""
    if len(body) > 80 or (body[:1] not in _DECOR and body[-1:] not in _DECOR):
        return ""
    return body.strip(_DECOR).casefold()


def _is_rule(body: str, least: int = 5) -> bool:
    """Tell whether a line is a separator rule of dashes, underscores or equals signs."""
    return len(body) >= least and not body.strip("-_=* ")


def _starts_like_header(body: str) -> bool:
    first = body.split(None, 1)[0].strip(",.:;(").casefold() if body else ""
    return first in _HEADER_START or any(c.isdigit() for c in first[:12])


def _is_wrote_header(joined: str, prefixed: bool) -> bool:
    low = joined.casefold()
    if not any(c.isdigit() or c == "@" for c in low):
        return False
    if not prefixed:  # "John <j@x.tr>, 3 Mar 2026 10:00 tarihinde ... yazd\u0131:"
        return low.endswith(tuple(_COLONS)) and low.rstrip(" " + _COLONS).endswith(_WROTE)
    if low.startswith("-") and low.endswith("-"):  # Zoho: "---- On ... wrote ----"
        low = low.strip("- ")
    tail = low[-160:]
    if low.endswith(tuple(_COLONS)):
        return any(v in tail for v in _WROTE) or (
            _ADDRESS_COLON.search(tail) is not None and _DATEISH.search(low) is not None
        )
    return "@" in low and low.endswith(_WROTE)


def _wrote_header(lines: _Lines, i: int) -> int:
    """Return how many lines (1-3) an "On ... wrote:" header at line i spans, or 0."""
    bodies = lines.bodies
    if not any(lines.enders[i : i + 3]):
        return 0
    # A header opens with "On", a date or a weekday; or else with the sender's address.
    prefixed = _starts_like_header(bodies[i].lstrip("-> "))
    if not prefixed and "@" not in bodies[i]:
        return 0
    for k in range(1, 4):
        j = i + k - 1
        if j >= len(bodies) or not bodies[j] or lines.depths[j] != lines.depths[i]:
            return 0
        joined = " ".join(bodies[i : j + 1])
        if len(joined) > 400:
            return 0
        if _is_wrote_header(joined, prefixed):
            return k
    return 0


def _rule_above(lines: _Lines, i: int) -> int:
    """Extend a header upward over a separator rule right above it (one blank allowed)."""
    for j in (i - 1, i - 2):
        if j < 0 or lines.depths[j]:
            return i
        body = lines.bodies[j]
        if body:
            is_sep = _is_rule(body, 3) or (body[0] == "-" and _marker(body) in _ORIGINAL)
            return j if is_sep else i
    return i


def _next_nonblank(lines: _Lines, i: int) -> int:
    while i < len(lines.bodies) and not lines.bodies[i] and not lines.depths[i]:
        i += 1
    return i


def _is_sent_from(body: str) -> bool:
    if len(body) > 90 or body[:1] not in _SENT_FIRST or ", " in body or body[-1:] in "?!":
        return False
    low = body.casefold()
    if low.startswith("sent from ") and len(low.split()) <= 6 and not low.endswith("."):
        return True  # "Sent from TypeApp<http://...>", "Sent from Mail for Windows 10"
    return low.startswith(_SENT_FROM) and (not low.endswith(".") or len(low.split()) <= 7)


@dataclass(slots=True)
class _Walk:
    """Line flags built while walking the text once from the top."""

    quoted: list[bool]
    forward_at: int = -1
    blocks_from: int = 0  # header blocks starting before this line were already rejected


def _quote(walk: _Walk, start: int, end: int) -> None:
    walk.quoted[start:end] = [True] * (end - start)


def _forward(lines: _Lines, walk: _Walk, i: int) -> int:
    """Quote a forward marker and its header block; return the line to go on from."""
    j = _next_nonblank(lines, i + 1)
    end = _header_block(lines, j)[0] if j < len(lines.bodies) else j
    end = max(end, i + 1)
    _quote(walk, i, end)
    if walk.forward_at < 0:
        walk.forward_at = i
    return end


def _reply(lines: _Lines, walk: _Walk, start: int, end: int) -> int:
    """Quote a reply header; quote to the end unless a ">" block follows it."""
    j = _next_nonblank(lines, end)
    if j < len(lines.bodies) and lines.depths[j]:
        _quote(walk, start, j)
        return j
    _quote(walk, start, len(lines.bodies))
    return len(lines.bodies)


def _step(lines: _Lines, walk: _Walk, i: int) -> int:
    """Handle the unquoted line i; return the next line to look at."""
    body = lines.bodies[i]
    marker = _marker(body)
    if marker in _FORWARD:
        return _forward(lines, walk, i)
    if body[:1] == "-" and marker in _ORIGINAL:
        j = _next_nonblank(lines, i + 1)
        found = _key(lines.bodies[j]) if j < len(lines.bodies) else None
        if found is not None and found[0] == _SUBJECT:
            return _forward(lines, walk, i)
        return _reply(lines, walk, i, i + 1)
    if i >= walk.blocks_from and _key(body) is not None:
        end, roles = _header_block(lines, i)
        if _is_from_block(roles):
            return _reply(lines, walk, _rule_above(lines, i), end)
        walk.blocks_from = end  # its tail lines would only give a smaller block
    span = _wrote_header(lines, i)
    if span:
        return _reply(lines, walk, i, i + span)
    if _is_sent_from(body):
        return _after_sent_from(lines, walk, i)
    return i + 1


def _after_sent_from(lines: _Lines, walk: _Walk, i: int) -> int:
    """Quote unmarked history that a phone client put below its "Sent from" line."""
    n = len(lines.bodies)
    j = _next_nonblank(lines, i + 1)
    above = any(lines.bodies[k] for k in range(i))  # stops at the first text line
    if j >= n or lines.depths[j] or not above or _header_starts(lines, j):
        return i + 1
    # A few short lines right below are more signature ("Sent from my iPhone / Jane");
    # anything else below the sender's own sign-off is history the client left unmarked.
    tail = [b for b in lines.bodies[j : j + 5] if b]
    if j > i + 1 or len(tail) > 3 or j + 5 < n or not all(map(_sig_like, tail)):
        _quote(walk, j, n)
        return n
    return i + 1


def _header_starts(lines: _Lines, j: int) -> bool:
    body = lines.bodies[j]
    return (
        _marker(body) in _FORWARD
        or (body[:1] == "-" and _marker(body) in _ORIGINAL)
        or _is_rule(body)
        or _is_from_block(_header_block(lines, j)[1])
        or _wrote_header(lines, j) > 0
    )


def _walk(lines: _Lines) -> _Walk:
    walk = _Walk([d > 0 for d in lines.depths])
    after = 0
    for i in _candidates(lines):
        if i >= after and not walk.quoted[i]:
            after = _step(lines, walk, i)
    _join_quote_gaps(lines, walk)
    return walk


def _join_quote_gaps(lines: _Lines, walk: _Walk) -> None:
    """Quote blank lines and lazily wrapped lines that sit between two quoted lines."""
    q, bodies, n = walk.quoted, lines.bodies, len(lines.bodies)
    for i in [i for i in range(1, n) if q[i - 1] and not q[i]]:
        j = i
        while j < n and not q[j] and not bodies[j]:
            j += 1
        if j > i and j < n and q[j]:
            _quote(walk, i, j)
        elif j == i and _lazy_wrap(lines, i):
            q[i] = True


def _lazy_wrap(lines: _Lines, i: int) -> bool:
    """Tell whether line i is the tail of a quoted line that a client wrapped without ">"."""
    if i == 0 or i + 1 >= len(lines.bodies) or not lines.bodies[i][:1].islower():
        return False
    return lines.depths[i - 1] > 0 < lines.depths[i + 1] and len(lines.bodies[i - 1]) >= 60


def _sig_like(body: str) -> bool:
    """Tell whether a line could belong to a signature: short, not a sentence or question."""
    if len(body) > 80 or body.endswith("?"):
        return False
    words = body.split()
    if words and words[0].casefold() in _QUESTION_START and len(words) >= 3:
        return False
    return len(words) < 10 and not (len(words) >= 6 and body.endswith((".", "!", ":")))


def _name_like(body: str) -> bool:
    words = body.replace(",", " ").split()
    if not 1 <= len(words) <= 6 or not body[:1].isupper() or not _sig_like(body):
        return False
    lower = [w for w in words if w[:1].islower() and w.casefold() not in _NAME_PARTICLES]
    return len(lower) <= 1 and "?" not in body


def _is_closing(body: str) -> bool:
    low = body.casefold()
    m = _CLOSING.match(low)
    if m is None:
        return False
    rest = low[m.end() :].strip()
    return len(rest.split()) <= 2 and not rest.endswith("?") and len(body) <= 40


def _signature_start(bodies: list[str], rows: list[int]) -> int | None:
    """Find where the signature starts among the last non-blank lines `rows`; None if none."""
    for pos, row in enumerate(rows):
        body, after = bodies[row], [bodies[r] for r in rows[pos + 1 :]]
        if body in ("--", "__") and len(after) <= _MAX_SIG_LINES:
            if not any(a.endswith("?") for a in after):
                return row
        elif _is_rule(body, 2):
            if 1 <= len(after) <= _MAX_SIG_LINES and all(map(_sig_like, after)):
                return row
        elif _is_sent_from(body):
            if len(after) <= 3 and all(map(_sig_like, after)):
                return row
        elif _is_closing(body) and pos + 1 < len(rows) and len(after) <= 8:
            if _name_like(after[0]) and all(map(_sig_like, after)):
                return rows[pos + 1]
        elif _DASH_NAME.fullmatch(body) and len(after) <= 8 and all(map(_sig_like, after)):
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
    contacts = sum(1 for b in rest if _CONTACT.search(b))
    if _name_like(bodies[para[0]]) and contacts >= 2 and all(map(_sig_like, rest)):
        return para[0]
    return None


def _signature(lines: _Lines, walk: _Walk) -> tuple[int, int] | None:
    """Find the sender's signature in the last stretch of new text."""
    limit = walk.forward_at if walk.forward_at >= 0 else len(lines.bodies)
    tail: list[int] = []
    for row in range(limit - 1, -1, -1):
        if walk.quoted[row]:
            if tail:
                break
        elif lines.bodies[row]:
            tail.append(row)
            if len(tail) > _MAX_SIG_LINES + 8:
                break
    tail.reverse()
    start = _signature_start(lines.bodies, tail) if tail else None
    first = next((i for i in range(limit) if lines.bodies[i] and not walk.quoted[i]), None)
    if start is None or start == first:
        return None
    return lines.starts[start], lines.stop(tail[-1])


def _spans(lines: _Lines, flags: list[bool]) -> tuple[tuple[int, int], ...]:
    """Turn runs of flagged lines into [start, end) offsets."""
    n = len(flags)
    edges = [i for i in range(n + 1) if (i < n and flags[i]) != (i > 0 and flags[i - 1])]
    pairs = zip(edges[::2], edges[1::2], strict=True)
    return tuple((lines.starts[a], lines.ends[b - 1]) for a, b in pairs)


def split_reply(text: str) -> Split:
    """Split a plain-text body into new text, quoted spans and the sender's signature."""
    lines = _scan(text)
    walk = _walk(lines)
    signature = _signature(lines, walk)
    return Split(text, _spans(lines, walk.quoted), signature, walk.forward_at >= 0)
