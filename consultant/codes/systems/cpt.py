"""CPT: five digits (anesthesia 00100-01999, and 10000 up), or four digits and
F, T or U (Category II, Category III, PLA), with the modifiers attached to it.
Numbers only: CPT descriptors are the AMA's and never part of consultant. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from consultant.codes.kinds import ADDON, CPT_DESCRIPTORS, MUE, NCCI_PTP, PFS
from consultant.codes.systems.base import CodeSystem, Hit, System, Vocabulary
from consultant.codes.systems.modifier import attached
from consultant.codes.systems.text import is_identifier

# Five digits, or four digits and the Category II/III or PLA letter. A trailing
# "x2" is a unit count ("99213x2"), so it does not glue the number to a word.
# A CPT code typed on its own, upper-cased: the same two shapes.
SHAPE = re.compile(r"\d{5}|\d{4}[FTU]")
_CPT = re.compile(r"(?<![A-Za-z0-9])(?:\d{5}|\d{4}[FfTtUu])(?=[xX]\d|[^A-Za-z0-9]|$)")


def recognise(text: str, vocabulary: Vocabulary | None = None) -> Iterator[Hit]:
    """CPT codes in text, each followed by the modifiers attached to it.

    `vocabulary` is not read: the shape and the words around decide.
    """
    refused_end = -1  # where the last number refused as an identifier ended
    for match in _CPT.finditer(text):
        code = match.group().upper()
        if code.isdigit() and not ("00100" <= code < "02000" or code >= "10000"):
            continue  # numeric CPT is anesthesia (00100-01999) or 10000 and up
        if code[4] in "TU" and code[0] != "0":
            continue  # Category III and PLA codes all start with 0
        between = text[refused_end : match.start()].strip() if refused_end >= 0 else "?"
        joined = between in ("-", "/", ".")
        if joined or is_identifier(text, match.start(), match.end(), numeric=True):
            refused_end = match.end()  # "claim 12345-67890": the second half goes too
            continue
        yield code, CodeSystem.CPT, match.start(), match.end()
        yield from attached(text, match.end())


def doubtful(code: str, vocabulary: Vocabulary) -> bool:
    """A five-digit number the loaded sets do not know needs a code word near it.

    Plain numbers are everywhere in mail; the shape alone lets too many through
    once the sets are there to say which numbers are codes.
    """
    return code.isdigit() and vocabulary.knows(CodeSystem.CPT, code) is False


def by_shape(token: str) -> str | None:
    return token if SHAPE.fullmatch(token) else None


SYSTEM = System(
    CodeSystem.CPT,
    name="CPT",
    label="CPT",
    release_kinds=(CPT_DESCRIPTORS, PFS, MUE, ADDON, NCCI_PTP),
    recognise=recognise,  # and the modifiers attached to a CPT code
    by_shape=by_shape,
    procedure=True,
    ranges=True,
    doubtful=doubtful,
)
