"""HCPCS Level II, and the letter-first tokens it shares with ICD-10-CM.

A letter and four digits is HCPCS's exact shape and also an undotted
ICD-10-CM code's; the words before it, the loaded code sets, and the number
blocks HCPCS uses under each letter decide which. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from consultant.codes.kinds import ADDON, HCPCS, MUE, NCCI_PTP, PFS
from consultant.codes.systems.base import NO_VOCABULARY, CodeSystem, Hit, System, Vocabulary
from consultant.codes.systems.icd10cm import ICD_DOTTED, normalise, undotted
from consultant.codes.systems.modifier import attached
from consultant.codes.systems.text import hint_before, is_identifier

# A letter, a digit, then anything alphanumeric, with an optional dotted tail:
# the shape shared by HCPCS Level II and ICD-10-CM. Classified in Python.
_LETTER_CODE = re.compile(
    r"(?<![A-Za-z0-9\\])[A-Za-z]\d[0-9A-Za-z]*(?:\.[0-9A-Za-z]+)?(?![0-9A-Za-z]|\.[0-9A-Za-z])"
)
_UNIT_SUFFIX = re.compile(r"([A-Za-z]\d{4})[xX]\d{1,3}")
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


def recognise(text: str, vocabulary: Vocabulary) -> Iterator[Hit]:
    for match in _LETTER_CODE.finditer(text):
        token, start = match.group(), match.start()
        units = _UNIT_SUFFIX.fullmatch(token)
        if units:
            token = units.group(1)
        end = start + len(token)
        found = classify(token, hint_before(text, start), vocabulary)
        if found is None or is_identifier(text, start, end, numeric=False):
            continue
        yield found[0], found[1], start, end
        if found[1] == CodeSystem.HCPCS:
            yield from attached(text, end)


def classify(
    token: str, hint: str | None, vocabulary: Vocabulary = NO_VOCABULARY
) -> tuple[str, CodeSystem] | None:
    """Say which system a letter-first token belongs to, or None for neither."""
    upper = token.upper()
    if hint == "icd9":
        return None
    if "." in upper:
        return normalise(upper) if ICD_DOTTED.fullmatch(upper) else None
    if len(upper) == 5 and upper[1:].isdigit():
        return _letter_and_four_digits(upper, hint, vocabulary, token[0].isupper())
    return undotted(token, hint)


def _letter_and_four_digits(
    upper: str, hint: str | None, vocabulary: Vocabulary, typed_upper: bool
) -> tuple[str, CodeSystem] | None:
    """HCPCS Level II's exact shape, also an undotted ICD-10-CM code's: decide which.

    "dx" before it makes it a diagnosis. Otherwise the loaded sets decide when
    they know it; else a letter HCPCS never uses, or a number outside the
    blocks HCPCS uses under that letter, makes it a diagnosis when typed in
    upper case.
    """
    icd = normalise(upper)
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


# HCPCS has no shape of its own for a code typed alone: "J1100" has an
# ICD-10-CM category's, and the extractor has decided such tokens before.
SYSTEM = System(
    CodeSystem.HCPCS,
    name="HCPCS Level II",
    label="HCPCS Level II",
    release_kinds=(HCPCS, PFS, MUE, ADDON, NCCI_PTP),
    recognise=recognise,  # HCPCS Level II (with attached modifiers) and ICD-10-CM
    procedure=True,
    ranges=True,
)
