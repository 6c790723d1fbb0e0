"""Read the CMS tables for the codes of one mail: one IN-query per loaded table.

Input: the releases in effect, the date of service, the mail's procedure
codes (CPT and HCPCS Level II) and modifiers. Output: `CmsRows`, plain tuples
keyed by code, detached from the session, for consultant.codes.cms_facts (the
facts per code) and consultant.codes.edits (the findings across codes). PTP
pairs are read in both directions at once (column1 IN codes AND column2 IN
codes), which the table's primary key serves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Select, bindparam, event, select
from sqlalchemy.orm import Session, SessionTransaction

from consultant.codes.facts import Source
from consultant.codes.in_effect import ReleaseInfo
from consultant.db.models.codes import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    MUE,
    NCCI_PTP,
    PFS,
    RBCS,
    AddonEdit,
    CptDescriptor,
    HcpcsCode,
    MueEdit,
    PfsIndicator,
    PtpEdit,
    RbcsCode,
)


class HcpcsRow(NamedTuple):
    code: str
    record_id: str
    long_description: str
    coverage: str
    added: date | None
    action_effective: date | None
    terminated: date | None
    action: str
    xref: str  # the codes the file cross-references, space-separated


class PfsRow(NamedTuple):
    code: str
    modifier: str
    status: str
    global_days: str
    mult_proc: str
    bilat_surg: str
    asst_surg: str
    co_surg: str
    team_surg: str


class MueRow(NamedTuple):
    code: str
    value: int
    mai: str
    mai_description: str
    rationale: str


class AddonRow(NamedTuple):
    edit_type: str
    addon_code: str
    addon_deleted: date | None
    primary_code: str
    primary_deleted: date | None
    effective: date | None
    deleted: date | None
    note: str


class PtpRow(NamedTuple):
    column1: str
    column2: str
    seq: int
    effective: date | None
    deleted: date | None
    modifier_indicator: str
    rationale: str


class RbcsRow(NamedTuple):
    code: str
    procedure: str
    category: str
    subcategory: str
    family: str
    effective: date | None


@dataclass(slots=True)
class CmsRows:
    """The rows of every CMS table for the codes of one mail, and where they come from."""

    releases: dict[str, ReleaseInfo]
    dos: date
    hcpcs: dict[str, HcpcsRow] = field(default_factory=dict)
    descriptors: dict[str, str] = field(default_factory=dict)
    pfs: dict[str, dict[str, PfsRow]] = field(default_factory=lambda: defaultdict(dict))
    mue: dict[str, MueRow] = field(default_factory=dict)
    addon: dict[str, list[AddonRow]] = field(default_factory=lambda: defaultdict(list))
    ptp: list[PtpRow] = field(default_factory=list)
    rbcs: dict[str, RbcsRow] = field(default_factory=dict)  # the classification on dos

    def source(self, kind: str) -> Source:
        return self.releases[kind].source(self.dos)

    def loaded(self, kind: str) -> bool:
        return kind in self.releases


_MEMO = "consultant.cms_rows"  # Session.info: the last read (releases, dos, codes, rows)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """The memo holds for one transaction: data imported later are read afresh."""
    if transaction.parent is None:
        session.info.pop(_MEMO, None)


def read_cms(
    session: Session,
    releases: dict[str, ReleaseInfo],
    dos: date,
    procedures: Sequence[str],
    modifiers: Sequence[str],
) -> CmsRows:
    """Read each loaded table once for all the codes: at most six queries.

    The answer engine asks for the codes the lookup beside it has just read (or
    some of them): those come from the session's last read, narrowed, without
    a query. The memo lives for the transaction (consultant.codes.cms_rows._MEMO).
    """
    key = (tuple(sorted((kind, info.id) for kind, info in releases.items())), dos)
    wanted = frozenset(procedures), frozenset(modifiers)
    memo = session.info.get(_MEMO)
    if memo is not None and memo[0] == key and wanted[0] <= memo[1] and wanted[1] <= memo[2]:
        return _narrowed(memo[3], *wanted)
    rows = _read(session, releases, dos, procedures, modifiers)
    session.info[_MEMO] = (key, *wanted, rows)
    return rows


def _narrowed(rows: CmsRows, procedures: frozenset[str], modifiers: frozenset[str]) -> CmsRows:
    """What a read of just these codes would have found, from a read of more."""
    codes = procedures | modifiers
    narrow = CmsRows(rows.releases, rows.dos)
    narrow.hcpcs = {code: row for code, row in rows.hcpcs.items() if code in codes}
    if not procedures:
        return narrow
    narrow.descriptors = {c: text for c, text in rows.descriptors.items() if c in procedures}
    narrow.pfs.update((c, dict(by)) for c, by in rows.pfs.items() if c in procedures)
    narrow.mue = {code: row for code, row in rows.mue.items() if code in procedures}
    narrow.addon.update((c, list(found)) for c, found in rows.addon.items() if c in procedures)
    narrow.ptp = [r for r in rows.ptp if r.column1 in procedures and r.column2 in procedures]
    return narrow


def _read(
    session: Session,
    releases: dict[str, ReleaseInfo],
    dos: date,
    procedures: Sequence[str],
    modifiers: Sequence[str],
) -> CmsRows:
    """The rows of every loaded table for the codes, one query a table."""
    rows = CmsRows(releases, dos)
    codes = sorted(set(procedures))
    if (release := releases.get(HCPCS)) and (wanted := sorted({*procedures, *modifiers})):
        for row in _rows(session, _HCPCS, release.id, wanted):
            rows.hcpcs[row[0]] = HcpcsRow(*row)
    if not codes:
        return rows
    if release := releases.get(CPT_DESCRIPTORS):
        found = _rows(session, _DESCRIPTORS, release.id, codes)
        rows.descriptors = {code: text for code, text in found}
    if release := releases.get(PFS):
        for row in _rows(session, _PFS, release.id, codes):
            rows.pfs[row[0]][row[1]] = PfsRow(*row)
    if release := releases.get(MUE):
        rows.mue = {row[0]: MueRow(*row) for row in _rows(session, _MUE, release.id, codes)}
    if release := releases.get(ADDON):
        for row in _rows(session, _ADDON, release.id, codes):
            rows.addon[row[1]].append(AddonRow(*row))
    if (release := releases.get(NCCI_PTP)) and len(codes) > 1:
        rows.ptp = [PtpRow(*row) for row in _rows(session, _PTP, release.id, codes)]
    if release := releases.get(RBCS):
        for found in sorted(map(RbcsRow._make, _rows(session, _RBCS, release.id, codes)),
                            key=lambda r: r.effective or date.min):  # fmt: skip
            if found.effective is None or found.effective <= dos:
                rows.rbcs[found.code] = found  # the latest classification on the day
    return rows


# Built once: statements with an expanding IN parameter compile once per list
# length and run on the connection without the ORM layer (most of a lookup's
# time was spent building and wrapping statements, not in the database).
_CODES: BindParameter[Any] = bindparam("codes", expanding=True)
_RELEASE: BindParameter[Any] = bindparam("release_id")
_H, _P, _M = HcpcsCode.__table__.c, PfsIndicator.__table__.c, MueEdit.__table__.c
_A, _T, _D = AddonEdit.__table__.c, PtpEdit.__table__.c, CptDescriptor.__table__.c
_HCPCS = select(
    _H.code,
    _H.record_id,
    _H.long_description,
    _H.coverage,
    _H.added,
    _H.action_effective,
    _H.terminated,
    _H.action,
    _H.xref,
).where(_H.release_id == _RELEASE, _H.code.in_(_CODES))
_PFS = select(
    _P.code,
    _P.modifier,
    _P.status,
    _P.global_days,
    _P.mult_proc,
    _P.bilat_surg,
    _P.asst_surg,
    _P.co_surg,
    _P.team_surg,
).where(_P.release_id == _RELEASE, _P.code.in_(_CODES))
_MUE = select(_M.code, _M.value, _M.mai, _M.mai_description, _M.rationale).where(
    _M.release_id == _RELEASE, _M.code.in_(_CODES)
)
_ADDON = select(
    _A.edit_type,
    _A.addon_code,
    _A.addon_deleted,
    _A.primary_code,
    _A.primary_deleted,
    _A.effective,
    _A.deleted,
    _A.note,
).where(_A.release_id == _RELEASE, _A.addon_code.in_(_CODES))
_PTP = select(
    _T.column1, _T.column2, _T.seq, _T.effective, _T.deleted, _T.modifier_indicator, _T.rationale
).where(_T.release_id == _RELEASE, _T.column1.in_(_CODES), _T.column2.in_(_CODES))
_R = RbcsCode.__table__.c
_RBCS = select(_R.code, _R.procedure, _R.category, _R.subcategory, _R.family, _R.effective).where(
    _R.release_id == _RELEASE, _R.code.in_(_CODES)
)
_DESCRIPTORS = select(_D.code, _D.descriptor).where(_D.release_id == _RELEASE, _D.code.in_(_CODES))


def _rows(session: Session, statement: Select[Any], release_id: int, codes: list[str]) -> Any:
    params = {"release_id": release_id, "codes": codes}
    return session.connection().execute(statement, params)
