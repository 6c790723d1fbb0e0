"""A first start that cannot write its database says so in one line, naming the folder
and the room it needs: on a real small disk (a tmpfs; root only, as in CI), and with
SQLite's page cap half-way through loading ICD-10-CM. The SMTP intake on a disk
filled up, then freed."""

from __future__ import annotations

import errno
import os
import re
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from consultant.cli.room import no_room
from consultant.cli.up import _ensure_icd10cm
from consultant.codes.kinds import ICD10CM
from consultant.codes.releases import release_in_effect
from consultant.db.session import dispose_engines, session_scope
from consultant.diskspace import FIRST_START_MB, free_mb
from consultant.pipeline.intake.smtp import make_controller
from consultant.settings import Settings
from tests.conftest import need, set_env
from tests.disk_support import capped, padded_mail
from tests.integration.conftest import run_cli
from tests.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB file system of its own (a tmpfs), unmounted after."""
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(where)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    need(mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        dispose_engines()  # no SQLite file left open on it
        subprocess.run(["umount", str(where)], check=True)


def _line(folder: Path) -> re.Pattern[str]:
    return re.compile(
        rf"cannot write the database in {re.escape(str(folder.resolve()))}: the disk is full "
        rf"\((\d+) MB free; the first start needs about {FIRST_START_MB} MB\)"
    )


def test_a_first_start_on_a_too_small_disk_says_so_in_one_line(
    env: dict[str, str], small_disk: Path
) -> None:
    var = small_disk / "var"
    started = {**env, "CONSULTANT_VAR_DIR": str(var), "CONSULTANT_SMTP_PORT": str(free_port())}
    result = run_cli(started, "up", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    # The log's INFO lines come first; the error is one line, the last.
    line = result.stderr.strip().splitlines()[-1]
    assert result.stderr.count("cannot write") == 1
    found = _line(var).fullmatch(line.removeprefix("Error: "))
    assert found is not None, line
    assert int(found[1]) < FIRST_START_MB


def test_a_disk_that_fills_while_loading_icd10cm_says_so_in_one_line(
    migrated: Settings,
) -> None:
    with capped(migrated), pytest.raises(click.ClickException) as refused:
        _ensure_icd10cm(migrated)
    assert _line(migrated.var_dir).fullmatch(refused.value.message), refused.value.message
    with session_scope(migrated) as session:  # nothing half-loaded stays behind
        assert release_in_effect(session, ICD10CM) is None


def test_a_read_only_disk_is_named_as_such(migrated: Settings) -> None:
    error = OSError(errno.EROFS, "Read-only file system")
    var = migrated.var_dir.resolve()
    assert no_room(migrated, error) == (
        f"cannot write the database in {var}: the file system is read-only"
    )
    assert no_room(migrated, OSError(errno.ENOSPC, "full"), first=False) == (
        f"cannot write the database in {var}: the disk is full ({free_mb(var)} MB free)"
    )


def _fill(folder: Path) -> Path:
    """Write a file in `folder` until its file system is full."""
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_the_smtp_intake_on_a_full_disk_answers_452_and_takes_mail_once_freed(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from consultant.db.migrate import upgrade

    settings = set_env(
        monkeypatch, env, var_dir=str(small_disk / "var"), smtp_port=str(free_port())
    )
    upgrade(settings)
    controller = make_controller(settings, lambda _: None)
    controller.start()
    try:
        filler = _fill(small_disk)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail("dana@example.org", ["consult@localhost"], padded_mail(1))
            assert (refused.value.smtp_code, refused.value.smtp_error[:5]) == (452, b"4.3.1")
            filler.unlink()
            assert smtp.sendmail("dana@example.org", ["consult@localhost"], padded_mail(1)) == {}
    finally:
        controller.stop()
    assert caplog.text.count("storage full under") == 1 and "Traceback" not in caplog.text
