"""The reviewer console: server-rendered pages and a JSON API over consultant/review/.

Plain HTML, one stylesheet and one script of our own (static/console.js: the
case page's keyboard shortcuts; every page works without it); nothing loads
from the internet. Every response carries a Content-Security-Policy that
allows only scripts served from the console itself (no inline script, no
eval), and mail from outside is shown sanitised inside a sandboxed frame
with no script at all, so markup that slipped past the sanitiser still
cannot run.
A request body over CONSULTANT_WEB_MAX_BODY is refused with 413 (bodylimit.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from consultant.codes.kinds import SETTING_NAMES
from consultant.settings import Settings
from consultant.web.bodylimit import BodyLimit
from consultant.web.casepage import VIEWS
from consultant.web.deps import (
    ACCOUNT_URL,
    Console,
    LoginRequired,
    PasswordChangeRequired,
    login_url,
)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
API_PREFIX = "/api/v1"
WEB_DIR = Path(str(files("consultant.web")))


def _queue_send(outbound_id: int) -> None:
    from workers.tasks import enqueue_send  # the console is a shell, like the CLI

    enqueue_send(outbound_id)


def create_app(settings: Settings, enqueue_send: Callable[[int], None] | None = None) -> FastAPI:
    """The console for `settings`; `enqueue_send` queues a committed outbox row."""
    from consultant.web.routes import (
        admin,
        api,
        attachments,
        cases,
        codedata,
        health,
        pages,
        policies,
        search,
        system,
    )

    app = FastAPI(
        title="consultant console API",
        version="1",
        description="The reviewer console's actions as JSON. Log in with POST "
        f"{API_PREFIX}/session; send the returned csrf_token as X-CSRF-Token on every "
        "request that changes something.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = Console(settings=settings, enqueue_send=enqueue_send or _queue_send)
    app.state.templates = templates()
    VIEWS.reset(settings.mail_view_cache, (settings.max_mime_parts, settings.max_mime_depth))
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    for routes in (pages, health, cases, attachments, admin, codedata, system, policies, search):
        app.include_router(routes.router)
    app.include_router(api.router, prefix=API_PREFIX)
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    app.add_exception_handler(PasswordChangeRequired, _to_account)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    # Inside the security headers (added later, so outside): its 413 carries them too.
    app.add_middleware(BodyLimit, limit=settings.web_max_body, api_prefix=API_PREFIX)
    app.middleware("http")(_security_headers)
    return app


def templates() -> Jinja2Templates:
    """The console's page templates (autoescaped), with its filters."""
    env = Environment(
        loader=FileSystemLoader(str(WEB_DIR / "templates")),
        autoescape=True,  # every template, whatever its name: mail content is data
        trim_blocks=True,
        lstrip_blocks=True,
    )
    found = Jinja2Templates(env=env)
    found.env.filters["when"] = when
    found.env.filters["ago"] = ago
    found.env.globals["api_prefix"] = API_PREFIX
    found.env.globals["setting_names"] = SETTING_NAMES  # the claim settings, for the case page
    return found


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def ago(value: timedelta) -> str:
    """A duration in the largest unit that fits: "3 d 4 h", "5 h 12 min", "40 min"."""
    minutes = int(value.total_seconds() // 60)
    sign, minutes = ("-", -minutes) if minutes < 0 else ("", minutes)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    return f"{sign}{hours} h {minutes} min" if hours else f"{sign}{minutes} min"


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _to_login(request: Request, error: LoginRequired) -> Response:
    return RedirectResponse(login_url(error.next_url), status_code=303)


async def _to_account(request: Request, error: PasswordChangeRequired) -> Response:
    return RedirectResponse(ACCOUNT_URL, status_code=303)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def _http_error(request: Request, error: HTTPException) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )
    page = request.app.state.templates.TemplateResponse(
        request,
        "error.html.j2",
        {"status": error.status_code, "message": error.detail, "login": _login_of(request)},
        status_code=error.status_code,
    )
    return page  # type: ignore[no-any-return]


async def _invalid(request: Request, error: RequestValidationError) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": _plain(error.errors())}, status_code=422)
    return await _http_error(request, HTTPException(422, "the form was incomplete or malformed"))


def _plain(errors: object) -> object:
    """Validation errors made JSON-safe (the input may hold bytes or odd values)."""
    if isinstance(errors, list):
        return [
            {k: v for k, v in e.items() if k in ("loc", "msg", "type")}
            if isinstance(e, dict)
            else str(e)
            for e in errors
        ]
    return str(errors)


def _login_of(request: Request) -> object:
    return getattr(request.state, "login", None)
