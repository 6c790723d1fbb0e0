"""The drop folder on SQLite: CMS downloads placed in it are imported once they
stop changing, filed under imported/ or refused/ (with the reason), and logged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from consultant.codes.drop import scan_drop
from consultant.db.models.codes import CodeImport, CodeRelease
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import (
    PTP_SUBSET,
    every_archive,
    mue_archive,
    ptp_archives,
    ptp_rows,
    ptp_text,
    zipped,
)
from tests.conftest import need


@pytest.fixture
def drop(migrated: Settings) -> Path:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    folder = migrated.code_drop_path()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def kinds(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return sorted(session.scalars(select(CodeRelease.kind)))


def log(settings: Settings) -> list[tuple[str, str, str | None]]:
    with session_scope(settings) as session:
        rows = session.execute(select(CodeImport.actor, CodeImport.outcome, CodeImport.kind))
        return sorted((actor, outcome, kind or "") for actor, outcome, kind in rows)


def filed(folder: Path, where: str) -> list[str]:
    """The names filed under `where`, without their time prefix."""
    return sorted(p.name.split("-", 1)[1] for p in (folder / where).iterdir())


def test_a_quarters_downloads_are_imported_on_the_second_look(
    migrated: Settings, drop: Path, tmp_path: Path
) -> None:
    archives = every_archive(tmp_path / "downloads")
    for archive in archives:
        shutil.copy(archive, drop / archive.name)
    first = scan_drop(migrated)
    assert (first.imported, len(first.waiting)) == ([], len(archives))  # seen once: wait
    assert kinds(migrated) == []

    second = scan_drop(migrated)
    assert sorted(second.imported) == sorted(a.name for a in archives)
    assert second.refused == {} and second.loaded_new
    assert kinds(migrated) == [
        "addon", "hcpcs", "mue", "mue-dme", "mue-hospital", "ncci-ptp", "ncci-ptp-hospital", "pfs",
        "rbcs",
    ]  # fmt: skip
    assert filed(drop, "imported") == sorted(a.name for a in archives)
    assert not [p for p in drop.iterdir() if p.suffix == ".zip"]
    assert log(migrated) == sorted(("drop folder", "imported", k) for k in kinds(migrated))
    assert scan_drop(migrated).imported == []  # nothing left


def test_a_file_still_being_copied_is_left_alone_until_complete(
    migrated: Settings, drop: Path, tmp_path: Path
) -> None:
    whole = mue_archive(tmp_path, "Practitioner").read_bytes()
    target = drop / "medicare-ncci-2024-q3-practitioner-services-mue-table.zip"
    target.write_bytes(whole[: len(whole) // 2])
    assert scan_drop(migrated).waiting == [target.name]
    with target.open("ab") as rest:  # the copy goes on
        rest.write(whole[len(whole) // 2 :])
    assert scan_drop(migrated).waiting == [target.name]  # changed since the last look
    assert kinds(migrated) == []
    assert scan_drop(migrated).imported == [target.name]
    assert kinds(migrated) == ["mue"]


def test_what_cannot_be_imported_is_refused_with_the_reason_beside_it(
    migrated: Settings, drop: Path, tmp_path: Path
) -> None:
    rows = ptp_rows(40)
    zipped(drop / "edits.zip", {"ptp_practitioner.txt": ptp_text(rows)})  # no date anywhere
    zipped(drop / "manuals.zip", {"chapter1.pdf": b"%PDF"})
    (drop / "RVU24C.zip").write_bytes(b"PK\x03\x04 cut short")
    bad = list(rows)
    bad[5] = [bad[5][0], "ABC", *bad[5][2:]]
    ptp_archives(drop, bad, "hospital", parts=1)
    scan_drop(migrated)
    run = scan_drop(migrated)
    assert sorted(run.refused) == [
        "RVU24C.zip",
        "edits.zip",
        "manuals.zip",
        "medicare-ncci-2024q3-hospital-ptp-edits-ccioph-v302r0-f1.zip",
    ]
    reasons = {
        p.name.split("-", 1)[1]: p.read_text()
        for p in (drop / "refused").iterdir()
        if p.name.endswith(".reason.txt")
    }
    assert reasons["edits.zip.reason.txt"] == (
        "edits.zip/ptp_practitioner.txt: a ncci-ptp file whose name has no quarter, month "
        "or date; give --effective YYYY-MM-DD for it\n"
    )
    assert reasons["manuals.zip.reason.txt"] == "no CMS file consultant reads was found\n"
    assert reasons["RVU24C.zip.reason.txt"].startswith("RVU24C.zip: the zip archive is damaged (")
    assert (
        reasons["medicare-ncci-2024q3-hospital-ptp-edits-ccioph-v302r0-f1.zip.reason.txt"]
        == "ccioph-v302r0-f1.txt line 12: column2 'ABC' is not a CPT or HCPCS code\n"
    )
    assert kinds(migrated) == []
    assert [outcome for _, outcome, _ in log(migrated)] == ["refused"] * 3
