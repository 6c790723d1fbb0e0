"""The words a reply is read by: reply and forward headers, their keys and markers
in the languages we know, sign-offs and "sent from" lines, for quotes.py.

Data, not logic: a language is added here, its lines tested in
tests/unit/pipeline/test_quotes.py. Lower-cased; compared after quotes.py
strips decoration.
"""

# The vocabulary below is deliberately multilingual (Cyrillic, Greek, CJK, dotless i).
# ruff: noqa: RUF001

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split("|"))


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# Outlook-style header keys, by role; lower-cased, as they appear before the colon.
FROM, DATE, TO, SUBJECT, CC = range(5)
KEYS: dict[str, int] = {
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
FORWARD = _words(
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
ORIGINAL = _words(
    "original message|original|ursprüngliche nachricht|originalnachricht|message d'origine"
    "|message original|mensaje original|oorspronkelijk bericht|origineel bericht"
    "|messaggio originale|mensagem original|ursprungligt meddelande|oprindelig meddelelse"
    "|oprindelig besked|opprinnelig melding|oryginalna wiadomość|wiadomość oryginalna"
    "|исходное сообщение|исходное письмо|alkuperäinen viesti|původní zpráva|eredeti üzenet"
    "|orijinal mesaj|原始邮件|原始郵件|元のメッセージ|원본 메시지|reply message"
)
COLONS = ":\uff1a"  # ASCII and full-width (CJK) colons
DECOR = " \t-=_*<>[]" + COLONS

# First words of "On <date>, <name> wrote:" style headers in the languages we know.
HEADER_START = _words(
    "on|am|le|el|op|il|in|em|às|as|w|dnia|dne|den|quoting|zitat|citando"
    "|mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    "|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april"
    "|june|july|august|september|october|november|december"
    "|mo|di|mi|do|fr|sa|so|man|tir|ons|tor|fre|lør|søn|mån|tis|tors|lör|sön"
    "|ma|ti|ke|to|pe|la|su|пн|вт|ср|чт|пт|сб|вс|pon|wt|śr|czw|pt|sob|niedz"
    "|seg|ter|qua|qui|sex|sáb|dom|lun|mer|jeu|ven|sam|gio|po|út|st|čt|pá|ne|в|在|於|于"
)
# Verbs that end such a header, looked for in the header's last 160 characters.
WROTE = _phrases(
    "wrote|writes|schrieb|a écrit|a ecrit|escribió|escribio|schreef|geschreven|ha scritto"
    "|escreveu|pisze|napisał|napisal|napsal|написал|написав|пишет|skrev|kirjoitti|yazdı"
    "|írta|a scris|έγραψε|写道|寫道|のメール|書きました|작성"
)
ADDRESS_COLON = re.compile(r"@[^\s@<>]{1,253}[>)\]]{0,3}\s{0,3}[:\uff1a]$")
DATEISH = re.compile(r"\d{1,2}[:.h]\d\d|\d{4}|\d{1,2}[./-]\d{1,2}")

SENT_FROM = _phrases(
    "sent from my |sent from yahoo mail|sent from mail for windows|sent from outlook"
    "|sent from samsung|sent from the all new aol|sent with |sent via |get outlook for "
    "|envoyé de mon|envoyé depuis|envoyé à partir de|gesendet von|von meinem|enviado desde"
    "|enviado do meu|enviado de meu|inviato da|verzonden vanaf|verstuurd vanaf|skickat från"
    "|sendt fra|wysłane z|wysłano z|отправлено с|lähetetty|iphoneから送信|从我的|发自我的"
    "|發自我的"
)
SENT_FIRST = frozenset("sSgGeEvViIwWlL\u043e\u041e从发發")  # with Cyrillic o, O
CLOSING = re.compile(
    r"(?:thanks|thank you|thx|many thanks|regards|best regards|kind regards|warm regards"
    r"|warmest regards|best|best wishes|all the best|cheers|sincerely|yours truly|respectfully"
    r"|cordially|take care|mit freundlichen grüßen|viele grüße|grüße|gruß|liebe grüße"
    r"|cordialement|bien à vous|merci|saludos|atentamente|un saludo|gracias"
    r"|met vriendelijke groet|groeten|cordiali saluti|saluti|grazie|atenciosamente|obrigad[oa]"
    r"|abraços|med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh|med venlig hilsen"
    r"|venlig hilsen|hilsen|pozdrawiam|z poważaniem|с уважением|спасибо)\b"
)
CONTACT = re.compile(
    r"[\w.+-]@[\w-]+\.\w|https?://|www\.|\+?\d[\d ().-]{6,}\d"
    r"|^(?:phone|tel|fax|mobile|cell|direct|office|ph|email|e-mail|web)\b",
    re.IGNORECASE,
)
QUESTION_START = _words("what|how|can|could|should|would|is|are|does|do|which|why|when|where")
NAME_PARTICLES = _words("de|van|von|da|di|la|le|du|of|and|at|&|der|den|y|e")
MAX_SIG_LINES = 12
