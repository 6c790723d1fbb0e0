"""The lookup stage on PostgreSQL: the key facts and findings with the real files
loaded by the importers (COPY), the number of queries a mail costs, and
`consultant lookup … --json` as a reviewer runs it.

The module has its own scratch database (consultant_lookup_<pid>), dropped at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from consultant.codes.icd10cm import load_icd10cm
from consultant.codes.importers import import_file
from consultant.db.session import get_engine, session_scope
from consultant.pipeline.extract import CodeRef
from consultant.pipeline.lookup import look_up, render_text
from consultant.settings import Settings
from tests.conftest import cms_files, need, shared_dir
from tests.integration.conftest import run_cli, scratch_pg

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DATA = shared_dir() / "data"
FILES = cms_files()
DOS = date(2024, 9, 1)


@pytest.fixture(scope="module")
def lookup_db() -> Iterator[Settings]:
    """A migrated scratch database with the CMS files and the ICD-10-CM tabular loaded."""
    need(all(path.is_file() for path in FILES.values()), f"the shared CMS files are not in {DATA}")
    with scratch_pg("consultant_lookup") as settings:
        with session_scope(settings) as session:
            for kind, path in FILES.items():
                import_file(session, kind, path)
            load_icd10cm(session)
        yield settings


def ref(code: str, system: str, units: int | None = None) -> CodeRef:
    return CodeRef(code, system, code, 0, len(code), units=units)


# A ten-code mail: procedures, modifiers, diagnoses and a stated quantity.
MAIL = [
    ref("27447", "cpt"),
    ref("20700", "cpt"),
    ref("20610", "cpt", units=3),
    ref("J1100", "hcpcs"),
    ref("59", "modifier"),
    ref("LT", "modifier"),
    ref("E11.9", "icd10cm"),
    ref("E10.9", "icd10cm"),
    ref("S82.821", "icd10cm"),
    ref("M86.161", "icd10cm"),
]


def test_a_ten_code_mail_gets_its_facts_and_findings(lookup_db: Settings) -> None:
    with session_scope(lookup_db) as session:
        report = look_up(session, MAIL, dos=DOS)
    print(render_text(report))
    by_code = {c.code: c for c in report.codes}
    assert [c.code for c in report.codes] == [r.code for r in MAIL]
    assert {f.kind: f.codes for f in report.findings} == {
        "addon_without_primary": ("20700",),
        "ptp": ("27447", "20610"),
        "mue_exceeded": ("20610",),
        "excludes1": ("E10.9", "E11.9"),
        "needs_seventh_character": ("S82.821",),
    }
    ptp = next(f for f in report.findings if f.kind == "ptp")
    assert "Modifiers 59, LT in the question can bypass this edit" in ptp.text
    assert "global days 090" in " ".join(f.text for f in by_code["27447"].facts)
    assert by_code["J1100"].description == "Injection, dexamethasone sodium phosphate, 1 mg"
    assert any(f.text.startswith("Excludes1 (from E11): ") for f in by_code["E11.9"].facts), (
        by_code["E11.9"].facts
    )
    assert by_code["E11.9"].status == "billable"
    assert by_code["S82.821"].status == "header"
    sources = [f.source for c in report.codes for f in c.facts]
    sources += [f.source for f in report.findings]
    assert all(source.cite() for source in sources)


def test_a_mail_costs_one_query_per_table(lookup_db: Settings) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = get_engine(lookup_db)
    with session_scope(lookup_db) as session:
        look_up(session, MAIL, dos=DOS)  # fills the release cache
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(lookup_db) as session:
            look_up(session, MAIL, dos=DOS)
            first = len(statements)
            look_up(session, MAIL, dos=DOS)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    tables = [re.findall(r"\bFROM\s+(\w+)", s) for s in statements]
    print(tables)
    # Releases key, ICD lineage + notes + entries below S82.821, HCPCS, PFS, MUE, add-on, PTP.
    assert first == 9, tables
    # Within one transaction the releases key is checked once and the CMS rows are
    # read once (consultant.codes.cms_rows keeps the last read): only ICD-10-CM again.
    again = tables[first:]
    assert len(again) == 3 and all("icd10cm_codes" in t or "icd10cm_notes" in t for t in again)


def test_consultant_lookup_prints_json(env: dict[str, str], lookup_db: Settings) -> None:
    child_env = {**env, "CONSULTANT_DATABASE_URL": lookup_db.database_url}
    result = run_cli(child_env, "lookup", "27447", "20700", "--dos", "2024-09-01", "--json")
    report = json.loads(result.stdout)
    assert report["dos"] == "2024-09-01" and report["dos_basis"] == "given"
    assert [(c["code"], c["system"], c["status"]) for c in report["codes"]] == [
        ("27447", "cpt", "valid"),
        ("20700", "cpt", "valid"),
    ]
    [finding] = report["findings"]
    assert finding["kind"] == "addon_without_primary" and finding["codes"] == ["20700"]
    assert finding["source"]["file"] == "aoc_medicare_2026q2.csv"
    assert report["not_loaded"] == ["cpt-descriptors"]
    text = run_cli(child_env, "lookup", "27447", "20610", "59", "--dos", "2024-09-01").stdout
    assert "WARNING (ptp, 27447 + 20610)" in text
    refused = run_cli(child_env, "lookup", "27447", "hello", check=False)
    assert refused.returncode == 2 and "HELLO is not" in refused.stderr
