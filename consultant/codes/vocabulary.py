"""The extractor's view of the loaded code sets: which strings are real codes.

Built from the releases in effect (the newest of each kind) and cached per
process; the cache key is a cheap query over `code_releases`, so a new import
is picked up by running workers at their next mail without a restart.
"""

from __future__ import annotations

import re
import threading

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from consultant.codes.releases import release_in_effect
from consultant.db.models.codes import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    ICD10CM,
    MUE,
    PFS,
    AddonEdit,
    CodeRelease,
    CptDescriptor,
    HcpcsCode,
    Icd10cmCode,
    MueEdit,
    PfsIndicator,
)
from consultant.pipeline.extract import Vocabulary

_CPT_SHAPE = re.compile(r"\d{5}|\d{4}[FTU]")

_lock = threading.Lock()
_cached: tuple[tuple[int, int], Vocabulary] | None = None


def current_vocabulary(session: Session) -> Vocabulary:
    """The vocabulary of the newest releases, rebuilt only when the releases change."""
    global _cached
    key_row = session.execute(select(func.count(), func.max(CodeRelease.id))).one()
    key = (int(key_row[0] or 0), int(key_row[1] or 0))
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    vocabulary = build_vocabulary(session)
    with _lock:
        _cached = (key, vocabulary)
    return vocabulary


def build_vocabulary(session: Session) -> Vocabulary:
    """Read the code numbers of the newest release of each kind; None for kinds not loaded."""
    cpt_sources = []
    for kind, column, release_column in (
        (PFS, PfsIndicator.code, PfsIndicator.release_id),
        (MUE, MueEdit.code, MueEdit.release_id),
        (ADDON, AddonEdit.addon_code, AddonEdit.release_id),
        (ADDON, AddonEdit.primary_code, AddonEdit.release_id),
        (CPT_DESCRIPTORS, CptDescriptor.code, CptDescriptor.release_id),
    ):
        release = release_in_effect(session, kind)
        if release is not None:
            cpt_sources.append(select(column.label("code")).where(release_column == release.id))
    cpt: frozenset[str] | None = None
    if cpt_sources:
        query = union(*cpt_sources) if len(cpt_sources) > 1 else cpt_sources[0]
        cpt = frozenset(code for code in session.scalars(query) if _CPT_SHAPE.fullmatch(code))
    hcpcs_release = release_in_effect(session, HCPCS)
    hcpcs = (
        frozenset(
            session.scalars(
                select(HcpcsCode.code).where(
                    HcpcsCode.release_id == hcpcs_release.id, HcpcsCode.record_id == "3"
                )
            )
        )
        if hcpcs_release is not None
        else None
    )
    icd_release = release_in_effect(session, ICD10CM)
    icd10cm = (
        frozenset(
            session.scalars(
                select(Icd10cmCode.code).where(
                    Icd10cmCode.release_id == icd_release.id,
                    Icd10cmCode.kind.not_in(("chapter", "block")),
                )
            )
        )
        if icd_release is not None
        else None
    )
    return Vocabulary(cpt=cpt, hcpcs=hcpcs, icd10cm=icd10cm)


def forget() -> None:
    """Drop the cached vocabulary (tests that load and unload sets)."""
    global _cached
    with _lock:
        _cached = None
