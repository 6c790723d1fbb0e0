"""CMS download archives imported on PostgreSQL (COPY), as an operator runs
`consultant codes import FOLDER`: every kind, the split PTP archive of both
settings, a Windows-1252 rationale, a second run that changes nothing, and a
part with a bad line that takes only its own release down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant.db.models.codes import CodeRelease, PtpEdit
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import DASH_EVERY, DASHED, PTP_SUBSET, every_archive, ptp_archives, ptp_rows
from tests.conftest import need
from tests.integration.conftest import run_cli, scratch_pg

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def loaded(settings: Settings) -> dict[str, tuple[str, int]]:
    with session_scope(settings) as session:
        rows = session.execute(select(CodeRelease.kind, CodeRelease.label, CodeRelease.rows))
        return {kind: (label, count) for kind, label, count in rows}


def test_a_quarters_downloads_load_in_one_command(env: dict[str, str], tmp_path: Path) -> None:
    need(PTP_SUBSET.is_file(), f"the shared CMS files are not in {PTP_SUBSET.parent}")
    downloads = tmp_path / "downloads"
    every_archive(downloads, ptp_count=20_000)
    with scratch_pg("consultant_archives") as settings:
        env["CONSULTANT_DATABASE_URL"] = settings.database_url
        first = run_cli(env, "codes", "import", str(downloads))
        print(first.stdout, first.stderr)
        releases = loaded(settings)
        assert releases["ncci-ptp"] == releases["ncci-ptp-hospital"] == ("2024 Q3", 20_000)
        assert releases["mue"] == releases["mue-hospital"] == ("2024 Q3", 14_677)
        assert releases["addon"] == ("2026 Q2", 9_000)
        assert releases["hcpcs"][0] == "October 2025"
        assert releases["pfs"] == ("July 2024", 18_664)
        assert "mue-dme" in releases
        assert releases["rbcs"] == ("RBCS 2024", 17_033)
        with session_scope(settings) as session:
            dashed = session.scalar(select(func.count()).where(PtpEdit.rationale == DASHED))
        assert dashed == 2 * 4 * (20_000 // 4) // DASH_EVERY

        again = run_cli(env, "codes", "import", str(downloads))
        assert again.stdout.count("already loaded as release") == 9
        assert loaded(settings) == releases

        broken = tmp_path / "broken"
        broken.mkdir()
        rows = ptp_rows(400)
        rows[399][1] = "ABC"  # the last row of the last part
        ptp_archives(broken, rows, "hospital")
        refused = run_cli(
            env, "codes", "import", str(broken), "--effective", "2024-10-01", check=False
        )
        assert refused.returncode == 1
        assert refused.stderr.splitlines()[0] == (
            "refused: ccioph-v302r0-f4.txt line 106: column2 'ABC' is not a CPT or HCPCS code"
        )
        assert loaded(settings) == releases  # nothing of the refused release is left
