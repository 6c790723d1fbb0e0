"""CPT, HCPCS Level II and modifier facts for the codes of one mail.

Input: the procedure codes (CPT and HCPCS) and modifiers of a mail, the
releases in effect on the date of service. Output: a `CodeFacts` per code:
description (HCPCS from the CMS file; CPT only from the operator's AMA-licensed
descriptor file, otherwise its section and a licence note), validity on the
date of service with the file that says so, HCPCS coverage and action codes,
fee schedule status, global days and surgery payment indicators, MUE, add-on
status; for modifiers their meaning and whether NCCI accepts them to bypass an
edit. The rows come from consultant.codes.cms_rows, read once for all codes;
consultant.codes.edits makes the findings across codes from the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from consultant.codes import indicators as ind
from consultant.codes.cms_rows import CmsRows, HcpcsRow, RbcsRow
from consultant.codes.cpt_sections import cpt_section
from consultant.codes.edits import addon_facts, mue_fact
from consultant.codes.facts import (
    CONSULTANT,
    DELETED,
    INVALID,
    UNCHECKED,
    VALID,
    CodeFacts,
    Fact,
    Source,
)
from consultant.codes.modifiers import LEVEL_ONE, bypass_group
from consultant.codes.systems import CodeSystem
from consultant.db.models.codes import ADDON, CPT_DESCRIPTORS, HCPCS, MUE, NCCI_PTP, PFS, RBCS

SECTIONS = Source(CONSULTANT, "CPT section ranges (own table)")
LICENCE = Source(CONSULTANT, "CPT licensing note")
MODIFIER_LIST = Source(CONSULTANT, "modifier list (own wording)")
NCCI_MODIFIERS = Source(CONSULTANT, "NCCI-associated modifiers (NCCI Policy Manual, ch. I)")
# Read by askers and reviewers: no operator command here (the README says how an
# operator with a licence loads the descriptors).
LICENCE_NOTE = (
    "CPT descriptor not shown: CPT descriptors are AMA text, shown only where the "
    "desk holds a licence for them"
)


def procedure_facts(rows: CmsRows, code: str, system: str, in_mail: Sequence[str]) -> CodeFacts:
    """Facts about a CPT or HCPCS Level II code; `in_mail` are the mail's procedure codes."""
    if system == CodeSystem.HCPCS:
        status, description, facts = _hcpcs(rows, code)
    else:
        status, description, facts = _cpt(rows, code)
    facts.extend(_pfs_facts(rows, code))
    if code in rows.mue:
        facts.append(mue_fact(rows.mue[code], rows.source(MUE)))
    if rows.addon.get(code):
        facts.extend(addon_facts(rows.addon[code], code, rows.dos, in_mail, rows.source(ADDON)))
    if (rbcs := rows.rbcs.get(code)) is not None:
        facts.append(rbcs_fact(rbcs, rows.source(RBCS)))
    pfs = rows.pfs.get(code, {}).get("")
    if status == VALID and pfs is not None and pfs.status in ("D", "F"):
        status = DELETED
    return CodeFacts(code, system, status, description, tuple(facts))


def rbcs_fact(row: RbcsRow, source: Source) -> Fact:
    """The code's RBCS classification: "RBCS: Procedure / Musculoskeletal / Arthroplasty -
    Knee (major procedure)"; a "No RBCS Family" family is left out."""
    parts = [row.category, row.subcategory]
    if row.family and row.family != "No RBCS Family":
        parts.append(row.family)
    kind = {"Major": "major procedure", "Other": "other procedure"}.get(
        row.procedure, "not a procedure"
    )
    return Fact("rbcs", f"RBCS: {' / '.join(p for p in parts if p)} ({kind})", source)


def _cpt(rows: CmsRows, code: str) -> tuple[str, str, list[Fact]]:
    facts: list[Fact] = []
    description = rows.descriptors.get(code, "")
    if description:
        facts.append(Fact("description", description, rows.source(CPT_DESCRIPTORS)))
    section = cpt_section(code)
    if section is not None:
        facts.append(Fact("section", f"CPT section: {section}", SECTIONS))
    if not description:
        facts.append(Fact("description", LICENCE_NOTE, LICENCE))
    found = [
        kind
        for kind, present in (
            (CPT_DESCRIPTORS, code in rows.descriptors),
            (PFS, code in rows.pfs),
            (MUE, code in rows.mue),
            (ADDON, code in rows.addon),
            (NCCI_PTP, any(code in (r.column1, r.column2) for r in rows.ptp)),
        )
        if present
    ]
    if found:
        source = rows.source(found[0])
        named = "; ".join(rows.source(kind).short() for kind in found)
        facts.append(Fact("status", f"valid: listed in {named}", source))
        return VALID, description, facts
    if rows.loaded(CPT_DESCRIPTORS):
        source = rows.source(CPT_DESCRIPTORS)
        facts.append(Fact("status", "invalid: not in the licensed CPT descriptor file", source))
        return INVALID, description, facts
    loaded = [kind for kind in (PFS, MUE, ADDON, NCCI_PTP) if rows.loaded(kind)]
    if loaded:
        text = "unchecked: not in the loaded CMS files (they do not list every CPT code)"
        facts.append(Fact("status", text, rows.source(loaded[0])))
    else:
        text = "unchecked: no CMS file that lists CPT codes is loaded"
        facts.append(Fact("status", text, SECTIONS))
    return UNCHECKED, description, facts


def _hcpcs(rows: CmsRows, code: str) -> tuple[str, str, list[Fact]]:
    if not rows.loaded(HCPCS):
        return UNCHECKED, "", [Fact("status", "unchecked: no HCPCS file is loaded", SECTIONS)]
    source = rows.source(HCPCS)
    row = rows.hcpcs.get(code)
    if row is None or row.record_id != "3":
        text = f"invalid: not a code in the HCPCS Level II file ({source.label})"
        return INVALID, "", [Fact("status", text, source)]
    facts = [Fact("description", row.long_description, source)]
    status, text = _dated_status(row, rows.dos)
    facts.append(Fact("status", text, source))
    if row.coverage:
        coverage = ind.meaning(ind.HCPCS_COVERAGE, row.coverage)
        facts.append(Fact("coverage", f"Medicare coverage code {row.coverage}: {coverage}", source))
    if row.action:
        action = ind.meaning(ind.HCPCS_ACTION, row.action)
        when = f" (effective {row.action_effective.isoformat()})" if row.action_effective else ""
        facts.append(Fact("action", f"action code {row.action}: {action}{when}", source))
    return status, row.long_description, facts


def _dated_status(row: HcpcsRow, dos: date) -> tuple[str, str]:
    """Valid, deleted or not yet added on the date of service, from the file's dates.

    The termination date is the last day a code may be used, so a code is
    deleted for services after it.
    """
    if row.terminated is not None and dos > row.terminated:
        text = f"deleted: terminated {row.terminated.isoformat()}, before the date of service"
        if row.xref:
            text += f"; cross-referenced to {' and '.join(row.xref.split())}"
        return DELETED, text
    if row.added is not None and row.added > dos:
        return INVALID, f"invalid on the date of service: added {row.added.isoformat()}"
    text = "valid on the date of service"
    if row.added is not None:
        text += f" (added {row.added.isoformat()}"
        text += f", terminated {row.terminated.isoformat()})" if row.terminated else ")"
    return VALID, text


def _pfs_facts(rows: CmsRows, code: str) -> list[Fact]:
    by_modifier = rows.pfs.get(code)
    if not by_modifier:
        return []
    source = rows.source(PFS)
    row = by_modifier.get("") or next(iter(by_modifier.values()))
    facts = [
        Fact(
            "pfs_status",
            f"PFS status {row.status}: {ind.meaning(ind.PFS_STATUS, row.status)}",
            source,
        )
    ]
    if row.global_days:
        days = ind.meaning(ind.GLOBAL_DAYS, row.global_days)
        facts.append(Fact("global_days", f"global days {row.global_days}: {days}", source))
    policy = [
        (value, ind.meaning(table, value))
        for value, table in (
            (row.mult_proc, ind.MULT_PROC),
            (row.bilat_surg, ind.BILAT_SURG),
            (row.asst_surg, ind.ASST_SURG),
            (row.co_surg, ind.CO_SURG),
            (row.team_surg, ind.TEAM_SURG),
        )
        if value and value != "9"
    ]
    if policy:
        text = "; ".join(f"{meaning} ({value})" for value, meaning in policy)
        facts.append(Fact("payment_policy", f"payment policy indicators: {text}", source))
    others = sorted(m for m in by_modifier if m)
    if others:
        listed = ", ".join(f"{m} (status {by_modifier[m].status})" for m in others)
        facts.append(Fact("pfs_modifiers", f"PFS also lists it with modifier {listed}", source))
    return facts


def modifier_facts(rows: CmsRows, code: str) -> CodeFacts:
    """Facts about a modifier: Level I in consultant's wording, Level II from the HCPCS file."""
    facts: list[Fact] = []
    if code in LEVEL_ONE:
        status, description = VALID, LEVEL_ONE[code]
        facts.append(Fact("description", f"CPT modifier {code}: {description}", MODIFIER_LIST))
    elif (row := rows.hcpcs.get(code)) is not None and row.record_id == "7":
        source = rows.source(HCPCS)
        description = row.long_description
        facts.append(Fact("description", f"HCPCS Level II modifier: {description}", source))
        status, text = _dated_status(row, rows.dos)
        facts.append(Fact("status", text, source))
    elif code.isdigit() or rows.loaded(HCPCS):
        status, description = INVALID, ""
        source = rows.source(HCPCS) if rows.loaded(HCPCS) else MODIFIER_LIST
        text = "invalid: neither a CPT modifier nor a HCPCS Level II modifier"
        facts.append(Fact("status", text, source))
    else:
        status, description = UNCHECKED, ""
        facts.append(Fact("status", "unchecked: no HCPCS file is loaded", MODIFIER_LIST))
    group = bypass_group(code)
    if group is not None:
        text = (
            f"NCCI-associated modifier ({group}): may bypass a PTP edit whose modifier "
            "indicator is 1, when the documentation supports it"
        )
        facts.append(Fact("ncci", text, NCCI_MODIFIERS))
    return CodeFacts(code, CodeSystem.MODIFIER, status, description, tuple(facts))
