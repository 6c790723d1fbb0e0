"""The admin page on code data: releases per kind and setting with the period each
covers and the next release due, the open cases on stale data, the import log,
and the drop folder's refusals with their reasons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from consultant.codes.drop import scan_drop
from consultant.codes.runs import run_import
from consultant.db.models import Case
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import PTP_SUBSET, mue_archive, ptp_archives, ptp_rows, zipped
from tests.conftest import need
from tests.unit.web.conftest import ADMIN, REVIEWER, ask

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]


def test_the_admin_sees_what_is_loaded_imported_and_refused(
    console_db: Settings, client_for: Client, tmp_path: Path
) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    archives = ptp_archives(tmp_path, ptp_rows(400), "hospital")
    run = run_import(console_db, [*archives, mue_archive(tmp_path, "Practitioner")], "cli:ops")
    assert not run.failed
    drop = console_db.code_drop_path()
    drop.mkdir(parents=True)
    zipped(drop / "manuals.zip", {"chapter1.pdf": b"%PDF"})
    scan_drop(console_db)
    scan_drop(console_db)
    ref = ask(console_db)
    with session_scope(console_db) as session:
        session.execute(update(Case).where(Case.ref == ref).values(stale_data=True))

    admin, _ = client_for(ADMIN)
    page = admin.get("/admin/code-data")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert (
        "<td><strong>NCCI PTP edits for hospital outpatient claims</strong></td> "
        "<td>hospital outpatient</td> <td>2024 Q3 <small>(in effect today)</small></td> "
        "<td>2024-07-01 to 2024-09-30</td> <td>400</td>"
    ) in text
    assert "<td>2024-10-01</td>" in text  # the next release due
    assert "is out of date: 2024 Q4 (effective 2024-10-01)" in text
    assert f'<a href="/cases/{ref}">{ref}</a>' in text
    assert "<td>cli:ops</td><td>imported</td> <td>ncci-ptp-hospital 2024 Q3</td>" in text
    assert "-manuals.zip</td><td>no CMS file consultant reads was found</td>" in text

    reviewer, _ = client_for(REVIEWER)
    assert reviewer.get("/admin/code-data").status_code == 403
