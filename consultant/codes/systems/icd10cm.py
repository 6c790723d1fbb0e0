"""ICD-10-CM: the shape of a diagnosis code, dotted ("M86.161") or not
("M86161"), normalised to its dotted form. Letter-first tokens are found by
the HCPCS recogniser, which shares their shape and decides between the two. Pure.
"""

from __future__ import annotations

import re

from consultant.codes.kinds import ICD10CM
from consultant.codes.systems.base import CodeSystem, System

ICD_DOTTED = re.compile(r"[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}")
# A code typed on its own, upper-cased, with or without its dot ("E119", "E11.9").
_TYPED = re.compile(r"[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
_ICD_UNDOTTED = re.compile(r"[A-Z]\d[0-9A-Z]{1,5}")
# ICD-10-CM categories whose third character is a letter; every other category
# has a digit there, which keeps "F2F", "A1C" and "H1N1" out.
_LETTER_CATEGORIES = frozenset({"C4A", "C7A", "C7B", "D3A", "M1A", "O9A", "Z3A"})


def undotted(token: str, hint: str | None) -> tuple[str, CodeSystem] | None:
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
    return normalise(upper)


def normalise(upper: str) -> tuple[str, CodeSystem] | None:
    """Normalise an ICD-10-CM code to its dotted form, or None if it cannot be one."""
    category, rest = upper[:3], upper[3:].lstrip(".")
    if not category[2].isdigit() and category not in _LETTER_CATEGORIES:
        return None
    if category[0] == "V" and len(rest) in (1, 2):
        # ICD-9 supplementary codes (V04.89, V06.1) share this shape; ICD-10-CM
        # V codes are transport accidents, which need all seven characters.
        return None
    return (f"{category}.{rest}" if rest else category), CodeSystem.ICD10CM


def by_shape(token: str) -> str | None:
    """A diagnosis typed on its own, in its dotted form ("E119" is "E11.9")."""
    if not _TYPED.fullmatch(token):
        return None
    plain = token.replace(".", "")
    return plain[:3] + "." + plain[3:] if len(plain) > 3 else plain


SYSTEM = System(
    CodeSystem.ICD10CM,
    name="ICD-10-CM",
    label="ICD-10-CM",
    release_kinds=(ICD10CM,),
    recognise=None,  # found by HCPCS's recogniser, which shares the letter-first shape
    by_shape=by_shape,  # asked before ICD-10-PCS, whose shape "B2111ZZ" also fits
    ranges=True,
)
