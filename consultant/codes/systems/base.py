"""The code systems a question can name, what the loaded code sets know of them,
and the shape of a system's entry in the registry.

`CodeSystem` is the closed list (its values are what the database and the JSON
outputs have always held, so a member compares equal to its string).
`Vocabulary` is the extractor's view of the loaded releases: which strings are
real codes, per system; `consultant.codes.vocabulary` builds it from the
database. `System` is what one system's module says about it, so that the
extractor and the lookup stage ask the registry instead of naming systems.
Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from consultant.codes.facts import Fact


class CodeSystem(StrEnum):
    CPT = "cpt"  # CPT, Category II/III and PLA codes (numbers only: descriptors are AMA's)
    HCPCS = "hcpcs"  # HCPCS Level II
    ICD10CM = "icd10cm"
    ICD10PCS = "icd10pcs"
    MODIFIER = "modifier"  # CPT and HCPCS modifiers


SYSTEMS: tuple[CodeSystem, ...] = tuple(CodeSystem)


class Vocabulary:
    """The codes the loaded code sets know, per system; a system whose set is not
    loaded has none (and `knows` answers None for it).

    Keyed by system: `Vocabulary(cpt=frozenset(...), icd10cm=...)`, or a mapping
    from system to codes. consultant.codes.vocabulary reads each system's set
    from the newest releases (today: the CPT numbers the CMS edit and fee files
    name, HCPCS Level II codes and modifiers, every ICD-10-CM tabular code).
    """

    __slots__ = ("_known",)

    def __init__(
        self,
        known: Mapping[str, frozenset[str] | None] | None = None,
        **sets: frozenset[str] | None,
    ) -> None:
        merged = {**(known or {}), **sets}
        self._known = {system: codes for system, codes in merged.items() if codes is not None}

    def knows(self, system: str, code: str) -> bool | None:
        """True or False when the system's set is loaded, None when it is not."""
        known = self._known.get(system)
        return None if known is None else code in known

    def codes(self, system: str) -> frozenset[str] | None:
        """The system's loaded set, None when it is not loaded."""
        return self._known.get(system)


NO_VOCABULARY = Vocabulary()

# A code found in text before the extractor's context rules: (code, system, start, end).
Hit = tuple[str, CodeSystem, int, int]
# Finds a system's codes in text (some recognisers yield more than one system).
Recogniser = Callable[[str, Vocabulary], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class System:
    """One code system as the registry knows it: its names and its rules.

    The flags say which of the extractor's shared rules apply to the system's
    codes; the lookup stage reads `release_kinds` and `unchecked`. Which
    tables answer for the codes is consultant.codes.providers' business, since
    that needs a database.
    """

    code_system: CodeSystem
    name: str  # in running text: "59 (modifier)"
    label: str  # in a list of codes, where a capital reads better: "59  Modifier"
    # The release kinds its facts come from, named when they are not loaded.
    release_kinds: tuple[str, ...]
    # Finds its codes in text; None when another system's recogniser finds them.
    recognise: Recogniser | None
    # Reads a code typed on its own ("E119"), normalised, or None if not its shape.
    # The registry's order is the order of asking.
    by_shape: Callable[[str], str | None] | None = None
    # A procedure code: a quantity stated with it counts ("J1100 x 4"), and a
    # known one vouches for an unknown neighbour in a list.
    procedure: bool = False
    # Two of its codes joined by "-" or "through" are a range.
    ranges: bool = False
    # Says a hit the loaded sets do not know needs a code word near it to count.
    doubtful: Callable[[str, Vocabulary], bool] | None = None
    # The status fact when nothing loaded answers for it (None: "no … release is loaded").
    unchecked: Fact | None = None
