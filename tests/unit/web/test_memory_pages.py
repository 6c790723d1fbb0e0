"""The answer memory in the console and the API: an answer approved on the case page
is offered beside the next case's answer for the same verdict (with its case,
approver and date) and inserted only by the reviewer's click, without saving;
the Search page and GET /api/v1/search find it, for a reviewer who is no admin.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.cases import advance
from consultant.codes.importers import import_file
from consultant.db.models import AuditEntry, CaseState, Draft
from consultant.db.session import session_scope
from consultant.memory import insert_paragraph
from consultant.review import get_case, latest_draft
from consultant.settings import Settings
from tests.conftest import cms_files
from tests.memory_support import ask
from tests.unit.web.conftest import QUESTION, REVIEWER

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
API = "/api/v1"
EXPERT = "For 99214 with 20610 the injection visit needs notes that stand apart: chondromalacia."


def _draft(settings: Settings, ref: str) -> Draft:
    with session_scope(settings) as session:
        draft = latest_draft(session, get_case(session, ref).id)
        assert draft is not None
        session.expunge(draft)
        return draft


def _textarea(page: str) -> str:
    found = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no answer editor on the page"
    return html.unescape(found.group(1))


@pytest.fixture
def answered(console_db: Settings, client_for: Login) -> tuple[str, TestClient, str]:
    """A case approved on the case page by the reviewer, its answer holding EXPERT."""
    with session_scope(console_db) as session:
        import_file(session, "pfs", cms_files()["pfs"])
    ref = ask(console_db, QUESTION, "Injection and visit")
    client, csrf = client_for(REVIEWER)
    draft = _draft(console_db, ref)
    form = {"subject": draft.subject, "base_version": str(draft.version), "csrf_token": csrf}
    text = insert_paragraph(draft.body_text, EXPERT)
    approved = client.post(f"/cases/{ref}/draft", data={**form, "text": text, "action": "approve"})
    assert approved.status_code == 200 and "Approved" in approved.text, approved.text
    return ref, client, csrf


def test_the_next_case_offers_the_paragraph_and_reuse_saves_it_with_its_source(
    console_db: Settings, answered: tuple[str, TestClient, str]
) -> None:
    first, client, csrf = answered
    second = ask(console_db, QUESTION, "Same question")
    page = client.get(f"/cases/{second}").text
    panel = page[page.index('id="remembered"') :]
    assert "em_procedure:99214+20610" in panel and f'<a href="/cases/{first}">' in panel
    assert f"approved by {REVIEWER[0]}" in panel and "chondromalacia" in panel
    offer_id = int(re.findall(r"/reuse/(\d+)", panel)[0])
    assert f'form="draft-form" formaction="/cases/{second}/reuse/{offer_id}"' in panel
    assert "chondromalacia" not in _textarea(page)  # never inserted without a click

    draft = _draft(console_db, second)
    form = {"subject": draft.subject, "base_version": str(draft.version), "csrf_token": csrf}
    reused = client.post(f"/cases/{second}/reuse/{offer_id}", data={**form, "text": "Mine."})

    assert reused.status_code == 200 and "Reused" in reused.text
    text = _textarea(reused.text)
    assert text.startswith("Mine.\n\n") and EXPERT in text
    with session_scope(console_db) as session:
        versions = session.scalars(select(Draft.version).where(Draft.case_id == draft.case_id))
        assert sorted(versions) == [1, 2]  # saved: a reload neither loses nor repeats it
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.case_id == draft.case_id, AuditEntry.action == "answer.reused"
            )
        ).one()
    assert entry.actor == REVIEWER[0] and entry.detail["source"] == first
    assert entry.detail["paragraph"] == offer_id
    form["base_version"] = "2"
    missing = client.post(f"/cases/{second}/reuse/999999", data={**form, "text": "Mine, kept."})
    assert missing.status_code == 404 and _textarea(missing.text) == "Mine, kept."

    (offer,) = client.get(f"{API}/cases/{second}").json()["offers"]
    assert (offer["id"], offer["case_ref"], offer["approved_by"]) == (offer_id, first, REVIEWER[0])
    assert EXPERT in offer["text"] and offer["stale"] == [] and offer["key"].startswith("em_")


def test_reuse_on_a_similar_case_inserts_its_approved_paragraph(
    console_db: Settings, answered: tuple[str, TestClient, str]
) -> None:
    first, client, csrf = answered
    with session_scope(console_db) as session:  # as the worker does once the relay took it
        advance(session, get_case(session, first).id, CaseState.SENT, actor="test")
    second = ask(console_db, QUESTION, "Same codes again")
    page = client.get(f"/cases/{second}").text
    assert f'formaction="/cases/{second}/reuse-case/{first}"' in page
    draft = _draft(console_db, second)
    form = {"subject": draft.subject, "base_version": str(draft.version), "csrf_token": csrf}
    reused = client.post(f"/cases/{second}/reuse-case/{first}", data={**form, "text": "Mine."})
    assert reused.status_code == 200 and f"Reused the answer of {first}" in reused.text
    assert EXPERT in _textarea(reused.text)
    with session_scope(console_db) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.case_id == draft.case_id)
        ).all()
    assert "answer.reused" in actions
    stranger = client.post(f"/cases/{second}/reuse-case/{second}", data={**form, "text": "x"})
    assert stranger.status_code == 404


def test_the_search_page_and_the_api_find_the_answer_for_a_reviewer(
    answered: tuple[str, TestClient, str],
) -> None:
    first, client, _ = answered
    start = client.get("/search")
    assert start.status_code == 200 and '<a href="/search">Search</a>' in start.text

    for query in ("q=chondromalacia", "code=20610", "q=visit&code=99214&since=2000-01-01"):
        found = client.get(f"/search?{query}")
        assert found.status_code == 200 and f'<a href="/cases/{first}">' in found.text, query
    assert "chondromalacia" in client.get("/search?q=chondromalacia").text  # the snippet
    for query in ("q=chondromalacia&until=2000-01-01", 'q=AND+"NEAR(+*', "code=27447"):
        nothing = client.get(f"/search?{query}")
        assert nothing.status_code == 200 and "No approved answer matches" in nothing.text
    bad = client.get("/search?q=x&since=yesterday")
    assert bad.status_code == 422 and "From is not a date" in bad.text

    (hit,) = client.get(f"{API}/search", params={"q": "chondromalacia"}).json()
    assert hit["ref"] == first and hit["codes"] == ["99214", "20610"]
    assert "chondromalacia" in hit["snippet"] and hit["approved_by"] == REVIEWER[0]
    assert [h["ref"] for h in client.get(f"{API}/search?code=20610").json()] == [first]
    assert client.get(f"{API}/search", params={"code": "20610", "since": "2999-01-01"}).json() == []
    assert client.get(f"{API}/search", params={"q": '"NEAR( col:x *'}).json() == []
    assert client.get(f"{API}/search", params={"since": "not-a-date"}).status_code == 422
