"""ICD-10-PCS: seven characters of 0-9 and A-Z without I and O (inpatient
procedures). Found by shape and context; looked up in the ICD-10-PCS set when
it is loaded (consultant.codes.icd10pcs). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from consultant.codes.facts import CONSULTANT, Fact, Source
from consultant.codes.kinds import ICD10PCS
from consultant.codes.systems.base import CodeSystem, Hit, System, Vocabulary
from consultant.codes.systems.icd10cm import undotted
from consultant.codes.systems.text import is_identifier

# ICD-10-PCS: seven characters of 0-9 and A-Z without I and O. The first is the
# section (0-9, B, C, D, F, G, H, X).
_PCS = re.compile(
    r"(?<![A-Za-z0-9.\\/-])[0-9BCDFGHXbcdfghx][0-9A-HJ-NP-Za-hj-np-z]{6}(?![A-Za-z0-9]|[.-][A-Za-z0-9])"
)
_TYPED = re.compile(r"[0-9A-HJ-NP-Z]{7}")  # a code typed on its own, upper-cased
_PCS_HINT = re.compile(r"\b(?:pcs|icd-?10-?pcs|inpatient procedure|procedure codes?)\b", re.I)


def recognise(text: str, vocabulary: Vocabulary | None = None) -> Iterator[Hit]:
    """ICD-10-PCS codes in text.

    `vocabulary` is not read: the shape and the words around decide.
    """
    for match in _PCS.finditer(text):
        token, start, end = match.group(), match.start(), match.end()
        upper = token.upper()
        if not any(c.isdigit() for c in upper) or not any(c.isalpha() for c in upper):
            continue
        if upper[0].isalpha() and undotted(upper, None) is not None:
            continue  # a seven-character ICD-10-CM code written without its dot
        if upper[0].isalpha() and upper[1].isalpha() and upper[2].isalpha():
            continue  # words and acronyms: "BCDFGHX" shapes are not worth the risk
        if token != upper and not _PCS_HINT.search(text, max(0, start - 60), start):
            continue  # lower case only after "PCS"
        if is_identifier(text, start, end, numeric=False):
            continue
        yield upper, CodeSystem.ICD10PCS, start, end


def by_shape(token: str) -> str | None:
    return token if _TYPED.fullmatch(token) else None


SYSTEM = System(
    CodeSystem.ICD10PCS,
    name="ICD-10-PCS",
    label="ICD-10-PCS",
    release_kinds=(ICD10PCS,),
    recognise=recognise,
    by_shape=by_shape,
    unchecked=Fact(
        "status",
        "unchecked: no ICD-10-PCS code set is loaded to look it up in",
        Source(CONSULTANT, "ICD-10-PCS is not loaded"),
    ),
)
