"""The Search page: past approved answers and their questions, for every reviewer.

Input: the form's words, code and approval dates (YYYY-MM-DD, either may be
empty). Output: the hits of consultant.memory.search, newest approval first.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response

from consultant import memory
from consultant.web.deps import DB, PageLogin
from consultant.web.routes.pages import render

router = APIRouter(include_in_schema=False)
LIMIT = 50


def _day(value: str, name: str, problems: list[str]) -> date | None:
    """The date the field holds, None when empty; a malformed one is named in `problems`."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{name} is not a date (YYYY-MM-DD)")
        return None


@router.get("/search")
def search_page(
    request: Request,
    login: PageLogin,
    session: DB,
    q: str = "",
    code: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    q, code = q[:500], code[:16]
    problems: list[str] = []
    days = _day(since, "From", problems), _day(until, "To", problems)
    asked = bool(q.strip() or code.strip() or any(days))
    hits = memory.search(session, q, code, *days, limit=LIMIT) if asked and not problems else []
    form = {"q": q, "code": code, "since": since, "until": until}
    status = 422 if problems else 200
    error = "; ".join(problems)
    return render(request, "search.html.j2", status, form=form, hits=hits, asked=asked, error=error)
