"""The admin page on code data: what is loaded per kind and setting, the period
each release covers and when the next is due, the open cases resting on stale
data, the import log, and the drop folder's waiting and refused files."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response

from consultant.codes.drop import drop_view
from consultant.codes.kinds import KIND_NAMES, SETTING_NAMES, SETTINGS
from consultant.codes.runs import recent_imports
from consultant.codes.status import code_status, stale_open_cases
from consultant.web.deps import DB, PageAdmin, SettingsDep
from consultant.web.routes.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/code-data")
def code_data_page(
    request: Request, login: PageAdmin, session: DB, settings: SettingsDep
) -> Response:
    today = date.today()
    return render(
        request,
        "admin_codes.html.j2",
        today=today,
        kinds=code_status(session, today),
        names=KIND_NAMES,
        settings_of={kind: SETTING_NAMES[setting] for kind, setting in SETTINGS.items()},
        stale=stale_open_cases(session),
        imports=recent_imports(session),
        drop=drop_view(settings),
    )
