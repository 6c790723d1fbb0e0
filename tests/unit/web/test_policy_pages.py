"""The policy library in the console and the API, through the real login form: every
reviewer reads, only an admin adds, edits and retires; an edit is the next version
with its audit entry; a stale or bad form is refused with the admin's input kept;
the case page shows the rules its draft cites."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from consultant.cli import main
from consultant.db.models import AuditEntry, Case, Draft
from consultant.db.session import session_scope
from consultant.policies import store
from consultant.settings import Settings
from consultant.web.auth import CSRF_HEADER
from tests.unit.web.conftest import ADMIN, REVIEWER, ask

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
API = "/api/v1"
NEW_TEXT = "Reworded by the expert, in our own words."


def first_rule() -> Any:
    return sorted(store.package_rules(), key=lambda rule: rule.id)[0]


def edit_form(rule: Any, csrf: str, **changes: str) -> dict[str, str]:
    """The edit form as the page fills it in for `rule`, with `changes` typed over it."""
    form = {
        "csrf_token": csrf,
        "base_version": str(rule.version),
        "title": rule.title,
        "text": rule.text,
        "citations": "\n".join(rule.citations),
        "applies": "- modifiers: ['25']\n",
        "unless": "",
        "effective": "",
        "expires": "",
    }
    return form | changes


def audit_of(settings: Settings, action: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(settings) as session:
        found = session.execute(
            select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == action)
        )
        return [(actor, detail) for actor, detail in found]


def test_an_admin_edit_is_the_next_version_with_its_audit_entry_and_history(
    client_for: Login, console_db: Settings
) -> None:
    rule = first_rule()
    admin, csrf = client_for(ADMIN)
    page = admin.get(f"/admin/policies/{rule.id}/edit")
    assert page.status_code == 200 and rule.text in html.unescape(page.text)
    saved = admin.post(
        f"/admin/policies/{rule.id}/edit",
        data=edit_form(rule, csrf, text=NEW_TEXT, effective="2025-01-01"),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith(f"/policies/{rule.id}?notice=Saved")
    with session_scope(console_db) as session:
        newest = store.history(session, rule.id)[0]
    assert (newest.version, newest.text, newest.effective) == (2, NEW_TEXT, date(2025, 1, 1))
    assert (newest.reviewed_by, newest.reviewed_on) == (ADMIN[0], date.today())
    assert [c.as_dict() for c in newest.applies] == [{"modifiers": ["25"]}]
    assert audit_of(console_db, "policy.edited") == [
        (ADMIN[0], {"rule": rule.id, "version": rule.version + 1, "origin": "console"})
    ]
    shown = admin.get(saved.headers["location"]).text
    assert NEW_TEXT in shown and f"Saved as version {rule.version + 1}." in shown
    assert f'href="/policies/{rule.id}?version={rule.version}"' in shown and ADMIN[0] in shown
    old = admin.get(f"/policies/{rule.id}?version={rule.version}").text
    assert rule.text in html.unescape(old) and NEW_TEXT not in old
    assert "an earlier one" in old
    assert admin.get(f"/policies/{rule.id}?version=7").status_code == 404


def test_a_reviewer_reads_the_library_but_cannot_change_it(
    client_for: Login, console_db: Settings
) -> None:
    rule = first_rule()
    rita, csrf = client_for(REVIEWER)
    listing = rita.get("/policies")
    assert listing.status_code == 200 and rule.id in listing.text
    assert 'href="/policies"' in listing.text  # the nav link
    page = rita.get(f"/policies/{rule.id}")
    assert page.status_code == 200 and rule.citations[0] in html.unescape(page.text)
    assert "/edit" not in page.text and "/retire" not in page.text
    assert rita.get(f"/admin/policies/{rule.id}/edit").status_code == 403
    edit = rita.post(f"/admin/policies/{rule.id}/edit", data=edit_form(rule, csrf, text="x."))
    retire = rita.post(
        f"/admin/policies/{rule.id}/retire",
        data={"csrf_token": csrf, "base_version": str(rule.version)},
    )
    new = rita.post("/admin/policies/new", data=edit_form(rule, csrf, id="sneaky-rule"))
    assert [edit.status_code, retire.status_code, new.status_code] == [403, 403, 403]
    with session_scope(console_db) as session:
        assert store.history(session, rule.id)[0].version == rule.version
        assert [r.id for r in store.library(session)].count("sneaky-rule") == 0


def test_a_stale_base_version_is_refused_and_the_input_kept(
    client_for: Login, console_db: Settings
) -> None:
    rule = first_rule()
    admin, csrf = client_for(ADMIN)
    first = admin.post(f"/admin/policies/{rule.id}/edit", data=edit_form(rule, csrf, text=NEW_TEXT))
    assert first.status_code == 200 and NEW_TEXT in first.text  # after the redirect
    stale = admin.post(
        f"/admin/policies/{rule.id}/edit",
        data=edit_form(rule, csrf, text="My own late rewording."),
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    assert "My own late rewording." in stale.text  # the admin's words are not lost
    with session_scope(console_db) as session:
        assert [r.text for r in store.history(session, rule.id)][:1] == [NEW_TEXT]


def test_a_bad_applies_is_shown_on_the_form_with_the_input_kept(
    client_for: Login, console_db: Settings
) -> None:
    rule = first_rule()
    admin, csrf = client_for(ADMIN)
    typed = "- codes: [99213\n  words: oops"
    refused = admin.post(
        f"/admin/policies/{rule.id}/edit",
        data=edit_form(rule, csrf, applies=typed, title="My new title"),
    )
    assert refused.status_code == 422
    assert "applies is not YAML" in refused.text
    assert typed in html.unescape(refused.text)
    assert 'value="My new title"' in refused.text
    unknown = admin.post(
        f"/admin/policies/{rule.id}/edit",
        data=edit_form(rule, csrf, applies="- colour: [red]\n", expires="soon"),
    )
    assert unknown.status_code == 422
    assert "unknown key(s) colour" in unknown.text and "expires must be a date" in unknown.text
    with session_scope(console_db) as session:
        assert store.history(session, rule.id)[0].version == rule.version
    assert audit_of(console_db, "policy.edited") == []


def test_an_admin_adds_a_rule_once_and_retires_it(client_for: Login, console_db: Settings) -> None:
    rule = first_rule()
    admin, csrf = client_for(ADMIN)
    assert admin.get("/admin/policies/new").status_code == 200
    form = edit_form(rule, csrf, id="telehealth-modifier-95", title="Telehealth: modifier 95")
    added = admin.post("/admin/policies/new", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert audit_of(console_db, "policy.added") == [
        (ADMIN[0], {"rule": "telehealth-modifier-95", "version": 1, "origin": "console"})
    ]
    again = admin.post("/admin/policies/new", data=form | {"text": "Another text."})
    assert again.status_code == 409 and "exists already" in again.text
    assert "Another text." in again.text
    retired = admin.post(
        "/admin/policies/telehealth-modifier-95/retire",
        data={"csrf_token": csrf, "base_version": "1"},
    )
    assert retired.status_code == 200 and "Retired as version 2." in retired.text
    assert "telehealth-modifier-95" not in admin.get("/policies").text
    assert "telehealth-modifier-95" in admin.get("/policies?all=1").text
    stale = admin.post(
        f"/admin/policies/{rule.id}/retire", data={"csrf_token": csrf, "base_version": "5"}
    )
    assert stale.status_code == 409


def test_the_api_lists_rules_and_shows_any_version(client_for: Login, console_db: Settings) -> None:
    rule = first_rule()
    admin, csrf = client_for(ADMIN)
    admin.post(f"/admin/policies/{rule.id}/edit", data=edit_form(rule, csrf, text=NEW_TEXT))
    rita, _ = client_for(REVIEWER)
    listed = rita.get(f"{API}/policies").json()
    assert [item["id"] for item in listed] == sorted(r.id for r in store.package_rules())
    mine = next(item for item in listed if item["id"] == rule.id)
    assert (mine["version"], mine["text"], mine["author"]) == (rule.version + 1, NEW_TEXT, ADMIN[0])
    one = rita.get(f"{API}/policies/{rule.id}", params={"version": rule.version}).json()
    assert (one["version"], one["text"], one["origin"]) == (rule.version, rule.text, "package")
    assert [v["version"] for v in one["versions"]] == list(range(rule.version + 1, 0, -1))
    assert rita.get(f"{API}/policies/no-such-rule").status_code == 404
    assert rita.get(f"{API}/policies/{rule.id}", params={"version": 9}).status_code == 404
    assert rita.get(f"{API}/policies/Bad Id").status_code == 422
    refused = rita.post(f"{API}/policies", headers={CSRF_HEADER: csrf})
    assert refused.status_code == 405  # read-only


def test_the_console_the_api_and_the_cli_list_the_same_rules(
    client_for: Login, console_db: Settings
) -> None:
    admin, csrf = client_for(ADMIN)
    retired = first_rule()
    admin.post(
        f"/admin/policies/{retired.id}/retire",
        data={"csrf_token": csrf, "base_version": str(retired.version)},
    )
    for everything in (False, True):
        flag = ["--all"] if everything else []
        cli = json.loads(CliRunner().invoke(main, ["policies", "list", "--json", *flag]).output)
        api = admin.get(f"{API}/policies", params={"all": everything}).json()
        page = admin.get("/policies", params={"all": 1} if everything else {}).text
        console = [
            line.split('">')[1] for line in page.split('<td class="code"><a href="/policies/')[1:]
        ]
        console = [name.split("<")[0] for name in console]
        ids = [(row["id"], row["version"]) for row in cli]
        assert ids == [(row["id"], row["version"]) for row in api]
        assert [name for name, _ in ids] == console
        assert (retired.id in console) is everything


def cite(settings: Settings, ref: str, rule: Any | None, version: int = 0) -> None:
    """Give the case's draft a fact sheet citing `rule` (as the answer engine does);
    None: a sheet without "rules", as drafts made before the library have."""
    with session_scope(settings) as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == ref))
        stored = session.scalar(select(Draft.lookup).where(Draft.case_id == case_id))
        sheet = json.loads(stored or "{}")
        sheet.pop("rules", None)
        if rule is not None:
            sheet["verdicts"] = [{"kind": "pair", "codes": ["20700", "27447"], "edit": True}]
            sheet["rules"] = [{**rule.cited(), "version": version, "verdicts": [0]}]
        session.execute(
            update(Draft).where(Draft.case_id == case_id).values(lookup=json.dumps(sheet))
        )


def test_the_case_page_shows_the_rules_its_draft_cites(
    client_for: Login, console_db: Settings, case_ref: str
) -> None:
    rule = first_rule()
    rita, _ = client_for(REVIEWER)
    cite(console_db, case_ref, None)
    old_draft = rita.get(f"/cases/{case_ref}")
    assert old_draft.status_code == 200 and "Rules the draft cites" not in old_draft.text
    cite(console_db, case_ref, rule, rule.version)
    page = rita.get(f"/cases/{case_ref}").text
    assert "Rules the draft cites" in page and f"{rule.id} v{rule.version}" in page
    assert rule.text in html.unescape(page)
    assert rule.citations[0] in html.unescape(page)
    assert "Attached to: pair 20700 + 27447" in page
    assert "is newer" not in page and "Retired since" not in page
    admin, csrf = client_for(ADMIN)
    admin.post(f"/admin/policies/{rule.id}/edit", data=edit_form(rule, csrf, text=NEW_TEXT))
    newer = rita.get(f"/cases/{case_ref}").text
    assert f"Version {rule.version + 1} is newer than the one this draft cites." in newer
    assert rule.text in html.unescape(newer)  # still what the draft used
    admin.post(
        f"/admin/policies/{rule.id}/retire",
        data={"csrf_token": csrf, "base_version": str(rule.version + 1)},
    )
    assert "Retired since this draft was made" in rita.get(f"/cases/{case_ref}").text


def test_a_drafted_case_shows_the_rules_the_answer_engine_cited(
    client_for: Login, console_db: Settings
) -> None:
    ref = ask(console_db)  # 99214 with 20610, "do I need a modifier?"
    with session_scope(console_db) as session:
        stored = session.scalar(select(Draft.lookup).join(Case).where(Case.ref == ref))
    cited = json.loads(stored or "{}").get("rules") or []
    assert cited, "the question should call for at least one rule"
    rita, _ = client_for(REVIEWER)
    page = html.unescape(rita.get(f"/cases/{ref}").text)
    section = page.split('id="rules">', 1)[1].split("</details>", 1)[0]
    for rule in cited:
        assert f"{rule['id']} v{rule['version']}" in section and rule["text"] in section
        assert all(citation in section for citation in rule["citations"])
    assert "is newer" not in section
