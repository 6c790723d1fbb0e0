"""The outbox and the audit log, listed by the console's pages, the JSON API and the
CLI: one scenario, the same filters, the same rows in the same order; a case that
does not exist is refused by all three; no listing reads the stored mail.

The scenario is real: three mails processed by the pipeline (each acknowledged),
then one answer approved, one case rejected with the polite refusal, one question
to the sender, each through the review layer, over the console's SQLite database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from consultant import review
from consultant.cli import main
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.conftest import mail_bytes
from tests.unit.web.conftest import REVIEWER, process

API = "/api/v1"
Client = Callable[[tuple[str, str]], tuple[TestClient, str]]


def _mail(n: int) -> bytes:
    raw = mail_bytes("simple_question.eml")
    raw = raw.replace(b"<q1-20261124.091500@example-clinic.org>", f"<q{n}@clinic.example>".encode())
    return raw.replace(b"Subject: Bill 20700", f"Subject: Question {n}: bill 20700".encode())


@pytest.fixture
def scenario(console_db: Settings) -> list[str]:
    refs = [process(console_db, _mail(n)) for n in (1, 2, 3)]
    with session_scope(console_db) as session:
        review.save_draft(session, console_db, refs[0], REVIEWER[0], "An answer.\n")
        review.approve(session, console_db, refs[0], REVIEWER[0])
        review.reject(
            session, refs[1], "system", "not a coding question", settings=console_db,
            send_refusal=True,
        )  # fmt: skip
        review.ask_sender(session, console_db, refs[2], REVIEWER[0].upper(), "Which knee?")
    return refs


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement run while the test runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def _cli(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, list(args))
    if result.exit_code:
        return result.exit_code, result.output
    return 0, json.loads(result.output)


def _console_ids(html: str, first_cell: str) -> list[int]:
    return [int(found) for found in re.findall(first_cell + r"\s*<td>(\d+)</td>", html)]


OUTBOX_FILTERS: list[dict[str, str]] = [
    {},
    {"state": "queued"},
    {"state": "sent"},
    {"case": "first"},
    {"case": "second", "state": "queued"},
]
AUDIT_FILTERS: list[dict[str, str]] = [
    {},
    {"case": "first"},
    {"actor": REVIEWER[0].upper()},  # any case: rita@… asked in capitals once
    {"action": "draft."},
    {"action": "answer.queued"},
    {"actor": "system", "case": "second"},
]


def _with_refs(filters: dict[str, str], refs: list[str]) -> dict[str, str]:
    named = {"first": refs[0], "second": refs[1], "third": refs[2]}
    return {k: named.get(v, v) if k == "case" else v for k, v in filters.items()}


# Per listing: the console's page, the first cell of its rows, the CLI command.
SHELLS = {
    "outbox": ("/outbox", r'<tr class="[a-z]+">', ["outbox", "list", "--limit", "200"]),
    "audit": ("/audit", r"<tr>", ["audit", "--limit", "100"]),
}


def _three(client: TestClient, listing: str, filters: dict[str, str]) -> list[list[Any]]:
    """The rows (API, CLI) and ids (console) each shell lists for `filters`."""
    path, first_cell, command = SHELLS[listing]
    page = client.get(path, params=filters)
    assert page.status_code == 200, page.text
    api = client.get(f"{API}{path}", params=filters)
    assert api.status_code == 200, api.text
    flags = [arg for key, value in filters.items() for arg in (f"--{key}", value)]
    status, cli = _cli(*command, "--json", *flags)
    assert status == 0, cli
    return [api.json(), cli, _console_ids(page.text, first_cell)]


def test_the_outbox_lists_the_same_rows_in_all_three_shells(
    scenario: list[str], client_for: Client, statements: list[str]
) -> None:
    client, _ = client_for(REVIEWER)
    seen_any = 0
    for raw_filters in OUTBOX_FILTERS:
        filters = _with_refs(raw_filters, scenario)
        api, cli, console = _three(client, "outbox", filters)
        assert [row["id"] for row in api] == [row["id"] for row in cli] == console, filters
        assert [row["case_ref"] for row in api] == [row["case"] for row in cli]
        seen_any += len(console)
    # Three acknowledgements, an answer, a refusal, a question: the lists were not empty.
    assert seen_any >= 6
    outbox_reads = [s for s in statements if "FROM outbound_messages" in s]
    assert outbox_reads, "the listings were not seen"
    assert not [s for s in outbox_reads if re.search(r"outbound_messages\.raw\b", s)]


def test_the_audit_log_lists_the_same_entries_in_all_three_shells(
    scenario: list[str], client_for: Client
) -> None:
    client, _ = client_for(REVIEWER)
    counts = []
    for raw_filters in AUDIT_FILTERS:
        filters = _with_refs(raw_filters, scenario)
        api, cli, console = _three(client, "audit", filters)
        assert [row["id"] for row in api] == [row["id"] for row in cli] == console, filters
        assert [row["action"] for row in api] == [row["action"] for row in cli]
        counts.append(len(console))
    everything, of_first, by_rita, drafts, answers, system_second = counts
    assert everything > of_first > 0
    assert by_rita >= 3  # the save, the approval, the question (written in capitals)
    assert drafts >= 1 and answers == 1 and system_second >= 1


def test_a_case_that_does_not_exist_is_refused_by_all_three(
    scenario: list[str], client_for: Client
) -> None:
    client, _ = client_for(REVIEWER)
    missing = "CC-2026-999999"
    for path in ("/outbox", "/audit"):
        assert client.get(path, params={"case": missing}).status_code == 404
        api = client.get(f"{API}{path}", params={"case": missing})
        assert api.status_code == 404 and missing in api.text
    for command in (["outbox", "list"], ["audit"]):
        status, output = _cli(*command, "--case", missing)
        assert status == 1 and f"no case {missing}" in output


def test_audit_pages_back_with_before_the_same_way(scenario: list[str], client_for: Client) -> None:
    client, _ = client_for(REVIEWER)
    newest = client.get(f"{API}/audit", params={"limit": 3}).json()
    before = str(newest[-1]["id"])
    api, cli, console = _three(client, "audit", {"before": before})
    assert [row["id"] for row in api] == [row["id"] for row in cli] == console
    assert console and max(console) < int(before)
