"""The ICD-10-CM loader on SQLite: one load of the bundled April 2026 tabular per module."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.codes import icd10cm
from consultant.codes.icd10cm import (
    InheritedNote,
    UnknownPackage,
    ancestors,
    load_icd10cm,
    notes_for,
    package_data,
    release_of,
)
from consultant.codes.icd10cm_tabular import read_tabular
from consultant.codes.releases import LoadResult
from consultant.db.models.codes import CodeRelease, Icd10cmCode, Icd10cmNote
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import module_database

# The CDC's count of billable ICD-10-CM codes in the April 1, 2026 release.
CDC_BILLABLE = 74_719
# Blocks that hold other blocks, not categories.
HEADINGS = (
    "C00-C96",
    "C00-C75",
    "M00-M25",
    "M40-M54",
    "M60-M79",
    "M80-M94",
    "T07-T88",
    "T20-T32",
    "V00-X58",
    "V00-V99",
    "W00-X58",
    "Y62-Y84",
)
FRACTURE_CHARACTERS = list("ABCDEFGHJKMNPQRS")
OCTOBER = date(2026, 10, 1)


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    result: LoadResult

    def session(self) -> Any:
        return session_scope(self.settings)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A migrated SQLite database with the tabular loaded once, for every test here."""
    with module_database(tmp_path_factory.mktemp("icd10cm")) as settings:
        with session_scope(settings) as session:
            result = load_icd10cm(session)
        yield Loaded(settings, result)


def entry(session: Session, loaded: Loaded, code: str) -> Icd10cmCode:
    return session.get_one(Icd10cmCode, (loaded.result.release_id, code))


def children(session: Session, loaded: Loaded, code: str) -> list[str]:
    return list(
        session.scalars(
            select(Icd10cmCode.code)
            .where(Icd10cmCode.release_id == loaded.result.release_id, Icd10cmCode.parent == code)
            .order_by(Icd10cmCode.code)
        )
    )


def seventh_characters(notes: list[InheritedNote]) -> dict[str, str]:
    return {n.character or "": n.text for n in notes if n.kind == "seven_chr_def"}


def test_load_finds_exactly_the_cdc_count_of_billable_codes(loaded: Loaded) -> None:
    with loaded.session() as session:
        billable = session.scalar(
            select(func.count()).where(
                Icd10cmCode.release_id == loaded.result.release_id, Icd10cmCode.billable
            )
        )
    print(f"billable: {billable}")
    assert billable == CDC_BILLABLE
    assert loaded.result.details["billable"] == CDC_BILLABLE


def test_load_counts_entries_and_notes_by_kind(loaded: Loaded) -> None:
    details = loaded.result.details
    print(details)
    assert details["entries"] == {
        "block": 297,
        "category": 1918,
        "chapter": 22,
        "code": 87_370,
        "subcategory": 8898,
    }
    assert loaded.result.rows == 98_505
    assert set(details["notes_by_kind"]) == {
        "includes",
        "inclusion_term",
        "excludes1",
        "excludes2",
        "code_first",
        "use_additional_code",
        "code_also",
        "note",
        "seven_chr_note",
        "seven_chr_def",
    }
    with loaded.session() as session:
        stored = session.scalar(
            select(func.count()).where(Icd10cmNote.release_id == loaded.result.release_id)
        )
        release = session.get_one(CodeRelease, loaded.result.release_id)
    assert stored == details["notes"] == sum(details["notes_by_kind"].values())
    assert (release.label, release.effective) == ("FY2026 (April 1, 2026 update)", date(2026, 4, 1))
    assert release.source_file == "simple-icd-10-cm==1.5.0"
    assert release.sha256 == package_data().sha256


def test_heading_blocks_are_blocks_over_the_blocks_in_their_range(loaded: Loaded) -> None:
    with loaded.session() as session:
        for code in HEADINGS:
            heading = entry(session, loaded, code)
            assert (heading.kind, heading.billable) == ("block", False), code
            assert children(session, loaded, code), code
        assert entry(session, loaded, "C00-C96").description == "Malignant neoplasms (C00-C96)"
        assert ancestors(session, loaded.result.release_id, "C00.0") == [
            "C00",
            "C00-C14",
            "C00-C75",
            "C00-C96",
            "2",
        ]
        # Neuroendocrine tumors are outside C00-C75 ("except neuroendocrine").
        assert ancestors(session, loaded.result.release_id, "C7A.00")[-3:] == [
            "C7A-C7A",
            "C00-C96",
            "2",
        ]
        assert ancestors(session, loaded.result.release_id, "X71.0XXA")[-2:] == ["X71-X83", "20"]


def test_a_block_of_one_category_is_stored_as_a_range(loaded: Loaded) -> None:
    with loaded.session() as session:
        block, category = entry(session, loaded, "B99-B99"), entry(session, loaded, "B99")
    assert (block.kind, block.parent, block.description) == (
        "block",
        "1",
        "Other infectious diseases (B99)",
    )
    assert (category.kind, category.parent, category.billable) == ("category", "B99-B99", False)


def test_e11_is_a_category_and_e11_9_a_billable_code_under_it(loaded: Loaded) -> None:
    with loaded.session() as session:
        e11, e11_9 = entry(session, loaded, "E11"), entry(session, loaded, "E11.9")
    assert (e11.kind, e11.billable, e11.parent) == ("category", False, "E08-E13")
    assert (e11_9.kind, e11_9.billable, e11_9.parent) == ("code", True, "E11")
    assert e11_9.description == "Type 2 diabetes mellitus without complications"


def test_excludes1_of_e11_applies_to_e11_9_after_its_own(loaded: Loaded) -> None:
    with loaded.session() as session:
        notes = notes_for(session, loaded.result.release_id, "E11.9")
    excludes1 = [(n.source, n.text) for n in notes if n.kind == "excludes1"]
    assert excludes1[0][0] == "E11.9"
    assert ("E11", "type 1 diabetes mellitus (E10.-)") in excludes1
    assert [n.source for n in notes] == sorted(
        (n.source for n in notes), key=["E11.9", "E11", "E08-E13", "4"].index
    )


def test_notes_keep_the_source_order_of_their_entry(loaded: Loaded) -> None:
    with loaded.session() as session:
        rows = session.execute(
            select(Icd10cmNote.kind, Icd10cmNote.position)
            .where(Icd10cmNote.release_id == loaded.result.release_id, Icd10cmNote.code == "E11")
            .order_by(Icd10cmNote.position)
        ).all()
    assert [position for _, position in rows] == list(range(len(rows)))
    kinds = list(dict.fromkeys(kind for kind, _ in rows))
    assert kinds == ["includes", "use_additional_code", "excludes1"]


def test_s82_821_needs_a_seventh_character_from_s82_82(loaded: Loaded) -> None:
    with loaded.session() as session:
        code = entry(session, loaded, "S82.821")
        under = children(session, loaded, "S82.821")
        full = entry(session, loaded, "S82.821A")
        notes = notes_for(session, loaded.result.release_id, "S82.821")
    assert (code.kind, code.billable) == ("code", False)
    assert under == [f"S82.821{c}" for c in "ADGKPS"]
    assert (full.kind, full.billable, full.parent) == ("code", True, "S82.821")
    assert full.description == (
        "Torus fracture of lower end of right fibula, initial encounter for closed fracture"
    )
    # Torus fractures are closed: S82.82's own definition replaces S82's (no B, no C).
    assert {n.source for n in notes if n.kind in ("seven_chr_def", "seven_chr_note")} == {"S82.82"}
    assert list(seventh_characters(notes)) == list("ADGKPS")


def test_seventh_characters_of_s82_apply_to_s82_001(loaded: Loaded) -> None:
    with loaded.session() as session:
        notes = notes_for(session, loaded.result.release_id, "S82.001A")
    meanings = seventh_characters(notes)
    assert list(meanings) == FRACTURE_CHARACTERS
    assert meanings["A"] == "initial encounter for closed fracture"
    assert {n.source for n in notes if n.kind == "seven_chr_def"} == {"S82"}
    assert ("inclusion_term", "B", "initial encounter for open fracture NOS") in [
        (n.kind, n.character, n.text) for n in notes if n.source == "S82"
    ]


def test_placeholder_x_pads_a_short_code_before_its_seventh_character(loaded: Loaded) -> None:
    with loaded.session() as session:
        assert entry(session, loaded, "S00.00XA").parent == "S00.00"
        assert entry(session, loaded, "T07.XXXA").parent == "T07"
        assert entry(session, loaded, "T36.0X1A").parent == "T36.0X1"
        assert not entry(session, loaded, "T07").billable


def test_m86_161_is_a_billable_code(loaded: Loaded) -> None:
    with loaded.session() as session:
        code = entry(session, loaded, "M86.161")
        path = ancestors(session, loaded.result.release_id, "M86.161")
    assert (code.kind, code.billable) == ("code", True)
    assert path == ["M86.16", "M86.1", "M86", "M86-M90", "M80-M94", "13"]


def test_an_unknown_code_has_no_ancestors_and_no_notes(loaded: Loaded) -> None:
    with loaded.session() as session:
        assert ancestors(session, loaded.result.release_id, "E11.99") == []
        assert notes_for(session, loaded.result.release_id, "E11.99") == []


def test_loading_again_changes_nothing(loaded: Loaded) -> None:
    with loaded.session() as session:
        again = load_icd10cm(session)
    with loaded.session() as session:
        releases = session.scalar(select(func.count()).select_from(CodeRelease))
        codes = session.scalar(select(func.count()).select_from(Icd10cmCode))
        notes = session.scalar(select(func.count()).select_from(Icd10cmNote))
    assert again.already_loaded
    assert (again.release_id, again.rows) == (loaded.result.release_id, loaded.result.rows)
    assert (releases, codes, notes) == (1, loaded.result.rows, loaded.result.details["notes"])


def test_the_loader_never_imports_simple_icd_10_cm() -> None:
    script = (
        "import sys\n"
        "import consultant.cli.codes\n"
        "from consultant.codes.icd10cm import package_data\n"
        "from consultant.codes.icd10cm_tabular import read_tabular\n"
        "data = package_data()\n"
        "read_tabular(data.tabular, data.code_list)\n"
        "print(sorted(name for name in sys.modules if 'simple_icd' in name))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_the_tree_is_the_one_simple_icd_10_cm_builds() -> None:
    """Same entries, parents, billable codes and descriptions as the package, but on purpose
    heading blocks hold their blocks, one-category blocks are ranges, and lines under a
    7th character are not glued to its meaning ("stable/Old central retinal vein occlusion")."""
    data = package_data()
    tabular = read_tabular(data.tabular, data.code_list)
    with warnings.catch_warnings():
        # It reads its data with importlib.resources.read_text, deprecated in Python 3.11.
        warnings.simplefilter("ignore")
        import simple_icd_10_cm.simple_icd_10_cm as package  # type: ignore[import-untyped]

    def theirs(code: str) -> str:
        first, _, last = code.partition("-")
        return first if first == last else code

    mine = {row["code"]: row for row in tabular.codes}
    assert {theirs(code) for code in mine} == set(package.get_all_codes())
    blocks = ("chapter", "block")
    assert {
        code: theirs(row["parent"])
        for code, row in mine.items()
        if row["kind"] not in blocks and package.get_parent(code) != theirs(row["parent"])
    } == {}
    assert {code for code, row in mine.items() if row["billable"]} == {
        code
        for code in package.get_all_codes()
        if package.is_leaf(code) and package.is_category_or_subcategory(code)
    }
    glued = {
        code: row["description"]
        for code, row in mine.items()
        if row["kind"] not in blocks
        and " ".join(package.get_description(code).split()) != row["description"]
    }
    assert all(package.get_description(code).startswith(f"{d}/") for code, d in glued.items())
    assert len(glued) == 527


@pytest.mark.parametrize(
    ("version", "fiscal_year", "effective", "expected"),
    [
        ("1.5.0", "2026", None, (date(2026, 4, 1), "FY2026 (April 1, 2026 update)")),
        ("9.0.0", "2027", OCTOBER, (OCTOBER, "FY2027 (October 1, 2026 update)")),
    ],
)
def test_release_of_a_package_version(
    version: str, fiscal_year: str, effective: date | None, expected: tuple[date, str]
) -> None:
    assert release_of(version, fiscal_year, effective, None) == expected


@pytest.mark.parametrize(("version", "fiscal_year"), [("9.0.0", "2027"), ("1.5.0", "2027")])
def test_release_of_refuses_to_guess_a_date(version: str, fiscal_year: str) -> None:
    with pytest.raises(UnknownPackage):
        release_of(version, fiscal_year, None, None)


def test_load_refuses_an_unknown_package_version_without_a_date(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(icd10cm, "KNOWN_PACKAGES", {})
    with session_scope(migrated) as session, pytest.raises(UnknownPackage, match="--effective"):
        load_icd10cm(session)
    with session_scope(migrated) as session:
        assert session.scalar(select(func.count()).select_from(CodeRelease)) == 0
