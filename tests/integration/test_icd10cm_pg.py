"""`consultant codes load icd10cm` against PostgreSQL, in a scratch database of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from consultant.codes.icd10cm import notes_for
from consultant.db.models.codes import CodeRelease, Icd10cmCode
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.integration.conftest import run_cli, scratch_pg

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SUMMARY = re.compile(
    r"icd10cm FY2026 \(April 1, 2026 update\), effective 2026-04-01: 98,505 entries, "
    r"74,719 billable codes, [\d,]+ notes from simple-icd-10-cm==1\.5\.0 in [\d.]+ s"
)


@pytest.fixture
def icd_database() -> Iterator[str]:
    """A scratch PostgreSQL database, migrated to head, dropped afterwards."""
    with scratch_pg("consultant_icd") as settings:
        yield settings.database_url


def test_codes_load_icd10cm_fills_postgresql_once(env: dict[str, str], icd_database: str) -> None:
    child_env = {**env, "CONSULTANT_DATABASE_URL": icd_database}
    first = run_cli(child_env, "codes", "load", "icd10cm")
    print(first.stdout)
    assert SUMMARY.fullmatch(first.stdout.strip()), first.stdout
    assert "loading" not in first.stderr  # no progress bar without a terminal

    with session_scope(Settings(database_url=icd_database)) as session:
        release = session.scalars(select(CodeRelease)).one()
        billable = session.scalar(
            select(func.count()).where(Icd10cmCode.release_id == release.id, Icd10cmCode.billable)
        )
        notes = notes_for(session, release.id, "S82.001A")
    assert billable == 74_719
    assert ("S82", "seven_chr_def", "A", "initial encounter for closed fracture") in notes

    again = run_cli(child_env, "codes", "load", "icd10cm")
    assert again.stdout.strip() == (
        "icd10cm FY2026 (April 1, 2026 update), effective 2026-04-01: "
        f"already loaded as release {release.id} (from simple-icd-10-cm==1.5.0)"
    )
