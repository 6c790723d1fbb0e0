"""Verdicts: what the loaded CMS data say about each thing the asker asked.

Input: a `Question` (consultant.answer.question) and the CMS rows of its codes
for the date of service (consultant.codes.cms_rows.CmsRows, deleted rows
included). Output: `Verdict`s of the closed vocabulary of
../shared/corpus/questions-dev/ANSWERS.md: pair, em_procedure, addon, units,
validity, laterality. Each carries its facts as JSON-ready fields, one sentence
for the answer in our own words, and the release it rests on. Pure: no
database. A kind of data that is not loaded gives no verdict (never "no edit").

The rules, with where CMS states them (cited in each verdict's text):
- PTP: an edit in force on the date of service (not deleted by then) in either
  direction; modifier indicator 0 allows no modifier, 1 allows an NCCI-associated
  modifier (59 or XE/XP/XS/XU, or an anatomic one) on the column 2 code when the
  services are distinct; 9 means the edit does not apply (NCCI Policy Manual,
  Chapter I, "Modifiers and Modifier Indicators"). Modifier 25 is for an E/M and
  never bypasses an edit between two procedures.
- E/M with a procedure the same day: a minor procedure (0 or 10 global days)
  includes the E/M unless it is significant and separately identifiable, shown
  by modifier 25 on the E/M; the E/M that decides on major surgery (90 global
  days) takes modifier 57 (Medicare Claims Processing Manual, Chapter 12,
  section 30.6.6; global days from the PFS file).
- Add-on codes are paid only with a listed primary code (NCCI add-on code edit
  files; NCCI Policy Manual, Chapter I, "Add-on Codes").
- Units above the practitioner MUE are denied as its adjudication indicator
  says (NCCI MUE file); units from a dose: consultant.answer.units.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from consultant.answer.question import Line, Question
from consultant.codes.cms_rows import CmsRows, PfsRow, PtpRow
from consultant.codes.edits import in_effect, primaries
from consultant.codes.facts import Source
from consultant.codes.kinds import ADDON, HCPCS, MUE, NCCI_PTP, PFS

DISTINCT = ("59", "XE", "XP", "XS", "XU")
ANATOMIC = frozenset(
    {"LT", "RT", "E1", "E2", "E3", "E4", "LC", "LD", "RC", "LM", "RI"}
    | {f"F{i}" for i in "123456789A"}
    | {f"T{i}" for i in "123456789A"}
)


PTP_RULE = ' (NCCI Policy Manual, Chapter I, "Modifiers and Modifier Indicators")'
EM_RULE = " (Medicare Claims Processing Manual, Chapter 12, section 30.6.6)"
ADDON_RULE = ' (NCCI Policy Manual, Chapter I, "Add-on Codes")'


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    fields: dict[str, Any]
    text: str
    sources: tuple[Source, ...] = ()
    stale: bool = False

    def as_json(self) -> dict[str, Any]:
        cited = [source.cite() for source in self.sources]
        return {"kind": self.kind, **self.fields, "stale": self.stale, "sources": cited}


# --- pairs of procedures -----------------------------------------------------------


def in_force(rows: Iterable[PtpRow], a: str, b: str, dos: date) -> PtpRow | None:
    """The PTP edit between a and b (either direction) in force on `dos`, if any."""
    found = [
        row
        for row in rows
        if {row.column1, row.column2} == {a, b} and in_effect(row.effective, row.deleted, dos)
    ]
    return max(found, key=lambda row: row.deleted or date.max, default=None)


def deleted_edit(rows: Iterable[PtpRow], a: str, b: str, dos: date) -> PtpRow | None:
    """The newest edit between a and b that was deleted on or before `dos`."""
    gone = [
        row
        for row in rows
        if {row.column1, row.column2} == {a, b} and row.deleted is not None and row.deleted <= dos
    ]
    return max(gone, key=lambda row: row.deleted or date.min, default=None)


def pair_verdict(rows: CmsRows, question: Question, a: Line, b: Line) -> Verdict | None:
    """Whether a and b may be reported together on the date of service."""
    if not rows.loaded(NCCI_PTP):
        return None
    codes = sorted([a.code, b.code])
    edit = in_force(rows.ptp, a.code, b.code, rows.dos)
    source = rows.source(NCCI_PTP)
    fields: dict[str, Any] = {"codes": codes, "edit": edit is not None}
    if edit is None:
        gone = deleted_edit(rows.ptp, a.code, b.code, rows.dos)
        fields |= {"column1": None, "column2": None, "modifier_indicator": None, "modifier": None}
        if gone is not None:
            fields["deleted"] = gone.deleted.isoformat() if gone.deleted else None
            text = (
                f"{codes[0]} and {codes[1]}: the NCCI edit between them ({gone.column1} column 1, "
                f"{gone.column2} column 2) was deleted on {fields['deleted']}, before the date "
                "of service, so no PTP edit stops reporting both."
            )
        else:
            text = (
                f"{codes[0]} and {codes[1]}: no NCCI procedure-to-procedure edit pairs them, "
                "so NCCI does not stop reporting both on the same date."
            )
        return Verdict("pair", fields, text, (source,))
    modifier, why = _bypass(edit, question, a, b)
    fields |= {
        "column1": edit.column1,
        "column2": edit.column2,
        "modifier_indicator": edit.modifier_indicator,
        "modifier": modifier,
        "modifier_on": edit.column2 if modifier else None,
    }
    text = (
        f"{edit.column2} is column 2 to {edit.column1} under an NCCI procedure-to-procedure "
        f"edit (modifier indicator {edit.modifier_indicator}): {edit.column2} is denied when "
        f"both are reported for the same patient on the same date, {why}"
    )
    return Verdict("pair", fields, text, (source,))


def _bypass(edit: PtpRow, question: Question, a: Line, b: Line) -> tuple[str | None, str]:
    """The modifier that may report the column 2 code too, and the sentence saying so."""
    if edit.modifier_indicator == "0":
        return None, f"and no modifier bypasses this edit (indicator 0){PTP_RULE}."
    if edit.modifier_indicator == "9":
        return None, "but the edit does not apply (indicator 9)."
    if question.same_site and not question.distinct_site:
        return None, (
            "and as both were done at the same site or session, no modifier applies: "
            f"report the column 1 code only{PTP_RULE}."
        )
    written = [m for m in (*a.modifiers, *b.modifiers, *question.modifiers) if m in DISTINCT]
    anatomic = [m for m in (*a.modifiers, *b.modifiers) if m in ANATOMIC]
    sides = {line.side for line in (a, b)}
    if len(sides) == 2 and None not in sides and anatomic:
        chosen: str | None = next(m for m in b.modifiers + a.modifiers if m in ANATOMIC)
    elif question.distinct_site or written:
        chosen = written[0] if written else "XS"
    elif _distinct_kinds(edit):
        chosen = "59"  # two different services CMS keeps apart: distinct when documented
    else:
        chosen = None  # nothing in the question shows the services were distinct
    rule = (
        "unless the services were distinct (a different site, organ system, incision or "
        f"session, documented): then 59 or XE/XP/XS/XU (or an anatomic modifier) on "
        f"{edit.column2} reports it too{PTP_RULE}. Modifier 25 never bypasses an edit "
        "between two procedures."
    )
    if chosen is None:
        return None, rule
    return chosen, f"{rule} As the question describes them, use {chosen} on {edit.column2}."


def _distinct_kinds(edit: PtpRow) -> bool:
    """A mutually exclusive edit between two different services, not two levels or sizes
    of one (neighbouring numbers in one family: 17107 and 17108 are areas of one
    destruction, reported as one code for the total)."""
    if edit.rationale.lower() != "mutually exclusive procedures":
        return False
    a, b = edit.column1, edit.column2
    graded = a[:3] == b[:3] and a.isdigit() and b.isdigit() and abs(int(a) - int(b)) <= 3
    return not graded


# --- E/M with a procedure ----------------------------------------------------------


def em_verdict(rows: CmsRows, em: Line, procedure: Line) -> Verdict | None:
    """Whether an E/M the same day as `procedure` is reportable, and with which modifier."""
    days = _global_days(rows, procedure.code)
    if days is None:
        return None
    source = rows.source(PFS)
    # An E/M named by words only ("office visit") is answered for its family.
    named = f"An office or outpatient visit ({em.code})" if "-" in em.code else em.code
    line = "the E/M line" if "-" in em.code else em.code
    if days in ("000", "010"):
        modifier: str | None = "25"
        text = (
            f"{named} with {procedure.code} ({int(days)}-day global period): the E/M is "
            "included in the procedure unless it is significant and separately identifiable "
            f"beyond the usual pre-procedure assessment; then report it with modifier 25 on "
            f"{line}{EM_RULE}."
        )
    elif days == "090":
        modifier = "57"
        text = (
            f"{named} with {procedure.code} (90-day global period, a major procedure): an "
            "E/M that led to the decision to operate, the day before or the day of surgery, "
            f"is reported with modifier 57 on {line}{EM_RULE}."
        )
    else:
        return None
    fields = {"em": em.code, "procedure": procedure.code, "modifier": modifier, "global": days}
    return Verdict("em_procedure", fields, text, (source,))


def _global_days(rows: CmsRows, code: str) -> str | None:
    row = pfs_row(rows, code) if rows.loaded(PFS) else None
    return row.global_days if row is not None else None


def pfs_row(rows: CmsRows, code: str) -> PfsRow | None:
    """The fee schedule's row for the code itself (no modifier), else its first row."""
    found = rows.pfs.get(code, {})
    return found.get("") or next(iter(found.values()), None)


# --- add-on codes ------------------------------------------------------------------


def addon_verdict(rows: CmsRows, code: str, in_question: Sequence[str]) -> Verdict | None:
    """Whether an add-on code has a listed primary code among the question's codes."""
    if not rows.loaded(ADDON) or code not in rows.addon:
        return None
    listed = primaries(rows.addon[code], rows.dos)
    current = [r for r in rows.addon[code] if in_effect(r.effective, r.deleted, rows.dos)]
    if not current:
        return None
    present = [c for c in in_question if c in listed and c != code]
    edit_type = current[0].edit_type
    if present:
        text = (
            f"{code} is an add-on code and its primary code {', '.join(present)} is in the "
            f"question: report it with that primary, on the same claim{ADDON_RULE}."
        )
    elif edit_type == "2":
        text = f"{code} is an add-on code whose primary codes the Medicare contractor defines."
    else:
        named = ", ".join(listed[:12]) + (" and others" if len(listed) > 12 else "")
        text = (
            f"{code} is an add-on code and none of its listed primary codes is in the "
            f"question; it is paid only with one of them ({named}){ADDON_RULE}."
        )
    fields = {"code": code, "ok": bool(present), "primaries_in_question": present}
    return Verdict("addon", fields, text, (rows.source(ADDON),))


# --- validity ----------------------------------------------------------------------


def unknown_to_cms(rows: CmsRows, code: str) -> bool:
    """Neither the fee schedule, the MUEs nor the add-on edits in force name the code."""
    alive = [
        r for r in rows.addon.get(code, ()) if r.addon_deleted is None or r.addon_deleted > rows.dos
    ]
    return code not in rows.pfs and code not in rows.mue and not alive


def _terminated(rows: CmsRows, code: str) -> Verdict | None:
    """A HCPCS code whose termination date (its last valid day) is before the date of
    service, with the codes the file cross-references it to."""
    row = rows.hcpcs[code]
    if row.terminated is None or row.terminated >= rows.dos:
        return None
    end = row.terminated.isoformat()
    text = f"{code} ended on {end}, before the date of service: it is not valid."
    replaced = row.xref.split()
    if replaced:
        text += f" The HCPCS file cross-references it to {' and '.join(replaced)}."
    fields = {"code": code, "valid": False, "ended": end, "replaced_by": replaced}
    return Verdict("validity", fields, text, (rows.source(HCPCS),))


def validity_verdict(
    rows: CmsRows, line: Line, after_data: bool, mentions: Sequence[PtpRow] = ()
) -> Verdict | None:
    """A code that is not valid on the date of service (valid codes give no verdict).

    `mentions`: the PTP rows naming a CPT code the other files do not know, with
    any other code (a code in a deleted edit only is one CPT deleted)."""
    dos = rows.dos
    if line.code in rows.hcpcs:
        return _terminated(rows, line.code)
    if after_data or not all(rows.loaded(kind) for kind in (PFS, MUE, NCCI_PTP)):
        return None  # a code added after the loaded files would be unknown to them
    if not unknown_to_cms(rows, line.code) or line.system != "cpt":
        return None
    naming = [r for r in (*rows.ptp, *mentions) if line.code in (r.column1, r.column2)]
    if any(r.deleted is None or r.deleted > dos for r in naming):
        return None
    ends = [r.deleted for r in naming if r.deleted]
    ends += [r.addon_deleted for r in rows.addon.get(line.code, ()) if r.addon_deleted]
    ended = max(ends, default=None)
    if ended is not None:
        text = (
            f"{line.code} is not in the fee schedule or the MUE file, and the last NCCI "
            f"edits naming it ended on {ended.isoformat()}: it is not a valid code on the "
            "date of service."
        )
    else:
        text = (
            f"{line.code} is in none of the CMS files (fee schedule, NCCI edits, MUEs, "
            "add-on codes): it is not a valid code; check the number."
        )
    fields = {"code": line.code, "valid": False, "ended": ended.isoformat() if ended else None}
    return Verdict("validity", fields, text, (rows.source(PFS),))


# --- laterality --------------------------------------------------------------------


def laterality_verdict(
    procedure: Line, diagnosis: str, description: str, source: Source
) -> Verdict | None:
    """A diagnosis of one side with a procedure reported for the other side."""
    words = set(re.findall(r"\b(right|left)\b", description.lower()))
    side = procedure.side
    if len(words) != 1 or side not in ("right", "left"):
        return None
    conflict = side not in words
    codes = sorted([procedure.code, diagnosis])
    if conflict:
        text = (
            f"{diagnosis} is a {words.pop()}-side diagnosis but {procedure.code} is reported "
            f"for the {side} side: correct the modifier or the diagnosis before billing."
        )
    else:
        text = f"{diagnosis} and {procedure.code} name the same side ({side})."
    fields = {"codes": codes, "conflict": conflict}
    return Verdict("laterality", fields, text, (source,))
