"""The claim setting on the case page: a question with a HCPCS C code is drafted
for a hospital outpatient claim (the hospital PTP edits, tests/cms_archives.py);
the reviewer switches it to practitioner and back, and each switch redrafts."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.codes.importers import import_file
from consultant.db.models import AuditEntry, Case, Draft
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import PTP_SUBSET, hospital_ptp
from tests.conftest import cms_files, need
from tests.unit.web.conftest import REVIEWER, drafts, process

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]
QUESTION = "27447 with 20610 and a C1776 implant: modifier 59 on 20610? DOS 9/3/2024"


@pytest.fixture
def c_code_case(console_db: Settings, tmp_path: Path) -> str:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    with session_scope(console_db) as session:
        for kind in ("ncci-ptp", "pfs", "hcpcs"):
            import_file(session, kind, cms_files()[kind])
        import_file(session, "ncci-ptp-hospital", hospital_ptp(tmp_path / "ccioph-v302r0-f1.txt"))
    mail = EmailMessage()
    mail["From"], mail["To"] = "dana@hospital.example", "consult@localhost"
    mail["Subject"], mail["Message-ID"] = "knee with implant", "<setting-1@hospital.example>"
    mail.set_content(QUESTION)
    return process(console_db, bytes(mail))


def sheet(settings: Settings) -> dict[str, object]:
    with session_scope(settings) as session:
        lookup = session.scalars(select(Draft.lookup).order_by(Draft.id.desc())).first()
    assert lookup is not None
    return dict(json.loads(lookup))


def switch(client: TestClient, csrf: str, ref: str, setting: str) -> None:
    done = client.post(
        f"/cases/{ref}/setting",
        data={"csrf_token": csrf, "setting": setting},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def test_the_reviewer_switches_the_setting_and_the_answer_follows(
    console_db: Settings, c_code_case: str, client_for: Client
) -> None:
    ((_, _, first),) = drafts(console_db)
    assert "because C1776 is a HCPCS C code" in first
    assert "no modifier bypasses this edit" in first  # the hospital file's indicator 0
    assert sheet(console_db)["setting"] == "hospital"

    client, csrf = client_for(REVIEWER)
    page = client.get(f"/cases/{c_code_case}").text
    assert '<option value="hospital" selected>hospital outpatient</option>' in page
    assert "read from the mail, or the account's" in page

    switch(client, csrf, c_code_case, "practitioner")
    version, author, text = drafts(console_db)[-1]
    assert (version, author) == (2, "system")
    assert "hospital" not in text.lower().replace("@hospital.example", "")
    assert "no modifier bypasses this edit" not in text  # the practitioner indicator 1
    assert sheet(console_db)["setting"] == "practitioner"
    page = client.get(f"/cases/{c_code_case}").text
    assert '<option value="practitioner" selected>practitioner</option>' in page
    assert "chosen by a reviewer" in page

    switch(client, csrf, c_code_case, "")  # back to what the mail says
    assert "because C1776 is a HCPCS C code" in drafts(console_db)[-1][2]
    with session_scope(console_db) as session:
        case = session.scalars(select(Case).where(Case.ref == c_code_case)).one()
        changes = session.execute(
            select(AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action == "case.setting")
            .order_by(AuditEntry.id)
        ).all()
    assert case.setting is None
    assert [(actor, detail) for actor, detail in changes] == [
        (REVIEWER[0], {"before": None, "after": "practitioner"}),
        (REVIEWER[0], {"before": "practitioner", "after": None}),
    ]


def test_an_unknown_setting_is_refused(
    console_db: Settings, c_code_case: str, client_for: Client
) -> None:
    client, csrf = client_for(REVIEWER)
    refused = client.post(
        f"/cases/{c_code_case}/setting", data={"csrf_token": csrf, "setting": "moon"}
    )
    assert refused.status_code == 422  # a refusal, as every other console form answers one
    assert "&#39;moon&#39; is not a claim setting" in refused.text
    assert len(drafts(console_db)) == 1
