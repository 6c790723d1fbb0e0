"""An account's claim setting: a hospital's questions get the hospital outpatient
edits when their mail names no setting; a mail that names one wins; the admin
sets it on the Accounts page and `consultant accounts set-setting`."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.accounts import create_account
from consultant.cli import main
from consultant.codes.importers import import_file
from consultant.db.models import Account, AuditEntry
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import PTP_SUBSET, hospital_ptp
from tests.conftest import cms_files, need
from tests.unit.web.conftest import ADMIN, drafts, process

Client = Callable[[tuple[str, str]], tuple[TestClient, str]]


@pytest.fixture
def hospital(console_db: Settings, tmp_path: Path) -> int:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    with session_scope(console_db) as session:
        for kind in ("ncci-ptp", "pfs"):
            import_file(session, kind, cms_files()[kind])
        import_file(session, "ncci-ptp-hospital", hospital_ptp(tmp_path / "ccioph-v302r0-f1.txt"))
        account = create_account(session, console_db, "General Hospital", ["coder@gh.example"])
        return account.id


def ask(settings: Settings, number: int, text: str) -> str:
    mail = EmailMessage()
    mail["From"], mail["To"] = "coder@gh.example", "consult@localhost"
    mail["Subject"], mail["Message-ID"] = "knee", f"<acct-{number}@gh.example>"
    mail.set_content(text)
    process(settings, bytes(mail))
    return drafts(settings)[-1][2]


def test_the_accounts_setting_applies_when_the_mail_names_none(
    console_db: Settings, hospital: int, client_for: Client
) -> None:
    question = "Can we bill 27447 with 20610 and 59? DOS 9/3/2024"
    assert "no modifier bypasses this edit" not in ask(console_db, 1, question)  # practitioner

    admin, csrf = client_for(ADMIN)
    done = admin.post(
        f"/admin/accounts/{hospital}/setting",
        data={"csrf_token": csrf, "setting": "hospital"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = admin.get("/admin/accounts").text
    assert '<option value="hospital" selected>setting: hospital outpatient</option>' in page

    text = ask(console_db, 2, question)
    assert "no modifier bypasses this edit" in text  # the hospital file's indicator 0
    assert "This is a hospital outpatient claim: these verdicts rest on CMS's NCCI edits" in text
    named = ask(console_db, 3, "Billing for an ASC: 27447 with 20610 and 59? DOS 9/3/2024")
    assert "no modifier bypasses this edit" not in named  # the mail names its setting
    with session_scope(console_db) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "account.setting_changed" in actions


def test_the_cli_sets_and_clears_it(console_db: Settings, hospital: int) -> None:
    result = CliRunner().invoke(main, ["accounts", "set-setting", "coder@gh.example", "dme"])
    assert result.exit_code == 0, result.output
    assert "claim setting dme" in result.output
    CliRunner().invoke(main, ["accounts", "set-setting", str(hospital), "auto"])
    with session_scope(console_db) as session:
        assert session.get_one(Account, hospital).claim_setting is None
    refused = CliRunner().invoke(main, ["accounts", "set-setting", str(hospital), "moon"])
    assert refused.exit_code == 2 and "moon" in refused.output
