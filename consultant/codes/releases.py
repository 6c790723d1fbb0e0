"""Release bookkeeping shared by every loader and importer.

A release is one loaded file (or package) of one kind. Loading is idempotent:
the same bytes (sha256) for the same kind are a no-op. A different file for the
same kind and effective date replaces the earlier release in the same
transaction, so a reader sees the old rows or the new ones, never a mix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consultant.codes.in_effect import forget_kept
from consultant.db.models.codes import RELEASE_KINDS, CodeRelease


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load did: which release holds the rows, and what it replaced or skipped."""

    release_id: int
    kind: str
    label: str
    effective: date
    rows: int
    already_loaded: bool = False  # the same file was loaded before; nothing changed
    replaced: tuple[int, ...] = ()  # ids of releases this one replaced
    details: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def find_loaded(session: Session, kind: str, sha256: str) -> CodeRelease | None:
    """Return the release already loaded from these exact bytes, if any."""
    return session.scalar(
        select(CodeRelease).where(CodeRelease.kind == kind, CodeRelease.sha256 == sha256)
    )


def begin_release(
    session: Session,
    kind: str,
    *,
    label: str,
    effective: date,
    source_file: str,
    sha256: str,
) -> tuple[CodeRelease, tuple[int, ...]]:
    """Add a release row (flushed, so it has an id) and delete the ones it replaces.

    Replaced are the releases of the same kind and effective date; their rows go
    with them (ON DELETE CASCADE). The caller loads the rows, then calls
    `finish_release`, all in one transaction.
    """
    # Why one function: the insert-before-delete order below is the point, and
    # splitting it would hide it.
    if kind not in RELEASE_KINDS:
        raise ValueError(f"unknown code set kind {kind!r}")
    replaced = tuple(
        session.scalars(
            select(CodeRelease.id).where(
                CodeRelease.kind == kind, CodeRelease.effective == effective
            )
        )
    )
    release = CodeRelease(
        kind=kind,
        label=label,
        effective=effective,
        source_file=source_file,
        sha256=sha256,
        rows=0,
        details="{}",
    )
    session.add(release)
    forget_kept(session)  # this transaction's releases change now
    # Insert before deleting: SQLite hands a deleted highest id to the next row,
    # and a replacement that kept its predecessor's id would look unchanged to
    # caches keyed on the newest release id (codes/vocabulary.py).
    session.flush()
    if replaced:
        # SQLite enforces ON DELETE CASCADE only with foreign_keys=ON, which our
        # engines set on every connection.
        session.execute(delete(CodeRelease).where(CodeRelease.id.in_(replaced)))
    return release, replaced


def finish_release(release: CodeRelease, rows: int, details: dict[str, Any] | None = None) -> None:
    release.rows = rows
    release.details = json.dumps(details or {}, sort_keys=True)


def release_in_effect(session: Session, kind: str, on: date | None = None) -> CodeRelease | None:
    """Return the newest release of kind in effect on `on` (default: the newest of all).

    When every release of the kind starts after `on`, the oldest one is
    returned: it is the nearest data there is, and callers show its date.
    """
    query = select(CodeRelease).where(CodeRelease.kind == kind)
    if on is not None:
        found = session.scalar(
            query.where(CodeRelease.effective <= on).order_by(
                CodeRelease.effective.desc(), CodeRelease.id.desc()
            )
        )
        if found is not None:
            return found
        return session.scalar(query.order_by(CodeRelease.effective, CodeRelease.id))
    return session.scalar(query.order_by(CodeRelease.effective.desc(), CodeRelease.id.desc()))
