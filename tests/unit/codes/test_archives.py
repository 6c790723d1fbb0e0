"""CMS downloads imported as they come, on SQLite: `consultant codes import` with
zip archives and folders of them (tests/cms_archives.py builds them from the
shared files with CMS's names and layouts)."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from consultant.cli import main
from consultant.codes.archives import opened, plan
from consultant.codes.in_effect import releases_in_effect
from consultant.db.models.codes import CodeRelease, MueEdit, PtpEdit
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import (
    DASH_EVERY,
    DASHED,
    PTP_SUBSET,
    every_archive,
    mue_archive,
    mue_rows,
    ptp_archives,
    ptp_rows,
    ptp_text,
    zipped,
)
from tests.conftest import need

JULY_2024 = "2024-07-01"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    print(result.stdout, result.stderr)
    return result


def releases(settings: Settings) -> dict[str, tuple[str, str, int, str]]:
    """kind -> (label, effective, rows, source file) of every loaded release."""
    with session_scope(settings) as session:
        rows = session.execute(
            select(
                CodeRelease.kind,
                CodeRelease.label,
                CodeRelease.effective,
                CodeRelease.rows,
                CodeRelease.source_file,
            )
        )
        return {
            kind: (label, on.isoformat(), count, source) for kind, label, on, count, source in rows
        }


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    need(PTP_SUBSET.is_file(), f"the shared CMS files are not in {PTP_SUBSET.parent}")
    # The folder's name is the operator's and says another quarter than some of
    # its files: a file's own name, or its archive's, says when it takes effect.
    every_archive(tmp_path / "cms-2024q3")
    return tmp_path / "cms-2024q3"


def test_every_file_of_a_quarters_downloads_is_named(downloads: Path, tmp_path: Path) -> None:
    with opened([downloads], tmp_path / "scratch") as members:
        found = plan(members)
        named = {(r.kind, r.effective.isoformat(), len(r.parts)) for r in found.releases}
        skipped = {s.shown.rsplit("/", 1)[-1]: s.reason for s in found.skipped}
    assert named == {
        ("ncci-ptp", JULY_2024, 4),
        ("ncci-ptp-hospital", JULY_2024, 4),
        ("mue", JULY_2024, 1),
        ("mue-hospital", JULY_2024, 1),
        ("mue-dme", JULY_2024, 1),
        ("addon", "2026-04-01", 1),
        ("hcpcs", "2025-10-01", 1),
        ("pfs", JULY_2024, 1),
        ("rbcs", "2024-01-01", 1),
    }
    assert found.refused == []
    assert skipped["MCR_MUE_PractitionerServices_Eff_07-01-2024.xlsx"] == (
        "mue is read from .csv files"
    )
    assert skipped["NOTES.pdf"] == "not a CMS file consultant reads"
    assert skipped["GPCI2024.csv"] == "not a CMS file consultant reads"
    assert skipped["HCPC2025_OCT_ANWEB_Transaction Report.csv"] == "not a CMS file consultant reads"
    assert not list((tmp_path / "scratch").iterdir())  # the unpacked files are gone


def test_one_command_loads_the_folder_and_again_changes_nothing(
    migrated: Settings, downloads: Path
) -> None:
    result = run("codes", "import", str(downloads))
    assert result.exit_code == 0
    loaded = releases(migrated)
    assert sorted(loaded) == [
        "addon",
        "hcpcs",
        "mue",
        "mue-dme",
        "mue-hospital",
        "ncci-ptp",
        "ncci-ptp-hospital",
        "pfs",
        "rbcs",
    ]
    first_part = "cms-2024q3/medicare-ncci-2024q3-practitioner-ptp-edits-ccipra-v302r0-f1.zip"
    assert loaded["ncci-ptp"] == (
        "2024 Q3",
        JULY_2024,
        4_000,
        f"{first_part}/ccipra-v302r0-f1.txt (+3 parts)",
    )
    assert loaded["ncci-ptp-hospital"][:3] == ("2024 Q3", JULY_2024, 4_000)
    assert loaded["mue-dme"][2] == len(mue_rows(level_two_only=True))
    assert loaded["mue"][2] == loaded["mue-hospital"][2] == 14_677
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("ncci-ptp 2024 Q3 (effective 2024-07-01): 4,000 rows from ")
        for line in lines
    )
    assert sum(line.startswith("skipped ") for line in lines) == 6

    with session_scope(migrated) as session:
        dashed = session.scalar(select(func.count()).where(PtpEdit.rationale == DASHED))
        dme = session.scalar(
            select(func.count()).select_from(MueEdit).where(MueEdit.code.like("E%"))
        )
    assert dashed == 2 * 4 * 1_000 // DASH_EVERY  # the Windows-1252 dash came through as itself
    assert dme and dme > 0

    again = run("codes", "import", str(downloads))
    assert again.exit_code == 0
    assert releases(migrated) == loaded
    assert sum("already loaded as release" in line for line in again.stdout.splitlines()) == 9


def test_hospital_edits_sit_beside_the_practitioner_ones(
    migrated: Settings, downloads: Path
) -> None:
    assert run("codes", "import", str(downloads)).exit_code == 0
    on = date.fromisoformat(JULY_2024)
    with session_scope(migrated) as session:
        practice = releases_in_effect(session, on)
        hospital = releases_in_effect(session, on, "hospital")
        per_release = dict(
            session.execute(
                select(PtpEdit.release_id, func.count()).group_by(PtpEdit.release_id)
            ).all()
        )
    assert (practice["ncci-ptp"].kind, practice["mue"].kind) == ("ncci-ptp", "mue")
    assert (hospital["ncci-ptp"].kind, hospital["mue"].kind) == (
        "ncci-ptp-hospital",
        "mue-hospital",
    )
    assert "ncci-ptp-hospital" not in practice  # a practitioner question never sees them
    assert per_release == {practice["ncci-ptp"].id: 4_000, hospital["ncci-ptp"].id: 4_000}
    status = [line.split() for line in run("codes", "status").stdout.splitlines()]
    assert ["ncci-ptp-hospital", "*", "2024", "Q3", JULY_2024] in [line[:5] for line in status]
    assert ["mue-dme", "*", "2024", "Q3", JULY_2024] in [line[:5] for line in status]


def test_a_bad_line_in_one_part_refuses_that_release_only(
    migrated: Settings, tmp_path: Path
) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    folder = tmp_path / "in"
    folder.mkdir()
    rows = ptp_rows(400)
    rows[250][3] = "7"  # in the third of four parts of 100 rows
    ptp_archives(folder, rows)
    mue_archive(folder, "Practitioner")
    result = run("codes", "import", str(folder))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "refused: ccipra-v302r0-f3.txt line 57: modifier_indicator '7' is not 0, 1 or 9"
    )
    assert sorted(releases(migrated)) == ["mue"]  # nothing of the PTP release is kept


def test_what_cannot_be_read_is_refused_with_the_reason(migrated: Settings, tmp_path: Path) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    undated = zipped(tmp_path / "edits.zip", {"ptp_practitioner.txt": ptp_text(ptp_rows(10))})
    result = run("codes", "import", str(undated))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "refused edits.zip/ptp_practitioner.txt: a ncci-ptp file whose name has no quarter, "
        "month or date; give --effective YYYY-MM-DD for it"
    )
    dated = run("codes", "import", str(undated), "--effective", "2024-10-01")
    assert dated.exit_code == 0
    assert releases(migrated)["ncci-ptp"][:3] == ("2024 Q4", "2024-10-01", 10)

    damaged = tmp_path / "RVU24C.zip"
    damaged.write_bytes(
        zipped(tmp_path / "whole.zip", {"PPRRVU24_JUL.csv": b"x" * 5000}).read_bytes()[:-40]
    )
    result = run("codes", "import", str(damaged))
    assert result.exit_code == 1
    assert "RVU24C.zip: the zip archive is damaged" in result.stderr

    nothing = zipped(tmp_path / "manuals.zip", {"chapter1.pdf": b"%PDF", "readme.txt": b"hello\n"})
    result = run("codes", "import", str(nothing))
    assert result.exit_code == 1
    assert "no CMS file consultant reads was found" in result.stderr
    assert "skipped manuals.zip/readme.txt: not a CMS file consultant reads" in result.stdout


def test_names_in_an_archive_never_choose_where_files_go(
    migrated: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "a" / "b" / "evil.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../../../escaped.txt", "Column 1\tColumn 2\n")
        handle.writestr("/tmp/absolute-escape.txt", "x\n")
    with opened([archive], tmp_path / "scratch") as members:
        inside = [member.path for member in members]
        assert all((tmp_path / "scratch") in path.parents for path in inside)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-escape.txt").exists()


def test_the_kind_named_before_a_file_still_works(migrated: Settings, tmp_path: Path) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    path = tmp_path / "my-edits.txt"
    path.write_bytes(ptp_text(ptp_rows(20)))
    result = run("codes", "import", "ncci-ptp-hospital", str(path), "--effective", JULY_2024)
    assert result.exit_code == 0
    assert releases(migrated)["ncci-ptp-hospital"][:3] == ("2024 Q3", JULY_2024, 20)
