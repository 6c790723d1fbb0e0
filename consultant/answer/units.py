"""Units: how many units the asker bills, against the MUE of the claim's setting.

Units come from what the asker states ("J1100 x 4"), else from a dose and the
HCPCS descriptor's billing unit ("40 mg" of a drug billed per 10 mg is 4 units;
a partial unit rounds up to a whole one). A code done on both sides ("both knees",
"bilateral", 50, or RT and LT on it) is reported as the fee schedule's bilateral
surgery indicator says: 1, once with modifier 50 (150%); 2, once without it (the
code is valued bilateral); 3, each side at 100% (Medicare Claims Processing Manual,
Chapter 12, section 40.7); 0 and 9 give no bilateral statement. The MUE and its
adjudication indicator come from the NCCI MUE file of the claim's setting
(practitioner, or facility outpatient hospital when that file is loaded).
"""

from __future__ import annotations

import math
import re

from consultant.answer.question import Dose, Line, Question, Strength
from consultant.answer.verdicts import ANATOMIC, DISTINCT, Verdict, pfs_row
from consultant.codes.cms_rows import CmsRows
from consultant.codes.kinds import HCPCS, MUE, MUE_DME, MUE_HOSPITAL, PFS

# "per 10 mg", "per 1 ml", "up to 5 mg", "10 mg" in a HCPCS drug descriptor.
_BILLING_UNIT = re.compile(
    r"\b(?:per|up\s+to)\s+(\d+(?:\.\d+)?)?\s*(mg|mcg|g|ml|cc)\b|,\s*(\d+(?:\.\d+)?)\s*(mg|mcg|ml)\s*$",
    re.IGNORECASE,
)
_MCG_PER = {"mg": 1000.0, "mcg": 1.0, "g": 1_000_000.0}
# Modifiers that make a second line of one code another unit of it: a side or site,
# a distinct service, a repeat, both sides. "99214, 99214-25" is one visit asked two ways.
_ANOTHER_UNIT = ANATOMIC | frozenset(DISTINCT) | {"50", "76", "77", "91"}


BILATERAL_RULE = " (Medicare Claims Processing Manual, Chapter 12, section 40.7)"
# What the fee schedule's bilateral surgery indicator says about a code done on both
# sides: the units and modifier to report, and the rule in our words.
_BILATERAL = {
    "1": (
        1,
        "50",
        "{code} has bilateral indicator 1 in the fee schedule: done on both sides, it is "
        "reported once, on one line with modifier 50 and 1 unit, and paid at 150% of the "
        "amount for one side",
    ),
    "2": (
        1,
        None,
        "{code} has bilateral indicator 2 in the fee schedule: it is already valued as a "
        "bilateral procedure, so it is reported once, 1 unit, without modifier 50, and paid "
        "at 100%",
    ),
    "3": (
        2,
        None,
        "{code} has bilateral indicator 3 in the fee schedule: each side is paid at 100% "
        "of its amount, so both sides are reported (RT and LT, 1 unit each)",
    ),
}


_WHOSE = {MUE_HOSPITAL: "outpatient hospital", MUE_DME: "DME supplier"}


def units_verdict(rows: CmsRows, question: Question, line: Line) -> Verdict | None:
    """The units asked about (stated, derived from a dose, or the sides of a code done
    on both) against the MUE, with how a bilateral procedure is reported."""
    units, how, from_dose = _units(rows, question, line)
    bilateral = _bilateral(rows, question, line)
    if units is None and bilateral is not None:  # asked as one unit for each side
        units, how = 2, " (one for each side)"
    if units is None or not rows.loaded(MUE):
        return None
    row = rows.mue.get(line.code)
    mue = row.value if row is not None else None
    over = mue is not None and units > mue
    sources = [rows.source(MUE)]
    whose = _WHOSE.get(sources[0].kind, "practitioner")  # the setting's MUE file
    counted = f"{units} unit{'s' if units != 1 else ''} of {line.code}{how}"
    if row is None:
        text = f"{counted}: no {whose} MUE limits it."
    elif over:
        text = (
            f"{counted} {'are' if units != 1 else 'is'} above its {whose} MUE of {mue} "
            f"(adjudication indicator {row.mai}): units beyond {mue} are denied."
        )
    else:
        text = f"{counted}: within its {whose} MUE of {mue}."
    if from_dose:  # the billing unit is the HCPCS descriptor's
        sources.append(rows.source(HCPCS))
    fields: dict[str, object] = {"code": line.code, "units": units, "mue": mue, "over": over}
    if bilateral is not None:
        reported, indicator, modifier, rule = bilateral
        text = f"{rule.format(code=line.code)}{BILATERAL_RULE}. {text}"
        fields |= {"bilateral_indicator": indicator, "modifier": modifier, "report": reported}
        sources.insert(0, rows.source(PFS))
    return Verdict("units", fields, text, tuple(sources))


def _bilateral(
    rows: CmsRows, question: Question, line: Line
) -> tuple[int, str, str | None, str] | None:
    """(units to report, indicator, modifier, rule) for a code asked about on both sides ("both
    knees", "bilateral", 50, or RT and LT) whose fee schedule indicator is 1, 2 or 3."""
    both = question.per_side or "50" in line.modifiers or {"RT", "LT"} <= set(line.modifiers)
    row = pfs_row(rows, line.code) if both and rows.loaded(PFS) else None
    if row is None or row.bilat_surg not in _BILATERAL:
        return None
    units, modifier, rule = _BILATERAL[row.bilat_surg]
    return units, row.bilat_surg, modifier, rule


def _units(rows: CmsRows, question: Question, line: Line) -> tuple[int | None, str, bool]:
    """The units, how they were found (for the answer's wording), and whether from a dose."""
    if line.units:
        return line.units, "", False
    if lines := lines_asked(question, line.code):
        written = ", ".join("-".join((line.code, *other.modifiers)) for other in lines)
        return len(lines), f" (on {len(lines)} lines: {written})", False
    per = billing_unit(rows, line.code)
    drugs = [other for other in question.lines if billing_unit(rows, other.code) is not None]
    # A dose written away from the code counts when the code is the only drug asked about.
    doses = line.doses or (question.doses if drugs == [line] else ())
    for dose in doses if per is not None else ():
        assert per is not None
        amount, unit, how = _in_billing_measure(dose, per, question.strengths)
        units = dose_units(amount, unit, *per)
        if units is not None:
            return units, f" ({how}at {per[0]:g} {per[1]} a unit)", True
    return None, "", False


def lines_asked(question: Question, code: str) -> tuple[Line, ...]:
    """The claim lines `code` is listed on, when they are other units of it (other
    sides, sites or repeats); none when the code is written once or asked two ways."""
    lines = question.written_of(code)
    if not lines:
        return ()
    every = set().union(*(line.modifiers for line in lines))
    shared = set.intersection(*(set(line.modifiers) for line in lines))
    return lines if every - shared <= _ANOTHER_UNIT else ()


def _in_billing_measure(
    dose: Dose, per: tuple[float, str], strengths: tuple[Strength, ...]
) -> tuple[float, str, str]:
    """The dose in the billing unit's measure: a volume billed by weight (or a weight
    billed by volume) goes through the one strength the asker states ("2 mL" of
    "40 mg/mL" is 80 mg); with no strength, or two, it stays as written."""
    written = f"{dose.amount:g} {'mL' if dose.unit == 'ml' else dose.unit} "
    volume, weight = dose.unit == "ml", per[1] in _MCG_PER
    if len(strengths) != 1 or volume == (per[1] == "ml") or not (volume or weight):
        return dose.amount, dose.unit, written
    strength = strengths[0]
    label = f"{strength.amount:g} {strength.unit}/mL"
    if volume:
        amount = dose.amount * strength.amount
        how = f"{written}at the stated {label} is {amount:g} {strength.unit}, "
        return amount, strength.unit, how
    per_ml = dose_units(dose.amount, dose.unit, strength.amount, strength.unit)
    if per_ml is None:
        return dose.amount, dose.unit, written
    volume_ml = (
        dose.amount
        * _MCG_PER.get(dose.unit, 1)
        / (strength.amount * _MCG_PER.get(strength.unit, 1))
    )
    return volume_ml, "ml", f"{written}at the stated {label} is {volume_ml:g} mL, "


def billing_unit(rows: CmsRows, code: str) -> tuple[float, str] | None:
    """The amount one unit of a HCPCS drug code stands for: (10.0, "mg")."""
    row = rows.hcpcs.get(code)
    if row is None:
        return None
    match = _BILLING_UNIT.search(row.long_description)
    if match is None:
        return None
    amount = match.group(1) or match.group(3) or "1"
    unit = (match.group(2) or match.group(4)).lower()
    return float(amount), "ml" if unit == "cc" else unit


def dose_units(amount: float, unit: str, per: float, per_unit: str) -> int | None:
    """Units for a dose: the dose over the billing unit, rounded up; None when the
    measures cannot be compared (a volume against a weight)."""
    if unit == per_unit:
        ratio = amount / per
    elif unit in _MCG_PER and per_unit in _MCG_PER:
        ratio = amount * _MCG_PER[unit] / (per * _MCG_PER[per_unit])
    else:
        return None
    return max(1, math.ceil(round(ratio, 6)))
