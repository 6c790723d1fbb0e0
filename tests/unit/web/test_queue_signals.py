"""The queue's triage signals, from real questions drafted on real NCCI data: what
the draft found, its severity, stale data, due times in SLA order, on the page and
in the JSON queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from consultant.codes.importers import import_file
from consultant.db.base import utcnow
from consultant.db.models import Case, Draft
from consultant.db.session import session_scope
from consultant.review.queue import review_queue
from consultant.settings import Settings
from tests.conftest import need, shared_dir
from tests.unit.web.conftest import REVIEWER, process

DATA = shared_dir() / "data"
PTP = DATA / "ncci" / "ptp_practitioner_2024q3_col1_10000-29999.csv.gz"


def _question(body: str, n: int) -> bytes:
    return (
        f"From: Asker <asker{n}@example.org>\nTo: consult@localhost\nSubject: Knee {n}\n"
        f"Date: Tue, 24 Nov 2026 09:15:00 -0500\nMessage-ID: <knee-{n}@example.org>\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()


@pytest.fixture
def loaded(console_db: Settings) -> Settings:
    need(PTP.is_file(), f"shared data not found: {PTP}")
    with session_scope(console_db) as session:
        import_file(session, "ncci-ptp", PTP)
    return console_db


def _case(settings: Settings, ref: str) -> Case:
    with session_scope(settings) as session:
        case = session.query(Case).filter(Case.ref == ref).one()
        session.expunge(case)
        return case


def test_a_draft_writes_what_it_found_for_the_queue(loaded: Settings) -> None:
    covered = process(loaded, _question("Can I bill 20610 with 27447? DOS 9/3/2024.", 1))
    later = process(loaded, _question("Can I bill 20610 with 27447? DOS 11/2/2026.", 2))
    plain = process(loaded, _question("How do I code a knee injection?", 3))

    first = _case(loaded, covered)
    assert first.verdicts is not None and first.verdicts.startswith("PTP edit")
    assert first.severity in ("error", "warning")
    assert not first.stale_data  # the 2024 Q3 edits cover September 2024
    second = _case(loaded, later)
    assert second.verdicts == first.verdicts and second.stale_data  # not November 2026
    with session_scope(loaded) as session:
        texts = {
            case.ref: session.scalars(select(Draft.body_text).where(Draft.case_id == case.id)).one()
            for case in (first, second)
        }
    stale_note = "covers 2024-07-01 to 2024-09-30, before the date of service"
    assert stale_note in texts[later] and stale_note not in texts[covered]  # the draft says so
    third = _case(loaded, plain)
    assert (third.verdicts, third.severity, third.stale_data) == (None, None, False)
    # A guest's case is due 72 hours (the guest plan's SLA) after it was opened.
    assert first.due_at == first.created_at + timedelta(hours=72)


def test_the_queue_sorts_by_due_time_and_shows_the_signals(
    loaded: Settings, client_for: Callable[[tuple[str, str]], tuple[TestClient, str]]
) -> None:
    refs = [
        process(loaded, _question(f"Can I bill 20610 with 27447? DOS 11/2/2026. #{n}", n))
        for n in range(3)
    ]
    now = utcnow()
    due = {refs[0]: now + timedelta(hours=30), refs[1]: now - timedelta(hours=1)}
    due[refs[2]] = now + timedelta(minutes=90)
    with session_scope(loaded) as session:
        for ref, at in due.items():
            session.execute(update(Case).where(Case.ref == ref).values(due_at=at))
        order = [item.case.ref for item in review_queue(session, loaded)]
    assert order == [refs[1], refs[2], refs[0]]

    client, _ = client_for(REVIEWER)
    page = client.get("/").text
    rows = page.split("<tbody>", 1)[1].split("</tr>")
    assert [ref in row for ref, row in zip(order, rows, strict=False)] == [True] * 3
    assert "overdue" in rows[0] and "due within 2 h" in rows[1]
    assert "overdue" not in rows[2] and "due within 2 h" not in rows[2]
    assert all("PTP edit" in row and "stale data" in row for row in rows[:3])
    assert "asker replied" not in page

    listed = client.get("/api/v1/cases?code=27447").json()
    assert [item["ref"] for item in listed] == order
    assert [(i["overdue"], i["due_soon"]) for i in listed] == [
        (True, False),
        (False, True),
        (False, False),
    ]
    assert {(i["verdicts"][:8], i["stale_data"], i["asker_replied"]) for i in listed} == {
        ("PTP edit", True, False)
    }
    assert client.get("/api/v1/cases?code=99999").json() == []
