"""The code systems a question can name: the closed list, what the loaded code sets
know of them, and the registry of their recognisers.

`CodeSystem` is the closed list (its values are what the database and the JSON
outputs have always held, so a member compares equal to its string).
`Vocabulary` is the extractor's view of the loaded releases: which strings are
real codes, per system; `consultant.codes.vocabulary` builds it from the
database. Each system's module says how it is recognised in text; the
extractor (consultant/pipeline/extract.py) runs every recogniser in
RECOGNISERS and applies the context rules they share. Pure: no database, no
network.

A new code system is a module here with its recogniser, an entry in
CodeSystem, NAMES and RECOGNISERS, and, if it has tables, a model and a
migration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from consultant.codes.systems import cpt, hcpcs, icd10pcs, modifier
from consultant.codes.systems.base import (
    LABELS,
    NAMES,
    NO_VOCABULARY,
    PROCEDURES,
    SYSTEMS,
    CodeSystem,
    Hit,
    Vocabulary,
)

__all__ = [
    "LABELS",
    "NAMES",
    "NO_VOCABULARY",
    "PROCEDURES",
    "RECOGNISERS",
    "SYSTEMS",
    "CodeSystem",
    "Hit",
    "Vocabulary",
]

Recogniser = Callable[[str, Vocabulary], Iterator[Hit]]

# Every recogniser, with the systems it yields. HCPCS's also yields ICD-10-CM:
# the two share the letter-and-digits shape and are told apart in one place.
RECOGNISERS: tuple[Recogniser, ...] = (
    cpt.recognise,  # CPT, and modifiers attached to it
    hcpcs.recognise,  # HCPCS Level II (with attached modifiers) and ICD-10-CM
    icd10pcs.recognise,
    modifier.recognise,  # modifiers on their own
)
