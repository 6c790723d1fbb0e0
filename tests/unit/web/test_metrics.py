"""/metrics: Prometheus text, behind a Bearer token, counted from the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from consultant.accounts import GUEST_PLAN, load_plans
from consultant.db.base import utcnow
from consultant.db.models import Case, CodeRelease, InboundMessage, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import create_app
from tests.conftest import set_env

TOKEN = "scrape-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def with_token(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    return set_env(monkeypatch, env, metrics_token=TOKEN)


@pytest.fixture
def client(with_token: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(with_token, enqueue_send=lambda _: None)) as client:
        yield client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def inbound(n: int, source: str, state: str, waited: timedelta = timedelta()) -> InboundMessage:
    return InboundMessage(
        rfc_message_id=f"<m{n}@example.org>",
        sha256=f"{n:064d}",
        raw=b"Subject: x\r\n\r\nx\r\n",
        size=17,
        source=source,
        state=state,
        received_at=utcnow() - waited,
    )


def outbound(n: int, state: str) -> OutboundMessage:
    return OutboundMessage(
        rfc_message_id=f"<o{n}@desk.example>",
        mail_from="consult@localhost",
        recipients=["coder@example.org"],
        raw=b"x",
        state=state,
    )


def test_without_a_configured_token_metrics_is_not_found(migrated: Settings) -> None:
    with TestClient(create_app(migrated, enqueue_send=lambda _: None)) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 404


def test_an_empty_token_counts_as_none(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, env, metrics_token="")
    with TestClient(create_app(settings, enqueue_send=lambda _: None)) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_a_scrape_without_the_right_bearer_token_is_refused(
    client: TestClient, header: str | None
) -> None:
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "consultant_" not in response.text


def test_metrics_count_what_the_database_holds(client: TestClient, with_token: Settings) -> None:
    sla = timedelta(hours=load_plans(with_token)[GUEST_PLAN].sla_hours)
    with session_scope(with_token) as session:
        session.add_all(
            [
                inbound(1, "smtp", "stored", waited=timedelta(minutes=30)),
                inbound(2, "smtp", "stored"),
                inbound(3, "smtp", "processed"),
                inbound(4, "imap:consult", "quarantined"),
                inbound(5, "imap:consult", "failed"),
                inbound(6, "imap:consult", "processed"),
                inbound(7, "imap:consult", "processed"),
                outbound(1, "failed"),
                outbound(2, "bounced"),
                outbound(3, "bounced"),
                outbound(4, "sent"),
                Case(
                    ref="CC-2026-000001",
                    sender="a@example.org",
                    state="drafted",
                    created_at=utcnow() - sla - timedelta(hours=1),
                    due_at=utcnow() - timedelta(hours=1),  # intake's: opened + the plan's SLA
                ),
                Case(ref="CC-2026-000002", sender="b@example.org", state="in_review"),
                Case(ref="CC-2026-000003", sender="c@example.org", state="sent"),
                CodeRelease(
                    kind="hcpcs",
                    label="2026 Q1",
                    effective=date.today() - timedelta(days=90),
                    source_file="hcpcs.xlsx",
                    sha256="a" * 64,
                    rows=1,
                ),
                CodeRelease(
                    kind="hcpcs",
                    label="2025 Q4",
                    effective=date.today() - timedelta(days=180),
                    source_file="hcpcs-old.xlsx",
                    sha256="b" * 64,
                    rows=1,
                ),
            ]
        )
    samples = scrape(client)

    assert samples[("consultant_mails_received", (("source", "smtp"),))] == 3
    assert samples[("consultant_mails_received", (("source", "imap:consult"),))] == 4
    assert samples[("consultant_processing_failures", (("state", "quarantined"),))] == 1
    assert samples[("consultant_processing_failures", (("state", "failed"),))] == 1
    assert samples[("consultant_outbox_failures", (("state", "failed"),))] == 1
    assert samples[("consultant_outbox_failures", (("state", "bounced"),))] == 2
    assert samples[("consultant_backlog_mails", ())] == 2
    assert 30 * 60 <= samples[("consultant_backlog_oldest_seconds", ())] < 40 * 60
    assert samples[("consultant_drafts_waiting_review", ())] == 2
    assert 3600 <= samples[("consultant_oldest_due_case_seconds", ())] < 2 * 3600
    assert samples[("consultant_code_set_age_days", (("kind", "hcpcs"),))] == 90
    assert not any(
        name == "consultant_code_set_age_days" and dict(labels)["kind"] == "mue"
        for name, labels in samples
    )  # never loaded: no age to report


def test_an_empty_desk_reports_zeros(client: TestClient) -> None:
    samples = scrape(client)
    assert samples[("consultant_backlog_mails", ())] == 0
    assert samples[("consultant_backlog_oldest_seconds", ())] == 0
    assert samples[("consultant_drafts_waiting_review", ())] == 0
    assert samples[("consultant_processing_failures", (("state", "failed"),))] == 0
