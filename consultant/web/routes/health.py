"""Health and readiness: for load balancers and Prometheus, not people.

/readyz answers 200 when every check of consultant/health.py passes, else
503; the JSON body names each check and why. /healthz (process alive) stays
in pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from consultant.health import readiness
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
