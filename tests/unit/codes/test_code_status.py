"""`code_status`: what is loaded, what is in effect, what is out of date; and how
releases are named from their files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from consultant.codes.naming import infer_effective, label_for, name_release, next_release
from consultant.codes.releases import begin_release, finish_release
from consultant.codes.status import KindStatus, code_status, staleness
from consultant.db.models.codes import RELEASE_KINDS
from consultant.db.session import session_scope
from consultant.errors import CodeImportError
from consultant.settings import Settings


def add_release(settings: Settings, kind: str, effective: date, rows: int = 10) -> int:
    with session_scope(settings) as session:
        release, _ = begin_release(
            session,
            kind,
            label=label_for(kind, effective),
            effective=effective,
            source_file=f"{kind}-{effective}.csv",
            sha256=f"{kind}-{effective}",
        )
        finish_release(release, rows, {"rows": rows})
        return release.id


def status_of(settings: Settings, kind: str, today: date) -> KindStatus:
    with session_scope(settings) as session:
        statuses = code_status(session, today)
    assert [s.kind for s in statuses] == list(RELEASE_KINDS)
    found = next(s for s in statuses if s.kind == kind)
    print(found.as_json())
    return found


def test_kinds_never_loaded_say_how_to_load_them(migrated: Settings) -> None:
    with session_scope(migrated) as session:
        statuses = code_status(session, date(2026, 11, 29))
    commands = {s.kind: s.load_command for s in statuses if not s.loaded}
    assert commands["icd10cm"] == "consultant codes load icd10cm"
    assert commands["ncci-ptp"] == "consultant codes import ncci-ptp FILE"
    assert len(commands) == len(RELEASE_KINDS)
    assert all(s.warning is None and s.releases == () for s in statuses)


def test_releases_come_newest_first_with_the_one_in_effect_marked(migrated: Settings) -> None:
    july = add_release(migrated, "ncci-ptp", date(2024, 7, 1))
    october = add_release(migrated, "ncci-ptp", date(2024, 10, 1), rows=20)
    status = status_of(migrated, "ncci-ptp", date(2024, 8, 15))
    assert [(r.release_id, r.in_effect) for r in status.releases] == [
        (october, False),
        (july, True),
    ]
    assert status.releases[0].details == {"rows": 20}
    assert status.warning is None  # 2024 Q4 is loaded already
    data = status.as_json()
    assert data["releases"][1]["effective"] == "2024-07-01"
    assert data["loaded"] is True


def test_a_release_only_in_the_future_is_not_in_effect(migrated: Settings) -> None:
    add_release(migrated, "mue", date(2025, 1, 1))
    status = status_of(migrated, "mue", date(2024, 12, 31))
    assert [r.in_effect for r in status.releases] == [False]


@pytest.mark.parametrize(
    ("kind", "effective", "today", "warning"),
    [
        ("ncci-ptp", date(2024, 7, 1), date(2024, 9, 30), None),
        (
            "ncci-ptp",
            date(2024, 7, 1),
            date(2024, 10, 1),
            "ncci-ptp 2024 Q3 is out of date: 2024 Q4 (effective 2024-10-01) has been "
            "released; import the current quarter from CMS",
        ),
        (
            "ncci-ptp",
            date(2024, 7, 1),
            date(2026, 11, 29),
            "ncci-ptp 2024 Q3 is out of date: 2024 Q4 (effective 2024-10-01) and later "
            "quarters have been released; import the current quarter from CMS",
        ),
        (
            "hcpcs",
            date(2025, 10, 1),
            date(2026, 1, 1),
            "hcpcs October 2025 is out of date: January 2026 (effective 2026-01-01) has been "
            "released; import the current quarter from CMS",
        ),
        ("icd10cm", date(2026, 4, 1), date(2026, 9, 30), None),
        (
            "icd10cm",
            date(2026, 4, 1),
            date(2026, 10, 1),
            "icd10cm April 2026 is out of date: October 2026 (effective 2026-10-01) has been "
            "released; upgrade the simple-icd-10-cm package to the release that bundles it, "
            "then consultant codes load icd10cm",
        ),
        ("cpt-descriptors", date(2026, 1, 1), date(2026, 12, 31), None),
        (
            "cpt-descriptors",
            date(2026, 1, 1),
            date(2027, 1, 1),
            "cpt-descriptors CPT 2026 is out of date: CPT 2027 (effective 2027-01-01) has been "
            "released; import the current year's AMA CPT data file",
        ),
    ],
)
def test_the_newest_release_is_out_of_date_once_its_successor_takes_effect(
    migrated: Settings, kind: str, effective: date, today: date, warning: str | None
) -> None:
    add_release(migrated, kind, effective)
    assert status_of(migrated, kind, today).warning == warning


def test_staleness_counts_from_the_next_release_date_not_the_effective_day() -> None:
    # Loaded with an off-cycle date: the next quarter is still October 1.
    assert staleness("mue", "late", date(2024, 8, 15), date(2024, 9, 30)) is None
    assert staleness("mue", "late", date(2024, 8, 15), date(2024, 10, 1)) is not None


@pytest.mark.parametrize(
    ("kind", "name", "label", "effective"),
    [
        ("hcpcs", "HCPC2025_OCT_ANWEB.csv", "October 2025", date(2025, 10, 1)),
        ("hcpcs", "october-2025-alpha-numeric-hcpcs-file.xlsx", "October 2025", date(2025, 10, 1)),
        ("addon", "AOC_V2026Q2-MCR.xlsx", "2026 Q2", date(2026, 4, 1)),
        ("ncci-ptp", "ptp_practitioner_2024q3_full.csv.gz", "2024 Q3", date(2024, 7, 1)),
        ("mue", "MCR_MUE_PractitionerServices_Eff_2024-07-01.csv", "2024 Q3", date(2024, 7, 1)),
        ("pfs", "pfs_rvu_indicators_2024_jul.csv", "July 2024", date(2024, 7, 1)),
        ("pfs", "RVU24C.zip", "July 2024", date(2024, 7, 1)),
        ("pfs", "PPRRVU24_JUL.csv", "July 2024", date(2024, 7, 1)),
        ("cpt-descriptors", "cpt2026_long.csv", "CPT 2026", date(2026, 1, 1)),
    ],
)
def test_releases_are_named_from_their_files(
    kind: str, name: str, label: str, effective: date
) -> None:
    assert name_release(kind, Path(name), None, None) == (label, effective)


def test_the_operator_names_a_release_the_file_name_cannot() -> None:
    path = Path("ptp_edits_f1.txt")
    with pytest.raises(CodeImportError, match="give --effective"):
        name_release("ncci-ptp", path, None, None)
    assert name_release("ncci-ptp", path, "2024 Q4", None) == ("2024 Q4", date(2024, 10, 1))
    assert name_release("ncci-ptp", path, None, date(2024, 10, 1)) == ("2024 Q4", date(2024, 10, 1))
    # --effective wins over the name, and the label follows it.
    named = name_release("mue", Path("mue_2024q3.csv"), None, date(2024, 10, 1))
    assert named == ("2024 Q4", date(2024, 10, 1))


def test_cms_names_tell_the_quarter() -> None:
    # NCCI versions vYYQ: v30.3 is 2024's fourth quarter, v32.1 the second of 2026.
    assert infer_effective("ncci-ptp", "ccipra-v303r0-f1.txt") == date(2024, 10, 1)
    assert infer_effective("ncci-ptp-hospital", "ccioph-v321r0-f4.TXT") == date(2026, 4, 1)
    # The zip's name wins over the version inside it when both are read.
    zipped = "medicare-ncci-2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip"
    assert infer_effective("ncci-ptp", zipped) == date(2026, 4, 1)
    # MUE tables name their first day US-style.
    mue = "MCR_MUE_OutpatientHospitalServices_Eff_07-01-2024.csv"
    assert infer_effective("mue-hospital", mue) == date(2024, 7, 1)
    assert infer_effective("mue", "MCR_MUE_PractitionerServices_Eff_13-01-2024.csv") is None
    assert infer_effective("pfs", "PPRRVU2026_Jul_nonQPP.csv") == date(2026, 7, 1)
    assert label_for("mue-dme", date(2024, 7, 1)) == "2024 Q3"


def test_next_release_follows_each_kinds_calendar() -> None:
    assert next_release("ncci-ptp", date(2024, 7, 1)) == date(2024, 10, 1)
    assert next_release("hcpcs", date(2025, 10, 1)) == date(2026, 1, 1)
    assert next_release("icd10cm", date(2025, 10, 1)) == date(2026, 4, 1)
    assert next_release("cpt-descriptors", date(2026, 1, 1)) == date(2027, 1, 1)
