"""Code sets and correct-coding edits: what the lookup stage reads.

Every row belongs to a `CodeRelease`: one loaded file (or package) of one kind,
with its source, quarter and effective date. Several releases of a kind live
side by side; lookup picks, per kind, the newest release in effect on the date
of service. Deleting a release deletes its rows (ON DELETE CASCADE), which is
how a re-import of a corrected file for the same quarter replaces the old one.

No CPT descriptor text is ever shipped: `cpt_descriptors` is filled only from a
file the operator licenses from the AMA.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consultant.codes.kinds import (
    ADDON,
    CPT_DESCRIPTORS,
    HCPCS,
    ICD10CM,
    ICD10PCS,
    MUE,
    MUE_DME,
    MUE_HOSPITAL,
    NCCI_PTP,
    NCCI_PTP_HOSPITAL,
    PFS,
    RBCS,
    RELEASE_KINDS,
)
from consultant.db.base import Base, UTCDateTime, utcnow

# The kinds of release, as named on the command line (`consultant codes import
# KIND`), are defined in the pure consultant.codes.kinds and re-exported here.
__all__ = [
    "ADDON",
    "CPT_DESCRIPTORS",
    "HCPCS",
    "ICD10CM",
    "ICD10PCS",
    "MUE",
    "MUE_DME",
    "MUE_HOSPITAL",
    "NCCI_PTP",
    "NCCI_PTP_HOSPITAL",
    "PFS",
    "RBCS",
    "RELEASE_KINDS",
    "AddonEdit",
    "CodeImport",
    "CodeRelease",
    "CptDescriptor",
    "HcpcsCode",
    "Icd10cmCode",
    "Icd10cmNote",
    "Icd10pcsCode",
    "MueEdit",
    "PfsIndicator",
    "PtpEdit",
    "RbcsCode",
]


class CodeRelease(Base):
    """One loaded release of one code set or edit table."""

    __tablename__ = "code_releases"
    __table_args__ = (
        UniqueConstraint("kind", "sha256"),
        Index("ix_code_releases_kind_effective", "kind", "effective"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # How people name the release: "2024 Q3", "October 2025", "FY2026 (April 2026)".
    label: Mapped[str] = mapped_column(String(60))
    # First day the release applies to (dates of service on or after it).
    effective: Mapped[date] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(Text)  # file name, or package==version
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # Per record type counts and anything else worth showing in `codes status` (JSON text).
    details: Mapped[str] = mapped_column(Text, default="{}")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeImport(Base):
    """One import of code data: a release loaded (or found loaded already), or a
    file or release refused, with who asked and why; the admin page lists them."""

    __tablename__ = "code_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # "cli:root", "drop folder", an address
    outcome: Mapped[str] = mapped_column(String(16))  # imported, already, refused
    kind: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(60))
    # The release's id when it was loaded; releases can be replaced later, so no key.
    release_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)  # the file(s), as the operator named them
    detail: Mapped[str] = mapped_column(Text, default="")  # rows and seconds, or the reason


def _release() -> Mapped[int]:
    return mapped_column(ForeignKey("code_releases.id", ondelete="CASCADE"), primary_key=True)


class RbcsCode(Base):
    """A code's RBCS classification from a date (a code has one row per change)."""

    __tablename__ = "rbcs_codes"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure: Mapped[str] = mapped_column(String(20))  # Major, Other, Non-Procedure
    category: Mapped[str] = mapped_column(Text)
    subcategory: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(Text)
    effective: Mapped[date | None] = mapped_column(Date)  # the classification's first day
    ended: Mapped[date | None] = mapped_column(Date)  # the code's end, if it ended


class Icd10pcsCode(Base):
    """An ICD-10-PCS code, its description, and what each of its seven characters
    means in the table it comes from (section, body system, root operation, body
    part, approach, device, qualifier)."""

    __tablename__ = "icd10pcs_codes"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    # The seven meanings, joined by "|" in character order.
    axes: Mapped[str] = mapped_column(Text)


class Icd10cmCode(Base):
    """An ICD-10-CM tabular entry: chapter, block, category, subcategory or full code."""

    __tablename__ = "icd10cm_codes"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # "E11.9", "E11", "E08-E13"
    kind: Mapped[str] = mapped_column(String(12))  # chapter, block, category, subcategory, code
    description: Mapped[str] = mapped_column(Text)
    billable: Mapped[bool] = mapped_column(Boolean)
    parent: Mapped[str | None] = mapped_column(String(16))


class Icd10cmNote(Base):
    """A tabular note on an ICD-10-CM entry (applies to its descendants too)."""

    __tablename__ = "icd10cm_notes"
    __table_args__ = (Index("ix_icd10cm_notes_release_code", "release_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("code_releases.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    # includes, inclusion_term, excludes1, excludes2, code_first, use_additional_code,
    # code_also, note, seven_chr_note, seven_chr_def
    kind: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(Integer)
    # The 7th character a seven_chr_def row defines ("A"), also on the inclusion
    # terms listed under that definition; None elsewhere.
    character: Mapped[str | None] = mapped_column(String(1))
    text: Mapped[str] = mapped_column(Text)


class HcpcsCode(Base):
    """A HCPCS Level II code (record 3) or modifier (record 7) from the CMS file."""

    __tablename__ = "hcpcs_codes"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(1))  # "3" code, "7" modifier
    long_description: Mapped[str] = mapped_column(Text)
    short_description: Mapped[str] = mapped_column(String(60))
    coverage: Mapped[str] = mapped_column(String(1), default="")  # Medicare coverage code
    betos: Mapped[str] = mapped_column(String(3), default="")
    added: Mapped[date | None] = mapped_column(Date)
    action_effective: Mapped[date | None] = mapped_column(Date)
    terminated: Mapped[date | None] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(1), default="")
    # The codes the file cross-references (XREF1-5), space-separated: for a
    # terminated code, the ones to use instead.
    xref: Mapped[str] = mapped_column(String(29), default="", server_default="")


class PtpEdit(Base):
    """An NCCI procedure-to-procedure edit: column2 is not paid with column1.

    A pair can appear more than once in one release (an edit deleted and later
    re-established has a deleted row and an active row); `seq` numbers them.
    The key serves both directions of a pair query (column1 IN codes AND
    column2 IN codes), so the table has no other index to slow an import.
    """

    __tablename__ = "ptp_edits"

    release_id: Mapped[int] = _release()
    column1: Mapped[str] = mapped_column(String(5), primary_key=True)
    column2: Mapped[str] = mapped_column(String(5), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    effective: Mapped[date | None] = mapped_column(Date)  # not in every published layout
    deleted: Mapped[date | None] = mapped_column(Date)  # None: active
    modifier_indicator: Mapped[str] = mapped_column(String(1))  # 0, 1 or 9
    rationale: Mapped[str] = mapped_column(Text, default="")


class MueEdit(Base):
    """A medically unlikely edit: most units of a code per line or per day."""

    __tablename__ = "mue_edits"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    mai: Mapped[str] = mapped_column(String(1))  # 1 line, 2 date of service policy, 3 clinical
    mai_description: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text, default="")


class AddonEdit(Base):
    """An add-on code edit: the add-on is paid only with one of its primary codes."""

    __tablename__ = "addon_edits"
    __table_args__ = (Index("ix_addon_edits_release_addon", "release_id", "addon_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("code_releases.id", ondelete="CASCADE"))
    edit_type: Mapped[str] = mapped_column(String(1))  # 1 listed, 2 contractor, 3 listed + more
    addon_code: Mapped[str] = mapped_column(String(5))
    addon_deleted: Mapped[date | None] = mapped_column(Date)
    primary_code: Mapped[str] = mapped_column(String(5))  # "CCCCC": contractor-defined
    primary_deleted: Mapped[date | None] = mapped_column(Date)
    effective: Mapped[date | None] = mapped_column(Date)
    deleted: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class PfsIndicator(Base):
    """Physician fee schedule payment indicators of a code (and modifier: 26, TC, 53)."""

    __tablename__ = "pfs_indicators"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    modifier: Mapped[str] = mapped_column(String(2), primary_key=True, default="")
    status: Mapped[str] = mapped_column(String(1))
    pctc: Mapped[str] = mapped_column(String(1), default="")
    global_days: Mapped[str] = mapped_column(String(3), default="")  # 000 010 090 XXX YYY ZZZ MMM
    pre_op: Mapped[float | None] = mapped_column(Float)
    intra_op: Mapped[float | None] = mapped_column(Float)
    post_op: Mapped[float | None] = mapped_column(Float)
    mult_proc: Mapped[str] = mapped_column(String(1), default="")
    bilat_surg: Mapped[str] = mapped_column(String(1), default="")
    asst_surg: Mapped[str] = mapped_column(String(1), default="")
    co_surg: Mapped[str] = mapped_column(String(1), default="")
    team_surg: Mapped[str] = mapped_column(String(1), default="")
    endo_base: Mapped[str] = mapped_column(String(5), default="")


class CptDescriptor(Base):
    """A CPT descriptor from the operator's AMA-licensed data file; never shipped."""

    __tablename__ = "cpt_descriptors"

    release_id: Mapped[int] = _release()
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    descriptor: Mapped[str] = mapped_column(Text)
