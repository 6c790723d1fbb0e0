"""Every console route, found by walking the app: none answers without a login, none of
the admin ones answers a reviewer, and an expired session counts as none.

The routes are enumerated, not listed, so a route added later is checked too:
one that answers without a session fails here unless it joins PUBLIC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from consultant.db.base import utcnow
from consultant.db.models import WebSession
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web.app import API_PREFIX
from consultant.web.auth import CSRF_HEADER
from consultant.web.deps import api_admin, page_admin
from tests.unit.web.conftest import REVIEWER

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]

PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),  # a Bearer token of its own (CONSULTANT_METRICS_TOKEN), else 404
    ("POST", f"{API_PREFIX}/session"),
}
STATIC = "/static"
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def route_table(app: FastAPI) -> list[Any]:
    """The app's routes as served, with routers resolved (FastAPI >= 0.137 nests them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies every included route into app.routes
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def endpoints(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route) for every route but the static files."""
    for route in route_table(app):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path == STATIC:
            continue
        assert path and methods, f"a route this test cannot check: {route!r}"
        for method in sorted(methods - {"HEAD"}):
            yield method, path, route


def concrete(path: str, case_ref: str) -> str:
    """The path with plausible values: the fixture's case, id 1, index 0."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ref" or name.endswith("_ref"):
            return case_ref
        if name == "id" or name.endswith("_id"):
            return "1"
        if name == "index":
            return "0"
        raise AssertionError(f"no plausible value for path parameter {name!r} in {path}")

    return PARAMETER.sub(value, path)


def shut(response: Any) -> bool:
    """401 or 403, or a redirect to the login form."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (303, 307) and location.startswith("/login")


def dependencies(route: Any) -> Iterator[Any]:
    pending = list(route.dependant.dependencies)
    while pending:
        found = pending.pop()
        yield found.call
        pending.extend(found.dependencies)


def admin_only(method: str, path: str, route: Any) -> bool:
    if path.startswith("/admin"):
        return True
    dependant = getattr(route, "dependant", None)
    return dependant is not None and any(
        call in (api_admin, page_admin) for call in dependencies(route)
    )


def test_every_route_but_the_public_ones_needs_a_login(app: FastAPI, case_ref: str) -> None:
    seen, open_routes = set(), []
    with TestClient(app) as client:
        for method, path, _ in endpoints(app):
            seen.add((method, path))
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, concrete(path, case_ref), follow_redirects=False)
            if not shut(response):
                open_routes.append(f"{method} {path}: {response.status_code}")
    assert not open_routes, "routes answering without a login:\n" + "\n".join(open_routes)
    assert seen >= PUBLIC, f"public routes gone (update PUBLIC): {sorted(PUBLIC - seen)}"
    assert ("GET", f"{API_PREFIX}/openapi.json") in seen
    assert len(seen) > 30, f"too few routes found ({len(seen)}): is the enumeration broken?"


def test_a_reviewer_gets_403_from_every_admin_route(
    app: FastAPI, client_for: Login, case_ref: str
) -> None:
    client, csrf = client_for(REVIEWER)
    admin_routes = [(m, p) for m, p, route in endpoints(app) if admin_only(m, p, route)]
    answered = []
    for method, path in admin_routes:
        # With the CSRF token, so the 403 is the admin check's and not the CSRF check's.
        response = client.request(
            method,
            concrete(path, case_ref),
            headers={CSRF_HEADER: csrf},
            follow_redirects=False,
        )
        if response.status_code != 403 or "admin" not in response.text:
            answered.append(f"{method} {path}: {response.status_code}")
    assert not answered, "admin routes a reviewer could use:\n" + "\n".join(answered)
    api = {path for _, path in admin_routes if path.startswith(API_PREFIX)}
    assert {f"{API_PREFIX}/reviewers", f"{API_PREFIX}/accounts", f"{API_PREFIX}/plans"} <= api
    policies = {"/admin/policies/new", "/admin/policies/{rule_id}/edit"}
    assert policies | {"/admin/policies/{rule_id}/retire"} <= {path for _, path in admin_routes}


def test_an_expired_session_counts_as_no_session(
    client_for: Login, console_db: Settings, case_ref: str
) -> None:
    client, csrf = client_for(REVIEWER)
    assert client.get(f"{API_PREFIX}/me").status_code == 200
    with session_scope(console_db) as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(f"{API_PREFIX}/me").status_code == 401
    claim = client.post(f"{API_PREFIX}/cases/{case_ref}/claim", headers={CSRF_HEADER: csrf})
    assert claim.status_code == 401
    page = client.get(f"/cases/{case_ref}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=/cases/{case_ref}"
