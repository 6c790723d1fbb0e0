"""Context rules every recogniser shares: the words around a code-shaped token
that make it an identifier, an amount or a dose instead (a claim number, a ZIP,
"$25000", "10000 units of heparin"), and the words that say which system an
ambiguous letter code is in ("dx M8616"). Pure.
"""

from __future__ import annotations

import re

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


def hint_before(text: str, start: int) -> str | None:
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


def is_identifier(text: str, start: int, end: int, numeric: bool) -> bool:
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
