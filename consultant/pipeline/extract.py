"""Extract: the text of a coding question in, the code references it makes out.

Finds CPT (including Category II/III and PLA), HCPCS Level II, ICD-10-CM and
ICD-10-PCS codes and modifiers, normalises each to its canonical spelling and
returns CodeRefs in order of appearance, one per distinct (system, code). The
endpoints of a range ("99202-99205", "99202 through 99205") are both returned
and flagged with the range; a stated quantity ("J1100 x 4", "3 units of
97110") is kept with its code for the MUE check.

Pure: no database, no network. The numbers around a question (ZIPs, phone
numbers, claim and reference numbers, amounts, doses, counts) are the main
source of false positives, so each candidate is checked against the few words
before and after it; when the code sets are loaded, a `Vocabulary` says which
numbers are real codes, and a five-digit number that is none needs a code word
("CPT", "bill", "code") near it to count.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from consultant.codes.systems import NO_VOCABULARY, CodeSystem, Vocabulary

if TYPE_CHECKING:
    from consultant.pipeline.parse import ParsedMessage


@dataclass(frozen=True, slots=True)
class CodeRef:
    code: str  # normalised: "99213", "0001F", "J1100", "M86.161", "0SRC0J9", "59", "LT"
    system: CodeSystem
    as_written: str  # exact substring of the input text
    start: int  # text[start:end] == as_written
    end: int
    quoted: bool = False
    part: str = "body"  # "subject" or "body": which text start/end point into
    range: str | None = None  # "99202-99205" on both endpoints of a range
    units: int | None = None  # a quantity stated with the code ("x 4", "3 units of")


# A candidate before normalisation: (code, system, start, end).
_Hit = tuple[str, CodeSystem, int, int]

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
# The number ranges HCPCS Level II uses under each letter (October 2025 file;
# new codes land inside these blocks). A letter + 4 digits outside them cannot
# be HCPCS, so when it has an ICD-10-CM category's shape it is an undotted
# diagnosis ("M5416", "K5730", "R0789"). Used when no HCPCS set is loaded.
_HCPCS_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "A": ((0, 999), (2000, 2999), (4000, 9999)),
    "B": ((4000, 5999), (9000, 9999)),
    "C": ((1000, 2999), (5000, 5999), (7000, 9999)),
    "E": ((0, 3999), (8000, 8999)),
    "G": ((0, 4999), (6000, 6999), (8000, 9999)),
    "H": ((0, 2099),),
    "J": ((0, 3999), (7000, 9999)),
    "K": ((0, 1099),),
    "L": ((0, 9999),),
    "M": ((0, 1499),),
    "P": ((2000, 3999), (7000, 7999), (9000, 9999)),
    "Q": ((0, 5999), (9000, 9999)),
    "R": ((70, 79),),
    "S": ((0, 5999), (8000, 9999)),
    "T": ((1000, 5999),),
    "U": ((0, 99),),
    "V": ((2000, 2999), (5000, 5999)),
}

# Words that make the next number an identifier, not a code ("claim #12345",
# "reason code 32440", "Suite 10000"). Matched against the text just before.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:claims?|invoice|inv|account|acct|npi|member|mbr|policy|ref|reference|ticket"
    r"|room|rm|suite|ste|apt|box|zip|zipcode|postal|phone|tel|telephone|fax|ext|extension"
    r"|mrn|icn|dcn|ptan|tin|ein|ssn|tax|id|uid|userid|pid|page|pg|section|group"
    r"|chapter|transmittal|lcd|ncd|article|mln|cr|rev|port|vitamin"
    r"|remark|rarcs?|carcs?|ndc|lot|serial|batch|confirmation|tracking"
    r"|(?:reason|revenue|rev|remark|adjustment|group|denial|error|zip|postal|area) codes?)"
    r"(?:\s*(?:#|no\.?|num(?:ber)?|id)\b)?(?:\s+(?:is|was|of))?|#)\s*[:#.-]?\s*$",
    re.IGNORECASE,
)
# "CPT #99213", "code # J1100": a number sign after a code word still means a code.
_CODE_HASH = re.compile(
    r"\b(?:cpt|hcpcs|codes?|procedures?|dx|icd-?10(?:-?cm)?)\s*[\u00ae]?\s*#\s*$", re.I
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
# Money ("$", "USD"), a decimal's tail ("1.25000"), a number's tail ("12-34567"),
# and a port after an address ("[127.0.0.1]:10025", "10.0.0.1:10025").
_MONEY_BEFORE = re.compile(
    r"(?:\$|\busd|\beur|\u20ac|\u00a3)\s*$|\d[.]$|\b\d{1,4}-$|[\d\]]:$", re.IGNORECASE
)
# Doses, money, durations and the like right after the number ("25000 mg", "10000-foot").
_UNIT_AFTER = re.compile(
    r"^(?:\.\d|-\d{3,4}(?![0-9A-Za-z])|\s*[%$]|[\s-]*(?:mg|mcg|gm?|ml|cc|iu|meq|mmol|kg|lbs?"
    r"|dollars|usd|cents|minutes|mins?|hours|hrs?|days|weeks|months|years|miles|feet|foot|ft"
    r"|patients|visits|claims|members|lives|beneficiaries|encounters|people|persons|residents"
    r"|providers|physicians|times|cases|steps|calories|pounds|rvus?|employees|students"
    r"|pages|items|records|rows|lines|bytes|words|copies)\b)",
    re.IGNORECASE,
)
# "Units" after a round number is a dose ("10000 units of heparin"); after a code
# it is a question about the code's units ("how many 97110 units").
_ROUND_UNITS_AFTER = re.compile(r"^\s*units?\b", re.IGNORECASE)

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
# Two modifiers joined by a slash are a modifier mention on their own ("RT/LT",
# "95/GT"); two numbers never are ("24/7", "50/50").
_PAIR_MODIFIERS = _NUMERIC_MODIFIERS | _KNOWN_LETTER_MODIFIERS

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


# Between the endpoints of a range: "99202-99205", "99202 through 99205", or an en dash.
_RANGE_JOIN = re.compile(
    r"\s*(?:[-\u2010-\u2015]|\bthrough\b|\bthru\b|\bto\b)\s*(?:codes?\s+|cpt\s+)?\Z",
    re.IGNORECASE,
)
# Between items of a list: "99213, 99214, and 99215", "99213/99214", "64483 & 64484".
_LIST_JOIN = re.compile(r"\s*(?:[,/&;+]|\band\b|\bor\b|\bvs\.?)[\s,]*(?:\b(?:and|or)\s+)?\Z", re.I)
# A quantity stated with a code, after it ("x 4", "x4", "X quantity of 4", "(4 units)")
# or before it ("3 units of 97110").
_UNITS_AFTER = re.compile(
    r"\s*(?:[xX\u00d7*]\s*(?:(?:a\s+)?(?:quantity|qty|quanity|units?)\s*(?:of\s*)?)?(\d{1,4})(?!\d)"
    r"|[,(]?\s*(\d{1,4})\s*units?\b)",
)
_UNITS_BEFORE = re.compile(r"\b(\d{1,4})\s*units?\s+(?:of\s+)?(?:(?:cpt|hcpcs|code)\s+)?\Z", re.I)
# Words that make a number a code even when no loaded code set knows it.
_CODE_WORD_BEFORE = re.compile(
    r"\b(?:cpt|hcpcs|codes?|coded|coding|bill(?:s|ed|ing)?|report(?:s|ed|ing)?|charg(?:e|es|ed|ing)"
    r"|procedures?|services?|submit(?:s|ted)?|append(?:s|ed)?|deleted|replaced)\b"
    r"[^.?!;\n]{0,30}\Z|[\u00ae]\s*\Z|\bunits?\s+of\s+\Z",
    re.IGNORECASE,
)
_CODE_WORD_AFTER = re.compile(
    r"[^.?!;\n]{0,40}?\b(?:bill(?:s|ed|ing|able)?|cod(?:e|es|ed|ing)|payable|paid|pays?|covered"
    r"|reimburs\w*|modifiers?|mod|units?|denied|deny|denies|rvus?|global|bundled?|report(?:ed)?)\b",
    re.IGNORECASE,
)


def find_codes(
    text: str,
    quoted: int | Sequence[tuple[int, int]] | None = None,
    vocabulary: Vocabulary = NO_VOCABULARY,
    part: str = "body",
) -> list[CodeRef]:
    """Find code references in text, in order of appearance, de-duplicated by (system, code).

    `quoted` is where quoted history starts (an offset) or its [start, end)
    spans; hits inside are marked quoted=True. Of several occurrences of one
    code the first in the sender's own text is kept, else the first quoted.
    """
    spans = [(quoted, len(text))] if isinstance(quoted, int) else list(quoted or ())
    ordered = sorted(set(_all_hits(text, vocabulary)), key=lambda hit: (hit[2], hit[3], hit[1]))
    hits = _accepted(text, ordered, vocabulary)
    ranges = _ranges(text, hits)
    kept: dict[tuple[str, str], CodeRef] = {}
    for hit in hits:
        code, system, start, end = hit
        in_quote = any(low <= start < high for low, high in spans)
        earlier = kept.get((system, code))
        if earlier is None or (earlier.quoted and not in_quote):
            units = earlier.units if earlier is not None else None
            kept[(system, code)] = CodeRef(
                code,
                system,
                text[start:end],
                start,
                end,
                in_quote,
                part,
                ranges.get(hit),
                _units(text, start, end, system) or units,
            )
        elif earlier.units is None and (units := _units(text, start, end, system)):
            kept[(system, code)] = replace(earlier, units=units)
    return sorted(kept.values(), key=lambda ref: (ref.start, ref.end))


def extract_message(parsed: ParsedMessage, vocabulary: Vocabulary = NO_VOCABULARY) -> list[CodeRef]:
    """The codes of a mail: its Subject, then its text with the signature blanked.

    Offsets point into the part named by each CodeRef's `part`. A code in both
    the subject and the text is reported once, from the subject.
    """
    text = parsed.text
    if parsed.split.signature:
        # Phone numbers and addresses in a signature are never codes.
        start, end = parsed.split.signature
        text = text[:start] + " " * (end - start) + text[end:]
    refs = find_codes(parsed.subject, vocabulary=vocabulary, part="subject")
    seen = {(ref.system, ref.code) for ref in refs}
    body = find_codes(text, parsed.split.quoted, vocabulary)
    return refs + [ref for ref in body if (ref.system, ref.code) not in seen]


def _all_hits(text: str, vocabulary: Vocabulary) -> Iterator[_Hit]:
    yield from _cpt_hits(text)
    yield from _letter_hits(text, vocabulary)
    yield from _pcs_hits(text)
    yield from _modifiers_after_word(text)
    yield from _modifiers_before_word(text)
    yield from _dash_and_pair_modifiers(text)


def _accepted(text: str, hits: list[_Hit], vocabulary: Vocabulary) -> list[_Hit]:
    """Drop five-digit numbers no loaded set knows, unless context says they are codes.

    Context is a code word in the clause around it ("CPT 96460", "billed
    15000", "is 98016 payable"), a modifier hyphenated on, or a list or range
    shared with a known code.
    """
    if vocabulary.cpt is None:
        return hits
    doubtful = {
        hit
        for hit in hits
        if hit[1] == CodeSystem.CPT and hit[0].isdigit() and hit[0] not in vocabulary.cpt
    }
    if not doubtful:
        return hits
    vouched: set[_Hit] = set()
    for index, hit in enumerate(hits):
        if hit not in doubtful:
            continue
        _, _, start, end = hit
        if (
            _CODE_WORD_BEFORE.search(text, max(0, start - 60), start)
            or _CODE_WORD_AFTER.match(text, end)
            or _MOD_ATTACHED.match(text, end)
        ):
            vouched.add(hit)
            continue
        neighbours = hits[max(0, index - 1) : index] + hits[index + 1 : index + 2]
        for other in neighbours:
            if other in doubtful or other[1] not in (CodeSystem.CPT, CodeSystem.HCPCS):
                continue
            low, high = sorted((other, hit), key=lambda h: h[2])
            between = text[low[3] : high[2]]
            if _LIST_JOIN.match(between) or _RANGE_JOIN.match(between):
                vouched.add(hit)
    return [hit for hit in hits if hit not in doubtful or hit in vouched]


def _ranges(text: str, hits: list[_Hit]) -> dict[_Hit, str]:
    """Flag both endpoints of every range: {hit: "99202-99205"}."""
    found: dict[_Hit, str] = {}
    procedures = [
        hit for hit in hits if hit[1] in (CodeSystem.CPT, CodeSystem.HCPCS, CodeSystem.ICD10CM)
    ]
    for low, high in itertools.pairwise(procedures):
        if low[1] != high[1] or not _RANGE_JOIN.match(text[low[3] : high[2]]):
            continue
        if len(low[0]) != len(high[0]) or low[0] >= high[0]:
            continue  # "99213-99212" is two codes, not a range
        found[low] = found[high] = f"{low[0]}-{high[0]}"
    return found


def _units(text: str, start: int, end: int, system: str) -> int | None:
    """The quantity stated with the procedure code at text[start:end], if any."""
    if system not in (CodeSystem.CPT, CodeSystem.HCPCS):
        return None
    after = _UNITS_AFTER.match(text, end)
    if after:
        value = after.group(1) or after.group(2)
        return int(value) if int(value) > 0 else None
    before = _UNITS_BEFORE.search(text, max(0, start - 30), start)
    if before and before.end() == start:
        return int(before.group(1)) or None
    return None


def _cpt_hits(text: str) -> Iterator[_Hit]:
    refused_end = -1  # where the last number refused as an identifier ended
    for match in _CPT.finditer(text):
        code = match.group().upper()
        if code.isdigit() and not ("00100" <= code < "02000" or code >= "10000"):
            continue  # numeric CPT is anesthesia (00100-01999) or 10000 and up
        if code[4] in "TU" and code[0] != "0":
            continue  # Category III and PLA codes all start with 0
        between = text[refused_end : match.start()].strip() if refused_end >= 0 else "?"
        joined = between in ("-", "/", ".")
        if joined or _is_identifier(text, match.start(), match.end(), numeric=True):
            refused_end = match.end()  # "claim 12345-67890": the second half goes too
            continue
        yield code, CodeSystem.CPT, match.start(), match.end()
        yield from _attached_modifiers(text, match.end())


def _letter_hits(text: str, vocabulary: Vocabulary) -> Iterator[_Hit]:
    for match in _LETTER_CODE.finditer(text):
        token, start = match.group(), match.start()
        units = _UNIT_SUFFIX.fullmatch(token)
        if units:
            token = units.group(1)
        end = start + len(token)
        found = _classify_letter_code(token, _hint_before(text, start), vocabulary)
        if found is None or _is_identifier(text, start, end, numeric=False):
            continue
        yield found[0], found[1], start, end
        if found[1] == CodeSystem.HCPCS:
            yield from _attached_modifiers(text, end)


# ICD-10-PCS: seven characters of 0-9 and A-Z without I and O. The first is the
# section (0-9, B, C, D, F, G, H, X).
_PCS = re.compile(
    r"(?<![A-Za-z0-9.\\/-])[0-9BCDFGHXbcdfghx][0-9A-HJ-NP-Za-hj-np-z]{6}(?![A-Za-z0-9]|[.-][A-Za-z0-9])"
)
_PCS_HINT = re.compile(r"\b(?:pcs|icd-?10-?pcs|inpatient procedure|procedure codes?)\b", re.I)


def _pcs_hits(text: str) -> Iterator[_Hit]:
    for match in _PCS.finditer(text):
        token, start, end = match.group(), match.start(), match.end()
        upper = token.upper()
        if not any(c.isdigit() for c in upper) or not any(c.isalpha() for c in upper):
            continue
        if upper[0].isalpha() and _undotted_icd(upper, None) is not None:
            continue  # a seven-character ICD-10-CM code written without its dot
        if upper[0].isalpha() and upper[1].isalpha() and upper[2].isalpha():
            continue  # words and acronyms: "BCDFGHX" shapes are not worth the risk
        if token != upper and not _PCS_HINT.search(text, max(0, start - 60), start):
            continue  # lower case only after "PCS"
        if _is_identifier(text, start, end, numeric=False):
            continue
        yield upper, CodeSystem.ICD10PCS, start, end


def _classify_letter_code(
    token: str, hint: str | None, vocabulary: Vocabulary = NO_VOCABULARY
) -> tuple[str, CodeSystem] | None:
    """Say which system a letter-first token belongs to, or None for neither."""
    upper = token.upper()
    if hint == "icd9":
        return None
    if "." in upper:
        return _icd(upper) if _ICD_DOTTED.fullmatch(upper) else None
    if len(upper) == 5 and upper[1:].isdigit():
        return _letter_and_four_digits(upper, hint, vocabulary, token[0].isupper())
    return _undotted_icd(token, hint)


def _letter_and_four_digits(
    upper: str, hint: str | None, vocabulary: Vocabulary, typed_upper: bool
) -> tuple[str, CodeSystem] | None:
    """HCPCS Level II's exact shape, also an undotted ICD-10-CM code's: decide which.

    "dx" before it makes it a diagnosis. Otherwise the loaded sets decide when
    they know it; else a letter HCPCS never uses, or a number outside the
    blocks HCPCS uses under that letter, makes it a diagnosis when typed in
    upper case.
    """
    icd = _icd(upper)
    if hint == "icd" and icd is not None:
        return icd
    in_hcpcs = vocabulary.knows(CodeSystem.HCPCS, upper)
    in_icd = vocabulary.knows(CodeSystem.ICD10CM, icd[0]) if icd is not None else False
    if in_hcpcs:
        return upper, CodeSystem.HCPCS
    if in_icd and icd is not None:
        return icd
    if in_hcpcs is None and upper[0] in _HCPCS_LETTERS:
        number = int(upper[1:])
        blocks = _HCPCS_BLOCKS.get(upper[0], ((0, 9999),))
        if any(low <= number <= high for low, high in blocks) or icd is None:
            return upper, CodeSystem.HCPCS
        return icd if typed_upper else None  # "p0120" in a log line is no diagnosis
    if upper[0] not in _HCPCS_LETTERS:
        return icd
    # Both sets loaded (or HCPCS loaded) and neither knows it: as the asker wrote it,
    # the shape HCPCS writes without a dot.
    return upper, CodeSystem.HCPCS


def _undotted_icd(token: str, hint: str | None) -> tuple[str, CodeSystem] | None:
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


def _icd(upper: str) -> tuple[str, CodeSystem] | None:
    """Normalise an ICD-10-CM code to its dotted form, or None if it cannot be one."""
    category, rest = upper[:3], upper[3:].lstrip(".")
    if not category[2].isdigit() and category not in _LETTER_CATEGORIES:
        return None
    if category[0] == "V" and len(rest) in (1, 2):
        # ICD-9 supplementary codes (V04.89, V06.1) share this shape; ICD-10-CM
        # V codes are transport accidents, which need all seven characters.
        return None
    return (f"{category}.{rest}" if rest else category), CodeSystem.ICD10CM


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
    if _in_link(text, start, end):
        return True
    if _REFERENCE_BEFORE.search(before) and not _CODE_HASH.search(before):
        return True
    if not numeric:
        # "J3301 units" is a question about the code, so units only rule out numbers.
        return False
    after = text[end : end + 60]
    return bool(
        _ZIP_BEFORE.search(before)
        or _MONEY_BEFORE.search(before)
        or _UNIT_AFTER.match(after)
        or (text[end - 2 : end] == "00" and _ROUND_UNITS_AFTER.match(after) is not None)
        or _STREET_AFTER.match(after)
    )


def _in_link(text: str, start: int, end: int) -> bool:
    """Tell whether text[start:end] sits inside a URL, address or key=value pair."""
    before = text[max(0, start - 200) : start]
    after = text[end : end + 200]
    left = before.split()[-1] if before and not before[-1].isspace() else ""
    right = after.split(maxsplit=1)[0] if after and not after[0].isspace() else ""
    word = left + right
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


_MOD_SPACED = re.compile(r"[ \t]([A-Z]{2})(?![A-Za-z0-9])")


def _attached_modifiers(text: str, pos: int) -> Iterator[_Hit]:
    """Yield modifiers on a code ending at pos: 27447-59-LT, 99213-25/59, "64483 LT and RT".

    A modifier after a space counts only when it is a known letter modifier
    typed in upper case ("27447 RT"); "99214 25" stays two numbers.
    """
    spaced = _MOD_SPACED.match(text, pos)
    if spaced and spaced.group(1) in _KNOWN_LETTER_MODIFIERS:
        spans = [spaced.span(1)]
        while (nxt := _MOD_NEXT.match(text, spans[-1][1])) and nxt.group(1).isupper():
            if nxt.group(1) not in _KNOWN_LETTER_MODIFIERS:
                break
            spans.append(nxt.span(1))
        yield from _modifier_spans(text, spans)
        return
    pattern = _MOD_ATTACHED
    while match := pattern.match(text, pos):
        code = _modifier(match.group(1), strong=True)
        if code is None:
            return
        yield code, CodeSystem.MODIFIER, match.start(1), match.end(1)
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
        yield code, CodeSystem.MODIFIER, start, end


def _dash_and_pair_modifiers(text: str) -> Iterator[_Hit]:
    """Yield free-standing "-RT" / "-59" and slash pairs of common modifiers ("RT/LT")."""
    for match in _MOD_DASH.finditer(text):
        code = _modifier(match.group(1), strong=False)
        if code is not None:
            yield code, CodeSystem.MODIFIER, match.start(1), match.end(1)
    for match in _MOD_PAIR.finditer(text):
        first, second = match.group(1), match.group(2)
        if {first, second} <= _PAIR_MODIFIERS and not (first + second).isdigit():
            yield first, CodeSystem.MODIFIER, match.start(1), match.end(1)
            yield second, CodeSystem.MODIFIER, match.start(2), match.end(2)
