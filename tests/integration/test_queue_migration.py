"""Migration 0014 on both profiles: existing cases get their due time from the
desk's plans, and the queue's queries use the new indexes on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import String, column, insert, select, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from consultant.db.base import UTCDateTime, utcnow
from consultant.db.migrate import alembic_config, upgrade
from consultant.db.models import Case
from consultant.db.session import get_engine, session_scope
from consultant.review.queue import queue_query, review_queue
from consultant.settings import Settings
from tests.integration.conftest import scratch_pg

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, migrated: Settings) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield migrated
        return
    with scratch_pg("queue_migration") as settings:
        yield settings


def _downgrade(settings: Settings, revision: str) -> None:
    config = alembic_config()
    with get_engine(settings).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_existing_cases_are_due_their_plans_sla_after_they_were_opened(
    database: Settings,
) -> None:
    _downgrade(database, "0013")
    opened = utcnow() - timedelta(days=3)
    cases = table(
        "cases",
        column("ref", String),
        column("sender", String),
        column("sender_name", String),
        column("subject", String),
        column("state", String),
        column("account_id"),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    with get_engine(database).begin() as connection:
        connection.execute(
            text("INSERT INTO accounts (name, plan, created_at) VALUES ('Clinic', 'paid', :at)"),
            {"at": opened},
        )
        paid = connection.execute(text("SELECT id FROM accounts")).scalar_one()
        rows = [("CC-1", None), ("CC-2", paid)]
        connection.execute(
            insert(cases),
            [
                dict(ref=ref, sender="a@example.org", sender_name="", subject="", state="drafted")
                | {"account_id": account, "created_at": opened, "updated_at": opened}
                for ref, account in rows
            ],
        )

    upgrade(database)

    with session_scope(database) as session:
        due = {ref: at for ref, at in session.execute(select(Case.ref, Case.due_at))}
        # The built-in plans: a guest's case is due in 72 hours, a paid account's in 24.
        assert due == {"CC-1": opened + timedelta(hours=72), "CC-2": opened + timedelta(hours=24)}
        assert [item.case.ref for item in review_queue(session, database)] == ["CC-2", "CC-1"]


def _plan(session: Session, query: str) -> str:
    return "\n".join(session.scalars(text(f"EXPLAIN {query}")))


def test_the_queue_reads_an_index_on_postgresql() -> None:
    with scratch_pg("queue_plan") as settings, session_scope(settings) as session:
        session.execute(
            text(
                "INSERT INTO cases (ref, sender, sender_name, subject, state, created_at,"
                " updated_at, due_at, stale_data)"
                " SELECT 'CC-' || n, 'a@example.org', '', '', CASE WHEN n % 50 = 0"
                " THEN 'drafted' ELSE 'sent' END, now(), now(), now() + n * interval '1 minute',"
                " false FROM generate_series(1, 20000) AS n"
            )
        )
        session.execute(
            text(
                'INSERT INTO case_codes (case_id, code, system, as_written, start, "end",'
                " quoted, position, part) SELECT id, code, 'cpt', code, 0, 5, false, k, 'body'"
                " FROM cases, LATERAL (SELECT k, (10000 + (id * 7 + k * 13) % 900)::text AS code"
                " FROM generate_series(1, 5) AS k) AS c"
            )
        )
        session.execute(text("ANALYZE cases"))
        session.execute(text("ANALYZE case_codes"))
        compiled = {}
        for name, kwargs in {
            "default": {},
            "code": {"code": "10500"},
            "sent": {"states": ("sent",)},
        }.items():
            compiled[name] = _plan(session, _queue_sql(**kwargs))
        for name, plan in compiled.items():
            assert not re.search(r"Seq Scan on cases\b", plan), (name, plan)
        assert "ix_cases_state_due" in compiled["sent"], compiled["sent"]


def _queue_sql(**filters: object) -> str:
    """The queue's SELECT as PostgreSQL would receive it, its parameters inlined."""
    statement = queue_query(**filters)  # type: ignore[arg-type]
    return str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
