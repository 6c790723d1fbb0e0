"""The drop folder with a real Celery worker and beat on PostgreSQL and Redis:
CMS archives copied into CONSULTANT_CODE_DROP_DIR are imported on beat ticks
(the four PTP parts as one release), filed under imported/, and logged."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from consultant.db.models.codes import CodeImport, CodeRelease
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import PTP_SUBSET, mue_archive, ptp_archives, ptp_rows
from tests.conftest import need, set_env
from tests.integration.conftest import Child, wait_for, worker_ready

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def no_code_data(production: Settings) -> Iterator[None]:
    """The session's database gets its code tables back empty for the other tests."""
    yield
    with session_scope(production) as session:
        session.execute(delete(CodeImport))
        session.execute(delete(CodeRelease))


def releases(settings: Settings) -> dict[str, tuple[str, int]]:
    with session_scope(settings) as session:
        rows = session.execute(select(CodeRelease.kind, CodeRelease.label, CodeRelease.rows))
        return {kind: (label, count) for kind, label, count in rows}


def test_archives_dropped_in_the_folder_are_imported_by_the_worker(
    production: Settings,
    no_code_data: None,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., Child],
    tmp_path: Path,
) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    settings = set_env(monkeypatch, env, code_drop_interval="1")
    drop = settings.code_drop_path()
    drop.mkdir(parents=True)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    archives = [*ptp_archives(downloads, ptp_rows(2_000)), mue_archive(downloads, "Practitioner")]

    worker = spawn("worker", "--concurrency", "1")
    wait_for(worker_ready(worker), "the worker", 120)
    beat = spawn("beat")
    for archive in archives:
        shutil.copy(archive, drop / f".{archive.name}.part")  # copied under a hidden name,
        (drop / f".{archive.name}.part").rename(drop / archive.name)  # then renamed in
    wait_for(lambda: len(releases(settings)) == 2, "the dropped archives to be imported", 120)
    assert releases(settings) == {"ncci-ptp": ("2024 Q3", 2_000), "mue": ("2024 Q3", 14_677)}
    wait_for(lambda: len(list((drop / "imported").iterdir())) == 5, "the archives filed", 60)
    assert not [p for p in drop.iterdir() if p.suffix == ".zip"]
    with session_scope(settings) as session:
        logged = sorted(session.execute(select(CodeImport.actor, CodeImport.outcome)).all())
    assert logged == [("drop folder", "imported")] * 2
    assert "Traceback" not in worker.output() + beat.output()
