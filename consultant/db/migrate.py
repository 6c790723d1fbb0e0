"""Run Alembic migrations from code: `consultant db upgrade` and `consultant up`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from consultant.db.session import get_engine
from consultant.settings import Settings, get_settings


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "consultant.db:migrations")
    return config


def upgrade(settings: Settings | None = None, revision: str = "head") -> None:
    """Bring the configured database to `revision`; at head, with the package's
    policy rules installed (consultant.policies.store.install_package)."""
    settings = settings or get_settings()
    engine = get_engine(settings)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["settings"] = settings  # a migration may need the plans
        command.upgrade(config, revision)
    if revision == "head":
        from consultant.policies.store import install_package

        with Session(engine) as session, session.begin():
            install_package(session)


def current(settings: Settings | None = None) -> str | None:
    """Return the database's current revision, or None if it has none."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(settings or get_settings()).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
