"""Health, readiness and metrics: for load balancers and Prometheus, not people.

/readyz answers 200 when every check of consultant/health.py passes, else
503; the JSON body names each check and why. /metrics needs
`Authorization: Bearer <CONSULTANT_METRICS_TOKEN>` and is 404 when no token
is set (the console's address then reveals nothing). /healthz (process
alive) stays in pages.py.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from consultant.db.session import session_scope
from consultant.health import readiness
from consultant.metrics import CONTENT_TYPE, render_metrics
from consultant.web.deps import SettingsDep

router = APIRouter(include_in_schema=False)


@router.get("/readyz")
def readyz(settings: SettingsDep) -> Response:
    checks = readiness(settings)
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request, settings: SettingsDep) -> Response:
    # Plain answers, not the console's error page: the caller is a scraper.
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not token:  # an empty token would let "Bearer " in
        return PlainTextResponse("Not Found\n", 404)
    expected = f"Bearer {token}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        return PlainTextResponse("a Bearer token is needed\n", 401, {"WWW-Authenticate": "Bearer"})
    with session_scope(settings) as session:
        return Response(render_metrics(session, settings), media_type=CONTENT_TYPE)
