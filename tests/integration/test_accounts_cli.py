"""The accounts commands as an operator types them, and quota counted from real
rows, on SQLite (embedded profile) and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, select

from consultant.accounts import AccountError, consults_used, get_account, month_start, standing
from consultant.db.base import utcnow
from consultant.db.models import (
    Account,
    AccountAddress,
    AuditEntry,
    Case,
    OutboundMessage,
    OutboundState,
)
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import set_env
from tests.integration.conftest import _truncate, run_cli

pytestmark = pytest.mark.integration

_message_ids = count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Migrated settings on SQLite, then on PostgreSQL (emptied for the test)."""
    if request.param == "sqlite":
        settings: Settings = request.getfixturevalue("migrated")
        return settings
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return set_env(monkeypatch, env, database_url=url)


def _accounts(env: dict[str, str], *args: str) -> str:
    return run_cli(env, "accounts", *args).stdout


def _refused(env: dict[str, str], *args: str) -> str:
    """Run a command that must fail; return its one-line reason."""
    result = run_cli(env, "accounts", *args, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _audit(settings: Settings) -> list[tuple[str, dict[str, object]]]:
    with session_scope(settings) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.not_like("policy.%"))  # the policy library's install
            .order_by(AuditEntry.id)
        )
        return [(action, detail) for action, detail in rows]


def test_accounts_are_added_listed_shown_and_changed(
    database: Settings, env: dict[str, str]
) -> None:
    added = _accounts(
        env, "add", "Ann Coder", "--address", "Ann@Example.org", "--address", "ann@clinic.example"
    )
    assert (
        added == "account 1 (Ann Coder) created on plan free: ann@example.org, ann@clinic.example\n"
    )
    assert "account 2 (Bob) created on plan paid: bob@example.org" in _accounts(
        env, "add", "Bob", "--address", "bob@example.org", "--plan", "paid"
    )

    listing = _accounts(env, "list").splitlines()
    assert listing[0].split() == ["ID", "NAME", "PLAN", "MONTH", "ADDRESSES"]
    assert listing[1].split() == [
        "1",
        "Ann",
        "Coder",
        "free",
        "0/5",
        "ann@clinic.example,",
        "ann@example.org",
    ]
    assert listing[2].split() == ["2", "Bob", "paid", "0/unlimited", "bob@example.org"]
    only_paid = json.loads(_accounts(env, "list", "--plan", "paid", "--json"))
    assert [(a["id"], a["plan"], a["monthly_quota"], a["used"]) for a in only_paid] == [
        (2, "paid", None, 0)
    ]
    assert _accounts(env, "list", "--plan", "guest") == "no accounts on plan guest\n"

    assert "account 1 (Ann Coder): plan free -> paid" in _accounts(env, "set-plan", "1", "paid")
    assert "account 1 (Ann Coder): added ann@home.example" in _accounts(
        env, "add-address", "ANN@example.org", "Ann@Home.example"
    )
    shown = _accounts(env, "show", "ann@home.example")
    assert shown.splitlines() == [
        "account 1: Ann Coder",
        "Plan:       paid (unlimited)",
        "Addresses:  ann@clinic.example, ann@example.org, ann@home.example",
        "This month: 0 used, unlimited remaining",
        "Cases:      none",
    ]
    data = json.loads(_accounts(env, "show", "1", "--json"))
    assert data["plan"] == "paid" and data["remaining"] is None and data["cases"] == []

    assert [action for action, _ in _audit(database)] == [
        "account.created",
        "account.created",
        "account.plan_changed",
        "account.address_added",
    ]
    assert _audit(database)[2][1] == {"account_id": 1, "old_plan": "free", "plan": "paid"}


def test_an_address_of_another_account_is_refused_and_nothing_is_written(
    database: Settings, env: dict[str, str]
) -> None:
    _accounts(env, "add", "Ann Coder", "--address", "ann@example.org")
    reason = _refused(
        env, "add", "Carol", "--address", "carol@example.org", "--address", "ANN@example.org"
    )
    assert reason == "Error: ann@example.org already belongs to account 1 (Ann Coder)"
    _accounts(env, "add", "Bob", "--address", "bob@example.org")
    assert _refused(env, "add-address", "bob@example.org", "ann@example.org") == reason

    with session_scope(database) as session:
        names = session.scalars(select(Account.name).order_by(Account.id)).all()
        addresses = session.scalars(select(AccountAddress.address).order_by(AccountAddress.id))
        assert names == ["Ann Coder", "Bob"]
        assert addresses.all() == ["ann@example.org", "bob@example.org"]
    assert [action for action, _ in _audit(database)] == ["account.created"] * 2


def test_unknown_plans_keys_and_malformed_addresses_are_refused(
    database: Settings, env: dict[str, str]
) -> None:
    _accounts(env, "add", "Ann Coder", "--address", "ann@example.org")
    assert _refused(env, "set-plan", "1", "gold") == (
        "Error: no plan named 'gold' (plans: guest, free, paid)"
    )
    assert "no plan named 'gold'" in _refused(
        env, "add", "Bob", "--address", "bob@example.org", "--plan", "gold"
    )
    assert "is not an email address (it contains a space)" in _refused(
        env, "add-address", "1", "ann smith@example.org"
    )
    assert _refused(env, "show", "7") == "Error: no account 7"
    assert _refused(env, "set-plan", "nobody@example.org", "paid") == (
        "Error: no account with address nobody@example.org"
    )
    with session_scope(database) as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 1
        assert get_account(session, "1").plan == "free"


def _case(
    settings: Settings,
    ref: str,
    sender: str,
    account_id: int | None,
    answers: list[tuple[str, OutboundState, datetime | None]],
) -> None:
    """A case with outbound rows given as (kind, state, sent_at)."""
    with session_scope(settings) as session:
        case = Case(ref=ref, sender=sender, account_id=account_id, subject=f"Question {ref}")
        session.add(case)
        session.flush()
        for kind, state, sent_at in answers:
            session.add(
                OutboundMessage(
                    case_id=case.id,
                    kind=kind,
                    rfc_message_id=f"<{next(_message_ids)}@test.example>",
                    mail_from="consult@localhost",
                    recipients=[sender],
                    rcpt=sender,
                    raw=b"",
                    state=state.value,
                    sent_at=sent_at,
                )
            )


def test_a_consult_counts_when_its_answer_is_sent_this_month(
    database: Settings, env: dict[str, str]
) -> None:
    now = utcnow()
    this_month, last_month = month_start(now), month_start(now) - timedelta(seconds=1)
    sent, queued = OutboundState.SENT, OutboundState.QUEUED
    _accounts(env, "add", "Ann Coder", "--address", "ann@example.org")
    _accounts(env, "add", "Bob", "--address", "bob@example.org")
    _case(database, "T-1", "ann@example.org", 1, [("answer", sent, now)])
    _case(database, "T-2", "ann@example.org", 1, [("answer", sent, this_month)])
    # Two answers sent on one case are one consult.
    _case(database, "T-3", "ann@example.org", 1, [("answer", sent, now), ("answer", sent, now)])
    _case(database, "T-4", "ann@example.org", 1, [("answer", sent, last_month)])
    _case(database, "T-5", "ann@example.org", 1, [("answer", queued, None)])
    _case(database, "T-6", "ann@example.org", 1, [("answer", OutboundState.FAILED, None)])
    _case(database, "T-7", "ann@example.org", 1, [("ack", sent, now)])
    _case(database, "T-8", "ann@example.org", 1, [])
    _case(database, "T-9", "bob@example.org", 2, [("answer", sent, now)])
    # The account's consults count, whichever address the case came from.
    _case(database, "T-10", "ann@elsewhere.example", 1, [("answer", sent, now)])

    with session_scope(database) as session:
        assert consults_used(session, account_id=1, sender="", since=this_month) == 4
        assert consults_used(session, account_id=1, sender="", since=last_month) == 5
        assert consults_used(session, account_id=2, sender="", since=this_month) == 1
        ann = standing(session, database, get_account(session, "1"), "ann@example.org", now)
        assert (ann.plan.name, ann.used, ann.remaining, ann.exhausted) == ("free", 4, 1, False)
        next_month = month_start(this_month + timedelta(days=32))
        assert standing(session, database, get_account(session, "1"), "", next_month).used == 0

    shown = _accounts(env, "show", "ann@example.org").splitlines()
    assert shown[3] == "This month: 4 used, 1 remaining"
    assert shown[5].split() == ["T-10", "received", "Question", "T-10"]
    assert len(shown) == 5 + 9 and shown[-1].split()[0] == "T-1"
    listing = {a["id"]: a for a in json.loads(_accounts(env, "list", "--json"))}
    assert (listing[1]["used"], listing[1]["remaining"]) == (4, 1)
    assert (listing[2]["used"], listing[2]["remaining"]) == (1, 4)

    _case(database, "T-11", "ann@example.org", 1, [("answer", sent, now)])
    with session_scope(database) as session:
        assert standing(session, database, get_account(session, "1"), "", now).exhausted
    _case(database, "T-12", "ann@example.org", 1, [])
    shown = _accounts(env, "show", "1").splitlines()
    assert shown[3] == "This month: 5 used, 0 remaining"
    # Only the ten newest cases: T-12 down to T-2.
    assert [line.split()[0] for line in shown[5:]] == [
        f"T-{n}" for n in (12, 11, 10, *range(8, 1, -1))
    ]


def test_a_guest_is_counted_by_sender_on_the_guest_plan(
    database: Settings, env: dict[str, str]
) -> None:
    now = utcnow()
    sent = OutboundState.SENT
    _accounts(env, "add", "Ann Coder", "--address", "ann@example.org")
    _case(database, "G-1", "guest@example.org", None, [("answer", sent, now)])
    _case(database, "G-2", "guest@example.org", None, [("answer", sent, now)])
    _case(database, "G-3", "other@example.org", None, [("answer", sent, now)])
    _case(database, "G-4", "guest@example.org", None, [("answer", OutboundState.QUEUED, None)])
    # A case that belongs to an account is not the guest's, even from the same address.
    _case(database, "G-5", "guest@example.org", 1, [("answer", sent, now)])

    with session_scope(database) as session:
        since = month_start(now)
        assert consults_used(session, account_id=None, sender="Guest@Example.org", since=since) == 2
        assert (
            consults_used(session, account_id=None, sender="nobody@example.org", since=since) == 0
        )
        guest = standing(session, database, None, "guest@example.org", now)
        assert (guest.plan.name, guest.used, guest.remaining, guest.exhausted) == (
            "guest",
            2,
            0,
            True,
        )
        newcomer = standing(session, database, None, "new@example.org", now)
        assert (newcomer.used, newcomer.remaining, newcomer.exhausted) == (0, 1, False)


def test_an_account_on_a_plan_no_longer_defined_is_reported_not_hidden(
    database: Settings, env: dict[str, str]
) -> None:
    _accounts(env, "add", "Ann Coder", "--address", "ann@example.org")
    with session_scope(database) as session:
        get_account(session, "1").plan = "retired"
    with session_scope(database) as session, pytest.raises(AccountError, match="'retired'"):
        standing(session, database, get_account(session, "1"), "ann@example.org")
    assert "?" in _accounts(env, "list").splitlines()[1].split()
    assert "This month: ? (account 1 is on plan 'retired'" in _accounts(env, "show", "1")
