"""Through the console and the API: another reviewer's claim refuses edits, approval,
rejection and questions with the holder's name until the case is taken over."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import Case, CaseState, Draft, OutboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.unit.web.conftest import OTHER, REVIEWER

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
API = "/api/v1"
ANSWER = "Hello Dana,\n\nYes: 20700 is an add-on code; report it with 27447.\n"


def counts(settings: Settings, ref: str) -> tuple[str, int, int]:
    with session_scope(settings) as session:
        case = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        drafts = len(session.scalars(select(Draft.id).where(Draft.case_id == case.id)).all())
        return case.state, drafts, len(session.scalars(select(OutboundMessage.id)).all())


def test_the_console_refuses_another_reviewers_claimed_case_until_taken_over(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    rita, rita_csrf = client_for(REVIEWER)
    otto, csrf = client_for(OTHER)
    assert rita.post(f"/cases/{case_ref}/claim", data={"csrf_token": rita_csrf}).status_code == 200
    before = counts(console_db, case_ref)
    claimed = f"case {case_ref} is claimed by {REVIEWER[0]}; take it over first"
    edit = {"csrf_token": csrf, "text": ANSWER, "subject": "Re: x", "base_version": "1"}
    tries = {
        "save": otto.post(f"/cases/{case_ref}/draft", data={**edit, "action": "save"}),
        "approve": otto.post(f"/cases/{case_ref}/draft", data={**edit, "action": "approve"}),
        "reject": otto.post(f"/cases/{case_ref}/reject", data={"csrf_token": csrf, "reason": "no"}),
        "ask": otto.post(f"/cases/{case_ref}/ask", data={"csrf_token": csrf, "question": "Knee?"}),
    }
    for name, response in tries.items():
        assert response.status_code == 409, name
        assert claimed in response.text, name
    assert counts(console_db, case_ref) == before

    take_over = {"csrf_token": csrf, "take_over": "1"}
    assert otto.post(f"/cases/{case_ref}/claim", data=take_over).status_code == 200
    saved = otto.post(f"/cases/{case_ref}/draft", data={**edit, "action": "save"})
    assert saved.status_code == 200 and "Draft saved." in saved.text
    assert counts(console_db, case_ref)[1] == before[1] + 1


def test_the_api_refuses_another_reviewers_claimed_case_with_409(
    client_for: Login, case_ref: str, console_db: Settings
) -> None:
    rita, rita_csrf = client_for(REVIEWER)
    otto, csrf = client_for(OTHER)
    headers = {"X-CSRF-Token": csrf}
    rita.post(f"{API}/cases/{case_ref}/claim", headers={"X-CSRF-Token": rita_csrf})
    tries = {
        "save": otto.put(
            f"{API}/cases/{case_ref}/draft",
            json={"text": ANSWER, "base_version": 1},
            headers=headers,
        ),
        "approve": otto.post(
            f"{API}/cases/{case_ref}/approve",
            json={"text": ANSWER, "base_version": 1},
            headers=headers,
        ),
        "reject": otto.post(
            f"{API}/cases/{case_ref}/reject", json={"reason": "no"}, headers=headers
        ),
        "ask": otto.post(
            f"{API}/cases/{case_ref}/ask", json={"question": "Knee?"}, headers=headers
        ),
    }
    for name, response in tries.items():
        assert response.status_code == 409, (name, response.text)
        assert response.json()["detail"] == (
            f"case {case_ref} is claimed by {REVIEWER[0]}; take it over first"
        )
    assert counts(console_db, case_ref)[0] == CaseState.IN_REVIEW
    taken = otto.post(f"{API}/cases/{case_ref}/claim", json={"take_over": True}, headers=headers)
    assert taken.status_code == 200
    approved = otto.post(
        f"{API}/cases/{case_ref}/approve", json={"text": ANSWER, "base_version": 1}, headers=headers
    )
    assert approved.status_code == 200, approved.text
