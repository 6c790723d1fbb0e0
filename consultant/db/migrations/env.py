"""Alembic environment: the URL comes from consultant settings unless given."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import consultant.db.models  # noqa: F401  (fills the metadata)
from consultant.db.base import Base
from consultant.db.session import get_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    with get_engine().connect() as connection:
        run(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `consultant db upgrade`")
run_online()
