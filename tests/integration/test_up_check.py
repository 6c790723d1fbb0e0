"""`consultant up --check`: the settings, folder, free space, ports, database and
named files checked as `up` would need them, with nothing started or written;
exit 0 when `up` would start, 1 with the problem named when not."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.integration.conftest import run_cli
from tests.ports import free_port

pytestmark = pytest.mark.integration


def lines(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        level, _, rest = line.partition("  ")
        found.setdefault(level.strip(), []).append(" ".join(rest.split()))
    return found


def test_a_fresh_folder_would_start_and_nothing_is_written(env: dict[str, str]) -> None:
    env["CONSULTANT_SMTP_PORT"] = str(free_port())
    result = run_cli(env, "up", "--check")
    found = lines(result.stdout)
    var = Path(env["CONSULTANT_VAR_DIR"])
    assert f"folder {var} does not exist yet; up creates it (mode 0700)" in found["note"]
    assert f"database {var}/consultant.sqlite3 does not exist yet; up creates it" in found["note"]
    assert any(line.startswith("disk space") for line in found["ok"])
    assert "fail" not in found
    assert result.stdout.rstrip().endswith("up would start")
    assert not var.exists(), "--check created var/"


def test_a_taken_port_low_space_and_an_unreadable_file_are_named(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env.update(
            CONSULTANT_SMTP_PORT=str(port),
            CONSULTANT_MIN_FREE_MB=str(10**9),
            CONSULTANT_TEMPLATES_DIR=str(tmp_path / "no-such-templates"),
        )
        result = run_cli(env, "up", "--check", check=False)
    assert result.returncode == 1
    found = lines(result.stdout)
    assert any(
        line.startswith(f"port cannot listen on 127.0.0.1:{port}: Address already in use")
        for line in found["fail"]
    ), result.stdout
    assert any("CONSULTANT_MIN_FREE_MB needs 1,000,000,000 MB" in line for line in found["fail"]), (
        result.stdout
    )
    assert any("CONSULTANT_TEMPLATES_DIR names" in line for line in found["fail"]), result.stdout
    assert result.stdout.rstrip().endswith("3 problem(s); up would not start")


def test_a_migrated_database_reports_its_revision(env: dict[str, str]) -> None:
    run_cli(env, "db", "upgrade", "0018")
    result = run_cli(env, "up", "--check")
    assert "at revision 0018; up backs up the database, then migrates to" in result.stdout
    run_cli(env, "db", "upgrade")
    assert "(the newest)" in run_cli(env, "up", "--check").stdout


def test_a_setting_that_cannot_be_used_is_one_line(env: dict[str, str]) -> None:
    env["CONSULTANT_SMTP_PORT"] = "twenty-five"
    result = run_cli(env, "up", "--check", check=False)
    assert result.returncode != 0
    assert "CONSULTANT_SMTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr
