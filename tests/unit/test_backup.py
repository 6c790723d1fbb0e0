"""`consultant backup` and `consultant restore` on a real SQLite database.

A populated database is backed up with the secrets in the environment, the
manifest's checksums are checked against the files, no secret reaches a file,
and the copy restores into a fresh var/. A backup that was tampered with (a
byte flipped in the database, the manifest deleted or edited) is refused with
the reason, and nothing is written where it would have gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from consultant.cli import main
from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.settings import Settings
from tests.conftest import mail_bytes, set_env

SECRETS = {
    "relay_password": "relay-s3cret-value",
    "metrics_token": "metrics-t0ken-value",
    "broker_url": "redis://:broker-pa55word@127.0.0.1:6379/6",
}


@pytest.fixture
def desk(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A migrated embedded desk with three stored mails, an outbox file, and secrets set."""
    from consultant.db.migrate import upgrade

    settings = set_env(monkeypatch, env, **SECRETS)
    upgrade(settings)
    raw = mail_bytes("simple_question.eml")
    with session_scope(settings) as session:
        for n in range(3):
            store_raw(session, raw.replace(b"q1-", f"q1-{n}-".encode()), source="smtp")
    outbox = settings.outbox_path()
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "answer-1.eml").write_bytes(b"Subject: Re: a question\r\n\r\nThe answer.\r\n")
    dispose_engines()
    return settings


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def inbound_ids(database: Path) -> list[int]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM inbound_messages ORDER BY id")]


def test_a_backup_holds_the_data_checksummed_private_and_without_secrets(
    desk: Settings, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    result = invoke("backup", str(dest))
    assert result.exit_code == 0, result.output
    assert "database" in result.output and "in all" in result.output.splitlines()[-1]

    manifest = json.loads((dest / "manifest.json").read_text())
    assert set(manifest["files"]) == {"consultant.sqlite3", "outbox/answer-1.eml", "settings.json"}
    for name, entry in manifest["files"].items():
        data = (dest / name).read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["schema_revision"] == _head()
    assert manifest["database"] == "sqlite" and manifest["sqlite"] == sqlite3.sqlite_version
    assert manifest["source"] == str(desk.var_dir.resolve())
    assert "not included" in manifest["broker"]

    files = [path for path in dest.rglob("*") if path.is_file()]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        for secret in ("relay-s3cret-value", "metrics-t0ken-value", "broker-pa55word"):
            assert secret.encode() not in path.read_bytes(), (path, secret)
    for folder in (dest, dest / "outbox"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    saved = json.loads((dest / "settings.json").read_text())
    assert saved["relay_password"] == saved["metrics_token"] == "(secret, not backed up)"
    assert saved["broker_url"] == "redis://:***@127.0.0.1:6379/6"
    assert inbound_ids(dest / "consultant.sqlite3") == inbound_ids(_live(desk))


def test_a_backup_restores_into_a_fresh_var_dir(
    desk: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "backup"
    assert invoke("backup", str(dest)).exit_code == 0
    fresh = tmp_path / "fresh" / "var"
    monkeypatch.setenv("CONSULTANT_VAR_DIR", str(fresh))
    _clear()

    result = invoke("restore", str(dest))
    assert result.exit_code == 0, result.output
    assert "restored" in result.output.splitlines()[-1]
    restored = fresh / "consultant.sqlite3"
    assert inbound_ids(restored) == inbound_ids(_live(desk)) and len(inbound_ids(restored)) == 3
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert (fresh / "outbox" / "answer-1.eml").read_bytes().endswith(b"The answer.\r\n")
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600
    assert not [p for p in fresh.iterdir() if p.name.startswith(".restore-")]


def test_restore_over_an_existing_database_needs_force_and_keeps_the_old_aside(
    desk: Settings, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    assert invoke("backup", str(dest)).exit_code == 0
    live = _live(desk)
    before = live.read_bytes()

    refused = invoke("restore", str(dest))
    assert refused.exit_code == 1
    assert "already holds a database" in refused.output and "--force" in refused.output
    assert live.read_bytes() == before

    forced = invoke("restore", str(dest), "--force")
    assert forced.exit_code == 0, forced.output
    (aside,) = desk.var_dir.glob("consultant.sqlite3.before-restore-*")
    assert str(aside) in forced.output
    assert inbound_ids(aside) == inbound_ids(live)
    assert list(desk.var_dir.glob("outbox.before-restore-*/answer-1.eml"))


def _flip_a_byte(dest: Path) -> str:
    database = dest / "consultant.sqlite3"
    data = bytearray(database.read_bytes())
    data[len(data) // 2] ^= 0xFF
    database.write_bytes(bytes(data))
    return "consultant.sqlite3: checksum differs from the manifest"


def _delete_manifest(dest: Path) -> str:
    (dest / "manifest.json").unlink()
    return "manifest missing"


def _edit_manifest(dest: Path) -> str:
    path = dest / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["outbox/answer-1.eml"]["sha256"] = "0" * 64
    path.write_text(json.dumps(manifest))
    return "answer-1.eml: checksum differs from the manifest"


def _corrupt_and_rechecksum(dest: Path) -> str:
    """A database that is damaged inside, with a manifest made to match it."""
    database = dest / "consultant.sqlite3"
    data = bytearray(database.read_bytes())
    data[4096 * 2 : 4096 * 2 + 64] = b"\xa5" * 64  # a b-tree page's header and cells
    database.write_bytes(bytes(data))
    path = dest / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["consultant.sqlite3"] = {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    path.write_text(json.dumps(manifest))
    return "integrity_check: "


@pytest.mark.parametrize(
    "damage", [_flip_a_byte, _delete_manifest, _edit_manifest, _corrupt_and_rechecksum]
)
def test_a_damaged_backup_is_refused_with_the_reason_and_nothing_is_written(
    desk: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: object
) -> None:
    dest = tmp_path / "backup"
    assert invoke("backup", str(dest)).exit_code == 0
    reason = damage(dest)  # type: ignore[operator]
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("CONSULTANT_VAR_DIR", str(fresh / "var"))
    _clear()

    result = invoke("restore", str(dest))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert reason in line, line
    written = [p for p in fresh.rglob("*") if p.name != "consultant.lock" and p.is_file()]
    assert written == [] and not (fresh / "var" / "outbox").exists()


def test_restore_refuses_a_var_dir_a_desk_holds(desk: Settings, tmp_path: Path) -> None:
    from consultant.instance import hold_instance_lock

    dest = tmp_path / "backup"
    assert invoke("backup", str(dest)).exit_code == 0
    held = hold_instance_lock(desk.var_dir)
    try:
        result = invoke("restore", str(dest), "--force")
    finally:
        held.close()
    assert result.exit_code == 1
    assert f"consultant is running on {desk.var_dir} (pid {os.getpid()})" in result.output
    assert not list(desk.var_dir.glob("*.before-restore-*"))


def test_backup_refuses_a_folder_that_is_not_new(desk: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    result = invoke("backup", str(dest))
    assert result.exit_code == 1 and "not an empty folder" in result.output
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


def test_pg_tools_missing_says_what_to_install_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consultant.backup import BackupError, libpq_target, pg_tool

    monkeypatch.setenv("PATH", "/nonexistent")
    url = "postgresql+psycopg://desk:pg-pa55@db.example:5432/consultant"
    with pytest.raises(BackupError) as refused:
        pg_tool("pg_dump", ["--format=custom", "--file", "x.pgdump"], url)
    message = str(refused.value)
    assert "apt-get install postgresql-client" in message and "pg-pa55" not in message
    shown = (
        "PGPASSWORD=… pg_dump --format=custom --file x.pgdump postgresql://desk@db.example:5432/"
    )
    assert shown in message
    target, extra = libpq_target(url)
    assert target == "postgresql://desk@db.example:5432/consultant"
    assert extra == {"PGPASSWORD": "pg-pa55"}


def _live(settings: Settings) -> Path:
    return settings.var_dir.resolve() / "consultant.sqlite3"


def _head() -> str:
    from alembic.script import ScriptDirectory

    from consultant.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _clear() -> None:
    from consultant.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()
