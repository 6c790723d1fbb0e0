"""The code systems are a registry: each system's module declares what it is, the
extractor and the lookup stage read the registry, and a system added to it is
found in text and looked up with no edit to either stage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest

from consultant.codes import providers
from consultant.codes.facts import VALID, CodeFacts, Fact, Source
from consultant.codes.kinds import KIND_NAMES, RELEASE_KINDS
from consultant.codes.providers import PROVIDERS, Asked, Found, Provider
from consultant.codes.systems import (
    LABELS,
    NAMES,
    REGISTRY,
    CodeSystem,
    Hit,
    System,
    Vocabulary,
)
from consultant.db.session import session_scope
from consultant.pipeline import lookup
from consultant.pipeline.extract import find_codes
from consultant.pipeline.lookup import look_up, parse_codes, render_text
from consultant.settings import Settings

# One code of each system, as a coder writes it in a question.
SAMPLES = {
    CodeSystem.CPT: ("Can I bill CPT 27447 today?", "27447"),
    CodeSystem.HCPCS: ("Is J1100 x 4 billable?", "J1100"),
    CodeSystem.ICD10CM: ("Dx M86.161 on the claim", "M86.161"),
    CodeSystem.ICD10PCS: ("ICD-10-PCS 0SRC0J9 for the knee", "0SRC0J9"),
    CodeSystem.MODIFIER: ("Does modifier 59 apply?", "59"),
}


def test_every_code_system_has_a_registry_entry_in_the_order_of_the_enum() -> None:
    assert list(REGISTRY) == list(CodeSystem)
    for key, system in REGISTRY.items():
        assert system.code_system == key
        assert system.name and system.label and system.release_kinds, key
        assert NAMES[key] == system.name and LABELS[key] == system.label


@pytest.mark.parametrize("code_system", list(CodeSystem))
def test_every_code_system_is_found_in_text_by_a_registered_recogniser(
    code_system: CodeSystem,
) -> None:
    text, code = SAMPLES[code_system]
    assert (code, code_system) in {(ref.code, ref.system) for ref in find_codes(text)}


def test_a_system_without_a_recogniser_of_its_own_is_found_by_another() -> None:
    # ICD-10-CM shares its letter-first shape with HCPCS, whose recogniser decides.
    assert [key for key, system in REGISTRY.items() if system.recognise is None] == [
        CodeSystem.ICD10CM
    ]


def test_every_release_kind_a_system_needs_has_a_name() -> None:
    for system in REGISTRY.values():
        for kind in system.release_kinds:
            assert kind in KIND_NAMES, (system.code_system, kind)
    # The answer names what is missing when a kind is not loaded; each one can be.
    needed = {kind for system in REGISTRY.values() for kind in system.release_kinds}
    assert needed <= set(RELEASE_KINDS)  # every kind a system needs can be loaded


def test_providers_serve_registered_systems_and_each_system_at_most_once() -> None:
    served = [system for provider in PROVIDERS for system in provider.systems]
    assert set(served) <= set(REGISTRY)
    assert len(served) == len(set(served))
    assert set(REGISTRY) == set(served)  # ICD-10-PCS too (consultant.codes.icd10pcs)
    assert REGISTRY[CodeSystem.ICD10PCS].unchecked is not None  # said when it is not loaded


def test_typed_shapes_ask_icd10cm_before_icd10pcs() -> None:
    # "B2111ZZ" has both shapes; typed alone the extractor takes it, the shapes agree on order.
    order = [key for key, system in REGISTRY.items() if system.by_shape is not None]
    assert order.index(CodeSystem.ICD10CM) < order.index(CodeSystem.ICD10PCS)
    assert [(ref.code, ref.system) for ref in parse_codes(["E119", "0SRC0J9", "LT"])] == [
        ("E11.9", CodeSystem.ICD10CM),
        ("0SRC0J9", CodeSystem.ICD10PCS),
        ("LT", CodeSystem.MODIFIER),
    ]


# --- a toy system registered from outside ------------------------------------------

# NDC-like: "00002-1433-80", five-four-two digits. A real system would add a
# CodeSystem member; the registry keys are its string values, so a plain string
# stands in for one here.
NDC = "ndc"
NDC_KIND = "ndc-directory"
_NDC = re.compile(r"(?<![0-9-])\d{5}-\d{4}-\d{2}(?![0-9-])")
TOY_SOURCE = Source("toy", "toy NDC directory")


def _recognise_ndc(text: str, vocabulary: Vocabulary) -> Iterator[Hit]:
    for match in _NDC.finditer(text):
        yield match.group().replace("-", ""), NDC, match.start(), match.end()  # type: ignore[misc]


def _ndc_facts(asked: Asked) -> Found:
    facts = {
        (code, system): CodeFacts(
            code, system, VALID, "toy drug", (Fact("description", "toy drug", TOY_SOURCE),)
        )
        for code, system in asked.codes
    }
    return facts, []


@pytest.fixture
def ndc(monkeypatch: pytest.MonkeyPatch) -> System:
    system = System(
        NDC,  # type: ignore[arg-type]
        name="NDC",
        label="NDC",
        release_kinds=(NDC_KIND,),
        recognise=_recognise_ndc,
        procedure=True,  # "x 2" is a quantity
    )
    monkeypatch.setitem(REGISTRY, NDC, system)
    monkeypatch.setitem(NAMES, NDC, system.name)
    monkeypatch.setitem(LABELS, NDC, system.label)
    return system


def test_a_registered_system_is_found_with_its_quantity_beside_the_others(ndc: System) -> None:
    refs = find_codes("Is J1100 x 4 billable with NDC 00002-1433-80 x 2?")
    assert [(ref.code, ref.system, ref.units) for ref in refs] == [
        ("J1100", CodeSystem.HCPCS, 4),
        ("00002143380", NDC, 2),
    ]


def test_a_registered_system_with_a_provider_is_looked_up(
    ndc: System, migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    toy = Provider(frozenset({NDC}), _ndc_facts)
    monkeypatch.setattr(lookup, "PROVIDERS", (*providers.PROVIDERS, toy))
    refs = find_codes("Is J1100 billable with NDC 00002-1433-80?")
    with session_scope(migrated) as session:
        report = look_up(session, refs, dos=date(2026, 1, 5))
    by_code = {code.code: code for code in report.codes}
    assert by_code["00002143380"].status == VALID
    assert by_code["00002143380"].facts[0].source == TOY_SOURCE
    assert by_code["J1100"].status == "unchecked"  # no HCPCS file in this database
    assert NDC_KIND in report.not_loaded
    assert "00002143380 (NDC): valid" in render_text(report)


def test_a_registered_system_without_a_provider_is_unchecked(
    ndc: System, migrated: Settings
) -> None:
    refs = find_codes("NDC 00002-1433-80")
    with session_scope(migrated) as session:
        report = look_up(session, refs, dos=date(2026, 1, 5))
    (code,) = report.codes
    assert code.status == "unchecked"
    assert code.facts[0].text == "unchecked: no NDC release is loaded"
    assert report.not_loaded == (NDC_KIND,)
