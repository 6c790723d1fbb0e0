"""What the lookup stage says, as values: sources, facts, findings, the report.

Every `Fact` (about one code) and every `Finding` (about the codes of one mail
together) carries the `Source` it comes from: the loaded release (kind, label,
effective date, file) or consultant's own tables. `Report.to_dict` is the JSON
form the draft and `consultant lookup --json` use; consultant.pipeline.lookup
renders the text form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# KIND_NAMES: how people name the release kinds, in drafts and on the CLI (the
# code systems' names are in consultant.codes.systems).
from consultant.codes.kinds import KIND_NAMES as KIND_NAMES
from consultant.codes.kinds import MUE, NCCI_PTP, PRACTITIONER, TITLES

# CodeFacts.status values.
VALID = "valid"
BILLABLE = "billable"
HEADER = "header"  # ICD-10-CM entry that is not billable as written
DELETED = "deleted"
INVALID = "invalid"
UNCHECKED = "unchecked"  # nothing loaded can say

ERROR, WARNING, INFO = "error", "warning", "info"
FINDING_KINDS = (
    "ptp",
    "excludes1",
    "addon_without_primary",
    "mue_exceeded",
    "not_billable",
    "needs_seventh_character",
    "invalid_code",
    "deleted_code",
)

CONSULTANT = "consultant"  # Source.kind of consultant's own tables

# How each kind of source is named in a citation.
_TITLES = {**TITLES, CONSULTANT: "consultant"}


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact comes from: a loaded release, or consultant's own tables."""

    kind: str
    label: str
    effective: date | None = None
    file: str = ""
    # Said with every citation when the release does not cover the date of service:
    # "in effect from 2026-04-01, after the date of service", or "covers 2024-07-01
    # to 2024-09-30, before the date of service".
    note: str = ""

    def cite(self) -> str:
        """Name the source for a reader: "NCCI PTP edits (practitioner), 2024 Q3, ptp_….csv.gz"."""
        parts = [_title(self.kind, self.file), self.label]
        if self.file:
            parts.append(self.file)
        text = ", ".join(part for part in parts if part)
        return f"{text} ({self.note})" if self.note else text

    def short(self) -> str:
        """The source in a few words, for the end of a line: "NCCI MUEs (practitioner), 2024 Q3"."""
        text = ", ".join(part for part in (_title(self.kind, self.file), self.label) if part)
        if not self.note:
            return text
        starts_after = self.note.startswith("in effect")  # else: it ends before
        return f"{text}, {'starts after' if starts_after else 'ends before'} the date of service"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "effective": self.effective.isoformat() if self.effective else None,
            "file": self.file,
            "note": self.note,
            "cite": self.cite(),
            "short": self.short(),
        }


def _title(kind: str, file: str) -> str:
    title = _TITLES.get(kind, kind)
    if kind in (NCCI_PTP, MUE):
        name = file.lower()
        if "prac" in name:
            title += " (practitioner)"
        elif "hosp" in name or "outpatient" in name or "oph" in name:
            title += " (hospital outpatient)"
        elif "dme" in name:
            title += " (DME supplier)"
    return title


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing known about one code, e.g. topic "mue", text "MUE 1 unit …"."""

    topic: str
    text: str
    source: Source

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text, "source": self.source.to_dict()}


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """What the loaded sets say about one code of the mail."""

    code: str
    system: str  # a CodeSystem value: cpt, hcpcs, icd10cm, icd10pcs, modifier
    status: str  # valid, billable, header, deleted, invalid, unchecked
    description: str
    facts: tuple[Fact, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "status": self.status,
            "description": self.description,
            "facts": [fact.to_dict() for fact in self.facts],
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a coder must look at: an edit between codes, or a problem with one."""

    kind: str  # one of FINDING_KINDS
    severity: str  # error, warning, info
    codes: tuple[str, ...]
    text: str
    source: Source

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "codes": list(self.codes),
            "text": self.text,
            "source": self.source.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The lookup of one mail: per code its facts, then the findings across codes."""

    dos: date
    dos_basis: str  # "stated in the mail", "date of the mail", "given"
    codes: tuple[CodeFacts, ...]
    findings: tuple[Finding, ...]
    not_loaded: tuple[str, ...]  # release kinds the answer would need but are not loaded
    # Whose NCCI edits and MUEs were asked for: "practitioner" or "hospital"
    # (consultant.codes.kinds); the releases used name their own setting.
    setting: str = PRACTITIONER

    def to_dict(self) -> dict[str, Any]:
        return {
            "dos": self.dos.isoformat(),
            "dos_basis": self.dos_basis,
            "setting": self.setting,
            "codes": [code.to_dict() for code in self.codes],
            "findings": [finding.to_dict() for finding in self.findings],
            "not_loaded": list(self.not_loaded),
        }
