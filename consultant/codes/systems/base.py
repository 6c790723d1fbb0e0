"""The code systems a question can name, and what the loaded code sets know of them.

`CodeSystem` is the closed list (its values are what the database and the JSON
outputs have always held, so a member compares equal to its string).
`Vocabulary` is the extractor's view of the loaded releases: which strings are
real codes, per system; `consultant.codes.vocabulary` builds it from the
database. Pure: no database, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CodeSystem(StrEnum):
    CPT = "cpt"  # CPT, Category II/III and PLA codes (numbers only: descriptors are AMA's)
    HCPCS = "hcpcs"  # HCPCS Level II
    ICD10CM = "icd10cm"
    ICD10PCS = "icd10pcs"
    MODIFIER = "modifier"  # CPT and HCPCS modifiers


SYSTEMS: tuple[CodeSystem, ...] = tuple(CodeSystem)
# How people name each system, in running text ("59 (modifier)") and as a label
# in a list of codes, where a capital reads better ("59  Modifier").
NAMES: dict[str, str] = {
    CodeSystem.CPT: "CPT",
    CodeSystem.HCPCS: "HCPCS Level II",
    CodeSystem.ICD10CM: "ICD-10-CM",
    CodeSystem.ICD10PCS: "ICD-10-PCS",
    CodeSystem.MODIFIER: "modifier",
}
LABELS: dict[str, str] = {**NAMES, CodeSystem.MODIFIER: "Modifier"}
# The systems a procedure is coded in, and those the loaded sets can confirm.
PROCEDURES = (CodeSystem.CPT, CodeSystem.HCPCS)
_VOCABULARY_SYSTEMS = (CodeSystem.CPT, CodeSystem.HCPCS, CodeSystem.ICD10CM)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The codes the loaded code sets know, per system; None where a set is not loaded.

    `cpt` holds the CPT numbers the CMS edit and fee files name (they list CPT
    numbers without descriptors), `hcpcs` the Level II codes and modifiers,
    `icd10cm` every tabular code with its dot.
    """

    cpt: frozenset[str] | None = None
    hcpcs: frozenset[str] | None = None
    icd10cm: frozenset[str] | None = None

    def knows(self, system: str, code: str) -> bool | None:
        """True or False when the system's set is loaded, None when it is not."""
        known = getattr(self, system, None) if system in _VOCABULARY_SYSTEMS else None
        return None if known is None else code in known


NO_VOCABULARY = Vocabulary()

# A code found in text before the extractor's context rules: (code, system, start, end).
Hit = tuple[str, CodeSystem, int, int]
