"""Fuzz the JSON API from its own OpenAPI document: no request may end in a server error.

Schemathesis reads /api/v1/openapi.json through the API (it needs a login)
and generates, for every operation, valid requests and invalid ones (wrong
types, values out of bounds, missing fields and headers). Every generated
call carries a session of its own, minted in the database for an admin,
with its CSRF token: the fuzzer reaches past the login, DELETE /session only
ends that call's session, and a fuzzed PATCH /reviewers cannot lock it out.
Each operation gets a freshly processed case as `ref` for most of its calls,
so the actions meet an open case rather than only 404s.

The operations run in one test, one Hypothesis run each, rather than through
`schemathesis.pytest.from_fixture`: schemathesis 4.32's lazy loader sets
`request.node._nodeid`, which pytest 9.2 no longer has (AttributeError).
One database serves the module, so the run stays well under a minute.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from consultant import reviewers
from consultant.db.models import Reviewer
from consultant.db.session import session_scope
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from consultant.web.api_models import REF_PATTERN
from consultant.web.app import API_PREFIX, create_app
from consultant.web.auth import CSRF_HEADER, SESSION_COOKIE, load_session, start_session
from tests.conftest import mail_bytes, module_database
from tests.unit.web.conftest import (
    ADMIN,
    CHEAP_HASHER,  # the fuzzer tests the routes, not argon2
    REVIEWER,
    Sent,
    process,
)
from tests.unit.web.test_routes_require_login import endpoints

REF = re.compile(REF_PATTERN)
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reviewers, "_hasher", CHEAP_HASHER)
        patch.setattr(reviewers, "_DUMMY_HASH", CHEAP_HASHER.hash("not a password"))
        with module_database(tmp_path_factory.mktemp("fuzz")) as fuzz_settings:
            with session_scope(fuzz_settings) as session:
                add_reviewer(session, ADMIN[0], role="admin", password=ADMIN[1])
                add_reviewer(session, REVIEWER[0], role="reviewer", password=REVIEWER[1])
            yield fuzz_settings


@pytest.fixture(scope="module")
def fuzz_app(fuzz_db: Settings) -> FastAPI:
    return create_app(fuzz_db, enqueue_send=Sent())


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> Any:
    """The API's OpenAPI document, read through the API with a real login."""
    with TestClient(fuzz_app) as client:
        login = client.post(f"{API_PREFIX}/session", json={"email": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 200, login.text
        cookie = f"{SESSION_COOKIE}={login.cookies[SESSION_COOKIE]}"
    return schemathesis.openapi.from_asgi(
        f"{API_PREFIX}/openapi.json", fuzz_app, headers={"Cookie": cookie}
    )


@dataclass
class Fuzzing:
    """Per call: a fresh admin session; per operation: a fresh open case."""

    settings: Settings
    refs: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def session(self) -> tuple[str, str]:
        with session_scope(self.settings) as session:
            admin = session.scalars(select(Reviewer).where(Reviewer.email == ADMIN[0])).one()
            # A fuzzed PATCH /reviewers may have switched the admin off or demoted them.
            admin.active, admin.role = True, "admin"
            token = start_session(session, self.settings, admin)
            login = load_session(session, token)
            assert login is not None
            return token, login.csrf_token

    def ref_for(self, operation: str) -> str:
        if operation not in self.refs:
            self.count += 1
            raw = mail_bytes("simple_question.eml").replace(
                b"<q1-20261124.091500@", f"<fuzz-{self.count}@".encode()
            )
            self.refs[operation] = process(self.settings, raw)
        return self.refs[operation]


@pytest.fixture
def fuzzing(fuzz_db: Settings) -> Fuzzing:
    return Fuzzing(fuzz_db)


def aim_at_the_case(case: Any, fuzzing: Fuzzing) -> None:
    """Three in four calls with a well-formed `ref` get this operation's real case instead."""
    path = case.path_parameters or {}
    ref = path.get("ref")
    if isinstance(ref, str) and REF.fullmatch(ref) and zlib.crc32(ref.encode()) % 4:
        path["ref"] = fuzzing.ref_for(case.operation.label)


def fuzz(operation: Any, fuzzing: Fuzzing) -> None:
    """Up to MAX_EXAMPLES calls of `operation`, valid and invalid; raise on a 5xx."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        aim_at_the_case(case, fuzzing)
        token, csrf = fuzzing.session()
        response = case.call(cookies={SESSION_COOKIE: token}, headers={CSRF_HEADER: csrf})
        case.validate_response(response, checks=[not_a_server_error])

    call()


def test_api_never_answers_with_a_server_error(api_schema: Any, fuzzing: Fuzzing) -> None:
    failed: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            fuzz(operation, fuzzing)
        except Exception as error:  # collect every failing operation, then report them all
            notes = "\n".join(getattr(error, "__notes__", []))  # Hypothesis: the falsifying call
            failed.append(f"{operation.label}: {error!r}\n{notes}")
    assert not failed, "\n\n".join(failed)


def test_the_schema_lists_every_api_route(api_schema: Any, fuzz_app: FastAPI) -> None:
    """The fuzzer reads the schema through the API, so it must see every API route."""
    operations = {op.ok().label for op in api_schema.get_all_operations()}
    routes = {
        f"{method} {path}"
        for method, path, route in endpoints(fuzz_app)
        if path.startswith(API_PREFIX) and route.include_in_schema
    }
    assert operations == routes
    assert len(operations) >= 20 and f"DELETE {API_PREFIX}/session" in operations
