"""`consultant db upgrade` copies a SQLite database before migrating it, and puts the
copy back when a migration fails.

The failing migration is a real one: the package's migrations are copied to a
temporary folder with one more revision, whose upgrade creates a table, writes
rows and changes stored mail, then raises. In one case it commits part-way
first, as a migration that SQLite's rollback cannot undo; the database must
come back as it was all the same, and the error must name the backup.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import consultant.db.migrations
from consultant.db.migrate import alembic_config
from consultant.db.session import dispose_engines, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.settings import get_settings
from tests.conftest import mail_bytes
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration

FAILING = '''"""A migration that fails half-way (test only)."""

import sqlalchemy as sa
from alembic import op

revision = "9999_fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO upgrade_probe (id) VALUES (1)")
    op.execute("UPDATE inbound_messages SET source = 'changed by 9999'")
    if {commit}:  # as a migration that commits part of its work, then fails
        op.get_bind().exec_driver_sql("COMMIT")
    raise RuntimeError("deliberate failure in 9999_fails")


def downgrade() -> None:
    pass
'''


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _migrations_with_a_failing_one(folder: Path, commit: bool) -> Path:
    source = Path(consultant.db.migrations.__file__).parent
    target = folder / "migrations"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    failing = FAILING.format(head=_head(), commit=commit)
    (target / "versions" / "9999_fails.py").write_text(failing)
    return target


def _db_upgrade(env: dict[str, str], script_location: Path) -> subprocess.CompletedProcess[str]:
    """`consultant db upgrade`, with the migrations taken from `script_location`."""
    launcher = (
        "import sys, consultant.db.migrate as m; m.SCRIPT_LOCATION = sys.argv.pop(1); "
        "from consultant.cli import main; main(prog_name='consultant')"
    )
    return subprocess.run(
        [sys.executable, "-c", launcher, str(script_location), "db", "upgrade"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _state(database: Path) -> dict[str, object]:
    with sqlite3.connect(database) as connection:
        return {
            "tables": connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
            ).fetchall(),
            "revision": connection.execute("SELECT version_num FROM alembic_version").fetchall(),
            "mail": connection.execute(
                "SELECT id, source, sha256 FROM inbound_messages ORDER BY id"
            ).fetchall(),
            "integrity": connection.execute("PRAGMA integrity_check").fetchall(),
        }


def _stored_desk(env: dict[str, str]) -> Path:
    run_cli(env, "db", "upgrade")
    settings = get_settings()
    with session_scope(settings) as session:
        for n in range(5):
            raw = mail_bytes("simple_question.eml").replace(b"q1-", f"q1-{n}-".encode())
            store_raw(session, raw, source="smtp")
    dispose_engines()
    return settings.var_dir.resolve() / "consultant.sqlite3"


@pytest.mark.parametrize("commit", [False, True], ids=["rolled-back", "committed-part-way"])
def test_a_failed_migration_leaves_the_database_as_it_was_and_names_the_backup(
    env: dict[str, str], tmp_path: Path, commit: bool
) -> None:
    database = _stored_desk(env)
    before = _state(database)
    assert len(before["mail"]) == 5  # type: ignore[arg-type]

    failed = _db_upgrade(env, _migrations_with_a_failing_one(tmp_path, commit))

    assert failed.returncode == 1, failed.stdout + failed.stderr
    (line,) = failed.stderr.strip().splitlines()
    assert "the migration failed (deliberate failure in 9999_fails)" in line
    assert "the database is as it was before" in line
    (backup,) = (Path(env["CONSULTANT_VAR_DIR"]) / "backups").iterdir()
    assert backup.name.startswith(f"pre-upgrade-{_head()}-")
    assert str(backup.resolve()) in line or str(backup) in line
    assert (backup / "manifest.json").is_file()
    assert _state(database) == before
    assert _state(backup / "consultant.sqlite3")["mail"] == before["mail"]


def test_an_upgrade_with_migrations_pending_backs_up_first(env: dict[str, str]) -> None:
    heads = ScriptDirectory.from_config(alembic_config())
    head = heads.get_revision(_head())
    assert head is not None
    previous = head.down_revision
    assert isinstance(previous, str)
    fresh = run_cli(env, "db", "upgrade", previous)
    assert "backed up" not in fresh.stderr  # a new database: nothing to keep
    var = Path(env["CONSULTANT_VAR_DIR"])
    assert not (var / "backups").exists()

    upgraded = run_cli(env, "db", "upgrade")
    assert f"database at revision {_head()}" in upgraded.stdout
    (backup,) = (var / "backups").iterdir()
    assert f"backed up the database to {backup}" in upgraded.stderr
    for private in (var / "backups", backup, backup / "consultant.sqlite3"):
        assert stat.S_IMODE(private.stat().st_mode) in (0o700, 0o600), private
    with sqlite3.connect(backup / "consultant.sqlite3") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (previous,)
        ]

    again = run_cli(env, "db", "upgrade")  # nothing pending: no copy
    assert "backed up" not in again.stderr
    assert len(list((var / "backups").iterdir())) == 1
