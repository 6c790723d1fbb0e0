"""The admin pages, the audit log and the outbox, through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.cases import audit
from consultant.db.models import Account, AuditEntry, Reviewer, WebSession
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import mail_bytes
from tests.unit.web.conftest import ADMIN, REVIEWER, log_in, process

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
PASSWORD = re.compile(r'<code class="password">([^<]+)</code>')


def _reviewer_id(settings: Settings, email: str) -> int:
    with session_scope(settings) as session:
        return session.execute(select(Reviewer.id).where(Reviewer.email == email)).scalar_one()


def _audit(settings: Settings, prefix: str) -> list[tuple[str, str, dict[str, object]]]:
    with session_scope(settings) as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
        return [(actor, action, detail) for actor, action, detail in rows]


def _routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every route's path and methods, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x includes lazily
    except ImportError:
        return [(r.path, set(r.methods)) for r in app.routes if isinstance(r, APIRoute)]
    return [(c.path, set(c.methods)) for c in iter_route_contexts(app.routes) if c.methods]


def _rows(html: str) -> int:
    """Body rows of the page's table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return body.count("<tr")


# --- reviewers ----------------------------------------------------------------


def test_admin_adds_a_reviewer_whose_one_time_password_shows_once_and_logs_in(
    client_for: Login, app: FastAPI, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    added = admin.post(
        "/admin/reviewers",
        data={"csrf_token": csrf, "email": "Nina@Desk.example", "name": "Nina", "role": "reviewer"},
    )
    assert added.status_code == 201, added.text
    assert "Copy it now" in added.text
    found = PASSWORD.search(added.text)
    assert found, added.text
    password = found.group(1)

    again = admin.get("/admin/reviewers")
    assert "nina@desk.example" in again.text and password not in again.text
    assert _audit(console_db, "reviewer.added")[-1] == (
        ADMIN[0],
        "reviewer.added",
        {"reviewer": "nina@desk.example", "role": "reviewer"},
    )
    with TestClient(app, base_url="http://testserver") as nina:
        log_in(nina, ("nina@desk.example", password))
        assert "nina@desk.example" in nina.get("/").text


def test_adding_a_reviewer_twice_or_with_a_bad_address_is_refused(client_for: Login) -> None:
    admin, csrf = client_for(ADMIN)
    twice = admin.post("/admin/reviewers", data={"csrf_token": csrf, "email": REVIEWER[0]})
    assert twice.status_code == 422
    assert f"{REVIEWER[0]} is already a reviewer" in twice.text
    bad = admin.post("/admin/reviewers", data={"csrf_token": csrf, "email": "no-at-sign"})
    assert bad.status_code == 422 and "is not an email address" in bad.text
    assert not PASSWORD.search(bad.text)


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    admin_id = _reviewer_id(console_db, ADMIN[0])
    for change in ({"role": "reviewer", "active": "on"}, {"role": "admin", "active": "off"}):
        refused = admin.post(f"/admin/reviewers/{admin_id}", data={"csrf_token": csrf, **change})
        assert refused.status_code == 422, refused.text
        assert "this is the last active admin; make another admin first" in refused.text
    with session_scope(console_db) as session:
        row = session.get_one(Reviewer, admin_id)
        assert (row.role, row.active) == ("admin", True)
    assert _audit(console_db, "reviewer.changed") == []


def test_disabling_a_reviewer_ends_their_session_and_their_logins(
    client_for: Login, app: FastAPI, console_db: Settings
) -> None:
    rita, _ = client_for(REVIEWER)
    admin, csrf = client_for(ADMIN)
    rita_id = _reviewer_id(console_db, REVIEWER[0])
    changed = admin.post(
        f"/admin/reviewers/{rita_id}",
        data={"csrf_token": csrf, "role": "reviewer", "active": "off"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "disabled" in admin.get(changed.headers["location"]).text

    after = rita.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    with session_scope(console_db) as session:
        assert (
            session.scalars(select(WebSession).where(WebSession.reviewer_id == rita_id)).all() == []
        )
    assert _audit(console_db, "reviewer.changed") == [
        (ADMIN[0], "reviewer.changed", {"reviewer": REVIEWER[0], "active": False})
    ]


def test_promoting_a_reviewer_lets_the_first_admin_step_down(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    rita_id, admin_id = _reviewer_id(console_db, REVIEWER[0]), _reviewer_id(console_db, ADMIN[0])
    promote = {"csrf_token": csrf, "role": "admin", "active": "on"}
    assert admin.post(f"/admin/reviewers/{rita_id}", data=promote).status_code == 200
    demote = {"csrf_token": csrf, "role": "reviewer", "active": "on"}
    stepped_down = admin.post(f"/admin/reviewers/{admin_id}", data=demote, follow_redirects=False)
    assert stepped_down.status_code == 303
    assert admin.get("/admin/reviewers").status_code == 403  # no longer an admin


def test_admin_replaces_a_password_with_a_one_time_one(
    client_for: Login, app: FastAPI, console_db: Settings
) -> None:
    rita, _ = client_for(REVIEWER)
    admin, csrf = client_for(ADMIN)
    rita_id = _reviewer_id(console_db, REVIEWER[0])
    reset = admin.post(f"/admin/reviewers/{rita_id}/password", data={"csrf_token": csrf})
    assert reset.status_code == 200 and "Copy it now" in reset.text
    found = PASSWORD.search(reset.text)
    assert found
    assert rita.get("/", follow_redirects=False).status_code == 303  # logged out
    with TestClient(app, base_url="http://testserver") as again:
        log_in(again, (REVIEWER[0], found.group(1)))
    assert found.group(1) not in admin.get("/admin/reviewers").text


def test_unknown_reviewer_and_malformed_switch_are_refused(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    missing = admin.post("/admin/reviewers/9999", data={"csrf_token": csrf, "active": "off"})
    assert missing.status_code == 404
    rita_id = _reviewer_id(console_db, REVIEWER[0])
    odd = admin.post(f"/admin/reviewers/{rita_id}", data={"csrf_token": csrf, "active": "maybe"})
    assert odd.status_code == 422 and "active must be on or off" in odd.text


# --- accounts and plans -------------------------------------------------------


def test_admin_creates_an_account_sets_its_plan_and_adds_an_address(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    created = admin.post(
        "/admin/accounts",
        data={
            "csrf_token": csrf,
            "name": "Clinic <b>North</b>",
            "addresses": "Ann@North.example, bob@north.example\ncarol@north.example",
            "plan": "paid",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page = admin.get(created.headers["location"]).text
    assert "created on plan paid" in page
    assert "Clinic &lt;b&gt;North&lt;/b&gt;" in page and "<b>North</b>" not in page
    assert "ann@north.example" in page and "0 / unlimited" in page
    with session_scope(console_db) as session:
        account_id = session.execute(select(Account.id)).scalar_one()

    moved = admin.post(
        f"/admin/accounts/{account_id}/plan", data={"csrf_token": csrf, "plan": "free"}
    )
    assert moved.status_code == 200 and "plan paid → free" in moved.text
    assert "0 / 5" in moved.text
    added = admin.post(
        f"/admin/accounts/{account_id}/addresses",
        data={"csrf_token": csrf, "address": "Dora@North.example"},
    )
    assert added.status_code == 200 and "added dora@north.example" in added.text

    actions = [(actor, action) for actor, action, _ in _audit(console_db, "account.")]
    assert actions == [
        (ADMIN[0], "account.created"),
        (ADMIN[0], "account.plan_changed"),
        (ADMIN[0], "account.address_added"),
    ]


def test_account_refusals_show_the_reason_and_change_nothing(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    form = {"csrf_token": csrf, "name": "North", "addresses": "ann@north.example"}
    assert admin.post("/admin/accounts", data=form, follow_redirects=False).status_code == 303
    taken = admin.post("/admin/accounts", data={**form, "name": "South"})
    assert taken.status_code == 422
    assert "ann@north.example already belongs to account 1 (North)" in taken.text
    assert "South" in taken.text  # the form keeps what was typed
    no_plan = admin.post("/admin/accounts/1/plan", data={"csrf_token": csrf, "plan": "gold"})
    assert no_plan.status_code == 422 and "no plan named &#39;gold&#39;" in no_plan.text
    missing = admin.post(
        "/admin/accounts/99/addresses", data={"csrf_token": csrf, "address": "x@y.z"}
    )
    assert missing.status_code == 404
    assert [action for _, action, _ in _audit(console_db, "account.")] == ["account.created"]


def test_plans_page_lists_the_plans_with_quota_sla_and_accounts(client_for: Login) -> None:
    admin, csrf = client_for(ADMIN)
    form = {"csrf_token": csrf, "name": "North", "addresses": "ann@north.example", "plan": "paid"}
    admin.post("/admin/accounts", data=form)
    page = admin.get("/admin/plans")
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td><strong>(\w+)</strong>.*?</tr>", page.text, re.S)
    assert rows == ["guest", "free", "paid"]
    for expected in ("72 hours", "48 hours", "24 hours", "unlimited", "5 a month"):
        assert expected in page.text
    assert "CONSULTANT_PLANS_FILE" in page.text and "built-in plans" in page.text
    paid_row = re.search(r"<strong>paid</strong>.*?</tr>", page.text, re.S)
    assert paid_row and "<td>1</td>" in paid_row.group(0)


def test_a_plain_reviewer_gets_403_on_every_admin_route(
    client_for: Login, app: FastAPI, console_db: Settings
) -> None:
    rita, csrf = client_for(REVIEWER)
    checked = []
    for route_path, methods in _routes(app):
        if not route_path.startswith("/admin"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route_path)
        for method in sorted(methods - {"HEAD"}):
            data = {"csrf_token": csrf} if method != "GET" else None
            response = rita.request(method, path, data=data, follow_redirects=False)
            assert response.status_code == 403, (method, path, response.status_code)
            checked.append(f"{method} {route_path}")
    assert len(checked) >= 8, checked
    with session_scope(console_db) as session:
        assert session.scalars(select(Account)).all() == []


# --- audit log ----------------------------------------------------------------


def _save_draft(client: TestClient, csrf: str, ref: str, text: str) -> None:
    saved = client.post(
        f"/cases/{ref}/draft",
        data={
            "csrf_token": csrf,
            "text": text,
            "subject": f"Re: question [{ref}]",
            "base_version": "1",
            "action": "save",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text


def test_audit_page_shows_a_draft_edit_as_size_and_hash_and_filters_by_case(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    rita, csrf = client_for(REVIEWER)
    _save_draft(rita, csrf, case_ref, "Use modifier <59> & report 20700.\n")
    second_mail = mail_bytes("simple_question.eml").replace(b"<q1-", b"<q2-")
    other_ref = process(console_db, second_mail)

    everything = rita.get("/audit")
    assert everything.status_code == 200
    assert ">login<" in everything.text and other_ref in everything.text

    page = rita.get(f"/audit?case={case_ref.lower()}")
    assert page.status_code == 200
    # The audit log keeps no mail text: the edit is a size and a SHA-256.
    assert "Use modifier" not in page.text and '<pre class="diff">' not in page.text
    assert re.search(
        r"diff: \{&#34;sha256&#34;: &#34;[0-9a-f]{64}&#34;, &#34;size&#34;: \d+\}", page.text
    ), page.text
    assert "version: 2" in page.text
    assert f'<a href="/cases/{case_ref}">' in page.text
    assert other_ref not in page.text and ">login<" not in page.text

    drafts = rita.get(f"/audit?action=draft.&actor={REVIEWER[0]}")
    assert _rows(drafts.text) == 1 and "draft.edited" in drafts.text
    assert rita.get("/audit?case=CC-0000-000000").status_code == 404


def test_audit_page_pages_back_100_entries_at_a_time(
    client_for: Login, console_db: Settings
) -> None:
    with session_scope(console_db) as session:
        for number in range(150):
            audit(session, "system", "test.entry", None, number=number)
    admin, _ = client_for(ADMIN)
    first = admin.get("/audit?action=test.")
    assert _rows(first.text) == 100
    assert "number: 149" in first.text and "number: 49<" not in first.text
    older = re.search(r'href="(/audit\?[^"]*before=\d+)"', first.text)
    assert older, first.text
    second = admin.get(older.group(1).replace("&amp;", "&"))
    assert _rows(second.text) == 50
    assert "number: 49<" in second.text and "Older entries" not in second.text


def test_no_route_changes_or_deletes_audit_entries(client_for: Login, app: FastAPI) -> None:
    audit_routes = [
        (path, methods)
        for path, methods in _routes(app)
        if path.startswith(("/audit", "/api/v1/audit"))
    ]
    assert "/audit" in [path for path, _ in audit_routes]
    for path, methods in audit_routes:
        assert methods <= {"GET", "HEAD"}, (path, methods)
    admin, csrf = client_for(ADMIN)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert admin.request(method, "/audit", data={"csrf_token": csrf}).status_code == 405


# --- outbox -------------------------------------------------------------------


def test_outbox_lists_an_approved_answer_and_names_the_outbox_folder(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    rita, csrf = client_for(REVIEWER)
    approved = rita.post(
        f"/cases/{case_ref}/draft",
        data={
            "csrf_token": csrf,
            "text": "Yes, with modifier 59.\n",
            "subject": f"Re: question [{case_ref}]",
            "base_version": "1",
            "action": "approve",
        },
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    page = rita.get("/outbox")
    assert page.status_code == 200 and _rows(page.text) == 1
    for expected in (f'href="/cases/{case_ref}"', "answer", "dana.biller@example-clinic.org"):
        assert expected in page.text
    assert '<span class="state queued">queued</span>' in page.text
    assert "outbox folder" in page.text and str(console_db.outbox_path()) in page.text
    assert _rows(rita.get("/outbox?state=sent").text) == 0
    assert _rows(rita.get("/outbox?state=queued").text) == 1
