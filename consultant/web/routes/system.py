"""The admin page on this machine: the children of `consultant up` (running or
waiting to be restarted, restarts, last exit status) and the free space under
var/ against CONSULTANT_MIN_FREE_MB."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from consultant.diskspace import free_mb
from consultant.supervise import supervision_state
from consultant.web.deps import PageAdmin, SettingsDep
from consultant.web.routes.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/system")
def system_page(request: Request, login: PageAdmin, settings: SettingsDep) -> Response:
    children = supervision_state(settings.var_dir)
    for child in children:
        since = child.get("since")
        child["since"] = datetime.fromtimestamp(since, UTC) if since else None
    return render(
        request,
        "admin_system.html.j2",
        children=children,
        var_dir=settings.var_dir.resolve(),
        free=free_mb(settings.var_dir),
        min_free=settings.min_free_mb,
    )
