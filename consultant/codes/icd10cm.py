"""ICD-10-CM: load the CDC tabular bundled with simple-icd-10-cm, and walk it.

`load_icd10cm` reads the tabular XML and the code list that the installed
`simple-icd-10-cm` package ships, as files: the package itself is never
imported, because importing it builds its whole tree (about 195 MB) in the
importing process. The load adds one `CodeRelease` of kind icd10cm, an
`Icd10cmCode` row per tabular entry and an `Icd10cmNote` row per note line,
all in the caller's transaction; the same package data loaded again changes
nothing. The entry kinds and note kinds are described in
`consultant.codes.icd10cm_tabular`, which reads the XML.

Notes are stored on the entry where the tabular writes them; what applies to
a code is what it and its ancestors say. `ancestors` and `notes_for` walk the
`parent` column of a loaded release for the lookup stage.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import CTE, insert, literal, select
from sqlalchemy.orm import Session

from consultant.codes.icd10cm_tabular import Tabular, read_tabular
from consultant.codes.releases import LoadResult, begin_release, find_loaded, finish_release
from consultant.db.models.codes import ICD10CM, CodeRelease, Icd10cmCode, Icd10cmNote

PACKAGE = "simple-icd-10-cm"
BATCH = 5_000

# Rows written so far and rows in all, reported after every batch.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class KnownPackage:
    """What a package version holds: its files, and the CDC release they are."""

    tabular: str
    code_list: str
    fiscal_year: str  # the XML's <version>
    effective: date
    label: str


# The XML states only the fiscal year, so the date of the update comes from here.
KNOWN_PACKAGES = {
    "1.5.0": KnownPackage(
        tabular="icd10c-tabular-April-1-2026.xml",
        code_list="code-list-April-2026.txt",
        fiscal_year="2026",
        effective=date(2026, 4, 1),
        label="FY2026 (April 1, 2026 update)",
    ),
}


class UnknownPackage(ValueError):
    """The installed simple-icd-10-cm is not one whose CDC release date is known here."""


@dataclass(frozen=True, slots=True)
class PackageData:
    version: str
    tabular: Path
    code_list: Path
    sha256: str

    @property
    def source(self) -> str:
        return f"{PACKAGE}=={self.version}"


def package_data() -> PackageData:
    """Find the installed package's tabular XML and code list without importing it."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise UnknownPackage(f"{PACKAGE} is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    version = importlib.metadata.version(PACKAGE)
    known = KNOWN_PACKAGES.get(version)
    tabular = _one_file(folder, known.tabular if known else "*.xml")
    code_list = _one_file(folder, known.code_list if known else "code-list-*.txt")
    digest = hashlib.sha256()
    for path in (tabular, code_list):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return PackageData(version, tabular, code_list, digest.hexdigest())


def _one_file(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise UnknownPackage(f"expected one {pattern} in {folder}, found {len(found)}")
    return found[0]


def release_of(
    version: str, fiscal_year: str, effective: date | None, label: str | None
) -> tuple[date, str]:
    """Return the effective date and label of the package's data, or refuse to guess."""
    known = KNOWN_PACKAGES.get(version)
    if known is not None and known.fiscal_year != fiscal_year:
        raise UnknownPackage(
            f"{PACKAGE}=={version} holds FY{fiscal_year} data, expected FY{known.fiscal_year}"
        )
    if effective is None:
        if known is None:
            raise UnknownPackage(
                f"{PACKAGE}=={version} is not known to consultant: give the date its "
                "tabular takes effect (--effective YYYY-MM-DD)"
            )
        return known.effective, label or known.label
    if label is None:
        label = f"FY{fiscal_year} ({effective:%B} {effective.day}, {effective.year} update)"
        if known is not None and known.effective == effective:
            label = known.label
    return effective, label


def load_icd10cm(
    session: Session,
    *,
    effective: date | None = None,
    label: str | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Load the installed package's ICD-10-CM tabular as a release, unless already loaded.

    `effective` and `label` name the release of a package version not in
    KNOWN_PACKAGES; data loaded before keeps the release it was loaded as.
    """
    # Why one function: one linear load in the caller's transaction (skip what is
    # loaded, read, name, begin the release, insert, finish), as importers.import_file.
    data = package_data()
    loaded = find_loaded(session, ICD10CM, data.sha256)
    if loaded is not None:
        return _already_loaded(loaded)
    tabular = read_tabular(data.tabular, data.code_list)
    effective, label = release_of(data.version, tabular.fiscal_year, effective, label)
    release, replaced = begin_release(
        session,
        ICD10CM,
        label=label,
        effective=effective,
        source_file=data.source,
        sha256=data.sha256,
    )
    _insert_all(session, release.id, tabular, progress)
    details = {
        "package": data.source,
        "files": [data.tabular.name, data.code_list.name],
        **tabular.counts(),
    }
    finish_release(release, len(tabular.codes), details)
    return LoadResult(
        release_id=release.id,
        kind=ICD10CM,
        label=label,
        effective=effective,
        rows=len(tabular.codes),
        replaced=replaced,
        details=details,
    )


def _already_loaded(release: CodeRelease) -> LoadResult:
    return LoadResult(
        release_id=release.id,
        kind=ICD10CM,
        label=release.label,
        effective=release.effective,
        rows=release.rows,
        already_loaded=True,
        details=json.loads(release.details),
    )


def _insert_all(
    session: Session, release_id: int, tabular: Tabular, progress: Progress | None
) -> None:
    total, done = len(tabular.codes) + len(tabular.notes), 0
    for model, rows in ((Icd10cmCode, tabular.codes), (Icd10cmNote, tabular.notes)):
        for start in range(0, len(rows), BATCH):
            batch = [{**row, "release_id": release_id} for row in rows[start : start + BATCH]]
            session.execute(insert(model), batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)


# --- reading the loaded tables -------------------------------------------------


class InheritedNote(NamedTuple):
    """A note that applies to a code, and the entry it is written on."""

    source: str
    kind: str
    character: str | None
    text: str


def _lineage(release_id: int, code: str) -> CTE:
    """A recursive CTE of (code, depth): the code at 0, its parent at 1, up to the chapter."""
    start = (
        select(Icd10cmCode.code, Icd10cmCode.parent, literal(0).label("depth"))
        .where(Icd10cmCode.release_id == release_id, Icd10cmCode.code == code)
        .cte("lineage", recursive=True)
    )
    step = select(Icd10cmCode.code, Icd10cmCode.parent, (start.c.depth + 1).label("depth")).where(
        Icd10cmCode.release_id == release_id, Icd10cmCode.code == start.c.parent
    )
    return start.union_all(step)


def ancestors(session: Session, release_id: int, code: str) -> list[str]:
    """Return the entries above `code`, its parent first and its chapter last."""
    lineage = _lineage(release_id, code)
    found = session.scalars(
        select(lineage.c.code).where(lineage.c.depth > 0).order_by(lineage.c.depth)
    )
    return list(found)


SEVENTH_KINDS = frozenset({"seven_chr_note", "seven_chr_def"})


def notes_for(session: Session, release_id: int, code: str) -> list[InheritedNote]:
    """Return the notes that apply to `code`: its own first, then its parent's, up to the chapter.

    Within one entry the notes keep their source order. 7th-character notes and
    definitions come only from the nearest entry that has them: S12.8 defines
    its own 7th characters, and S12's do not apply to it. `code` is spelled as
    stored ("S82.821A"); an unknown code has no notes.
    """
    lineage = _lineage(release_id, code)
    rows = session.execute(
        select(Icd10cmNote.code, Icd10cmNote.kind, Icd10cmNote.character, Icd10cmNote.text)
        .join(lineage, Icd10cmNote.code == lineage.c.code)
        .where(Icd10cmNote.release_id == release_id)
        .order_by(lineage.c.depth, Icd10cmNote.position)
    ).all()
    notes = [InheritedNote(*row) for row in rows]
    seventh = next((note.source for note in notes if note.kind in SEVENTH_KINDS), None)
    return [note for note in notes if not _is_seventh(note) or note.source == seventh]


def _is_seventh(note: InheritedNote) -> bool:
    return note.kind in SEVENTH_KINDS or note.character is not None
