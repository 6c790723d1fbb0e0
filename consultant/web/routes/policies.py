"""The policy library's pages: every reviewer reads the rules, admins change them.

Input: a reviewer's GET of the list or of a rule (any version), or an admin's
form (a new rule, an edit, a retirement). Output: pages. Changes go through
consultant/policies/ (editing.py, store.py), which write each change as the
rule's next version with its audit entry; these routes commit and turn a
refusal into the form again, with the admin's input and the reason (422 for a
bad entry, 409 when someone else saved a version since the form was loaded).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlalchemy.orm import Session

from consultant.errors import Refused
from consultant.policies import store
from consultant.policies.editing import RuleForm, save_form
from consultant.web.deps import DB, PageAdmin, PageLogin
from consultant.web.refusals import refusals, status_of
from consultant.web.routes.pages import back, render

router = APIRouter(include_in_schema=False)
Line = Annotated[str, Form(max_length=2000)]
Long = Annotated[str, Form(max_length=50_000)]
Base = Annotated[int, Form(ge=0, le=2**31 - 1)]


@router.get("/policies")
def policies_page(
    request: Request, login: PageLogin, session: DB, all: bool = False, notice: str = ""
) -> Response:
    rows = store.newest_versions(session, retired=all)
    return render(request, "policies.html.j2", rows=rows, all=all, notice=notice, error="")


@router.get("/policies/{rule_id}")
def policy_page(
    request: Request,
    login: PageLogin,
    session: DB,
    rule_id: str,
    version: int | None = None,
    notice: str = "",
) -> Response:
    """A rule as it is now, or as `version` said it, with every version listed."""
    with refusals():
        shown, versions = store.one_version(session, rule_id, version)
    context: dict[str, Any] = {"versions": versions, "newest": versions[0], "notice": notice}
    return render(request, "policy.html.j2", shown=shown, error="", **context)


def _form_page(request: Request, form: RuleForm, status: int = 200, error: str = "") -> Response:
    return render(request, "policy_form.html.j2", status, form=form, error=error, notice="")


@router.get("/admin/policies/new")
def new_policy_form(request: Request, login: PageAdmin) -> Response:
    return _form_page(request, RuleForm())


@router.get("/admin/policies/{rule_id}/edit")
def edit_policy_form(request: Request, login: PageAdmin, session: DB, rule_id: str) -> Response:
    with refusals():
        newest = store.history(session, rule_id)[0]
    return _form_page(request, RuleForm.of(newest))


def _save(request: Request, session: Session, form: RuleForm, editor: str) -> Response:
    """Save the form as the next version and show the rule; a refusal shows the form again."""
    try:
        saved = save_form(session, form, editor)
    except Refused as error:
        session.rollback()
        return _form_page(request, form, status_of(error), str(error))
    session.commit()
    if saved is None:
        return back(f"/policies/{form.id.strip()}", "Nothing changed: no new version.")
    return back(f"/policies/{saved.id}", f"Saved as version {saved.version}.")


def _typed(
    title: Line = "",
    text: Long = "",
    citations: Long = "",
    applies: Long = "",
    unless: Long = "",
    effective: Line = "",
    expires: Line = "",
) -> dict[str, str]:
    """The form's fields as the admin typed them (both forms have them)."""
    return {
        "title": title,
        "text": text,
        "citations": citations,
        "applies": applies,
        "unless": unless,
        "effective": effective,
        "expires": expires,
    }


Typed = Annotated[dict[str, str], Depends(_typed)]


@router.post("/admin/policies/new")
def new_policy(
    request: Request, login: PageAdmin, session: DB, typed: Typed, id: Line = ""
) -> Response:
    return _save(request, session, RuleForm(id=id, base_version=0, **typed), login.email)


@router.post("/admin/policies/{rule_id}/edit")
def edit_policy(
    request: Request, login: PageAdmin, session: DB, rule_id: str, base_version: Base, typed: Typed
) -> Response:
    form = RuleForm(id=rule_id, base_version=base_version, **typed)
    return _save(request, session, form, login.email)


@router.post("/admin/policies/{rule_id}/retire")
def retire_policy(
    request: Request, login: PageAdmin, session: DB, rule_id: str, base_version: Base
) -> Response:
    """Retire the rule (its next version says so); answers stop citing it."""
    with refusals():
        retired = store.retire(session, rule_id, login.email, base_version=base_version)
    session.commit()
    return back(f"/policies/{rule_id}", f"Retired as version {retired.version}.")
