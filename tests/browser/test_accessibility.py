"""No serious or critical accessibility violation on the console's pages (axe-core).

axe-core (the copy bundled in the axe-playwright-python package: nothing is
fetched at run time) runs in Debian's Chromium on each page a reviewer or an
admin uses: the login form logged out (and refusing a password), the queue
(default filters, and every state so each state's badge is shown), two case
pages (a text mail, and an HTML mail awaiting its sender), the outbox, the
audit log, the account page, the three admin pages (reviewers also with a new
one-time password shown), the policy library, one policy, the new-policy form,
and a search with results and one refusing its date. Folded parts (<details>)
are opened first, since axe skips what is hidden. The asker's own HTML, shown in
a sandboxed frame without scripts, is not ours to check and axe cannot run in it.

The console's CSP allows only its own script file (script-src 'self'). Playwright's
page.evaluate runs through the DevTools protocol, which CSP does not govern, so
axe is injected and run without loosening the policy (no bypass_csp): the
pages are checked exactly as they are served.

One console on PostgreSQL serves the whole module (starting one per page would
be most of the run time); each page is its own test, so a failure names its
page. A failure lists every serious and critical violation of the page: rule,
impact, what it asks for, and the selectors of the elements at fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from consultant.db.models import CaseState
from consultant.db.session import dispose_engines, session_scope
from consultant.review import actions
from consultant.settings import Settings, get_settings
from tests.browser.conftest import Console, _healthy, add_login, fill_login, log_in, process_mail
from tests.conftest import mail_bytes
from tests.integration import conftest as integration
from tests.integration.conftest import Child, wait_for
from tests.ports import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ADMIN = ("ada@desk.example", "admin-password-12345")
BLOCKING = ("serious", "critical")
# Page name -> path; {text}, {html} and {policy} are filled in by the `desk` fixture.
PAGES = {
    "queue": "/",
    "queue, every state": "/?{every_state}",
    "case (text mail)": "/cases/{text}",
    "case (HTML mail)": "/cases/{html}",
    "outbox": "/outbox",
    "audit log": "/audit",
    "account": "/account",
    "admin reviewers": "/admin/reviewers",
    "admin reviewers, a one-time password shown": "/admin/reviewers",
    "admin accounts": "/admin/accounts",
    "admin plans": "/admin/plans",
    "admin code data": "/admin/code-data",
    "admin system": "/admin/system",
    "policies": "/policies",
    "a policy": "{policy}",
    "new policy": "/admin/policies/new",
    "search": "/search?q=modifier",
    "search, a date refused": "/search?since=someday",
}
REFUSED = {"search, a date refused": 422}  # the page shows the form again with the error


def _add_reviewer(page: Page) -> None:
    """Add a reviewer through the form: the answer shows their one-time password."""
    form = page.locator("form[action='/admin/reviewers']")
    form.locator("input[name=email]").fill("nina@desk.example")
    with page.expect_navigation():
        form.get_by_role("button").click()
    assert page.locator("code.password").count() == 1, page.content()


BEFORE = {"admin reviewers, a one-time password shown": _add_reviewer}


@dataclass(frozen=True)
class Desk:
    """The module's console, an admin's logged-in browser context and the pages' paths."""

    console: Console
    context: BrowserContext
    paths: dict[str, str]


def _another(number: int) -> bytes:
    """simple_question.eml as another question (its own Message-ID and sender)."""
    raw = mail_bytes("simple_question.eml").replace(b"<q1-", f"<q{number}-".encode())
    return raw.replace(b"Dana Biller <dana", f"Dana Biller <dana{number}".encode())


def _cases(settings: Settings) -> dict[str, str]:
    """Four cases in four states: drafted, awaiting the sender, approved (its answer in
    the outbox and in the answers search finds) and rejected."""
    text = process_mail(settings, mail_bytes("simple_question.eml"))
    html = process_mail(settings, mail_bytes("html_only.eml"))
    answered, rejected = process_mail(settings, _another(2)), process_mail(settings, _another(3))
    with session_scope(settings) as session:
        answer = "Hello,\n\nReport 20700 with 27447; modifier 59 is not needed.\n\nThe desk\n"
        actions.approve(session, settings, answered, ADMIN[0], text=answer)
        actions.ask_sender(session, settings, html, ADMIN[0], "Which payer is this for?")
        actions.reject(session, rejected, ADMIN[0], "Asked twice")
    every_state = urlencode([("state", state.value) for state in CaseState])
    return {"text": text, "html": html, "every_state": every_state}


def _stop(child: Child) -> None:
    if child.process.poll() is None:
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def _start_web(folder: Path) -> Console:
    """`consultant web` on a free port with this process's environment; wait for /healthz."""
    port = free_port()
    log = folder / "web.log"
    env = {**os.environ, "CONSULTANT_WEB_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "consultant", "web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    console = Console(f"http://127.0.0.1:{port}", port, Child("web", process, log))
    try:
        wait_for(lambda: _healthy(console), "the console's /healthz", 120)
    except BaseException:
        _stop(console.child)
        raise
    return console


@pytest.fixture(scope="module")
def desk(
    chromium: Browser, pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    """`consultant web` on the session's PostgreSQL database (emptied first), with an
    admin, four cases, an answer in the outbox, and the admin logged in."""
    folder = tmp_path_factory.mktemp("accessibility")
    integration._truncate(pg_database)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in list(os.environ):
            if name.startswith("CONSULTANT_") and name != "CONSULTANT_SHARED_DIR":
                monkeypatch.delenv(name)
        monkeypatch.setenv("CONSULTANT_VAR_DIR", str(folder / "var"))
        monkeypatch.setenv("CONSULTANT_DATABASE_URL", pg_database)
        get_settings.cache_clear()
        settings = get_settings()
        add_login(settings, ADMIN, role="admin")
        refs = _cases(settings)
        console = _start_web(folder)
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(30_000)
        try:
            page = context.new_page()
            log_in(page, console, ADMIN)
            page.goto(f"{console.base_url}/policies")
            policy = page.locator("main a[href^='/policies/']").first.get_attribute("href")
            page.close()
            assert policy, "the policy library lists no rule"
            paths = {name: path.format(policy=policy, **refs) for name, path in PAGES.items()}
            yield Desk(console, context, paths)
        finally:
            context.close()
            _stop(console.child)
            get_settings.cache_clear()
            dispose_engines()


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (all impacts)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found: list[dict[str, Any]] = results.response["violations"]
    return found


def report(where: str, found: list[dict[str, Any]]) -> str:
    """Violations readably: rule, impact, what it asks, and each element's selector."""
    lines = [f"{where}: {len(found)} violation(s)"]
    for violation in found:
        nodes = violation["nodes"]
        lines.append(
            f"  {violation['id']} ({violation['impact']}, {len(nodes)} element(s)): "
            f"{violation['help']}"
        )
        lines += [f"      {' >> '.join(map(str, node['target']))}" for node in nodes]
    return "\n".join(lines)


def check(page: Page, where: str) -> None:
    """Open every folded part (axe skips what is hidden), run axe, and fail on a serious
    or critical violation."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    found = violations(page)
    print(report(where, found))  # every impact, shown by pytest -rA or -s
    blocking = [v for v in found if v["impact"] in BLOCKING]
    assert not blocking, report(where, blocking)


def test_the_login_page_has_no_serious_or_critical_violation(
    desk: Desk, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{desk.console.base_url}/")
    assert page.url.startswith(f"{desk.console.base_url}/login"), page.url
    check(page, "login")


def test_the_login_page_refusing_a_password_has_no_serious_or_critical_violation(
    desk: Desk, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{desk.console.base_url}/login")
    assert fill_login(page, (ADMIN[0], "not-the-password")) != 303
    assert page.get_by_role("alert").is_visible()
    check(page, "login, a password refused")


@pytest.mark.parametrize("name", list(PAGES))
def test_a_console_page_has_no_serious_or_critical_violation(desk: Desk, name: str) -> None:
    page = desk.context.new_page()
    try:
        response = page.goto(f"{desk.console.base_url}{desk.paths[name]}")
        assert response is not None and response.status == REFUSED.get(name, 200), page.url
        assert not page.url.startswith(f"{desk.console.base_url}/login"), page.url
        BEFORE.get(name, lambda page: None)(page)
        check(page, name)
    finally:
        page.close()
