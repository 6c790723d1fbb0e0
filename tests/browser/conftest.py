"""Browser tests: Debian's Chromium driven by Playwright for Python (sync API).

`consultant web` runs as a child process on a free port; the tests log in
through its forms like a reviewer would. Small HTTP sites on other local ports
stand in for a tracker and for a foreign origin, and record every request.

Playwright's sync API leaves its asyncio loop marked running in the thread that
started it until it stops, so one Playwright (and one Chromium) lives per test
module, never across modules; every test gets a fresh browser context. No
Playwright browser download is used: Chromium is /usr/bin/chromium. Where it is
missing the tests skip with the reason, and fail under CI=true.
"""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from consultant.db.models import Case
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import need
from tests.integration import conftest as integration
from tests.integration.conftest import Child, wait_for
from tests.ports import free_port

# The integration fixtures these tests share: PostgreSQL, Redis, the relay sink, children.
pg_database = integration.pg_database
redis_url = integration.redis_url
production = integration.production
relay_sink = integration.relay_sink
spawn = integration.spawn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, BrowserType, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DATA = Path(__file__).resolve().parent / "data"
REVIEWER = ("rita@desk.example", "reviewer-password-123")
T = TypeVar("T")


# --- the browser --------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright, for one test module."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "playwright for Python is not installed (pip install -e '.[test]')")
        raise
    with sync_playwright() as playwright:
        browser = launch(playwright.chromium)
        try:
            yield browser
        finally:
            browser.close()


def launch(kind: BrowserType) -> Browser:
    """Start Debian's Chromium headless (Playwright never downloads a browser here)."""
    return kind.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no cache) for each test."""
    ctx = chromium.new_context()
    ctx.set_default_timeout(30_000)
    ctx.set_default_navigation_timeout(60_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def settle(page: Page, check: Callable[[], T], what: str, deadline: float = 60.0) -> T:
    """wait_for, but letting Playwright deliver its events (dialogs, requests) meanwhile."""

    def pumped() -> T:
        page.wait_for_timeout(50)  # the sync API dispatches events only inside its calls
        return check()

    return wait_for(pumped, what, deadline)


# --- the console --------------------------------------------------------------


@dataclass(frozen=True)
class Console:
    """A running `consultant web` child."""

    base_url: str
    port: int
    child: Child


def _healthy(console: Console) -> bool:
    if console.child.process.poll() is not None:
        pytest.fail(f"consultant web exited early:\n{console.child.output()}")
    try:
        with urllib.request.urlopen(f"{console.base_url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def start_console(spawn: Callable[..., Child]) -> Callable[..., Console]:
    """Start `consultant web` on a free port (with extra CONSULTANT_* variables); wait for
    /healthz. The child goes with the `spawn` fixture's teardown."""

    def start(**extra_env: str) -> Console:
        port = free_port()
        child = spawn("web", name="web", CONSULTANT_WEB_PORT=str(port), **extra_env)
        console = Console(f"http://127.0.0.1:{port}", port, child)
        wait_for(lambda: _healthy(console), "the console's /healthz", 120)
        return console

    return start


def add_login(settings: Settings, who: tuple[str, str] = REVIEWER, role: str = "reviewer") -> None:
    with session_scope(settings) as session:
        add_reviewer(session, who[0], role=role, password=who[1], name="Rita")


def process_mail(settings: Settings, raw: bytes) -> str:
    """Store and process one mail in this process; return its case's reference."""
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None, "the mail made no case"
        return session.get_one(Case, case_id).ref or ""


def case_row(settings: Settings, ref: str) -> Case:
    with session_scope(settings) as session:
        case = session.query(Case).filter(Case.ref == ref).one()
        session.expunge(case)
        return case


def fill_login(page: Page, who: tuple[str, str]) -> int:
    """Fill and submit the login form of the page that shows it; return the POST's status."""
    page.get_by_label("Address").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.get_by_role("button", name="Log in").click()
    return answer.value.status


def log_in(page: Page, console: Console, who: tuple[str, str] = REVIEWER) -> None:
    """Log in through the form and land on the queue."""
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/login"), page.url
    assert fill_login(page, who) == 303
    assert page.url == f"{console.base_url}/", page.content()
    assert page.get_by_role("heading", name="Queue").is_visible()


# --- small local sites ----------------------------------------------------------


@dataclass
class Site:
    """An HTTP server on 127.0.0.1 that serves fixed pages and records every request."""

    port: int
    pages: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)  # "METHOD /path"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [hit.split(" ", 1)[1] for hit in list(self.hits)]


def _handler(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            site.hits.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = site.pages.get(self.path.split("?", 1)[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body or b"")

        do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def local_site() -> Iterator[Callable[[], Site]]:
    """Start recording HTTP sites on free local ports; all stop after the test."""
    servers: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start() -> Site:
        site = Site(0)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
        server.daemon_threads = True
        site.port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, name=f"site-{site.port}")
        thread.start()
        servers.append((server, thread))
        return site

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
