"""Run Alembic migrations from code: `consultant db upgrade` and `consultant up`.

Input: the settings and a target revision. Output: the database at that
revision. A SQLite database that already has a revision and has migrations
pending is first copied to var/backups/pre-upgrade-<revision>-<time>/ (with a
manifest, as `consultant backup` writes one); if the migration fails, that
copy is written back, so the database is as it was, and UpgradeFailed names
the copy. (SQLite rolls back most of a failed migration by itself, but not a
migration that commits part-way; the copy covers every case.) A new, empty
database is not copied: there is nothing to lose.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from consultant.db.session import dispose_engines, get_engine
from consultant.errors import Refused
from consultant.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Where the migrations live; a test points it at a copy holding one that fails.
SCRIPT_LOCATION = "consultant.db:migrations"


class UpgradeFailed(Refused):
    """A migration failed; the database was put back as it was, from the named backup."""

    def __init__(self, reason: str, backup: Path) -> None:
        super().__init__(
            f"the migration failed ({reason}); the database is as it was before, "
            f"restored from the backup in {backup}"
        )
        self.backup = backup


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(settings: Settings | None = None, revision: str = "head") -> Path | None:
    """Bring the configured database to `revision`; at head, with the package's
    policy rules installed (consultant.policies.store.install_package). Return the
    folder of the backup taken first, if one was (see the module's docstring)."""
    settings = settings or get_settings()
    config = alembic_config()
    backup = _backup_first(settings, config, revision)
    try:
        _migrate(settings, config, revision)
    except Exception as error:
        if backup is None:
            raise
        from consultant.restore import put_back

        dispose_engines()  # no pooled connection of ours holds the file meanwhile
        put_back(settings, backup)
        lines = str(error).strip().splitlines()
        raise UpgradeFailed(lines[0] if lines else type(error).__name__, backup) from error
    return backup


def current(settings: Settings | None = None) -> str | None:
    """Return the database's current revision, or None if it has none."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(settings or get_settings()).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _migrate(settings: Settings, config: Config, revision: str) -> None:
    engine = get_engine(settings)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["settings"] = settings  # a migration may need the plans
        command.upgrade(config, revision)
    if revision == "head":
        from consultant.policies.store import install_package

        with Session(engine) as session, session.begin():
            install_package(session)


def _backup_first(settings: Settings, config: Config, revision: str) -> Path | None:
    """Copy a SQLite database with migrations pending; None when there is nothing to
    copy (PostgreSQL: its operator's backups; a new database; nothing pending)."""
    if not settings.embedded:
        return None
    before = current(settings)
    if before is None:
        return None
    targets = ScriptDirectory.from_config(config).get_revisions(revision)
    if before in {script.revision for script in targets if script is not None}:
        return None
    from consultant.backup import fresh_folder, stamp, take_backup
    from consultant.filemodes import private_dir

    backups = private_dir(settings.var_dir / "backups")  # copies of mail: private
    folder = fresh_folder(backups, f"pre-upgrade-{before}-{stamp()}")
    take_backup(settings, folder, database_only=True)
    log.info("backed up the database to %s before migrating from %s", folder, before)
    return folder
