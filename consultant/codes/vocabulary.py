"""The extractor's view of the loaded code sets: which strings are real codes.

Built from the newest release of each kind and cached per process and
database, keyed on those releases' ids. The releases come from the same
per-process cache the lookup stage reads (`consultant.codes.in_effect`, one
cheap check of `code_releases` per call), so a new import is picked up by
running workers at their next mail without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from consultant.codes.in_effect import ReleaseInfo, releases_in_effect
from consultant.codes.systems import CodeSystem, Vocabulary
from consultant.codes.systems.cpt import SHAPE as CPT_SHAPE
from consultant.db.models.codes import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    ICD10CM,
    MUE,
    PFS,
    AddonEdit,
    CptDescriptor,
    HcpcsCode,
    Icd10cmCode,
    MueEdit,
    PfsIndicator,
)

_lock = threading.Lock()
_cached: dict[str, tuple[tuple[int, ...], Vocabulary]] = {}


def current_vocabulary(session: Session) -> Vocabulary:
    """The vocabulary of the newest releases, rebuilt only when they change."""
    newest = releases_in_effect(session, date.max)
    key = tuple(sorted(release.id for release in newest.values()))
    database = str(session.connection().engine.url)  # str() masks a password
    with _lock:
        cached = _cached.get(database)
    if cached is not None and cached[0] == key:
        return cached[1]
    vocabulary = build_vocabulary(session, newest)
    with _lock:
        _cached[database] = (key, vocabulary)
    return vocabulary


def build_vocabulary(session: Session, newest: dict[str, ReleaseInfo] | None = None) -> Vocabulary:
    """Read the code numbers of the newest release of each kind; None for kinds not loaded."""
    if newest is None:
        newest = releases_in_effect(session, date.max)
    return Vocabulary({system: read(session, newest) for system, read in READERS.items()})


def _cpt(session: Session, newest: dict[str, ReleaseInfo]) -> frozenset[str] | None:
    """The CPT numbers the CMS fee, MUE and add-on files (and licensed descriptors) name."""
    sources = [
        select(column.label("code")).where(release_column == newest[kind].id)
        for kind, column, release_column in (
            (PFS, PfsIndicator.code, PfsIndicator.release_id),
            (MUE, MueEdit.code, MueEdit.release_id),
            (ADDON, AddonEdit.addon_code, AddonEdit.release_id),
            (ADDON, AddonEdit.primary_code, AddonEdit.release_id),
            (CPT_DESCRIPTORS, CptDescriptor.code, CptDescriptor.release_id),
        )
        if kind in newest
    ]
    if not sources:
        return None
    query = union(*sources) if len(sources) > 1 else sources[0]
    return frozenset(code for code in session.scalars(query) if CPT_SHAPE.fullmatch(code))


def _hcpcs(session: Session, newest: dict[str, ReleaseInfo]) -> frozenset[str] | None:
    """HCPCS Level II codes and modifiers (record "3": a code's first line)."""
    if HCPCS not in newest:
        return None
    query = select(HcpcsCode.code).where(
        HcpcsCode.release_id == newest[HCPCS].id, HcpcsCode.record_id == "3"
    )
    return frozenset(session.scalars(query))


def _icd10cm(session: Session, newest: dict[str, ReleaseInfo]) -> frozenset[str] | None:
    """Every ICD-10-CM tabular code with its dot (chapters and blocks are no codes)."""
    if ICD10CM not in newest:
        return None
    query = select(Icd10cmCode.code).where(
        Icd10cmCode.release_id == newest[ICD10CM].id,
        Icd10cmCode.kind.not_in(("chapter", "block")),
    )
    return frozenset(session.scalars(query))


# Per system, how its set is read from the newest releases. A system whose codes
# the extractor should check against a loaded set adds its reader here.
Reader = Callable[[Session, dict[str, ReleaseInfo]], frozenset[str] | None]
READERS: dict[str, Reader] = {
    CodeSystem.CPT: _cpt,
    CodeSystem.HCPCS: _hcpcs,
    CodeSystem.ICD10CM: _icd10cm,
}
