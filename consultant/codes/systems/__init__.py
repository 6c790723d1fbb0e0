"""The code systems a question can name: the closed list, what the loaded code sets
know of them, and the registry of what each system's module says about it.

`CodeSystem` is the closed list (its values are what the database and the JSON
outputs have always held, so a member compares equal to its string).
`Vocabulary` is the extractor's view of the loaded releases: which strings are
real codes, per system; `consultant.codes.vocabulary` builds it from the
database. Each system's module declares a `System`: its names, the release
kinds its facts come from, its recogniser and shape, and the extractor's rules
that apply to it. `REGISTRY` holds them; the extractor
(consultant/pipeline/extract.py) and the lookup stage (consultant/pipeline/lookup.py)
read it and name no system themselves. Pure: no database, no network.

A new code system is a member of CodeSystem, a module here declaring its
`SYSTEM`, and its entry below; if it has tables, also a model, a migration, an
importer format (consultant.codes.importers.FORMATS) and a facts provider
(consultant.codes.providers.PROVIDERS).
"""

from __future__ import annotations

from consultant.codes.systems import cpt, hcpcs, icd10cm, icd10pcs, modifier
from consultant.codes.systems.base import (
    NO_VOCABULARY,
    SYSTEMS,
    CodeSystem,
    Hit,
    Recogniser,
    System,
    Vocabulary,
)

__all__ = [
    "LABELS",
    "NAMES",
    "NO_VOCABULARY",
    "PROCEDURES",
    "REGISTRY",
    "SYSTEMS",
    "CodeSystem",
    "Hit",
    "Recogniser",
    "System",
    "Vocabulary",
]

# Every system, keyed by its CodeSystem value, in the order a typed code's shape
# is asked (consultant.pipeline.lookup.parse_codes).
REGISTRY: dict[str, System] = {
    system.code_system: system
    for system in (cpt.SYSTEM, hcpcs.SYSTEM, icd10cm.SYSTEM, icd10pcs.SYSTEM, modifier.SYSTEM)
}
# How people name each system, in running text ("59 (modifier)") and as a label
# in a list of codes, where a capital reads better ("59  Modifier").
NAMES: dict[str, str] = {key: system.name for key, system in REGISTRY.items()}
LABELS: dict[str, str] = {key: system.label for key, system in REGISTRY.items()}
# The systems a procedure is coded in.
PROCEDURES = tuple(system.code_system for system in REGISTRY.values() if system.procedure)
