"""The JSON API on a real processed case: login, queue, case, drafts, approval, admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import AuditEntry, Case, CaseState, Draft, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import create_app
from consultant.web.auth import SESSION_COOKIE
from tests.unit.web.conftest import ADMIN, OTHER, REVIEWER, Sent

API = "/api/v1"
ApiLogin = Callable[[tuple[str, str]], tuple[TestClient, str]]


# argon2 at its production cost takes about 0.35 s a hash on a small machine, and
# every test here creates three reviewers and logs in; the hash is not under test.
def api_log_in(client: TestClient, who: tuple[str, str]) -> str:
    """Log in through POST /session; return the session's CSRF token."""
    response = client.post(f"{API}/session", json={"email": who[0], "password": who[1]})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


@pytest.fixture
def api_for(app: FastAPI) -> Iterator[ApiLogin]:
    clients: list[TestClient] = []

    def make(who: tuple[str, str]) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        return client, api_log_in(client, who)

    yield make
    for client in clients:
        client.close()


def drafts_of(settings: Settings) -> list[tuple[int, str]]:
    with session_scope(settings) as session:
        rows = session.execute(select(Draft.version, Draft.body_text).order_by(Draft.version))
        return [(version, text) for version, text in rows]


ANSWER = "Hello Dana,\n\nYes: 20700 is an add-on code; report it with 27447.\n"


def test_login_sets_an_httponly_lax_cookie_and_returns_the_csrf_token(
    app: FastAPI, console_db: Settings
) -> None:
    with TestClient(app) as client:
        response = client.post(
            f"{API}/session", json={"email": REVIEWER[0], "password": REVIEWER[1]}
        )
        me = client.get(f"{API}/me")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == REVIEWER[0] and body["role"] == "reviewer" and body["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert me.status_code == 200 and me.json() == body
    with session_scope(console_db) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).one()
    assert entry.actor == REVIEWER[0] and entry.detail["via"] == "api"


def test_login_cookie_is_secure_when_the_console_is_served_over_https(
    console_db: Settings, sent: Sent
) -> None:
    app = create_app(console_db.model_copy(update={"web_base_url": "https://desk.example"}), sent)
    with TestClient(app) as client:
        response = client.post(
            f"{API}/session", json={"email": REVIEWER[0], "password": REVIEWER[1]}
        )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def test_queue_and_case_detail_show_the_processed_case(api_for: ApiLogin, case_ref: str) -> None:
    client, _ = api_for(REVIEWER)
    queue = client.get(f"{API}/cases")
    assert queue.status_code == 200
    [item] = queue.json()
    assert item["ref"] == case_ref and item["state"] == "drafted"
    assert item["codes"] == ["20700", "27447", "M86.161"]
    assert (item["account"], item["plan"], item["assignee"]) == ("guest", "guest", None)
    assert client.get(f"{API}/cases", params={"state": "sent"}).json() == []
    assert client.get(f"{API}/cases", params={"code": "99999"}).json() == []

    detail = client.get(f"{API}/cases/{case_ref}").json()
    assert detail["ref"] == case_ref and detail["open"] is True
    assert "M86.161" in [code["code"] for code in detail["codes"]]
    assert {"as_written", "quoted", "units", "range"} <= set(detail["codes"][0])
    assert detail["draft"]["version"] == 1 and detail["draft"]["author"] == "system"
    assert detail["lookup"] is not None
    [message] = detail["messages"]
    assert message["unreadable"] is None and "20700" in message["new_text"]
    assert detail["outbound"] == [] and detail["similar"] == []


def test_unknown_case_is_404_and_a_malformed_reference_is_422(api_for: ApiLogin) -> None:
    client, csrf = api_for(REVIEWER)
    assert client.get(f"{API}/cases/CC-2026-999999").status_code == 404
    claimed = client.post(f"{API}/cases/CC-2026-999999/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status_code == 404 and "no case" in claimed.json()["detail"]
    assert client.get(f"{API}/cases/not-a-ref").status_code == 422


def test_stale_draft_save_is_refused_with_409_and_changes_nothing(
    api_for: ApiLogin, case_ref: str, console_db: Settings
) -> None:
    first, first_csrf = api_for(REVIEWER)
    second, second_csrf = api_for(OTHER)
    saved = first.put(
        f"{API}/cases/{case_ref}/draft",
        json={"text": "first reviewer's answer", "base_version": 1},
        headers={"X-CSRF-Token": first_csrf},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2 and saved.json()["author"] == REVIEWER[0]
    before = drafts_of(console_db)

    refused = second.put(
        f"{API}/cases/{case_ref}/draft",
        json={"text": "second reviewer's answer", "base_version": 1},
        headers={"X-CSRF-Token": second_csrf},
    )
    assert refused.status_code == 409
    assert "after you opened version 1" in refused.json()["detail"]
    assert drafts_of(console_db) == before
    assert before[-1] == (2, "first reviewer's answer")


def test_approve_writes_the_outbox_row_and_hands_it_to_the_send_task(
    api_for: ApiLogin, case_ref: str, console_db: Settings, sent: Sent
) -> None:
    client, csrf = api_for(REVIEWER)
    headers = {"X-CSRF-Token": csrf}
    saved = client.put(
        f"{API}/cases/{case_ref}/draft", json={"text": ANSWER, "base_version": 1}, headers=headers
    )
    assert saved.status_code == 200
    approved = client.post(
        f"{API}/cases/{case_ref}/approve", json={"base_version": 2}, headers=headers
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    with session_scope(console_db) as session:
        rows = list(session.scalars(select(OutboundMessage)))
        state = session.scalars(select(Case.state).where(Case.ref == case_ref)).one()
    assert [(row.id, row.kind, row.rfc_message_id) for row in rows] == [
        (body["outbound_id"], "answer", body["rfc_message_id"])
    ]
    assert sent.ids == [body["outbound_id"]] and body["queued"] is True
    assert b"20700 is an add-on code" in rows[0].raw
    assert state == CaseState.APPROVED
    again = client.post(
        f"{API}/cases/{case_ref}/approve", json={"base_version": 2}, headers=headers
    )
    assert again.status_code == 422 and sent.ids == [body["outbound_id"]]


def test_approval_is_kept_when_the_queue_is_down(console_db: Settings, case_ref: str) -> None:
    def broken(outbound_id: int) -> None:
        raise ConnectionError("broker down")

    with TestClient(create_app(console_db, broken)) as client:
        csrf = api_log_in(client, REVIEWER)
        approved = client.post(
            f"{API}/cases/{case_ref}/approve",
            json={"base_version": 1, "text": ANSWER},
            headers={"X-CSRF-Token": csrf},
        )
    assert approved.status_code == 200 and approved.json()["queued"] is False
    with session_scope(console_db) as session:
        assert session.scalars(select(OutboundMessage.id)).all() == [approved.json()["outbound_id"]]


def test_placeholder_draft_cannot_be_approved(api_for: ApiLogin, case_ref: str) -> None:
    client, csrf = api_for(REVIEWER)
    refused = client.post(
        f"{API}/cases/{case_ref}/approve", json={"base_version": 1}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 422 and "placeholder" in refused.json()["detail"]


def test_ask_queues_the_question_and_reject_then_refuses(
    api_for: ApiLogin, case_ref: str, sent: Sent
) -> None:
    client, csrf = api_for(REVIEWER)
    headers = {"X-CSRF-Token": csrf}
    asked = client.post(
        f"{API}/cases/{case_ref}/ask", json={"question": "Which knee?"}, headers=headers
    )
    assert asked.status_code == 200 and sent.ids == [asked.json()["outbound_id"]]
    assert client.get(f"{API}/cases/{case_ref}").json()["state"] == "awaiting_sender"
    rejected = client.post(
        f"{API}/cases/{case_ref}/reject", json={"reason": "duplicate"}, headers=headers
    )
    assert rejected.status_code == 422 and "awaiting_sender" in rejected.json()["detail"]


def test_reject_with_refusal_queues_the_refusal(
    api_for: ApiLogin, case_ref: str, sent: Sent
) -> None:
    client, csrf = api_for(REVIEWER)
    rejected = client.post(
        f"{API}/cases/{case_ref}/reject",
        json={"reason": "not a coding question", "send_refusal": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["state"] == "rejected" and body["state_reason"] == "not a coding question"
    assert body["refusal"]["queued"] is True and sent.ids == [body["refusal"]["outbound_id"]]
    outbox = client.get(f"{API}/outbox").json()
    assert [(row["kind"], row["case_ref"]) for row in outbox] == [("refusal", case_ref)]


def test_claims_conflict_until_taken_over_and_unclaim_gives_back(
    api_for: ApiLogin, case_ref: str
) -> None:
    rita, rita_csrf = api_for(REVIEWER)
    otto, otto_csrf = api_for(OTHER)
    claimed = rita.post(f"{API}/cases/{case_ref}/claim", headers={"X-CSRF-Token": rita_csrf})
    assert claimed.status_code == 200 and claimed.json()["assignee"] == REVIEWER[0]
    url = f"{API}/cases/{case_ref}/claim"
    assert otto.post(url, headers={"X-CSRF-Token": otto_csrf}).status_code == 409
    taken = otto.post(url, json={"take_over": True}, headers={"X-CSRF-Token": otto_csrf})
    assert taken.status_code == 200 and taken.json()["assignee"] == OTHER[0]
    back = rita.post(f"{API}/cases/{case_ref}/unclaim", headers={"X-CSRF-Token": rita_csrf})
    assert back.status_code == 422 and "another reviewer" in back.json()["detail"]
    mine = otto.post(f"{API}/cases/{case_ref}/unclaim", headers={"X-CSRF-Token": otto_csrf})
    assert mine.status_code == 200 and mine.json()["assignee"] is None


def test_changes_without_the_csrf_header_are_refused(
    api_for: ApiLogin, case_ref: str, console_db: Settings
) -> None:
    client, _ = api_for(REVIEWER)
    before = drafts_of(console_db)
    put = client.put(f"{API}/cases/{case_ref}/draft", json={"text": "x", "base_version": 1})
    post = client.post(f"{API}/cases/{case_ref}/claim", json={"take_over": False})
    wrong = client.post(f"{API}/cases/{case_ref}/claim", headers={"X-CSRF-Token": "forged"})
    assert (put.status_code, post.status_code, wrong.status_code) == (403, 403, 403)
    assert "CSRF" in put.json()["detail"]
    assert drafts_of(console_db) == before
    assert client.get(f"{API}/cases/{case_ref}").json()["assignee"] is None


def test_wrong_password_is_401_and_audited(app: FastAPI, console_db: Settings) -> None:
    with TestClient(app) as client:
        response = client.post(f"{API}/session", json={"email": REVIEWER[0], "password": "nope"})
        me = client.get(f"{API}/me")
    assert response.status_code == 401 and SESSION_COOKIE not in response.cookies
    assert me.status_code == 401
    with session_scope(console_db) as session:
        actors = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "login.failed")
        ).all()
    assert actors == [REVIEWER[0]]


def test_failed_logins_are_throttled_with_429_and_retry_after(
    app: FastAPI, console_db: Settings
) -> None:
    wrong = {"email": REVIEWER[0], "password": "wrong password"}
    with TestClient(app) as client:
        failures = [client.post(f"{API}/session", json=wrong).status_code]
        failures += [
            client.post(f"{API}/session", json=wrong).status_code
            for _ in range(console_db.login_attempts - 1)
        ]
        right = client.post(f"{API}/session", json={"email": REVIEWER[0], "password": REVIEWER[1]})
    assert failures == [401] * console_db.login_attempts
    assert right.status_code == 429
    assert 0 < int(right.headers["retry-after"]) <= console_db.login_window + 1


def test_logout_ends_the_session(api_for: ApiLogin) -> None:
    client, csrf = api_for(REVIEWER)
    assert client.delete(f"{API}/session").status_code == 403  # CSRF, like every change
    assert client.delete(f"{API}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get(f"{API}/me").status_code == 401


def test_reviewer_gets_403_on_admin_routes(api_for: ApiLogin) -> None:
    client, csrf = api_for(REVIEWER)
    headers = {"X-CSRF-Token": csrf}
    assert client.get(f"{API}/reviewers").status_code == 403
    assert client.get(f"{API}/plans").status_code == 403
    created = client.post(
        f"{API}/reviewers", json={"email": "eve@desk.example", "role": "admin"}, headers=headers
    )
    assert created.status_code == 403 and created.json() == {"detail": "admins only"}


def test_admin_creates_a_reviewer_who_logs_in_with_the_one_time_password(
    api_for: ApiLogin, app: FastAPI
) -> None:
    admin, csrf = api_for(ADMIN)
    new = {"email": "Nina@Desk.example", "name": "Nina", "role": "reviewer"}
    created = admin.post(f"{API}/reviewers", json=new, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["reviewer"]["email"] == "nina@desk.example" and body["one_time_password"]
    again = admin.post(f"{API}/reviewers", json=new, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    listed = [r["email"] for r in admin.get(f"{API}/reviewers").json()]
    assert "nina@desk.example" in listed
    with TestClient(app) as client:
        login = client.post(
            f"{API}/session",
            json={"email": "nina@desk.example", "password": body["one_time_password"]},
        )
        assert login.status_code == 200 and login.json()["role"] == "reviewer"


def test_admin_switches_a_reviewer_off_and_keeps_the_last_admin(
    api_for: ApiLogin, app: FastAPI
) -> None:
    admin, csrf = api_for(ADMIN)
    rita, _ = api_for(REVIEWER)
    by_email = {r["email"]: r["id"] for r in admin.get(f"{API}/reviewers").json()}
    headers = {"X-CSRF-Token": csrf}
    off = admin.patch(
        f"{API}/reviewers/{by_email[REVIEWER[0]]}", json={"active": False}, headers=headers
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert rita.get(f"{API}/me").status_code == 401  # their sessions ended
    last = admin.patch(
        f"{API}/reviewers/{by_email[ADMIN[0]]}", json={"role": "reviewer"}, headers=headers
    )
    assert last.status_code == 422 and "last active admin" in last.json()["detail"]
    assert admin.patch(f"{API}/reviewers/9999", json={}, headers=headers).status_code == 404


def test_admin_manages_accounts_and_plans(api_for: ApiLogin) -> None:
    admin, csrf = api_for(ADMIN)
    headers = {"X-CSRF-Token": csrf}
    plans = {plan["name"] for plan in admin.get(f"{API}/plans").json()}
    assert {"guest", "free", "paid"} <= plans
    account = {"name": "Clinic", "addresses": ["Billing@Clinic.example"], "plan": "free"}
    created = admin.post(f"{API}/accounts", json=account, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["addresses"] == ["billing@clinic.example"]
    account_id = created.json()["id"]
    assert admin.post(f"{API}/accounts", json=account, headers=headers).status_code == 409
    moved = admin.patch(f"{API}/accounts/{account_id}", json={"plan": "paid"}, headers=headers)
    assert moved.status_code == 200 and moved.json()["plan"] == "paid"
    unknown = admin.patch(f"{API}/accounts/{account_id}", json={"plan": "gold"}, headers=headers)
    assert unknown.status_code == 422 and "no plan" in unknown.json()["detail"]
    assert [a["name"] for a in admin.get(f"{API}/accounts").json()] == ["Clinic"]


def test_audit_log_lists_the_case_history_newest_first(api_for: ApiLogin, case_ref: str) -> None:
    client, csrf = api_for(REVIEWER)
    client.post(f"{API}/cases/{case_ref}/claim", headers={"X-CSRF-Token": csrf})
    entries = client.get(f"{API}/audit", params={"case": case_ref}).json()
    assert entries[0]["action"] == "case.claimed" and entries[0]["actor"] == REVIEWER[0]
    assert {entry["case_ref"] for entry in entries} == {case_ref}
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids, reverse=True)
    older = client.get(f"{API}/audit", params={"case": case_ref, "before": ids[0]}).json()
    assert [entry["id"] for entry in older] == ids[1:]


def test_openapi_document_needs_a_login_and_describes_the_api(
    app: FastAPI, api_for: ApiLogin
) -> None:
    with TestClient(app) as anonymous:
        assert anonymous.get(f"{API}/openapi.json").status_code == 401
    client, _ = api_for(REVIEWER)
    document = client.get(f"{API}/openapi.json").json()
    assert f"{API}/cases/{{ref}}/approve" in document["paths"]
    assert not any(path.startswith(("/cases", "/admin", "/login")) for path in document["paths"])
    assert document["components"]["securitySchemes"]["session"]["in"] == "cookie"


def test_redraft_makes_a_new_system_version_until_a_reviewer_writes_one(
    api_for: ApiLogin, case_ref: str, console_db: Settings
) -> None:
    client, csrf = api_for(REVIEWER)
    redrafted = client.post(f"{API}/cases/{case_ref}/redraft", headers={"X-CSRF-Token": csrf})
    assert redrafted.status_code == 200, redrafted.text
    assert redrafted.json()["version"] == 2 and redrafted.json()["author"] == "system"
    assert drafts_of(console_db)[1][1] == drafts_of(console_db)[0][1]  # same data, same draft
    with session_scope(console_db) as session:
        actions = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "case.redrafted")
        )
        assert list(actions) == [REVIEWER[0]]

    client.put(
        f"{API}/cases/{case_ref}/draft",
        json={"text": ANSWER, "base_version": 2},
        headers={"X-CSRF-Token": csrf},
    )
    refused = client.post(f"{API}/cases/{case_ref}/redraft", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 409 and "written by" in refused.json()["detail"]
    assert drafts_of(console_db)[-1] == (3, ANSWER)
    missing = client.post(f"{API}/cases/CC-2026-999999/redraft", headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404


def test_the_claim_setting_is_set_through_the_api_and_redrafts(
    api_for: ApiLogin, case_ref: str, console_db: Settings
) -> None:
    client, csrf = api_for(REVIEWER)
    headers = {"X-CSRF-Token": csrf}
    done = client.post(
        f"{API}/cases/{case_ref}/setting", json={"setting": "hospital"}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert (done.json()["version"], done.json()["author"]) == (2, "system")
    with session_scope(console_db) as session:
        setting = session.scalars(select(Case.setting).where(Case.ref == case_ref)).one()
    assert setting == "hospital"
    bad = client.post(f"{API}/cases/{case_ref}/setting", json={"setting": "moon"}, headers=headers)
    assert bad.status_code == 422
