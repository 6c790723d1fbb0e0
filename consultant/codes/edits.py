"""NCCI edits across the codes of one mail: PTP pairs, add-ons without a primary,
units above the MUE; and the per-code MUE and add-on facts they rest on.

Input: rows already read (consultant.codes.cms_rows.read_cms), the date of
service, the mail's procedure codes, modifiers and stated units. Output:
`Finding`s, each with the release it comes from. An edit applies on the date
of service when it is not deleted by then (deleted after the date, or never)
and, where the file says when it started, started on or before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from consultant.codes import indicators as ind
from consultant.codes.cms_rows import AddonRow, MueRow, PtpRow
from consultant.codes.facts import ERROR, INFO, WARNING, Fact, Finding, Source
from consultant.codes.modifiers import PTP_BYPASS

CONTRACTOR_DEFINED = "CCCCC"
LISTED = 40  # primary codes listed in a fact before "and N more"
SUGGESTED = 12  # primary codes named in a finding


def in_effect(effective: date | None, deleted: date | None, dos: date) -> bool:
    """An edit applies on `dos`: started by then (when known) and not deleted by then."""
    return (effective is None or effective <= dos) and (deleted is None or deleted > dos)


# --- PTP -------------------------------------------------------------------------


def ptp_findings(
    rows: Iterable[PtpRow], dos: date, modifiers: Sequence[str], source: Source
) -> list[Finding]:
    """A finding per (column 1, column 2) edit in effect on the date of service."""
    chosen: dict[tuple[str, str], PtpRow] = {}
    for row in rows:
        if not in_effect(row.effective, row.deleted, dos):
            continue
        key = (row.column1, row.column2)
        # Of several rows of a pair in effect, the one that runs longest is current.
        if key not in chosen or _ends(row) > _ends(chosen[key]):
            chosen[key] = row
    bypass = [m for m in modifiers if m in PTP_BYPASS]
    return [_ptp_finding(chosen[key], bypass, source) for key in sorted(chosen)]


def _ends(row: PtpRow) -> date:
    return row.deleted or date.max


def _ptp_finding(row: PtpRow, bypass: Sequence[str], source: Source) -> Finding:
    indicator = row.modifier_indicator
    text = (
        f"NCCI PTP edit: {row.column1} is column 1 (paid) and {row.column2} is column 2 "
        f"(denied unless the edit is bypassed). Modifier indicator {indicator}: "
        f"{ind.meaning(ind.PTP_MODIFIER, indicator)}."
    )
    if row.rationale:
        text += f" Rationale: {row.rationale}."
    if row.deleted is not None:
        text += f" The edit is deleted as of {row.deleted.isoformat()}."
    if indicator == "1":
        if bypass:
            named = ", ".join(bypass)
            word = "modifier" if len(bypass) == 1 else "modifiers"
            text += (
                f" {word.capitalize()} {named} in the question can bypass this edit "
                "if the documentation supports a distinct service."
            )
        else:
            text += " No NCCI-associated modifier is in the question."
        severity = WARNING
    elif indicator == "0":
        text += " A modifier does not bypass it."
        severity = ERROR
    else:
        severity = INFO
    return Finding("ptp", severity, (row.column1, row.column2), text, source)


# --- add-on codes ----------------------------------------------------------------


def _current(rows: Iterable[AddonRow], dos: date) -> list[AddonRow]:
    return [
        r
        for r in rows
        if in_effect(r.effective, r.deleted, dos)
        and (r.addon_deleted is None or r.addon_deleted > dos)
    ]


def primaries(rows: Iterable[AddonRow], dos: date) -> list[str]:
    """The listed primary codes of an add-on on the date of service, sorted."""
    return sorted(
        {
            r.primary_code
            for r in _current(rows, dos)
            if r.primary_code != CONTRACTOR_DEFINED
            and (r.primary_deleted is None or r.primary_deleted > dos)
        }
    )


def compact(codes: Sequence[str], limit: int | None = None) -> str:
    """List sorted codes with runs of consecutive numbers joined: "11010-11012, 11043"."""
    runs: list[list[str]] = []
    for code in codes:
        last = runs[-1][-1] if runs else None
        if last is not None and code.isdigit() and last.isdigit() and int(code) == int(last) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    parts: list[str] = []
    for run in runs:
        if len(run) > 2:
            parts.append(f"{run[0]}\u2013{run[-1]}")
        else:
            parts.extend(run)
    if limit is not None and len(parts) > limit:
        return ", ".join(parts[:limit]) + f" and {len(parts) - limit} more"
    return ", ".join(parts)


def addon_facts(
    rows: Sequence[AddonRow], code: str, dos: date, in_mail: Sequence[str], source: Source
) -> list[Fact]:
    """What the add-on code edit file says about `code` on the date of service."""
    current = _current(rows, dos)
    if not current:
        return [Fact("addon", "add-on code edit not in effect on the date of service", source)]
    edit_type = current[0].edit_type
    text = f"add-on code, edit type {edit_type}: {ind.meaning(ind.ADDON_TYPE, edit_type)}"
    listed = primaries(rows, dos)
    if listed:
        text += f"; {len(listed)} primary codes: {compact(listed, LISTED)}"
    facts = [Fact("addon", text, source)]
    present = [c for c in in_mail if c in listed]
    if present:
        facts.append(
            Fact("addon", f"its primary code {', '.join(present)} is in the question", source)
        )
    notes = sorted(
        {r.note for r in current if r.note and r.note != "Contractor Defined Primary Codes"}
    )
    facts.extend(Fact("addon", f"CMS note: {note}", source) for note in notes)
    return facts


def addon_findings(
    addon_rows: Mapping[str, Sequence[AddonRow]],
    dos: date,
    in_mail: Sequence[str],
    source: Source,
) -> list[Finding]:
    """An add-on code whose primary codes are none of the mail's codes."""
    findings = []
    for code, rows in addon_rows.items():
        current = _current(rows, dos)
        if not current or code not in in_mail:
            continue
        edit_type = current[0].edit_type
        if edit_type == "2":
            text = f"{code} is an add-on code; the contractor defines its primary codes."
            findings.append(Finding("addon_without_primary", INFO, (code,), text, source))
            continue
        listed = primaries(rows, dos)
        if any(c in listed for c in in_mail):
            continue
        text = (
            f"{code} is an add-on code, and none of its {len(listed)} primary codes is in "
            f"the question (eligible primaries include {compact(listed, SUGGESTED)})."
        )
        if edit_type == "3":
            text += " The contractor may allow other primary codes (edit type 3)."
        severity = ERROR if edit_type == "1" else WARNING
        findings.append(Finding("addon_without_primary", severity, (code,), text, source))
    return findings


# --- MUE ---------------------------------------------------------------------------


def mue_fact(row: MueRow, source: Source) -> Fact:
    unit = "unit" if row.value == 1 else "units"
    text = f"MUE {row.value} {unit}; MAI {row.mai}: {ind.meaning(ind.MAI, row.mai)}"
    if row.rationale:
        text += f"; rationale: {row.rationale}"
    return Fact("mue", text, source)


def mue_findings(
    mue_rows: Mapping[str, MueRow], units: Mapping[str, int], source: Source
) -> list[Finding]:
    """Stated units above a code's MUE."""
    findings = []
    for code, stated in units.items():
        row = mue_rows.get(code)
        if row is None or stated <= row.value:
            continue
        text = (
            f"{stated} units of {code} are above its MUE of {row.value} "
            f"(MAI {row.mai}: {ind.meaning(ind.MAI, row.mai)})."
        )
        severity = ERROR if row.mai == "2" else WARNING
        findings.append(Finding("mue_exceeded", severity, (code,), text, source))
    return findings
