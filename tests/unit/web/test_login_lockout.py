"""Login throttling behind a TLS proxy: X-Forwarded-For counts only from a trusted
proxy, failures are keyed by (address, client) with wider limits per client and per
address, and an admin unlocks an address from the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ipaddress import ip_network
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.cli.reviewers import reviewers
from consultant.db.models import AuditEntry
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import API_PREFIX, create_app
from tests.unit.web.conftest import OTHER, REVIEWER

PROXY = ("10.0.0.7", 40000)  # in CONSULTANT_TRUSTED_PROXIES below
STRANGER = ("192.0.2.9", 40000)  # not
Console = Callable[..., FastAPI]


@pytest.fixture
def console(console_db: Settings) -> Console:
    """The console with trusted proxies 10.0.0.0/8 and ::1, and other settings as given."""

    def make(**changes: Any) -> FastAPI:
        values = {"trusted_proxies": [ip_network("10.0.0.0/8"), ip_network("::1")], **changes}
        return create_app(console_db.model_copy(update=values), enqueue_send=lambda _: None)

    return make


@pytest.fixture
def peer(console: Console) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(address: tuple[str, int], app: FastAPI | None = None) -> TestClient:
        client = TestClient(app or console(), client=address)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def log_in(client: TestClient, who: tuple[str, str], forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    body = {"email": who[0], "password": who[1]}
    return client.post(f"{API_PREFIX}/session", json=body, headers=headers).status_code


def wrong(who: tuple[str, str]) -> tuple[str, str]:
    return who[0], "not-the-password"


def clients_of_failures(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed"))
        return [str((entry.detail or {}).get("client")) for entry in entries]


def test_clients_behind_a_trusted_proxy_are_throttled_separately(
    peer: Callable[..., TestClient], console_db: Settings
) -> None:
    proxy = peer(PROXY)
    attempts = console_db.login_attempts
    failures = [log_in(proxy, wrong(REVIEWER), "203.0.113.5") for _ in range(attempts)]
    assert failures == [401] * attempts
    assert log_in(proxy, REVIEWER, "203.0.113.5") == 429  # the one who mistyped
    assert log_in(proxy, REVIEWER, "203.0.113.6") == 200  # everyone else behind the proxy
    assert log_in(proxy, OTHER, "203.0.113.5") == 200  # and other addresses from that client
    assert set(clients_of_failures(console_db)) == {"203.0.113.5"}


def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    peer: Callable[..., TestClient], console_db: Settings
) -> None:
    proxy = peer(PROXY)
    log_in(proxy, wrong(REVIEWER), "198.51.100.1, 203.0.113.5, 10.0.0.3")
    log_in(proxy, wrong(REVIEWER), "not-an-address")  # a trusted proxy's nonsense: the proxy
    assert clients_of_failures(console_db) == ["203.0.113.5", PROXY[0]]


def test_a_trusted_proxy_seen_on_a_dual_stack_socket_is_still_trusted(
    peer: Callable[..., TestClient], console_db: Settings
) -> None:
    # An IPv4 peer accepted on an IPv6 socket shows as ::ffff:10.0.0.7.
    proxy = peer(("::ffff:" + PROXY[0], 40000))
    attempts = console_db.login_attempts
    for _ in range(attempts):
        assert log_in(proxy, wrong(REVIEWER), "203.0.113.5") == 401
    assert log_in(proxy, REVIEWER, "203.0.113.6") == 200  # others behind it are not locked out
    assert set(clients_of_failures(console_db)) == {"203.0.113.5"}


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("203.0.113.5:51234", "203.0.113.5"),
        ("[2001:db8::5]:443", "2001:db8::5"),
        ("198.51.100.1, 203.0.113.5:51234, 10.0.0.3:8443", "203.0.113.5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("[2001:db8::5]:99999", PROXY[0]),  # not a port: nonsense, so the proxy
    ],
)
def test_hops_written_with_a_port_or_mapped_are_read_as_their_address(
    peer: Callable[..., TestClient], console_db: Settings, forwarded: str, client: str
) -> None:
    log_in(peer(PROXY), wrong(REVIEWER), forwarded)
    assert clients_of_failures(console_db) == [client]


def test_an_untrusted_peer_cannot_choose_its_address_with_x_forwarded_for(
    peer: Callable[..., TestClient], console_db: Settings
) -> None:
    stranger = peer(STRANGER)
    attempts = console_db.login_attempts
    for attempt in range(attempts):
        assert log_in(stranger, wrong(REVIEWER), f"203.0.113.{attempt}") == 401
    assert log_in(stranger, REVIEWER, "203.0.113.99") == 429
    assert set(clients_of_failures(console_db)) == {STRANGER[0]}


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    peer: Callable[..., TestClient], console: Console, console_db: Settings
) -> None:
    proxy = peer(PROXY, console(trusted_proxies=[]))
    log_in(proxy, wrong(REVIEWER), "203.0.113.5")
    assert clients_of_failures(console_db) == [PROXY[0]]


def test_one_client_spraying_many_addresses_is_stopped_for_all_of_them(
    peer: Callable[..., TestClient], console: Console
) -> None:
    sprayer = peer(STRANGER, console(login_client_attempts=3))
    for n in range(3):
        assert log_in(sprayer, (f"guess{n}@desk.example", "password-guess")) == 401
    assert log_in(sprayer, REVIEWER) == 429
    assert log_in(peer(("192.0.2.10", 1), console(login_client_attempts=3)), REVIEWER) == 200


def test_many_clients_guessing_one_address_lock_it_at_the_wider_limit(
    peer: Callable[..., TestClient], console: Console
) -> None:
    app = console(login_address_attempts=4)
    for n in range(4):
        assert log_in(peer((f"192.0.2.{20 + n}", 1), app), wrong(REVIEWER)) == 401
    assert log_in(peer(("192.0.2.30", 1), app), REVIEWER) == 429
    assert log_in(peer(("192.0.2.30", 1), app), OTHER) == 200


def unlock(*args: str) -> str:
    result = CliRunner().invoke(reviewers, ["unlock", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_admin_unlocks_an_address_from_the_cli(
    peer: Callable[..., TestClient], console_db: Settings
) -> None:
    proxy = peer(PROXY)
    for _ in range(console_db.login_attempts):
        log_in(proxy, wrong(REVIEWER), "203.0.113.5")
    assert log_in(proxy, REVIEWER, "203.0.113.5") == 429
    assert unlock(REVIEWER[0].upper()) == f"{REVIEWER[0]}: 10 failed login(s) forgotten\n"
    assert log_in(proxy, REVIEWER, "203.0.113.5") == 200


def test_unlock_with_a_client_also_clears_that_clients_own_count(
    peer: Callable[..., TestClient], console: Console
) -> None:
    sprayer = peer(STRANGER, console(login_client_attempts=2))
    log_in(sprayer, ("guess@desk.example", "password-guess"))
    log_in(sprayer, wrong(REVIEWER))
    assert log_in(sprayer, REVIEWER) == 429
    unlock(REVIEWER[0])
    assert log_in(sprayer, REVIEWER) == 429  # still the client's spray count
    assert "and client 192.0.2.9" in unlock(REVIEWER[0], "--client", STRANGER[0])
    assert log_in(sprayer, REVIEWER) == 200
