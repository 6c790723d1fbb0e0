"""Extract: the text of a coding question in, the code references it makes out.

Finds CPT (including Category II/III and PLA), HCPCS Level II, ICD-10-CM codes
and modifiers, normalises each to its canonical spelling and returns CodeRefs in
order of appearance, one per distinct (system, code). Pure: no database, no
network. The numbers around a question (ZIPs, phone numbers, claim and reference
numbers, amounts, doses) are the main source of false positives, so each
candidate is checked against the few words before and after it. A later issue
makes this stage precise; this version aims at the plain cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodeRef:
    code: str  # normalised: "99213", "0001F", "J1100", "M86.161", "I10", "59", "LT"
    system: str  # "cpt", "hcpcs", "icd10cm" or "modifier"
    as_written: str  # exact substring of the input text
    start: int  # text[start:end] == as_written
    end: int
    quoted: bool = False


# A candidate before normalisation: (code, system, start, end).
_Hit = tuple[str, str, int, int]

# Five digits, or four digits and the Category II/III or PLA letter. A trailing
# "x2" is a unit count ("99213x2"), so it does not glue the number to a word.
_CPT = re.compile(r"(?<![A-Za-z0-9])(?:\d{5}|\d{4}[FfTtUu])(?=[xX]\d|[^A-Za-z0-9]|$)")
# A letter, a digit, then anything alphanumeric, with an optional dotted tail:
# the shape shared by HCPCS Level II and ICD-10-CM. Classified in Python.
_LETTER_CODE = re.compile(
    r"(?<![A-Za-z0-9\\])[A-Za-z]\d[0-9A-Za-z]*(?:\.[0-9A-Za-z]+)?(?![0-9A-Za-z]|\.[0-9A-Za-z])"
)
_UNIT_SUFFIX = re.compile(r"([A-Za-z]\d{4})[xX]\d{1,3}")
_ICD_DOTTED = re.compile(r"[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}")
_ICD_UNDOTTED = re.compile(r"[A-Z]\d[0-9A-Z]{1,5}")
# ICD-10-CM categories whose third character is a letter; every other category
# has a digit there, which keeps "F2F", "A1C" and "H1N1" out.
_LETTER_CATEGORIES = frozenset({"C4A", "C7A", "C7B", "D3A", "M1A", "O9A", "Z3A"})
# First letters HCPCS Level II uses; F, I, N, O, W, X, Y and Z begin only ICD codes.
_HCPCS_LETTERS = frozenset("ABCDEGHJKLMPQRSTUV")

# Words that make the next number an identifier, not a code ("claim #12345",
# "reason code 32440", "Suite 10000"). Matched against the text just before.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:claims?|invoice|inv|account|acct|npi|member|mbr|policy|ref|reference|ticket"
    r"|room|rm|suite|ste|apt|box|zip|zipcode|postal|phone|tel|telephone|fax|ext|extension"
    r"|mrn|icn|dcn|ptan|tin|ein|ssn|tax|id|page|pg|section"
    r"|chapter|transmittal|lcd|ncd|article|mln|cr|rev|port|vitamin"
    r"|(?:reason|revenue|rev|remark|adjustment|group|denial|error|zip|postal|area) codes?)"
    r"(?:\s*(?:#|no\.?|num(?:ber)?|id)\b)?(?:\s+(?:is|was|of))?|#)\s*[:#.]?\s*$",
    re.IGNORECASE,
)
_STATES = (
    r"A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|PR"
    r"|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY]"
)
_STATE_NAMES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida"
    r"|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland"
    r"|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada"
    r"|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma"
    r"|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah"
    r"|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico"
)
# A ZIP follows a state after a comma or a city name: "Dallas, TX 75201".
_ZIP_BEFORE = re.compile(
    rf"(?:(?:,\s*|\b[A-Z][a-z]+\s+)(?:{_STATES})\.?|,\s*(?:{_STATE_NAMES}))\s+$"
)
# A house number comes before a street name: "8200 N Peters Road".
_STREET_AFTER = re.compile(
    r"^\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\.?\s+){1,3}(?:Road|Rd|Street|St|Avenue|Ave"
    r"|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Parkway|Pkwy|Highway|Hwy"
    r"|Circle|Cir|Terrace|Trail|Pike)\b"
)
_MONEY_BEFORE = re.compile(r"(?:\$|\busd)\s*$|\d[.]$|\b\d{1,4}-$", re.IGNORECASE)
# Doses, money, durations and the like right after the number ("25000 units").
_UNIT_AFTER = re.compile(
    r"^(?:\.\d|-\d{3,4}(?![0-9A-Za-z])|\s*[%$]|\s*(?:units?|mg|mcg|gm?|ml|cc|iu|meq|mmol|kg|lbs?"
    r"|dollars|usd|minutes|mins?|hours|hrs?|days|miles)\b)",
    re.IGNORECASE,
)

# The nearest of these before an ambiguous letter code says which system it is in.
_SYSTEM_HINT = re.compile(
    r"\b(?:(?P<icd9>icd-?9(?:-?cm)?)|(?P<icd>icd(?:-?10(?:-?cm)?)?|dx|diagnos[ie]s|diag)"
    r"|(?P<proc>cpt|hcpcs?|procedures?|px))\b",
    re.IGNORECASE,
)
# Words allowed between a hint and its code: "dx code: M8616", "diagnosis is E119".
_HINT_FILLER = frozenset(
    {"code", "codes", "is", "are", "was", "of", "as", "and", "or", "primary", "secondary"}
)


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_NUMERIC_MODIFIERS = _words(
    "22 23 24 25 26 27 32 33 47 50 51 52 53 54 55 56 57 58 59 62 63 66 73 74 76 77 78 79"
    " 80 81 82 90 91 92 93 95 96 97 99"
)
# Letter modifiers recognised even when typed in lower case after "modifier";
# none of them is an English word.
_KNOWN_LETTER_MODIFIERS = _words(
    "LT RT XE XS XP XU GA GY GZ GX GC GE GT GV GW GQ GP GO GN TC KX KU KO KP KQ KS KH KI"
    " KJ QW QK QX QZ QY PN PO PD JW JZ JG JB CR CS CG SA SG SB TH FS FT FQ FX FY"
)
# Two modifiers joined by a slash are a modifier mention on their own ("RT/LT").
_PAIR_MODIFIERS = _words("LT RT XE XS XP XU GA GY GZ TC KX 25 26 59 76 77 91")

_TOKEN = r"[A-Za-z0-9]{2}(?![A-Za-z0-9])"
_SEP = r"\s*(?:[,/&+]|\b(?:and/or|and|or|plus|versus|vs)\b\.?)(?:\s*\b(?:and|or)\b)?\s*-?"
_MOD_WORD = re.compile(r"\bmod(?:ifier)?s?\b(?:\(s\))?\.?\s*[:#]?\s*-?\s*", re.IGNORECASE)
_MOD_FIRST = re.compile(_TOKEN)
_MOD_NEXT = re.compile(rf"{_SEP}({_TOKEN})", re.IGNORECASE)
_MOD_ATTACHED = re.compile(rf"-({_TOKEN})")
_MOD_CHAINED = re.compile(rf"[-/]({_TOKEN})")
_MOD_POSTFIX = re.compile(
    rf"(?<![A-Za-z0-9-])-?{_TOKEN}(?:{_SEP}{_TOKEN})*(?:\s+|-)mod(?:ifier)?s?\b", re.IGNORECASE
)
_MOD_DASH = re.compile(rf"(?<![A-Za-z0-9-])-({_TOKEN})")
_MOD_PAIR = re.compile(rf"(?<![A-Za-z0-9/])([A-Z0-9]{{2}})/({_TOKEN})(?!/)")
_BARE_TOKEN = re.compile(rf"(?<![A-Za-z0-9]){_TOKEN}")
_LIST_WORDS = frozenset({"and", "or", "plus", "vs"})


def find_codes(text: str, quoted: int | Sequence[tuple[int, int]] | None = None) -> list[CodeRef]:
    """Find code references in text, in order of appearance, de-duplicated by (system, code).

    `quoted` is where quoted history starts (an offset) or its [start, end)
    spans; hits inside are marked quoted=True. Of several occurrences of one
    code the first in the sender's own text is kept, else the first quoted.
    """
    spans = [(quoted, len(text))] if isinstance(quoted, int) else list(quoted or ())
    hits = sorted(set(_all_hits(text)), key=lambda hit: (hit[2], hit[3]))
    kept: dict[tuple[str, str], CodeRef] = {}
    for code, system, start, end in hits:
        in_quote = any(low <= start < high for low, high in spans)
        earlier = kept.get((system, code))
        if earlier is None or (earlier.quoted and not in_quote):
            kept[(system, code)] = CodeRef(code, system, text[start:end], start, end, in_quote)
    return sorted(kept.values(), key=lambda ref: (ref.start, ref.end))


def _all_hits(text: str) -> Iterator[_Hit]:
    yield from _cpt_hits(text)
    yield from _letter_hits(text)
    yield from _modifiers_after_word(text)
    yield from _modifiers_before_word(text)
    yield from _dash_and_pair_modifiers(text)


def _cpt_hits(text: str) -> Iterator[_Hit]:
    for match in _CPT.finditer(text):
        code = match.group().upper()
        if code.isdigit() and not ("00100" <= code < "02000" or code >= "10000"):
            continue  # numeric CPT is anesthesia (00100-01999) or 10000 and up
        if code[4] in "TU" and code[0] != "0":
            continue  # Category III and PLA codes all start with 0
        if _is_identifier(text, match.start(), match.end(), numeric=True):
            continue
        yield code, "cpt", match.start(), match.end()
        yield from _attached_modifiers(text, match.end())


def _letter_hits(text: str) -> Iterator[_Hit]:
    for match in _LETTER_CODE.finditer(text):
        token, start = match.group(), match.start()
        units = _UNIT_SUFFIX.fullmatch(token)
        if units:
            token = units.group(1)
        end = start + len(token)
        found = _classify_letter_code(token, _hint_before(text, start))
        if found is None or _is_identifier(text, start, end, numeric=False):
            continue
        yield found[0], found[1], start, end
        if found[1] == "hcpcs":
            yield from _attached_modifiers(text, end)


def _classify_letter_code(token: str, hint: str | None) -> tuple[str, str] | None:
    """Say which system a letter-first token belongs to, or None for neither."""
    upper = token.upper()
    if hint == "icd9":
        return None
    if "." in upper:
        return _icd(upper) if _ICD_DOTTED.fullmatch(upper) else None
    if len(upper) == 5 and upper[1:].isdigit():
        # Letter + 4 digits is HCPCS's exact shape; an undotted ICD code only
        # when the letter starts no HCPCS code or the asker said "dx" before it.
        if hint == "icd" or upper[0] not in _HCPCS_LETTERS:
            return _icd(upper)
        return upper, "hcpcs"
    return _undotted_icd(token, hint)


def _undotted_icd(token: str, hint: str | None) -> tuple[str, str] | None:
    """Read an undotted token as ICD-10-CM ("M86161", "I10"), or None."""
    upper = token.upper()
    if not _ICD_UNDOTTED.fullmatch(upper):
        return None
    if len(upper) == 3 and not token[0].isupper():
        return None  # a bare lower-case "e11" is more likely chatter than a category
    if len(upper) == 4 and hint != "icd":
        return None  # "E119" without context could be many things
    if len(upper) == 6 and upper[0] in "AL" and upper[1:].isdigit() and hint != "icd":
        return None  # LCD and article numbers: L33822, A52464
    if len(upper) == 7 and upper.endswith("Z"):
        return None  # ICD-10-PCS ("B2111ZZ"); no ICD-10-CM code ends in Z
    return _icd(upper)


def _icd(upper: str) -> tuple[str, str] | None:
    """Normalise an ICD-10-CM code to its dotted form, or None if it cannot be one."""
    category, rest = upper[:3], upper[3:].lstrip(".")
    if not category[2].isdigit() and category not in _LETTER_CATEGORIES:
        return None
    if category[0] == "V" and len(rest) in (1, 2):
        # ICD-9 supplementary codes (V04.89, V06.1) share this shape; ICD-10-CM
        # V codes are transport accidents, which need all seven characters.
        return None
    return (f"{category}.{rest}" if rest else category), "icd10cm"


def _hint_before(text: str, start: int) -> str | None:
    """Name the system ("icd", "icd9", "proc") that the words just before start point to."""
    window_start = max(0, start - 40)
    hints = list(_SYSTEM_HINT.finditer(text, window_start, start))
    if not hints:
        return None
    last = hints[-1]
    between = text[last.end() : start]
    words = [w.lower() for w in re.findall(r"\b[A-Za-z]+\b", between)]
    if any(w not in _HINT_FILLER for w in words) or re.search(r"[.?!;]\s", between):
        return None  # the hint belongs to another clause
    return last.lastgroup


def _is_identifier(text: str, start: int, end: int, numeric: bool) -> bool:
    """Tell whether the code-shaped text[start:end] is an ID, amount or dose instead."""
    before = text[max(0, start - 40) : start]
    if _REFERENCE_BEFORE.search(before) or _in_link(text, start, end):
        return True
    if not numeric:
        # "J3301 units" is a question about the code, so units only rule out numbers.
        return False
    after = text[end : end + 60]
    return bool(
        _ZIP_BEFORE.search(before)
        or _MONEY_BEFORE.search(before)
        or _UNIT_AFTER.match(after)
        or _STREET_AFTER.match(after)
    )


def _in_link(text: str, start: int, end: int) -> bool:
    """Tell whether text[start:end] sits inside a URL, address or key=value pair."""
    left = re.search(r"\S*$", text[max(0, start - 200) : start])
    right = re.match(r"\S*", text[end : end + 200])
    word = (left.group() if left else "") + (right.group() if right else "")
    return any(mark in word for mark in ("://", "www.", "@", "="))


def _modifier(token: str, strong: bool) -> str | None:
    """Normalise a two-character modifier token, or None if it is not one.

    Numbers must be real modifier values; letters count when typed in upper
    case, or in lower case after the word "modifier" (strong) if they are a
    known modifier.
    """
    upper = token.upper()
    if upper.isdigit():
        return upper if upper in _NUMERIC_MODIFIERS else None
    if token.isupper() or (strong and upper in _KNOWN_LETTER_MODIFIERS):
        return upper
    return None


def _attached_modifiers(text: str, pos: int) -> Iterator[_Hit]:
    """Yield modifiers hyphenated onto a code ending at pos: 27447-59-LT, 99213-25/59."""
    pattern = _MOD_ATTACHED
    while match := pattern.match(text, pos):
        code = _modifier(match.group(1), strong=True)
        if code is None:
            return
        yield code, "modifier", match.start(1), match.end(1)
        pos, pattern = match.end(), _MOD_CHAINED


def _modifiers_after_word(text: str) -> Iterator[_Hit]:
    """Yield the modifier list after "modifier(s)"/"mod": "modifiers 59, 25 or XU"."""
    for word in _MOD_WORD.finditer(text):
        first = _MOD_FIRST.match(text, word.end())
        if first is None:
            continue
        spans = [first.span()]
        while nxt := _MOD_NEXT.match(text, spans[-1][1]):
            spans.append(nxt.span(1))
        yield from _modifier_spans(text, spans)


def _modifiers_before_word(text: str) -> Iterator[_Hit]:
    """Yield the modifiers named before the word: "the 25 modifier", "RT and LT modifiers"."""
    for match in _MOD_POSTFIX.finditer(text):
        tokens = _BARE_TOKEN.finditer(text, match.start(), match.end())
        spans = [t.span() for t in tokens if t.group().lower() not in _LIST_WORDS]
        yield from _modifier_spans(text, spans)


def _modifier_spans(text: str, spans: list[tuple[int, int]]) -> Iterator[_Hit]:
    for start, end in spans:
        code = _modifier(text[start:end], strong=True)
        if code is None:
            return  # a list ends at the first token that is not a modifier
        yield code, "modifier", start, end


def _dash_and_pair_modifiers(text: str) -> Iterator[_Hit]:
    """Yield free-standing "-RT" / "-59" and slash pairs of common modifiers ("RT/LT")."""
    for match in _MOD_DASH.finditer(text):
        code = _modifier(match.group(1), strong=False)
        if code is not None:
            yield code, "modifier", match.start(1), match.end(1)
    for match in _MOD_PAIR.finditer(text):
        first, second = match.group(1), match.group(2)
        if {first, second} <= _PAIR_MODIFIERS and not (first + second).isdigit():
            yield first, "modifier", match.start(1), match.end(1)
            yield second, "modifier", match.start(2), match.end(2)
