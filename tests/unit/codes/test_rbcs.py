"""The CMS RBCS file (../shared/data/cpt/rbcs_2024.csv): imported by its name as
`consultant codes import` finds it, then a lookup states each procedure code's
classification on the date of service (a code reclassified over the years gets
the one in effect then)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from consultant.cli import main
from consultant.db.session import session_scope
from consultant.pipeline.lookup import look_up, parse_codes
from consultant.settings import Settings
from tests.conftest import need, shared_dir

RBCS = shared_dir() / "data" / "cpt" / "rbcs_2024.csv"


def rbcs_of(settings: Settings, codes: list[str], dos: date) -> dict[str, list[str]]:
    with session_scope(settings) as session:
        report = look_up(session, parse_codes(codes), dos=dos)
    return {c.code: [f.text for f in c.facts if f.topic == "rbcs"] for c in report.codes}


def test_rbcs_is_recognised_imported_and_stated_per_date(
    migrated: Settings, tmp_path: Path
) -> None:
    need(RBCS.is_file(), f"the shared RBCS file is not in {RBCS.parent}")
    result = CliRunner().invoke(main, ["codes", "import", str(RBCS)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rbcs RBCS 2024 (effective 2024-01-01): 17,033 rows from ")
    on = rbcs_of(migrated, ["27447", "49435", "99213"], date(2024, 9, 1))
    assert on == {
        "27447": ["RBCS: Procedure / Musculoskeletal / Arthroplasty - Knee (major procedure)"],
        "49435": ["RBCS: Treatment / Dialysis / Peritoneal Dialysis (not a procedure)"],
        "99213": [
            "RBCS: E&M / Office/Outpatient Services / Office E&M - Established (not a procedure)"
        ],
    }
    # 49435 was classified anew in 2015 and 2017: in 2016 the 2015 row applies.
    assert rbcs_of(migrated, ["49435"], date(2016, 6, 1)) == {
        "49435": ["RBCS: Treatment / Dialysis (not a procedure)"]
    }
