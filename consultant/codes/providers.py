"""Facts providers: which tables answer for which code systems.

Input: an `Asked`, the codes of one mail a provider serves (in mail order),
the releases in effect on the date of service, and the quantities stated.
Output: a `CodeFacts` per code it could look up, and the findings its tables
make. The lookup stage (consultant.pipeline.lookup) asks every provider in
PROVIDERS and makes the rest generic: codes no provider answered for are
unchecked, missing release kinds are named, findings are sorted.

Three providers. ICD-10-CM reads its tabular, ICD-10-PCS its code table. CMS
serves CPT, HCPCS Level II and modifiers together: they share one read of the
CMS tables, and the PTP edits need the mail's modifiers to say whether one
bypasses an edit. A new system with tables adds its provider here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from consultant.codes.cms_facts import modifier_facts, procedure_facts
from consultant.codes.cms_rows import CmsRows, read_cms
from consultant.codes.edits import addon_findings, mue_findings, ptp_findings
from consultant.codes.facts import DELETED, ERROR, INVALID, CodeFacts, Finding
from consultant.codes.icd10cm_facts import icd10cm_facts
from consultant.codes.icd10pcs import pcs_facts
from consultant.codes.in_effect import ReleaseInfo
from consultant.codes.kinds import ADDON, ICD10CM, ICD10PCS, MUE, NCCI_PTP
from consultant.codes.systems import PROCEDURES, CodeSystem

# A code of a mail, as the lookup stage keys it: (code, system).
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Asked:
    """What one provider is asked about one mail."""

    session: Session
    releases: dict[str, ReleaseInfo]  # per kind, the release in effect on dos
    dos: date
    codes: Sequence[Key]  # only the provider's systems, in mail order
    units: Mapping[str, int]  # quantities stated per code, for the MUE check


Found = tuple[dict[Key, CodeFacts], list[Finding]]


@dataclass(frozen=True, slots=True)
class Provider:
    systems: frozenset[str]
    look_up: Callable[[Asked], Found]


def icd10cm(asked: Asked) -> Found:
    """The tabular's facts and findings (Excludes1, not billable) for the diagnoses."""
    release = asked.releases.get(ICD10CM)
    if release is None:
        return {}, []
    codes = [code for code, _ in asked.codes]
    facts, findings = icd10cm_facts(asked.session, release.id, release.source(asked.dos), codes)
    return {(code, CodeSystem.ICD10CM): f for code, f in facts.items()}, findings


def icd10pcs(asked: Asked) -> Found:
    """Validity and the meaning of each character, from the loaded ICD-10-PCS set."""
    release = asked.releases.get(ICD10PCS)
    if release is None:
        return {}, []
    codes = [code for code, _ in asked.codes]
    facts = pcs_facts(asked.session, release.id, release.source(asked.dos), codes)
    return {(code, CodeSystem.ICD10PCS): f for code, f in facts.items()}, []


def cms(asked: Asked) -> Found:
    """Facts per procedure code and modifier, then the edits across them, then the
    invalid and deleted codes (the CMS files' own word on each)."""
    procedures = [code for code, system in asked.codes if system in PROCEDURES]
    modifiers = [code for code, system in asked.codes if system == CodeSystem.MODIFIER]
    rows = read_cms(asked.session, asked.releases, asked.dos, procedures, modifiers)
    facts: dict[Key, CodeFacts] = {}
    for code, system in asked.codes:
        if system == CodeSystem.MODIFIER:
            facts[(code, system)] = modifier_facts(rows, code)
        else:
            facts[(code, system)] = procedure_facts(rows, code, system, procedures)
    findings = _edit_findings(rows, procedures, modifiers, asked.units)
    return facts, findings + _status_findings(facts.values())


def _edit_findings(
    rows: CmsRows, procedures: list[str], modifiers: list[str], units: Mapping[str, int]
) -> list[Finding]:
    findings: list[Finding] = []
    if rows.ptp:
        findings.extend(ptp_findings(rows.ptp, rows.dos, modifiers, rows.source(NCCI_PTP)))
    if rows.addon:
        findings.extend(addon_findings(rows.addon, rows.dos, procedures, rows.source(ADDON)))
    if rows.mue and units:
        findings.extend(mue_findings(rows.mue, units, rows.source(MUE)))
    return findings


def _status_findings(codes: Iterable[CodeFacts]) -> list[Finding]:
    """Invalid and deleted procedure codes and modifiers, each as the file says it."""
    findings = []
    for facts in codes:
        if facts.status not in (INVALID, DELETED):
            continue
        status = next((f for f in facts.facts if f.topic == "status"), None)
        if status is None:
            continue
        kind = "invalid_code" if facts.status == INVALID else "deleted_code"
        text = f"{facts.code}: {status.text}"
        findings.append(Finding(kind, ERROR, (facts.code,), text, status.source))
    return findings


# Asked in this order; a system belongs to one provider at most.
PROVIDERS: tuple[Provider, ...] = (
    Provider(frozenset({CodeSystem.ICD10CM}), icd10cm),
    Provider(frozenset({CodeSystem.ICD10PCS}), icd10pcs),
    Provider(frozenset({CodeSystem.CPT, CodeSystem.HCPCS, CodeSystem.MODIFIER}), cms),
)
