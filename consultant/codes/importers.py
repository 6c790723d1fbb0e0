"""Import a CMS code file (or the operator's AMA CPT descriptor file) as a release.

Input: a kind (hcpcs, ncci-ptp, mue, addon, pfs, cpt-descriptors) and a file
in one of the layouts consultant/codes/cms reads. Output: one `CodeRelease`
and its rows, written in the caller's transaction: the release row (replacing
one of the same kind and effective date), every row, then the counts. Any
error leaves nothing behind once the caller rolls back; the same bytes again
change nothing.

Rows stream from the file to the database: COPY on PostgreSQL, executemany in
batches on SQLite, so a 2.5-million-row PTP file never sits in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Connection, Date, Float, Integer, Table
from sqlalchemy.orm import Session

from consultant.codes.cms.cpt import CPT_COLUMNS, read_cpt_descriptors
from consultant.codes.cms.hcpcs import HCPCS_COLUMNS, read_hcpcs
from consultant.codes.cms.ncci import (
    ADDON_COLUMNS,
    MUE_COLUMNS,
    PTP_COLUMNS,
    read_addon,
    read_mue,
    read_ptp,
    read_ptp_parts,
)
from consultant.codes.cms.pfs import PFS_COLUMNS, read_pfs
from consultant.codes.cms.rbcs import RBCS_COLUMNS, read_rbcs
from consultant.codes.cms.source import Rows
from consultant.codes.naming import name_release
from consultant.codes.releases import (
    LoadResult,
    begin_release,
    file_sha256,
    find_loaded,
    finish_release,
)
from consultant.db.models.codes import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PFS,
    RBCS,
    AddonEdit,
    CodeRelease,
    CptDescriptor,
    HcpcsCode,
    MueEdit,
    PfsIndicator,
    PtpEdit,
    RbcsCode,
)
from consultant.errors import CodeImportError, ImportFormatError

__all__ = [
    "IMPORT_KINDS",
    "CodeImportError",
    "ImportFormatError",
    "import_file",
    "import_parts",
]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # receives the number of rows written so far
PROGRESS_EVERY = 5_000
SQLITE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class _Format:
    table: Table
    columns: tuple[str, ...]  # the reader's row order, after release_id
    read: Callable[[Path, dict[str, Any]], Rows]
    # Reads a release CMS splits over several files (the PTP archives' f1 to f4).
    read_parts: Callable[[list[Path], dict[str, Any]], Rows] | None = None


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


FORMATS: dict[str, _Format] = {
    HCPCS: _Format(_table(HcpcsCode), HCPCS_COLUMNS, read_hcpcs),
    NCCI_PTP: _Format(_table(PtpEdit), PTP_COLUMNS, read_ptp, read_ptp_parts),
    NCCI_PTP_HOSPITAL: _Format(_table(PtpEdit), PTP_COLUMNS, read_ptp, read_ptp_parts),
    MUE: _Format(_table(MueEdit), MUE_COLUMNS, read_mue),
    MUE_HOSPITAL: _Format(_table(MueEdit), MUE_COLUMNS, read_mue),
    MUE_DME: _Format(_table(MueEdit), MUE_COLUMNS, read_mue),
    ADDON: _Format(_table(AddonEdit), ADDON_COLUMNS, read_addon),
    PFS: _Format(_table(PfsIndicator), PFS_COLUMNS, read_pfs),
    RBCS: _Format(_table(RbcsCode), RBCS_COLUMNS, read_rbcs),
    CPT_DESCRIPTORS: _Format(_table(CptDescriptor), CPT_COLUMNS, read_cpt_descriptors),
}
IMPORT_KINDS = tuple(FORMATS)


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    label: str | None = None,
    effective: date | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Import `path` as a release of `kind` in the session's transaction; the caller commits."""
    return import_parts(
        session, kind, [Path(path)], label=label, effective=effective, progress=progress
    )


def import_parts(
    session: Session,
    kind: str,
    parts: list[Path],
    *,
    label: str | None = None,
    effective: date | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> LoadResult:
    """Import one release of `kind` from its file, or the files CMS splits it into
    (read in the order given), named `source` (default: the first file's name)."""
    if (spec := FORMATS.get(kind)) is None:
        raise CodeImportError(f"cannot import {kind!r}: the kinds are {', '.join(IMPORT_KINDS)}")
    if missing := [part for part in parts if not part.is_file()]:
        raise CodeImportError(f"{missing[0]}: no such file")
    if len(parts) > 1 and spec.read_parts is None:
        names = ", ".join(part.name for part in parts)
        raise CodeImportError(f"a {kind} release is one file; got {len(parts)}: {names}")
    sha256 = parts_sha256(parts)
    if (loaded := find_loaded(session, kind, sha256)) is not None:
        return _already(loaded)
    source = source or parts[0].name
    label, effective = name_release(kind, Path(source), label, effective)
    release, replaced = begin_release(
        session, kind, label=label, effective=effective, source_file=source, sha256=sha256
    )
    details: dict[str, Any] = {"files": [part.name for part in parts]} if len(parts) > 1 else {}
    rows = spec.read_parts(parts, details) if spec.read_parts and len(parts) > 1 else None
    rows = rows or spec.read(parts[0], details)
    try:
        count = write_rows(session, spec.table, spec.columns, release.id, rows, progress)
    finally:
        rows.close()  # a database error leaves the reader, and its file, open otherwise
    finish_release(release, count, details)
    session.flush()
    log.info("%s %s release %s: %d rows from %s", kind, label, release.id, count, source)
    return LoadResult(release.id, kind, label, effective, count, replaced=replaced, details=details)


def _already(loaded: CodeRelease) -> LoadResult:
    """What importing the bytes of an existing release did: nothing."""
    return LoadResult(
        loaded.id,
        loaded.kind,
        loaded.label,
        loaded.effective,
        loaded.rows,
        already_loaded=True,
        details=json.loads(loaded.details),
    )


def parts_sha256(parts: list[Path]) -> str:
    """A file's sha256; for a release in several files, the sha256 of theirs in order."""
    if len(parts) == 1:
        return file_sha256(parts[0])
    return hashlib.sha256(" ".join(file_sha256(part) for part in parts).encode()).hexdigest()


def write_rows(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    release_id: int,
    rows: Iterator[tuple[Any, ...]],
    progress: Progress | None = None,
) -> int:
    """Write every row (with `release_id` in front) into `table`; return how many."""
    connection = session.connection()
    names = ("release_id", *columns)
    if connection.dialect.name == "postgresql":
        return _copy(connection, table, names, release_id, rows, progress)
    return _insert(connection, table, names, release_id, rows, progress)


def _copy(
    connection: Connection,
    table: Table,
    names: tuple[str, ...],
    release_id: int,
    rows: Iterator[tuple[Any, ...]],
    progress: Progress | None,
) -> int:
    driver: Any = connection.connection.driver_connection  # psycopg 3, in our transaction
    types = [_pg_type(table.c[name].type) for name in names]
    count = 0
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        copy.set_types(types)
        write_row = copy.write_row
        for count, row in enumerate(rows, 1):
            write_row((release_id, *row))
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
    if progress is not None:
        progress(count)
    return count


def _insert(
    connection: Connection,
    table: Table,
    names: tuple[str, ...],
    release_id: int,
    rows: Iterator[tuple[Any, ...]],
    progress: Progress | None,
) -> int:
    # SQLAlchemy stores dates on SQLite as ISO text; the raw driver must get the same.
    dates = [i for i, name in enumerate(names) if isinstance(table.c[name].type, Date)]
    placeholders = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})"
    batch: list[tuple[Any, ...]] = []
    count = 0
    for count, row in enumerate(rows, 1):
        values = (release_id, *row)
        if dates:
            values = _iso_dates(values, dates)
        batch.append(values)
        if len(batch) == SQLITE_BATCH:
            connection.exec_driver_sql(sql, batch)
            batch = []
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    if batch:
        connection.exec_driver_sql(sql, batch)
    if progress is not None:
        progress(count)
    return count


def _iso_dates(values: tuple[Any, ...], positions: list[int]) -> tuple[Any, ...]:
    listed = list(values)
    for i in positions:
        if listed[i] is not None:
            listed[i] = listed[i].isoformat()
    return tuple(listed)


def _pg_type(column_type: Any) -> str:
    if isinstance(column_type, Integer):
        return "int4"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, Float):
        return "float8"
    if isinstance(column_type, Boolean):
        return "bool"
    return "text"
