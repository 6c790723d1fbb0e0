"""What the CMS indicator values mean, in a few words each.

Written from CMS's file documentation: the HCPCS record layout (coverage and
action codes), the PFS relative value file's documentation (status codes,
global days, payment policy indicators), the NCCI PTP and MUE file notes
(modifier indicator, MUE adjudication indicator) and the add-on code edit
file (edit types).
"""

from __future__ import annotations

HCPCS_COVERAGE = {
    "C": "carrier judgement: the Medicare contractor decides coverage",
    "D": "special coverage instructions apply (see the CMS manuals or an NCD)",
    "I": "not payable by Medicare: report another code",
    "M": "non-covered by Medicare",
    "S": "non-covered by Medicare statute",
}

HCPCS_ACTION = {
    "A": "added",
    "B": "administrative data and long description changed",
    "C": "long description changed",
    "D": "discontinued",
    "F": "administrative data changed",
    "N": "no change",
    "P": "payment change",
    "R": "re-added after a deletion",
    "S": "short description changed",
    "T": "miscellaneous change (BETOS, type of service)",
}

PFS_STATUS = {
    "A": "active: separately paid under the fee schedule",
    "B": "bundled: payment is always included in other services",
    "C": "carrier (contractor) priced",
    "D": "deleted code",
    "E": "excluded from the fee schedule by regulation",
    "F": "deleted or discontinued code, no grace period",
    "G": "not valid for Medicare: another code is used",
    "H": "deleted modifier for this code",
    "I": "not valid for Medicare: another code is used",
    "J": "anesthesia service (paid by base units, not RVUs)",
    "M": "measurement code, for reporting only",
    "N": "non-covered service",
    "P": "bundled or excluded: no separate payment",
    "R": "restricted coverage: paid only in special circumstances",
    "T": "injection-type service: paid only when no other fee schedule service "
    "is billed on the same date",
    "X": "statutory exclusion: not in the fee schedule by law",
}

GLOBAL_DAYS = {
    "000": "0-day global: pre- and postoperative work on the day of the procedure only",
    "010": "10-day global: postoperative care for 10 days is included",
    "090": "90-day global: the day before, the day of and 90 days after are included",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "global concept does not apply",
    "YYY": "contractor sets the global period",
    "ZZZ": "add-on: within the global period of its primary service",
}

MULT_PROC = {
    "0": "no multiple procedure reduction",
    "1": "standard multiple procedure reduction (before 1995 rules)",
    "2": "standard multiple procedure reduction (100%, then 50%)",
    "3": "special endoscopy rules",
    "4": "diagnostic imaging reduction",
    "5": "therapy reduction",
    "6": "diagnostic cardiovascular reduction",
    "7": "diagnostic ophthalmology reduction",
    "9": "not applicable",
}
BILAT_SURG = {
    "0": "no bilateral adjustment (150%) applies",
    "1": "bilateral adjustment applies: modifier 50 pays 150%",
    "2": "already bilateral: no adjustment",
    "3": "each side paid at 100%",
    "9": "not applicable",
}
ASST_SURG = {
    "0": "assistant at surgery paid only with documentation of need",
    "1": "assistant at surgery not paid (statutory restriction)",
    "2": "assistant at surgery may be paid",
    "9": "not applicable",
}
CO_SURG = {
    "0": "co-surgeons (62) not allowed",
    "1": "co-surgeons (62) with documentation of need",
    "2": "co-surgeons (62) allowed",
    "9": "not applicable",
}
TEAM_SURG = {
    "0": "team surgery (66) not allowed",
    "1": "team surgery (66) with documentation of need",
    "2": "team surgery (66) allowed",
    "9": "not applicable",
}

PTP_MODIFIER = {
    "0": "no modifier allows both codes",
    "1": "both codes are allowed with an appropriate NCCI-associated modifier "
    "(such as 59, XE, XS, XP, XU) when clinically justified",
    "9": "not applicable: the edit was deleted",
}

MAI = {
    "1": "line edit: the units on one claim line are limited; medically necessary "
    "units above it go on further lines with an appropriate modifier",
    "2": "date of service edit, policy: an absolute limit per day; units above it are not paid",
    "3": "date of service edit, clinical: units above it per day are denied, "
    "and may be paid on appeal with documentation of medical necessity",
}

ADDON_TYPE = {
    "1": "paid only with one of the listed primary codes",
    "2": "the contractor defines the primary codes",
    "3": "the listed primary codes, and others the contractor may allow",
}


def meaning(table: dict[str, str], value: str) -> str:
    """The meaning of `value` in `table`, or say it is not a known value."""
    return table.get(value, f"value {value!r} not in the CMS documentation consultant knows")
