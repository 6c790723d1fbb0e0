"""The CMS importers on PostgreSQL: COPY, idempotency, rollback of a refused
file, and `consultant codes import` / `codes status` as an operator runs them.

The module has its own scratch database (consultant_codes_<pid>): the other
integration tests empty their tables per test, and these imports are large.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from consultant.codes.importers import import_file
from consultant.codes.releases import LoadResult
from consultant.db.models.codes import CodeRelease, MueEdit, PtpEdit
from consultant.db.session import session_scope
from consultant.errors import ImportFormatError
from consultant.settings import Settings
from tests.conftest import need, shared_dir
from tests.integration.conftest import run_cli, scratch_pg

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DATA = shared_dir() / "data"
PTP_SUBSET = DATA / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz"
MUE_CSV = DATA / "ncci" / "mue_practitioner_2024q3.csv"


@pytest.fixture(scope="module")
def codes_db() -> Iterator[Settings]:
    """A migrated scratch database for this module, dropped at the end."""
    need(PTP_SUBSET.is_file(), f"the shared CMS files are not in {DATA}")
    with scratch_pg("consultant_codes") as settings:
        yield settings


@pytest.fixture(scope="module")
def ptp(codes_db: Settings) -> LoadResult:
    """The PTP subset, imported once with COPY."""
    with session_scope(codes_db) as session:
        return import_file(session, "ncci-ptp", PTP_SUBSET)


def snapshot(settings: Settings) -> dict[str, Any]:
    """Releases and row counts, printed, to compare before and after."""
    with session_scope(settings) as session:
        state = {
            "releases": [
                tuple(r) for r in session.execute(select(CodeRelease.id, CodeRelease.rows))
            ],
            "ptp_edits": session.scalar(select(func.count()).select_from(PtpEdit)),
            "mue_edits": session.scalar(select(func.count()).select_from(MueEdit)),
        }
    print(state)
    return state


def test_the_ptp_subset_is_copied_in_with_repeats_numbered(
    codes_db: Settings, ptp: LoadResult
) -> None:
    assert (ptp.rows, ptp.label, ptp.effective) == (675_136, "2024 Q3", date(2024, 7, 1))
    assert (ptp.details["active"], ptp.details["deleted"]) == (478_917, 196_219)
    assert snapshot(codes_db)["ptp_edits"] == 675_136
    with session_scope(codes_db) as session:
        repeats = session.execute(
            select(PtpEdit.seq, PtpEdit.deleted)
            .where(PtpEdit.column1 == "10030", PtpEdit.column2 == "99211")
            .order_by(PtpEdit.seq)
        ).all()
        knee = session.get_one(PtpEdit, (ptp.release_id, "27447", "20610", 0))
    assert [tuple(row) for row in repeats] == [(0, None), (1, date(2019, 12, 31))]
    assert knee.modifier_indicator == "1"


def test_importing_the_subset_again_changes_nothing(codes_db: Settings, ptp: LoadResult) -> None:
    before = snapshot(codes_db)
    with session_scope(codes_db) as session:
        again = import_file(session, "ncci-ptp", PTP_SUBSET)
    assert again.already_loaded
    assert again.release_id == ptp.release_id
    assert snapshot(codes_db) == before


def refused(settings: Settings, path: Path) -> ImportFormatError:
    before = snapshot(settings)
    with pytest.raises(ImportFormatError) as caught, session_scope(settings) as session:
        import_file(session, "ncci-ptp", path)
    print(caught.value)
    assert snapshot(settings) == before
    return caught.value


def test_a_refused_file_leaves_the_release_it_would_replace(
    codes_db: Settings, ptp: LoadResult, tmp_path: Path
) -> None:
    with gzip.open(PTP_SUBSET, "rt", encoding="utf-8", newline="") as handle:
        lines = [line for _, line in zip(range(3_000), handle, strict=False)]
    lines[1831] = lines[1831].replace(",,1,", ",,x,", 1)
    bad = tmp_path / "bad" / PTP_SUBSET.name  # same quarter: it would replace the subset
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress("".join(lines).encode()))
    error = refused(codes_db, bad)
    assert (error.line, error.reason) == (1832, "modifier_indicator 'x' is not 0, 1 or 9")

    truncated = tmp_path / "cut" / PTP_SUBSET.name
    truncated.parent.mkdir()
    truncated.write_bytes(PTP_SUBSET.read_bytes()[:1_000_000])
    error = refused(codes_db, truncated)
    assert error.line is not None and error.line > 100_000
    assert "damaged or truncated" in error.reason


def test_the_import_and_status_commands(
    codes_db: Settings, ptp: LoadResult, env: dict[str, str], tmp_path: Path
) -> None:
    env["CONSULTANT_DATABASE_URL"] = codes_db.database_url
    first = run_cli(env, "codes", "import", "mue", str(MUE_CSV)).stdout.strip()
    print(first)
    assert first.startswith(
        "mue 2024 Q3 (effective 2024-07-01): 14,677 rows from mue_practitioner_2024q3.csv in "
    )
    with session_scope(codes_db) as session:
        mue_id = session.scalar(select(CodeRelease.id).where(CodeRelease.kind == "mue"))
    again = run_cli(env, "codes", "import", "mue", str(MUE_CSV)).stdout.strip()
    assert again == (
        "mue 2024 Q3 (effective 2024-07-01): "
        f"mue_practitioner_2024q3.csv already loaded as release {mue_id}"
    )

    bad = tmp_path / "mue_2024q4.csv"
    bad.write_text(MUE_CSV.read_text().replace("\n27447,1,2,", "\n27447,1,7,"))
    result = run_cli(env, "codes", "import", "mue", str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "refused: mue_2024q4.csv line 2420: mai '7' is not 1, 2 or 3"

    status = json.loads(run_cli(env, "codes", "status", "--json").stdout)
    kinds = {kind["kind"]: kind for kind in status["kinds"]}
    print(json.dumps(kinds["ncci-ptp"], indent=2))
    assert kinds["ncci-ptp"]["releases"][0]["rows"] == 675_136
    assert kinds["ncci-ptp"]["releases"][0]["in_effect"] is True
    assert [r["label"] for r in kinds["mue"]["releases"]] == ["2024 Q3"]
    assert kinds["pfs"]["loaded"] is False
    assert kinds["pfs"]["load_command"] == "consultant codes import pfs FILE"
    if date.fromisoformat(status["today"]) >= date(2024, 10, 1):
        assert kinds["ncci-ptp"]["warning"].startswith("ncci-ptp 2024 Q3 is out of date: 2024 Q4")

    text = run_cli(env, "codes", "status").stdout
    print(text)
    assert "mue_practitioner_2024q3.csv" in text
    assert "pfs                 not loaded: consultant codes import pfs FILE" in text
