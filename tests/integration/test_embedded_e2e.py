"""End to end on the embedded profile: `consultant up` as a user runs it.

smtplib sends a question to the running intake, the real Celery worker that
`up` started drafts it, a reviewer approves it with the CLI, and the answer
appears in the local outbox, threaded onto the question. Ctrl-C then stops
everything, leaving no process behind.
"""

from __future__ import annotations

import re
import signal
import smtplib
import urllib.parse
import urllib.request
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import mail_bytes
from tests.integration.conftest import Child, run_cli, wait_for, wait_for_port
from tests.ports import free_port

pytestmark = pytest.mark.integration


def _processes_mentioning(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in environ:
                found.append(proc.name)
    return found


def _case_ref(env: dict[str, str]) -> str | None:
    listing = run_cli(env, "cases", "list", "--state", "drafted").stdout
    match = re.search(r"CC-\d{4}-\d{6}", listing)
    return match.group(0) if match else None


def _console_queue(base: str, address: str, password_file: str) -> str:
    """Log in like a browser with the first admin's one-time password, choose a new
    password as the console then insists, and return the queue page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form
    password = Path(password_file).read_text().strip()
    data = {"email": address, "password": password, "csrf_token": token.group(1), "next": "/"}
    with opener.open(f"{base}/login", urllib.parse.urlencode(data).encode(), timeout=30) as page:
        assert page.url == f"{base}/account", "a one-time login must choose a password first"
        account = page.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', account)
    assert token, account
    new = {"csrf_token": token.group(1), "new": "admin-chose-this", "repeat": "admin-chose-this"}
    opener.open(f"{base}/account/password", urllib.parse.urlencode(new).encode(), timeout=30)
    assert not Path(password_file).exists(), "the one-time password's file outlived it"
    with opener.open(f"{base}/", timeout=30) as page:
        return str(page.read().decode())


def test_question_travels_the_whole_loop_on_the_embedded_profile(
    env: dict[str, str], spawn: object, tmp_path: Path
) -> None:
    port, web_port = free_port(), free_port()
    env["CONSULTANT_SMTP_PORT"] = str(port)
    env["CONSULTANT_WEB_PORT"] = str(web_port)
    env["CONSULTANT_SWEEP_INTERVAL"] = "2"
    up: Child = spawn("up", "--concurrency", "1")  # type: ignore[operator]
    wait_for_port(port, up, deadline=120)
    wait_for(lambda: "Ctrl-C" in up.output(), "the welcome text of `consultant up`")
    assert f"127.0.0.1:{port}" in up.output()
    first_login = re.search(r"first login\s+(\S+)\s+one-time password in: (\S+)", up.output())
    assert first_login, up.output()
    assert Path(first_login.group(2)).read_text().strip() not in up.output()
    wait_for_port(web_port, up, deadline=60)

    question = mail_bytes("simple_question.eml")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("dana.biller@example-clinic.org", ["consult@localhost"], question)

    ref = wait_for(lambda: _case_ref(env), "the case to be drafted by the worker", 120)
    shown = run_cli(env, "cases", "show", ref).stdout
    for code in ("20700 (cpt)", "27447 (cpt)", "59 (modifier)", "M86.161 (icd10cm)"):
        assert code in shown

    queue = _console_queue(f"http://127.0.0.1:{web_port}", *first_login.groups())
    assert ref in queue and "20700 27447 M86.161" in queue

    admin = first_login.group(1)  # an active reviewer, with the password it chose above
    refused = run_cli(env, "cases", "approve", ref, "--as", admin, check=False)
    assert refused.returncode != 0 and "placeholder" in refused.stderr

    answer = tmp_path / "answer.txt"
    answer.write_text("Here is the answer from our coding expert.\n")  # the greeting stays
    approved = run_cli(env, "cases", "approve", ref, "--edit", str(answer), "--as", admin)
    assert f"approved {ref}" in approved.stdout

    outbox = Path(env["CONSULTANT_VAR_DIR"]) / "outbox"
    files = wait_for(lambda: list(outbox.glob("*.eml")), "the answer in the outbox", 120)
    reply = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert reply["In-Reply-To"] == "<q1-20261124.091500@example-clinic.org>"
    assert "<q1-20261124.091500@example-clinic.org>" in reply["References"]
    assert reply["Subject"] == f"Re: Bill 20700 with 27447? [{ref}]"
    assert reply["To"] == "dana.biller@example-clinic.org"
    assert "answer from our coding expert" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    wait_for(
        lambda: f"{ref}  [sent]" in run_cli(env, "cases", "show", ref).stdout,
        "the case to be marked sent",
    )

    marker = env["CONSULTANT_VAR_DIR"]
    assert len(_processes_mentioning(marker)) >= 3  # up, its worker and its console
    assert up.stop(signal.SIGINT) == 0
    wait_for(lambda: not _processes_mentioning(marker), "every child of `up` to exit", 30)
    assert len(list(outbox.glob("*.eml"))) == 1


def test_up_on_a_busy_port_says_so_and_leaves_nothing_running(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env["CONSULTANT_SMTP_PORT"] = str(busy.getsockname()[1])
        result = run_cli(env, "up", check=False)
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not _processes_mentioning(env["CONSULTANT_VAR_DIR"])
